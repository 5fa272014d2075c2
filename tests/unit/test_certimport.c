/* test_certimport.c - sg_certstore_import_set: legacy PKCS#12 (RC2-40, 3DES) without the
 * legacy provider reaching the default library context, a certificate and its key in two
 * inputs, refusal (nothing stored) of a key that matches no certificate or cannot be read,
 * and SG_CS_IMPORT_TRUST. Owner: src/keys. Inputs are made here with OpenSSL's API. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "testcerts.h"
#include "keys/certstore.h"

typedef struct {
    int n, rejected_inputs, status[8], trust[8];
    bool key[8];
    char reason[8][128];
} results;

static void collect(void *ctx, const sg_cert_import_result *r)
{
    results *rs = ctx;
    rs->rejected_inputs += !r->fpr;
    if (rs->n >= 8)
        return;
    rs->status[rs->n] = r->status;
    rs->key[rs->n] = r->key;
    rs->trust[rs->n] = r->trust;
    snprintf(rs->reason[rs->n], sizeof rs->reason[0], "%s", r->reason ? r->reason : "");
    rs->n++;
}

static int import2(sg_certstore *cs, const char *a, const char *b, const char *pw, unsigned flags, results *rs)
{
    sg_cert_input in[2] = {{(const uint8_t *)a, strlen(a), "a"}, {(const uint8_t *)b, b ? strlen(b) : 0, "b"}};
    memset(rs, 0, sizeof *rs);
    return sg_certstore_import_set(cs, in, b ? 2 : 1, pw, flags, collect, rs);
}

/* A PKCS#12 as `openssl pkcs12 -export -legacy` writes it, made in a context of our own. */
static int legacy_p12(OSSL_LIB_CTX *ctx, X509 *x, EVP_PKEY *k, int keypbe, unsigned char **der)
{
    PKCS12 *p12 = PKCS12_create_ex("pw", "alice", k, x, NULL, keypbe, NID_pbe_WithSHA1And40BitRC2_CBC, 2048, 2048,
                                   0, ctx, NULL);
    int len = p12 ? i2d_PKCS12(p12, der) : -1;
    PKCS12_free(p12);
    return len;
}

static char *key_pem(EVP_PKEY *k, const char *pw)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (pw)
        PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_256_cbc(), NULL, 0, NULL, (void *)pw);
    else
        PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    return tc_bio_string(b);
}

static bool stored(sg_certstore *cs, X509 *x, bool *has_key, bool *trusted)
{
    char fpr[SG_CERT_FPR_LEN + 1];
    sg_cert_info ci;
    if (sg_cert_fpr(x, fpr) < 0 || sg_certstore_get(cs, fpr, &ci) != 0)
        return false;
    if (has_key)
        *has_key = ci.has_key;
    if (trusted)
        *trusted = ci.trusted;
    sg_cert_info_clear(&ci);
    return true;
}

static void forget(sg_certstore *cs, X509 *x)
{
    char fpr[SG_CERT_FPR_LEN + 1];
    if (sg_cert_fpr(x, fpr) == 0)
        sg_certstore_delete(cs, fpr);
}

int main(void)
{
    char dir[] = "/tmp/sg-test-certimport-XXXXXX", path[256], kek[256], err[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/store.db", dir);
    snprintf(kek, sizeof kek, "%s/keys/kek", dir);
    sg_store *st = sg_store_open(path, err, sizeof err);
    CHECK(st != NULL, "store opens (%s)", st ? "" : err);
    sg_certstore *cs = sg_certstore_open(st, kek, SG_CS_CREATE_KEK);

    EVP_PKEY *rk = EVP_EC_gen("P-256"), *ak = EVP_RSA_gen(2048), *bk = EVP_EC_gen("P-256");
    X509 *root = mk("Import Root", NULL, NULL, NULL, rk, -DAY, 3650 * DAY, NULL, EVP_sha256());
    X509 *alice = mk("Alice", "alice@demo.test", root, rk, ak, -DAY, 365 * DAY, "emailProtection", EVP_sha256());
    X509 *bob = mk("Bob", "bob@demo.test", root, rk, bk, -DAY, 365 * DAY, "emailProtection", EVP_sha256());
    results rs;
    bool has_key = false, trusted = false;

    /* ---- legacy PKCS#12: RC2-40 certificate bag, 3DES or RC2-40 key bag ---- */
    OSSL_LIB_CTX *mine = OSSL_LIB_CTX_new();
    OSSL_PROVIDER *pdef = mine ? OSSL_PROVIDER_load(mine, "default") : NULL;
    OSSL_PROVIDER *pleg = mine ? OSSL_PROVIDER_load(mine, "legacy") : NULL;
    CHECK(pdef && pleg, "a context with the legacy provider, to make the test input");
    static const int keypbes[] = {NID_pbe_WithSHA1And3_Key_TripleDES_CBC, NID_pbe_WithSHA1And40BitRC2_CBC};
    for (size_t i = 0; i < 2; i++) {
        unsigned char *der = NULL;
        int len = legacy_p12(mine, alice, ak, keypbes[i], &der);
        sg_cert_input in = {der, len > 0 ? (size_t)len : 0, "alice.p12"};
        memset(&rs, 0, sizeof rs);
        int rej = len > 0 ? sg_certstore_import_set(cs, &in, 1, "pw", 0, collect, &rs) : -1;
        CHECK(rej == 0 && rs.n == 1 && rs.status[0] == SG_CERT_IMPORTED && rs.key[0] &&
                  stored(cs, alice, &has_key, NULL) && has_key,
              "legacy PKCS#12 (RC2-40 certificates, %s key): imported with its key (%s)", i ? "RC2-40" : "3DES",
              rs.reason[0]);
        memset(&rs, 0, sizeof rs);
        forget(cs, alice);
        CHECK(len > 0 && sg_certstore_import_set(cs, &in, 1, "wrong", 0, collect, &rs) == 1 &&
                  rs.rejected_inputs == 1 && strstr(rs.reason[0], "wrong password") && !stored(cs, alice, NULL, NULL),
              "legacy PKCS#12 with a wrong password: refused (%s)", rs.reason[0]);
        OPENSSL_free(der);
    }
    /* The import's legacy provider must not reach mail crypto (the default context). */
    EVP_CIPHER *rc2 = EVP_CIPHER_fetch(NULL, "RC2-40-CBC", NULL), *des = EVP_CIPHER_fetch(NULL, "DES-CBC", NULL);
    EVP_MD *md4 = EVP_MD_fetch(NULL, "MD4", NULL);
    CHECK(!rc2 && !des && !md4 && !OSSL_PROVIDER_available(NULL, "legacy"),
          "after the import, RC2, DES and MD4 are still unavailable in the default context");
    EVP_CIPHER_free(rc2), EVP_CIPHER_free(des), EVP_MD_free(md4);
    OSSL_PROVIDER_unload(pleg), OSSL_PROVIDER_unload(pdef);
    OSSL_LIB_CTX_free(mine);

    /* ---- a certificate and its key in two inputs ---- */
    char *acert = pem_of(alice, NULL), *akey = key_pem(ak, NULL), *bkey = key_pem(bk, NULL);
    char *aenc = key_pem(ak, "s3cret"), *rootpem = pem_of(root, NULL), *bcert = pem_of(bob, NULL);
    CHECK(import2(cs, acert, akey, NULL, 0, &rs) == 0 && rs.n == 1 && rs.status[0] == SG_CERT_IMPORTED && rs.key[0] &&
              stored(cs, alice, &has_key, NULL) && has_key,
          "CERT KEY in two inputs: imported with the key");
    forget(cs, alice);
    CHECK(import2(cs, akey, acert, NULL, 0, &rs) == 0 && rs.key[rs.n - 1], "KEY CERT, the other order: the same");
    forget(cs, alice);
    CHECK(import2(cs, acert, bkey, NULL, 0, &rs) == 2 && rs.rejected_inputs == 1 &&
              strstr(rs.reason[0], "matches none") && rs.status[1] == SG_CERT_REJECTED &&
              !stored(cs, alice, NULL, NULL),
          "a key that does not belong to the certificate: refused, nothing stored (%s)", rs.reason[0]);
    CHECK(import2(cs, acert, aenc, NULL, 0, &rs) == 2 && strstr(rs.reason[0], "--password") &&
              !stored(cs, alice, NULL, NULL),
          "an encrypted key without password: refused, the certificate is not imported without it (%s)",
          rs.reason[0]);
    CHECK(import2(cs, acert, aenc, "s3cret", 0, &rs) == 0 && rs.key[0] && stored(cs, alice, &has_key, NULL) &&
              has_key,
          "the encrypted key with its password: imported with the key");
    CHECK(import2(cs, bkey, NULL, NULL, 0, &rs) == 1 && strstr(rs.reason[0], "without its certificate"),
          "a key alone: rejected (%s)", rs.reason[0]);
    CHECK(import2(cs, bcert, "garbage", NULL, 0, &rs) == 2 && rs.rejected_inputs == 1 &&
              !stored(cs, bob, NULL, NULL),
          "an unreadable second input: nothing of the call stored");

    /* ---- SG_CS_IMPORT_TRUST ---- */
    CHECK(import2(cs, rootpem, NULL, NULL, SG_CS_IMPORT_TRUST, &rs) == 0 && rs.trust[0] == 1 &&
              stored(cs, root, NULL, &trusted) && trusted,
          "import with trust: the CA certificate is a trust anchor");
    sg_cert_fpr(root, path);
    sg_certstore_set_trust(cs, path, false);
    CHECK(import2(cs, rootpem, NULL, NULL, SG_CS_IMPORT_TRUST, &rs) == 0 && rs.status[0] == SG_CERT_UNCHANGED &&
              rs.trust[0] == 1 && stored(cs, root, NULL, &trusted) && trusted,
          "import with trust of a known, untrusted CA: trusted now");
    CHECK(import2(cs, bcert, NULL, NULL, SG_CS_IMPORT_TRUST, &rs) == 0 && rs.trust[0] == -1 &&
              strstr(rs.reason[0], "not a CA") && stored(cs, bob, NULL, &trusted) && !trusted,
          "import with trust of an end-entity certificate: imported, not an anchor (%s)", rs.reason[0]);
    char fpr[SG_CERT_FPR_LEN + 1];
    CHECK(sg_cert_fpr_norm("ab:CD", fpr) < 0 && sg_cert_fpr(root, path) == 0 && sg_cert_fpr_norm(path, fpr) == 0 &&
              strcmp(fpr, path) == 0,
          "sg_cert_fpr_norm tells fingerprints from other arguments");

    free(acert), free(akey), free(bkey), free(aenc), free(rootpem), free(bcert);
    X509_free(root), X509_free(alice), X509_free(bob);
    EVP_PKEY_free(rk), EVP_PKEY_free(ak), EVP_PKEY_free(bk);
    sg_certstore_close(cs);
    sg_store_close(st);
    if (tc_rmtree(dir) < 0)
        return 1;
    return CHECK_DONE();
}
