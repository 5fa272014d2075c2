/* test_certstore.c - X.509 certificate store, local CA and sg_cert_validate. Owner: src/keys.
 * Test certificates are made here with OpenSSL's API (root, intermediate, leaves with chosen
 * validity and extensions), imported as PEM and checked through the public calls. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "store_side.h"
#include "testcerts.h"
#include "crypto/kek.h"
#include "keys/ca.h"
#include "keys/certstore.h"
#include "lib/fsutil.h"

typedef struct {
    int n, status[8];
    bool key[8];
    char fpr[8][SG_CERT_FPR_LEN + 1];
    char reason[8][96];
} results;

static void collect(void *ctx, const sg_cert_import_result *r)
{
    results *rs = ctx;
    if (rs->n >= 8)
        return;
    rs->status[rs->n] = r->status;
    rs->key[rs->n] = r->key;
    snprintf(rs->fpr[rs->n], sizeof rs->fpr[0], "%s", r->fpr ? r->fpr : "");
    snprintf(rs->reason[rs->n], sizeof rs->reason[0], "%s", r->reason ? r->reason : "");
    rs->n++;
}

static int import_pem(sg_certstore *cs, const char *pem, results *rs)
{
    memset(rs, 0, sizeof *rs);
    return sg_certstore_import(cs, (const uint8_t *)pem, strlen(pem), NULL, collect, rs);
}

static bool file_contains(const char *path, const unsigned char *needle, size_t nlen)
{
    char *data;
    size_t len;
    if (sg_read_file(path, 1u << 28, &data, &len) < 0)
        return false;
    bool found = memmem(data, len, needle, nlen) != NULL;
    free(data);
    return found;
}

static int validate(sg_certstore *cs, X509 *x, const char *addr, int purpose, time_t at)
{
    char reason[256];
    int v = sg_cert_validate(cs, x, addr, purpose, at, reason, sizeof reason);
    printf("# validate: %s\n", reason);
    return v;
}

int main(void)
{
    char dir[] = "/tmp/sg-test-certstore-XXXXXX", path[256], kek[256], err[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/store.db", dir);
    snprintf(kek, sizeof kek, "%s/keys/kek", dir);
    sg_store *st = sg_store_open(path, err, sizeof err);
    side_open(path);
    CHECK(st != NULL, "store opens and migrates (%s)", st ? "" : err);
    sg_certstore *cs = sg_certstore_open(st, kek, SG_CS_CREATE_KEK);
    time_t now = time(NULL);

    /* ---- a test PKI: root -> intermediate -> leaf ---- */
    EVP_PKEY *rk = EVP_EC_gen("P-256"), *ik = EVP_EC_gen("P-256"), *lk = EVP_RSA_gen(2048);
    X509 *root = mk("Test Root", NULL, NULL, NULL, rk, -DAY, 3650 * DAY, NULL, EVP_sha256());
    X509 *inter = mk("Test Intermediate", NULL, root, rk, ik, -DAY, 1000 * DAY, NULL, EVP_sha256());
    X509 *leaf =
        mk("Alice", "alice@Example.ORG", inter, ik, lk, -DAY, 365 * DAY, "emailProtection", EVP_sha256());

    results rs;
    char *pem = pem_of(leaf, lk);
    int rej = import_pem(cs, pem, &rs);
    CHECK(rej == 0 && rs.n == 1 && rs.status[0] == SG_CERT_IMPORTED && rs.key[0],
          "PEM cert + key: imported with key");
    char alice[SG_CERT_FPR_LEN + 1];
    snprintf(alice, sizeof alice, "%s", rs.fpr[0]);
    rej = import_pem(cs, pem, &rs);
    CHECK(rej == 0 && rs.n == 1 && rs.status[0] == SG_CERT_UNCHANGED, "same input again: unchanged");

    uint8_t *out;
    size_t len;
    char *certpem = pem_of(leaf, NULL);
    CHECK(sg_certstore_export(cs, alice, false, &out, &len) == 0 && len == strlen(certpem) &&
              memcmp(out, certpem, len) == 0,
          "export gives back the same PEM");
    free(out);
    sg_cert_info ci;
    CHECK(sg_certstore_get(cs, alice, &ci) == 0 && ci.naddrs == 1 &&
              strcmp(ci.addrs[0], "alice@example.org") == 0 && ci.eku_email && !ci.is_ca && ci.has_key,
          "facts: address with lower-cased domain, emailProtection, not a CA, key held");
    sg_cert_info_clear(&ci);
    sg_cert_info *list;
    size_t n;
    CHECK(sg_certstore_list(cs, "alice@EXAMPLE.org", &list, &n) == 0 && n == 1,
          "list by address (domain case-insensitive)");
    sg_certstore_free_list(list, n);
    CHECK(sg_certstore_list(cs, "Alice@example.org", &list, &n) == 0 && n == 0, "local part is exact");
    sg_certstore_free_list(list, n);
    /* An address no certificate can carry is "none", not a store error (an error must defer
     * mail, and an attacker chooses recipient addresses). */
    CHECK(sg_certstore_list(cs, "\"a\\\" b=c\"@example.org", &list, &n) == 0 && n == 0 &&
              !sg_cert_addr_ok("\"a b\"@example.org") && sg_cert_addr_ok("alice@example.org"),
          "an address with a space lists nothing, without an error");
    sg_certstore_free_list(list, n);

    /* The private key must never be on disk in the clear: scan the db and its WAL. */
    unsigned char *p8 = NULL;
    PKCS8_PRIV_KEY_INFO *pki = EVP_PKEY2PKCS8(lk);
    int p8len = i2d_PKCS8_PRIV_KEY_INFO(pki, &p8);
    PKCS8_PRIV_KEY_INFO_free(pki);
    char wal[300];
    snprintf(wal, sizeof wal, "%s-wal", path);
    CHECK(p8len > 0 && !file_contains(path, p8, (size_t)p8len) && !file_contains(wal, p8, (size_t)p8len),
          "PKCS#8 DER of the key is in neither the db nor its WAL");
    /* ... nor its RSA modulus' private exponent part: check a 32-byte slice from the middle. */
    CHECK(!file_contains(path, p8 + p8len / 2, 32) && !file_contains(wal, p8 + p8len / 2, 32),
          "no 32-byte slice of the key in the db or WAL");
    EVP_PKEY *back = sg_certstore_load_key(cs, alice);
    CHECK(back && EVP_PKEY_eq(back, lk) == 1, "the wrapped key unwraps to the same key");
    EVP_PKEY_free(back);
    OPENSSL_free(p8);

    /* ---- validation ---- */
    CHECK(validate(cs, leaf, "alice@example.org", SG_CERT_SIGN, now) == SG_CERT_UNTRUSTED,
          "without root and intermediate: untrusted chain");
    char *rp = pem_of(root, NULL), *ip = pem_of(inter, NULL);
    import_pem(cs, rp, &rs);
    char rootfpr[SG_CERT_FPR_LEN + 1];
    snprintf(rootfpr, sizeof rootfpr, "%s", rs.fpr[0]);
    import_pem(cs, ip, &rs);
    CHECK(validate(cs, leaf, "alice@example.org", SG_CERT_SIGN, now) == SG_CERT_UNTRUSTED,
          "root present but not trusted: untrusted chain");
    CHECK(sg_certstore_set_trust(cs, alice, true) == 2, "a leaf cannot become a trust anchor");
    CHECK(sg_certstore_set_trust(cs, rootfpr, true) == 0, "the root becomes a trust anchor");
    CHECK(validate(cs, leaf, "alice@example.org", SG_CERT_SIGN, now) == SG_CERT_VALID,
          "chain through the intermediate: valid for signing");
    CHECK(validate(cs, leaf, "alice@EXAMPLE.ORG", SG_CERT_ENCRYPT, now) == SG_CERT_VALID,
          "valid for encryption, domain case-insensitive");
    CHECK(validate(cs, leaf, "alice@example.org", SG_CERT_SIGN, now + 400 * DAY) == SG_CERT_EXPIRED,
          "check time after notAfter: expired");
    CHECK(validate(cs, leaf, "alice@example.org", SG_CERT_SIGN, now - 2 * DAY) == SG_CERT_NOT_YET_VALID,
          "check time before notBefore: not yet valid");
    CHECK(validate(cs, leaf, "bob@example.org", SG_CERT_SIGN, now) == SG_CERT_ADDRESS_MISMATCH,
          "other address: address mismatch");
    CHECK(validate(cs, leaf, "ALICE@example.org", SG_CERT_SIGN, now) == SG_CERT_ADDRESS_MISMATCH,
          "local part differs in case: address mismatch");

    EVP_PKEY *k2 = EVP_EC_gen("P-256");
    X509 *noeku = mk("NoEKU", "noeku@example.org", inter, ik, k2, -DAY, 365 * DAY, NULL, EVP_sha256());
    X509 *server = mk("Srv", "srv@example.org", inter, ik, k2, -DAY, 365 * DAY, "serverAuth", EVP_sha256());
    CHECK(validate(cs, noeku, "noeku@example.org", SG_CERT_SIGN, now) == SG_CERT_NO_EMAIL_PROTECTION,
          "no EKU: no emailProtection");
    CHECK(validate(cs, server, "srv@example.org", SG_CERT_SIGN, now) == SG_CERT_NO_EMAIL_PROTECTION,
          "EKU serverAuth only: no emailProtection");

    EVP_PKEY *ork = EVP_EC_gen("P-256");
    X509 *oroot = mk("Other Root", NULL, NULL, NULL, ork, -DAY, 3650 * DAY, NULL, EVP_sha256());
    X509 *oleaf =
        mk("Carol", "carol@example.org", oroot, ork, k2, -DAY, 365 * DAY, "emailProtection", EVP_sha256());
    char *op = pem_of(oroot, NULL);
    import_pem(cs, op, &rs);
    CHECK(validate(cs, oleaf, "carol@example.org", SG_CERT_SIGN, now) == SG_CERT_UNTRUSTED,
          "leaf of an imported but untrusted root: untrusted chain");
    CHECK(sg_certstore_set_trust(cs, rootfpr, false) == 0 &&
              validate(cs, leaf, "alice@example.org", SG_CERT_SIGN, now) == SG_CERT_UNTRUSTED,
          "untrust the root: untrusted chain again");
    sg_certstore_set_trust(cs, rootfpr, true);

    /* ---- policy ---- */
    EVP_PKEY *weak = EVP_RSA_gen(1024);
    X509 *wk = mk("Weak", "weak@example.org", inter, ik, weak, -DAY, DAY, "emailProtection", EVP_sha256());
    X509 *sha1 = mk("Sha1", "sha1@example.org", inter, ik, k2, -DAY, DAY, "emailProtection", EVP_sha1());
    char *wp = pem_of(wk, NULL), *sp = pem_of(sha1, NULL);
    CHECK(import_pem(cs, wp, &rs) == 1 && rs.status[0] == SG_CERT_REJECTED && strstr(rs.reason[0], "2048"),
          "RSA-1024: rejected (%s)", rs.reason[0]);
    CHECK(import_pem(cs, sp, &rs) == 1 && rs.status[0] == SG_CERT_REJECTED && strstr(rs.reason[0], "SHA-1"),
          "SHA-1 signed end-entity: rejected (%s)", rs.reason[0]);
    CHECK(import_pem(cs, "garbage\n", &rs) == 1 && rs.status[0] == SG_CERT_REJECTED && !rs.fpr[0][0],
          "garbage: rejected without fingerprint");

    /* ---- local CA, revocation through its CRL ---- */
    now = time(NULL); /* the CA is made now: an older "now" may precede its notBefore */
    char cafpr[SG_CERT_FPR_LEN + 1], bob[SG_CERT_FPR_LEN + 1], eve[SG_CERT_FPR_LEN + 1];
    CHECK(sg_ca_init(cs, "CN=Test Local CA, O=sealgate", 3650, false, cafpr) == 0, "ca init");
    CHECK(sg_ca_init(cs, "CN=again", 3650, false, cafpr) == 1, "a second ca init is refused");
    CHECK(sg_ca_issue(cs, "bob@demo.test", SG_CA_USAGE_SIGN | SG_CA_USAGE_ENCRYPT, 365, false, bob) == 0 &&
              sg_ca_issue(cs, "eve@demo.test", SG_CA_USAGE_SIGN, 365, true, eve) == 0,
          "ca issue: EC both, RSA sign");
    X509 *bx = sg_certstore_load_cert(cs, bob), *ex = sg_certstore_load_cert(cs, eve);
    CHECK(validate(cs, bx, "bob@demo.test", SG_CERT_SIGN, now) == SG_CERT_VALID &&
              validate(cs, bx, "bob@demo.test", SG_CERT_ENCRYPT, now) == SG_CERT_VALID,
          "EC certificate from the local CA: valid for sign and encrypt");
    CHECK(validate(cs, ex, "eve@demo.test", SG_CERT_ENCRYPT, now) == SG_CERT_BAD_KEY_USAGE,
          "sign-only certificate used for encryption: bad key usage");
    CHECK(sg_ca_revoke(cs, bob) == 0 && sg_ca_revoke(cs, bob) == 3 && sg_ca_revoke(cs, alice) == 2,
          "revoke: once; again refused; foreign certificate refused");
    CHECK(validate(cs, bx, "bob@demo.test", SG_CERT_SIGN, now) == SG_CERT_VALID,
          "revocation takes effect with the CRL, not before");
    uint8_t *crl;
    CHECK(sg_ca_crl(cs, 30, &crl, &len) == 0 && len > 0, "ca crl");
    free(crl);
    CHECK(validate(cs, bx, "bob@demo.test", SG_CERT_SIGN, now + 60) == SG_CERT_REVOKED,
          "revoked by the CA's CRL");
    CHECK(validate(cs, ex, "eve@demo.test", SG_CERT_SIGN, now + 60) == SG_CERT_VALID,
          "not listed: still valid");
    int64_t num = 0;
    X509_CRL *c2 = NULL;
    CHECK(sg_ca_crl(cs, 30, &crl, &len) == 0 && (c2 = sg_certstore_get_crl(cs, cafpr, &num)) && num == 2,
          "the CRL number increases");
    free(crl);
    X509_CRL_free(c2);

    /* A wrapped key copied onto another certificate's row must not unwrap (AAD = fpr). */
    sqlite3 *db = side_db;
    char sql[400];
    snprintf(sql, sizeof sql,
             "UPDATE x509_keys SET wrapped = (SELECT wrapped FROM x509_keys WHERE fpr = '%s')"
             " WHERE fpr = '%s'",
             bob, eve);
    EVP_PKEY *swapped = NULL;
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK && sqlite3_changes(db) == 1 &&
              !(swapped = sg_certstore_load_key(cs, eve)) &&
              strstr(sg_certstore_error(cs), "does not unwrap"),
          "a wrapped key moved to another certificate's row does not unwrap");
    EVP_PKEY_free(swapped);
    EVP_PKEY *bk = sg_certstore_load_key(cs, bob);
    CHECK(bk && X509_check_private_key(bx, bk) == 1, "the original row still unwraps to the matching key");
    EVP_PKEY_free(bk);

    CHECK(sg_certstore_delete(cs, alice) == 0 && sg_certstore_get(cs, alice, &ci) == 1 &&
              sg_certstore_load_key(cs, alice) == NULL,
          "delete removes certificate and key");
    CHECK(sg_certstore_delete(cs, alice) == 1, "delete again: absent");

    X509_free(bx);
    X509_free(ex);
    free(pem), free(certpem), free(rp), free(ip), free(op), free(wp), free(sp);
    X509_free(root), X509_free(inter), X509_free(leaf), X509_free(noeku), X509_free(server);
    X509_free(oroot), X509_free(oleaf), X509_free(wk), X509_free(sha1);
    EVP_PKEY_free(rk), EVP_PKEY_free(ik), EVP_PKEY_free(lk), EVP_PKEY_free(k2), EVP_PKEY_free(ork);
    EVP_PKEY_free(weak);
    sg_certstore_close(cs);
    sg_store_close(st);
    if (tc_rmtree(dir) < 0)
        return 1;
    return CHECK_DONE();
}
