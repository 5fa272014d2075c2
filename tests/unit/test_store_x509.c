/* test_store_x509.c - the store's typed x509 calls (store/x509_rows.h): round trips of rows,
 * addresses, keys and learned pairs, lists and their order, "no such row" kept apart from an
 * error, the delete of a certificate with everything hanging on it, and tables dropped by a
 * second connection reported as errors, by the store and through the certstore (list, get,
 * validation, the local CA). Owner: src/store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "keys/ca.h"
#include "keys/certstore.h"
#include "store/x509_rows.h"
#include "store_side.h"
#include "testcerts.h"

/* The second connection (store_side.h) stands for another process or node. */
static int count(const char *sql)
{
    return side_int(sql);
}

static void fpr_of(char c, char out[SG_X509_FPR_LEN + 1])
{
    memset(out, c, SG_X509_FPR_LEN);
    out[SG_X509_FPR_LEN] = '\0';
}

/* A row with made-up facts: the store keeps bytes and facts, it parses nothing. */
static int put(sg_store *st, char c, int64_t not_before, bool is_ca, bool trusted, bool learned, char **addrs,
               size_t naddrs)
{
    sg_x509_row r = {.subject = "CN=s",
                     .issuer = "CN=i",
                     .serial = "0A",
                     .not_before = not_before,
                     .not_after = not_before + 1000,
                     .key_usage = -1,
                     .eku_email = !is_ca,
                     .is_ca = is_ca,
                     .trusted = trusted,
                     .learned = learned,
                     .addrs = addrs,
                     .naddrs = naddrs};
    fpr_of(c, r.fpr);
    uint8_t der[4] = {0x30, 0x02, (uint8_t)c, 0x00};
    return sg_store_x509_insert(st, &r, der, sizeof der);
}

struct seen {
    int n;
    char last[8];
};

static int see_der(void *ctx, const uint8_t *der, size_t len)
{
    struct seen *s = ctx;
    if (der && len == 4)
        s->last[0] = (char)der[2];
    s->n++;
    return 0;
}

static int stop_at_first(void *ctx, const uint8_t *der, size_t len)
{
    (void)ctx, (void)der, (void)len;
    return 7;
}

static int see_revoked(void *ctx, const char *serial, int64_t at)
{
    struct seen *s = ctx;
    snprintf(s->last, sizeof s->last, "%s", serial);
    s->n += at > 0;
    return 0;
}

static void absent(sg_store *st)
{
    char f[SG_X509_FPR_LEN + 1], got[SG_X509_FPR_LEN + 1];
    fpr_of('E', f);
    sg_x509_row r;
    uint8_t *b = NULL;
    size_t len = 0;
    sg_x509_learned l;
    bool hc = true, hk = true;
    CHECK(sg_store_x509_get(st, f, &r) == 1 && sg_store_x509_der(st, f, &b, &len) == 1 && !b &&
              sg_store_x509_key(st, f, &b, &len) == 1 && !b,
          "absent: get, der and key say 1 (no such row)");
    CHECK(sg_store_x509_local_ca(st, got) == 1 && sg_store_x509_caps(st, "nobody@x.example", &l) == 1,
          "absent: no local CA, an address never seen: 1");
    CHECK(sg_store_x509_set_trust(st, f, true) == 1 && sg_store_x509_revoke(st, f) == 1 &&
              sg_store_x509_unlearn(st, f) == 1 && sg_store_x509_delete(st, f) == 1,
          "absent: trust, revoke, unlearn and delete of no certificate say 1");
    CHECK(sg_store_x509_state(st, f, &hc, &hk) == 0 && !hc && !hk, "absent: state is no certificate, no key");
}

static void rows(sg_store *st)
{
    char *baddrs[] = {"b@x.example", "Abe@x.example"}, *caddrs[] = {"c@x.example"};
    char a[SG_X509_FPR_LEN + 1], b[SG_X509_FPR_LEN + 1], c[SG_X509_FPR_LEN + 1];
    fpr_of('A', a);
    fpr_of('B', b);
    fpr_of('C', c);
    int64_t g0 = -1, g1 = -1;
    sg_store_generation(st, SG_GEN_X509, &g0);
    CHECK(put(st, 'A', 100, true, true, false, NULL, 0) == 0 &&
              put(st, 'B', 300, false, false, true, baddrs, 2) == 0 &&
              put(st, 'C', 200, true, false, false, caddrs, 1) == 0,
          "insert: three certificates (%s)", sg_store_error(st));
    CHECK(sg_store_generation(st, SG_GEN_X509, &g1) == 0 && g1 > g0, "insert: the x509 generation moved");
    CHECK(put(st, 'A', 100, true, true, false, NULL, 0) == -1 && strstr(sg_store_error(st), SIDE_UNIQUE),
          "insert: the same fingerprint again is an error (%s)", sg_store_error(st));

    uint8_t wrapped[] = {1, 2, 3, 4, 5}, *w = NULL, *der = NULL;
    size_t wlen = 0, dlen = 0;
    bool hc = false, hk = true;
    CHECK(sg_store_x509_state(st, b, &hc, &hk) == 0 && hc && !hk, "state: B is stored, without a key");
    CHECK(sg_store_x509_put_key(st, b, wrapped, sizeof wrapped) == 0 &&
              sg_store_x509_state(st, b, &hc, &hk) == 0 && hk && sg_store_x509_key(st, b, &w, &wlen) == 0 &&
              wlen == sizeof wrapped && memcmp(w, wrapped, wlen) == 0,
          "key: the wrapped bytes come back as stored");
    free(w);
    CHECK(sg_store_x509_der(st, b, &der, &dlen) == 0 && dlen == 4 && der[2] == 'B',
          "der: the bytes come back");
    free(der);

    sg_x509_row r;
    CHECK(sg_store_x509_get(st, b, &r) == 0 && strcmp(r.fpr, b) == 0 && strcmp(r.subject, "CN=s") == 0 &&
              r.not_before == 300 && r.not_after == 1300 && r.key_usage == -1 && r.eku_email && !r.is_ca &&
              r.learned && !r.trusted && r.has_key && r.naddrs == 2 &&
              strcmp(r.addrs[0], "Abe@x.example") == 0 && strcmp(r.addrs[1], "b@x.example") == 0,
          "get: every field and the sorted addresses round-trip");
    sg_store_x509_row_clear(&r);

    sg_x509_row *v = NULL;
    size_t n = 0;
    CHECK(sg_store_x509_list(st, NULL, &v, &n) == 0 && n == 3 && v[0].fpr[0] == 'B' && v[1].fpr[0] == 'C' &&
              v[2].fpr[0] == 'A' && v[1].naddrs == 1,
          "list: all, newest not_before first");
    sg_store_x509_rows_free(v, n);
    CHECK(sg_store_x509_list(st, "Abe@x.example", &v, &n) == 0 && n == 1 && v[0].fpr[0] == 'B',
          "list: by address (exact local part)");
    sg_store_x509_rows_free(v, n);
    CHECK(sg_store_x509_list(st, "abe@x.example", &v, &n) == 0 && n == 0 && !v,
          "list: no match is empty, not an error");

    struct seen s = {0};
    CHECK(sg_store_x509_each_ca(st, true, see_der, &s) == 0 && s.n == 1 && s.last[0] == 'A',
          "CAs: the one trust anchor");
    s = (struct seen){0};
    CHECK(sg_store_x509_each_ca(st, false, see_der, &s) == 0 && s.n == 1 && s.last[0] == 'C',
          "CAs: the one intermediate (the leaf is no CA)");
    CHECK(sg_store_x509_each_ca(st, true, stop_at_first, NULL) == 7,
          "CAs: the callback's value stops the walk");
    s = (struct seen){0};
    CHECK(sg_store_x509_set_trust(st, c, true) == 0 && sg_store_x509_each_ca(st, true, see_der, &s) == 0 &&
              s.n == 2,
          "trust: C made an anchor");

    CHECK(sg_store_x509_unlearn(st, b) == 0 && sg_store_x509_unlearn(st, b) == 1,
          "unlearn: 0 when it was learned, then 1");

    char got[SG_X509_FPR_LEN + 1] = "";
    sg_x509_row ca = {.subject = "CN=L",
                      .issuer = "CN=L",
                      .serial = "01",
                      .not_before = 50,
                      .is_ca = true,
                      .trusted = true,
                      .local_ca = true};
    fpr_of('L', ca.fpr);
    uint8_t lder[] = {0x30, 0x00};
    CHECK(sg_store_x509_insert(st, &ca, lder, sizeof lder) == 0 && sg_store_x509_local_ca(st, got) == 0 &&
              strcmp(got, ca.fpr) == 0,
          "local CA: found by its flag");
    s = (struct seen){0};
    CHECK(sg_store_x509_revoke(st, b) == 0 && sg_store_x509_revoke(st, ca.fpr) == 0 &&
              sg_store_x509_each_revoked(st, see_revoked, &s) == 0 && s.n == 1 && strcmp(s.last, "0A") == 0,
          "revoke: B listed with its serial and time, the local CA itself never");
}

static void learned(sg_store *st)
{
    char b[SG_X509_FPR_LEN + 1];
    fpr_of('B', b);
    uint8_t c1[] = {0x30, 0x01, 0x01}, c2[] = {0x30, 0x01, 0x02};
    sg_x509_learned l;
    CHECK(sg_store_x509_learn_put(st, "d@x.example", b, c1, sizeof c1, 3, 100) == 0 &&
              sg_store_x509_learn_put(st, "d@x.example", b, c2, sizeof c2, 5, 50) == 0 &&
              sg_store_x509_caps(st, "d@x.example", &l) == 0 && strcmp(l.fpr, b) == 0 && l.caps_len == 3 &&
              memcmp(l.caps, c1, 3) == 0 && l.first_seen == 50 && l.last_seen == 100,
          "learned: an older message widens first_seen and keeps the newer capabilities");
    free(l.caps);
    CHECK(sg_store_x509_learn_put(st, "d@x.example", b, NULL, 0, 0, 200) == 0 &&
              sg_store_x509_caps(st, "d@x.example", &l) == 0 && !l.caps && l.caps_len == 0 &&
              l.last_seen == 200,
          "learned: a newer signature without capabilities clears them");

    /* Five learned signers of one address, seen at 10..50, none with a key. */
    char *eaddr[] = {"e@x.example"};
    for (char c = '1'; c <= '5'; c++) {
        char f[SG_X509_FPR_LEN + 1];
        fpr_of(c, f);
        put(st, c, 0, false, false, true, eaddr, 1);
        sg_store_x509_learn_put(st, "e@x.example", f, NULL, 0, 0, (c - '0') * 10);
    }
    char old[4][SG_X509_FPR_LEN + 1];
    int n = sg_store_x509_learn_stale(st, "e@x.example", 2, old, 4);
    CHECK(n == 3 && old[0][0] == '3' && old[1][0] == '2' && old[2][0] == '1',
          "stale: beyond the newest 2, newest first (%d)", n);
    CHECK(sg_store_x509_learn_stale(st, "e@x.example", 2, old, 2) == 2, "stale: no more than max");
    char f1[SG_X509_FPR_LEN + 1];
    fpr_of('1', f1);
    CHECK(sg_store_x509_learn_put(st, "f@x.example", f1, NULL, 0, 0, 5) == 0 &&
              sg_store_x509_learn_forget(st, "e@x.example", f1) == 1 &&
              sg_store_x509_learn_forget(st, "f@x.example", f1) == 0,
          "forget: counts the pairs still naming the certificate");
}

static void delete_all(sg_store *st)
{
    char c[SG_X509_FPR_LEN + 1], sql[1024];
    fpr_of('C', c);
    /* C as an issuer with a CRL, and with an OCSP answer: rows of the revocation cache. */
    snprintf(sql, sizeof sql,
             "INSERT INTO x509_crls (issuer_fpr, der, this_update, next_update, number) VALUES ('%s', x'00', "
             "0, 0, 1);"
             "INSERT INTO x509_ocsp VALUES ('%s', 0, 0, 0, 0, 0, 'u', x'00');"
             "INSERT INTO x509_keys VALUES ('%s', x'01');"
             "INSERT INTO x509_learned VALUES ('g@x.example', '%s', NULL, 0, 1, 1);",
             c, c, c, c);
    CHECK(side_exec(sql) == 0, "delete: C has a CRL, an OCSP answer, a key, a pair");
    int rc = sg_store_begin(st) == 0 ? sg_store_x509_delete(st, c) : -1;
    CHECK(rc == 0 && sg_store_commit(st) == 0, "delete: 0 for a certificate that was there");
    snprintf(
        sql, sizeof sql,
        "SELECT (SELECT count(*) FROM x509_certs WHERE fpr = '%1$s') + (SELECT count(*) FROM x509_addrs WHERE"
        " fpr = '%1$s') + (SELECT count(*) FROM x509_keys WHERE fpr = '%1$s') + (SELECT count(*) FROM "
        "x509_crls"
        " WHERE issuer_fpr = '%1$s') + (SELECT count(*) FROM x509_ocsp WHERE fpr = '%1$s') + (SELECT count(*)"
        " FROM x509_learned WHERE fpr = '%1$s')",
        c);
    CHECK(count(sql) == 0 && count("SELECT count(*) FROM x509_certs") > 0,
          "delete: nothing of C is left in any table, the others stay");
    CHECK(sg_store_x509_delete(st, c) == 1, "delete: 1 the second time");
}

/* Each table dropped by the second connection: the calls that read it fail with SQLite's
 * reason, never "none" or "no such row". Last: it breaks the store. */
static void errors(sg_store *st)
{
    char b[SG_X509_FPR_LEN + 1], got[SG_X509_FPR_LEN + 1], old[2][SG_X509_FPR_LEN + 1];
    fpr_of('B', b);
    sg_x509_row r, *v = (sg_x509_row *)1;
    size_t n = 9, len;
    uint8_t *p;
    sg_x509_learned l;
    bool hc, hk;
    side_exec("DROP TABLE x509_addrs");
    CHECK(sg_store_x509_list(st, "b@x.example", &v, &n) == -1 && !v && n == 0 &&
              strstr(sg_store_error(st), SIDE_NO_TABLE),
          "x509_addrs dropped: list is an error (%s)", sg_store_error(st));
    CHECK(sg_store_x509_get(st, b, &r) == -1,
          "x509_addrs dropped: get is an error, not 'no such certificate'");
    side_exec("DROP TABLE x509_keys");
    CHECK(sg_store_x509_key(st, b, &p, &len) == -1 && sg_store_x509_state(st, b, &hc, &hk) == -1,
          "x509_keys dropped: key and state are errors (%s)", sg_store_error(st));
    side_exec("DROP TABLE x509_learned");
    CHECK(sg_store_x509_caps(st, "d@x.example", &l) == -1 &&
              sg_store_x509_learn_stale(st, "e@x.example", 1, old, 2) == -1 &&
              sg_store_x509_learn_put(st, "d@x.example", b, NULL, 0, 0, 1) == -1,
          "x509_learned dropped: caps, stale and put are errors");
    side_exec("DROP TABLE x509_certs");
    struct seen s = {0};
    CHECK(sg_store_x509_der(st, b, &p, &len) == -1 && sg_store_x509_local_ca(st, got) == -1 &&
              sg_store_x509_each_ca(st, true, see_der, &s) == -1 && s.n == 0 &&
              sg_store_x509_each_revoked(st, see_revoked, &s) == -1 &&
              sg_store_x509_set_trust(st, b, false) == -1 && sg_store_x509_revoke(st, b) == -1,
          "x509_certs dropped: der, local CA, the CA and revoked lists, trust and revoke are errors");
}

static void note(void *ctx, const sg_cert_import_result *r)
{
    *(int *)ctx = r->status;
}

/* The certstore passes store errors on as errors: validation does not call them "valid",
 * "untrusted" or "out of memory", a lookup does not call them "none". */
static void certstore_errors(const char *dir)
{
    char path[300], err[512] = "";
    if (side_store(dir, "cs", path, sizeof path) < 0)
        return;
    sg_store *st = sg_store_open(path, err, sizeof err);
    sg_certstore *cs = st ? sg_certstore_open(st, NULL, 0) : NULL;
    if (!cs || !side_open(path)) {
        CHECK(0, "certstore: opened (%s)", err);
        return;
    }
    EVP_PKEY *rk = EVP_EC_gen("P-256"), *lk = EVP_EC_gen("P-256");
    X509 *root = mk("Store Root", NULL, NULL, NULL, rk, -DAY, 3650 * DAY, NULL, EVP_sha256());
    X509 *leaf = mk("Hal", "hal@x.example", root, rk, lk, -DAY, 365 * DAY, "emailProtection", EVP_sha256());
    char rf[SG_CERT_FPR_LEN + 1], lf[SG_CERT_FPR_LEN + 1], why[512];
    const char *reason = NULL;
    char *lpem = pem_of(leaf, NULL);
    int status = -1;
    CHECK(sg_certstore_add(cs, root, NULL, SG_CS_ADD_TRUSTED, rf, &reason) == SG_CERT_IMPORTED &&
              sg_certstore_import(cs, (const uint8_t *)lpem, strlen(lpem), NULL, note, &status) == 0 &&
              status == SG_CERT_IMPORTED && sg_cert_fpr(leaf, lf) == 0 &&
              sg_cert_validate(cs, leaf, "hal@x.example", SG_CERT_SIGN, time(NULL), why, sizeof why) ==
                  SG_CERT_VALID,
          "certstore: a chain stored and valid (%s)", why);
    sg_cert_info *list = NULL, ci;
    size_t n = 0;
    side_exec("DROP TABLE x509_addrs");
    CHECK(sg_certstore_list(cs, "hal@x.example", &list, &n) == -1 && n == 0 &&
              strstr(sg_certstore_error(cs), SIDE_NO_TABLE),
          "certstore: a lookup by address fails, it does not find none (%s)", sg_certstore_error(cs));
    CHECK(sg_certstore_get(cs, lf, &ci) == -1, "certstore: get fails, not 'absent'");
    side_exec("DROP TABLE x509_certs");
    int v = sg_cert_validate(cs, leaf, "hal@x.example", SG_CERT_SIGN, time(NULL), why, sizeof why);
    CHECK(v == SG_CERT_ERROR && strstr(why, SIDE_NO_TABLE),
          "certstore: validation is an error with the store's reason (%s)", why);
    char fpr[SG_CERT_FPR_LEN + 1];
    CHECK(sg_ca_fpr(cs, fpr) == -1 && !strstr(sg_certstore_error(cs), "no local CA"),
          "certstore: the local CA lookup fails, it does not say there is none (%s)", sg_certstore_error(cs));
    CHECK(sg_certstore_delete(cs, lf) == -1, "certstore: delete fails (%s)", sg_certstore_error(cs));
    free(lpem);
    X509_free(leaf);
    X509_free(root);
    EVP_PKEY_free(lk);
    EVP_PKEY_free(rk);
    side_close();
    sg_certstore_close(cs);
    sg_store_close(st);
}

int main(void)
{
    char dir[] = "/tmp/sg-test-store-x509-XXXXXX", path[300], err[512] = "";
    if (!mkdtemp(dir))
        return 1;
    if (side_store(dir, "x509", path, sizeof path) < 0)
        return 1;
    sg_store *st = sg_store_open(path, err, sizeof err);
    int ok = st && side_open(path);
    CHECK(ok, "store opens (%s)", err);
    if (ok) {
        absent(st);
        rows(st);
        learned(st);
        delete_all(st);
        errors(st);
    }
    side_close();
    sg_store_close(st);
    certstore_errors(dir);
    if (tc_rmtree(dir) < 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
