/* test_store_revocation.c - the store's typed revocation calls (store/revocation_rows.h): round
 * trips of CRL and OCSP rows, "none" distinct from an error, replacement, forgetting, the x509
 * generation they bump, and errors reported as errors (a table dropped by another connection,
 * a store another connection keeps locked). Owner: src/store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "store/revocation_rows.h"
#include "store_side.h"

#define ISSUER "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define LEAF "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"

static int other_sql(const char *path, const char *sql)
{
    return side_once(path, sql);
}

static int64_t x509_gen(sg_store *st)
{
    int64_t g = -1;
    return sg_store_generation(st, SG_GEN_X509, &g) == 0 ? g : -1;
}

static void crls(sg_store *st)
{
    sg_store_crl row;
    CHECK(sg_store_revocation_get_crl(st, ISSUER, &row) == 1 && !row.der && !row.own,
          "crl: none is 1, row zeroed");
    static const uint8_t der[] = {0x30, 0x03, 0x02, 0x01, 0x00}, der2[] = {0x30, 0x00};
    sg_store_crl in = {
        .der = der, .der_len = sizeof der, .this_update = 100, .next_update = 200, .number = 7};
    int64_t g0 = x509_gen(st);
    CHECK(sg_store_revocation_put_crl(st, ISSUER, &in) == 0 && x509_gen(st) > g0,
          "crl: local CRL stored, x509 generation bumped");
    int got = sg_store_revocation_get_crl(st, ISSUER, &row);
    CHECK(got == 0 && row.der_len == sizeof der && memcmp(row.der, der, sizeof der) == 0 &&
              row.this_update == 100 && row.next_update == 200 && row.number == 7 && row.url == NULL &&
              row.fetched == 0,
          "crl: round trip of a local CRL (no url)");
    sg_store_crl_free(&row);
    CHECK(row.der == NULL && row.own == NULL, "crl: freed row is zeroed");
    sg_store_crl in2 = {.der = der2,
                        .der_len = sizeof der2,
                        .this_update = 300,
                        .next_update = 400,
                        .number = 8,
                        .url = "http://ca.test/x.crl",
                        .fetched = 350};
    CHECK(sg_store_revocation_put_crl(st, ISSUER, &in2) == 0 &&
              sg_store_revocation_get_crl(st, ISSUER, &row) == 0 && row.der_len == sizeof der2 &&
              memcmp(row.der, der2, sizeof der2) == 0 && row.number == 8 && row.url &&
              strcmp(row.url, "http://ca.test/x.crl") == 0 && row.fetched == 350 && row.this_update == 300 &&
              row.next_update == 400,
          "crl: a fetched CRL replaces the issuer's one, url and time kept");
    sg_store_crl_free(&row);
    CHECK(sg_store_revocation_get_crl(st, LEAF, &row) == 1, "crl: another issuer has none");
}

/* The url and response bytes as stored, read through another connection. */
static int stored_response(const char *path, char *url, size_t ulen, char *hex, size_t hlen)
{
    int rc =
        side_open(path) &&
                side_text("SELECT url FROM x509_ocsp WHERE fpr = '" LEAF "'", url, ulen) == 0 &&
                side_text(side_is_pg()
                              ? "SELECT upper(encode(response, 'hex')) FROM x509_ocsp WHERE fpr = '" LEAF "'"
                              : "SELECT hex(response) FROM x509_ocsp WHERE fpr = '" LEAF "'",
                          hex, hlen) == 0
            ? 0
            : -1;
    side_close();
    return rc;
}

static void ocsp(sg_store *st, const char *path)
{
    sg_store_ocsp row;
    CHECK(sg_store_revocation_get_ocsp(st, LEAF, 1000, &row) == 1, "ocsp: none is 1");
    static const uint8_t resp[] = {0x30, 0x03, 0x0a, 0x01, 0x00};
    sg_store_ocsp in = {.status = SG_STORE_OCSP_REVOKED,
                        .revoked_at = 900,
                        .this_update = 950,
                        .until = 2000,
                        .fetched = 990,
                        .url = "http://ocsp.test/",
                        .response = resp,
                        .response_len = sizeof resp};
    int64_t g0 = x509_gen(st);
    CHECK(sg_store_revocation_put_ocsp(st, LEAF, &in) == 0 && x509_gen(st) > g0,
          "ocsp: answer stored, x509 generation bumped");
    CHECK(sg_store_revocation_get_ocsp(st, LEAF, 1000, &row) == 0 && row.status == SG_STORE_OCSP_REVOKED &&
              row.revoked_at == 900 && row.this_update == 950 && row.until == 2000 && row.fetched == 990 &&
              !row.url && !row.response,
          "ocsp: round trip of the verdict (no response bytes copied)");
    char url[64] = "", hex[64] = "";
    CHECK(stored_response(path, url, sizeof url, hex, sizeof hex) == 0 &&
              strcmp(url, "http://ocsp.test/") == 0 && strcmp(hex, "30030A0100") == 0,
          "ocsp: the responder's url and the response bytes are stored (%s, %s)", url, hex);
    CHECK(sg_store_revocation_get_ocsp(st, LEAF, 2000, &row) == 1 &&
              sg_store_revocation_get_ocsp(st, LEAF, 2500, &row) == 1,
          "ocsp: not usable at or after until: none");
    in.status = SG_STORE_OCSP_GOOD;
    in.until = 3000;
    CHECK(sg_store_revocation_put_ocsp(st, LEAF, &in) == 0 &&
              sg_store_revocation_get_ocsp(st, LEAF, 2500, &row) == 0 && row.status == SG_STORE_OCSP_GOOD &&
              row.until == 3000,
          "ocsp: a new answer replaces the old one");
}

static void forget(sg_store *st)
{
    sg_store_crl c;
    sg_store_ocsp o;
    CHECK(sg_store_revocation_forget(st, LEAF) == 0 && sg_store_revocation_get_ocsp(st, LEAF, 0, &o) == 1 &&
              sg_store_revocation_get_crl(st, ISSUER, &c) == 0,
          "forget LEAF: its OCSP answer is gone, ISSUER's CRL stays");
    sg_store_crl_free(&c);
    CHECK(sg_store_revocation_forget(st, ISSUER) == 0 && sg_store_revocation_get_crl(st, ISSUER, &c) == 1 &&
              sg_store_revocation_forget(st, ISSUER) == 0,
          "forget ISSUER: its CRL is gone; forgetting nothing is no error");
}

/* Errors are errors: never "none". */
static void errors(sg_store *st, const char *path)
{
    sg_store_crl c, in = {.der = (const uint8_t *)"x", .der_len = 1};
    sg_store_ocsp o, oin = {.url = "u", .response = (const uint8_t *)"x", .response_len = 1};
    CHECK(other_sql(path, "DROP TABLE x509_crls") == 0 && sg_store_revocation_get_crl(st, ISSUER, &c) == -1 &&
              !c.own && strstr(sg_store_error(st), "x509_crls"),
          "crl: table dropped by another connection: get is -1 (%s)", sg_store_error(st));
    CHECK(sg_store_revocation_put_crl(st, ISSUER, &in) == -1 && strstr(sg_store_error(st), "x509_crls"),
          "crl: put is -1 (%s)", sg_store_error(st));
    CHECK(sg_store_revocation_forget(st, ISSUER) == -1, "forget: -1 when a table is missing (%s)",
          sg_store_error(st));
    CHECK(other_sql(path, "DROP TABLE x509_ocsp") == 0 &&
              sg_store_revocation_get_ocsp(st, LEAF, 0, &o) == -1 && strstr(sg_store_error(st), "x509_ocsp"),
          "ocsp: table dropped: get is -1 (%s)", sg_store_error(st));
    CHECK(sg_store_revocation_put_ocsp(st, LEAF, &oin) == -1, "ocsp: put is -1 (%s)", sg_store_error(st));
}

/* A store another connection keeps locked: a write fails as an error, after the busy timeout. */
static void locked_store(const char *dir)
{
    char path[256], err[512] = "";
    if (side_store(dir, "locked/sealgate", path, sizeof path) < 0)
        return;
    sg_store *st = sg_store_open(path, err, sizeof err);
    sg_store_crl in = {.der = (const uint8_t *)"x", .der_len = 1}, c;
    CHECK(st && sg_store_revocation_put_crl(st, ISSUER, &in) == 0, "locked: a CRL stored first (%s)", err);
    if (!st)
        return;
    /* Another connection holds the write lock: with the busy (lock) timeout spent, a write is an
     * error. */
    int locked = side_open(path) &&
                 side_exec(side_is_pg() ? "BEGIN; LOCK TABLE x509_ocsp IN ACCESS EXCLUSIVE MODE"
                                        : "BEGIN EXCLUSIVE") == 0;
    sg_store_ocsp oin = {.url = "u", .response = (const uint8_t *)"x", .response_len = 1};
    CHECK(locked && sg_store_revocation_put_ocsp(st, LEAF, &oin) == -1 &&
              strstr(sg_store_error(st), SIDE_LOCKED),
          "locked store: a write is -1, not success (%s)", sg_store_error(st));
    side_exec("ROLLBACK");
    side_close();
    CHECK(sg_store_revocation_get_crl(st, ISSUER, &c) == 0 && c.der_len == 1,
          "lock released: readable again");
    sg_store_crl_free(&c);
    sg_store_close(st);
}

int main(void)
{
    char dir[] = "/tmp/sg-test-store-rev-XXXXXX", path[256], err[512] = "";
    if (!mkdtemp(dir))
        return 1;
    if (side_store(dir, "rev", path, sizeof path) < 0)
        return 1;
    sg_store *st = sg_store_open(path, err, sizeof err);
    CHECK(st != NULL, "store opens (%s)", err);
    if (!st)
        return CHECK_DONE();
    crls(st);
    ocsp(st, path);
    forget(st);
    errors(st, path);
    sg_store_close(st);
    locked_store(dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
