/* test_certlearn.c - certificates and SMIMECapabilities learned from signed incoming mail
 * (sg_certstore_learn, sg_certstore_caps). Owner: src/keys.
 * The PKI is made at test time; capabilities are built with OpenSSL's CMS helpers, as a
 * signing client would put them into its signature. */
#include <openssl/cms.h>
#include <sqlite3.h>
#include <unistd.h>

#include "check.h"
#include "store_side.h"
#include "keys/certstore.h"
#include "testcerts.h"

/* DER of an SMIMECapabilities value listing nids in this order. Free with OPENSSL_free. */
static int caps_der(const int *nids, int n, unsigned char **out)
{
    STACK_OF(X509_ALGOR) *algs = NULL;
    for (int i = 0; i < n; i++)
        if (!CMS_add_simple_smimecap(&algs, nids[i], -1))
            abort();
    *out = NULL;
    int len = i2d_X509_ALGORS(algs, out);
    sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
    return len;
}

/* Concatenated DER of the given certificates. */
static size_t chain_der(X509 **v, int n, unsigned char *buf, size_t cap)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        unsigned char *d = NULL;
        int l = i2d_X509(v[i], &d);
        if (l <= 0 || len + (size_t)l > cap)
            abort();
        memcpy(buf + len, d, (size_t)l);
        len += (size_t)l;
        OPENSSL_free(d);
    }
    return len;
}

static int count(const char *sql)
{
    sqlite3_stmt *s;
    int n = -1;
    if (sqlite3_prepare_v2(side_db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return n;
}

int main(void)
{
    char dir[] = "/tmp/sg-test-certlearn-XXXXXX", path[256], err[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/store.db", dir);
    sg_store *st = sg_store_open(path, err, sizeof err);
    side_open(path);
    CHECK(st != NULL, "store opens and migrates (%s)", st ? "" : err);
    sg_certstore *cs = sg_certstore_open(st, NULL, 0); /* learning needs no KEK */
    time_t now = time(NULL);

    EVP_PKEY *rk = EVP_EC_gen("P-256"), *ik = EVP_EC_gen("P-256"), *lk = EVP_RSA_gen(2048);
    X509 *root = mk("Learn Root", NULL, NULL, NULL, rk, -DAY, 3650 * DAY, NULL, EVP_sha256());
    X509 *inter = mk("Learn Intermediate", NULL, root, rk, ik, -DAY, 1000 * DAY, NULL, EVP_sha256());
    X509 *leaf = mk("Dora", "dora@Partner.example", inter, ik, lk, -DAY, 365 * DAY, "emailProtection",
                    EVP_sha256());
    unsigned char chain[16384], *caps = NULL;
    X509 *all[] = {leaf, inter, root};
    size_t clen = chain_der(all, 3, chain, sizeof chain);
    int gcm_first[] = {NID_aes_256_gcm, NID_aes_256_cbc, NID_rsaesOaep};
    int caplen = caps_der(gcm_first, 3, &caps);

    /* ---- capabilities parsing ---- */
    unsigned flags, pref;
    CHECK(sg_smime_caps_parse(caps, (size_t)caplen, &flags, &pref) == 0 &&
              flags == (SG_CAP_AES256_GCM | SG_CAP_AES256_CBC | SG_CAP_RSAES_OAEP) && pref == SG_CAP_AES256_GCM,
          "SMIMECapabilities: GCM, CBC, OAEP recognised; GCM preferred (first listed)");
    int cbc_first[] = {NID_aes_128_cbc, NID_aes_256_gcm};
    unsigned char *caps2 = NULL;
    int cap2len = caps_der(cbc_first, 2, &caps2);
    CHECK(sg_smime_caps_parse(caps2, (size_t)cap2len, &flags, &pref) == 0 && pref == SG_CAP_AES128_CBC &&
              (flags & SG_CAP_AES256_GCM),
          "the preference is the order listed, not our order");
    CHECK(sg_smime_caps_parse(caps, (size_t)caplen - 1, &flags, &pref) < 0, "truncated DER: refused");
    unsigned char trailing[512];
    memcpy(trailing, caps, (size_t)caplen);
    trailing[caplen] = 0;
    CHECK(sg_smime_caps_parse(trailing, (size_t)caplen + 1, &flags, &pref) < 0, "trailing byte: refused");

    /* The recipe certstore.h gives the S/MIME engine: the attribute of a real CMS signature. */
    BIO *msg = BIO_new_mem_buf("hello", 5);
    CMS_ContentInfo *cms = CMS_sign(leaf, lk, NULL, msg, CMS_BINARY | CMS_DETACHED);
    CMS_SignerInfo *si = cms ? sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0) : NULL;
    ASN1_STRING *seq = si ? CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_SMIMECapabilities), -3, V_ASN1_SEQUENCE)
                          : NULL;
    CHECK(seq && sg_smime_caps_parse(ASN1_STRING_get0_data(seq), (size_t)ASN1_STRING_length(seq), &flags, &pref) == 0 &&
              (flags & SG_CAP_AES256_CBC) && pref,
          "SMIMECapabilities of an OpenSSL CMS signature, taken as certstore.h says: parsed (preferred 0x%x)", pref);
    CMS_ContentInfo_free(cms);
    BIO_free(msg);

    /* ---- learning ---- */
    sg_smime_caps sc;
    CHECK(sg_certstore_caps(cs, "dora@partner.example", &sc) == 1 && sc.flags == 0,
          "no signed mail seen yet: caps unknown");
    char fpr[SG_CERT_FPR_LEN + 1];
    CHECK(sg_certstore_learn(cs, chain, clen, "dora@PARTNER.example", caps, (size_t)caplen, now, fpr) == 0 &&
              strlen(fpr) == SG_CERT_FPR_LEN,
          "learn: signer + chain stored (%s)", sg_certstore_error(cs));
    CHECK(count("SELECT count(*) FROM x509_certs WHERE learned = 1 AND trusted = 0") == 2,
          "signer and intermediate stored as learned, untrusted; the self-signed root not kept");
    sg_cert_info ci;
    CHECK(sg_certstore_get(cs, fpr, &ci) == 0 && ci.learned && !ci.trusted, "cert info says learned");
    sg_cert_info_clear(&ci);
    CHECK(sg_certstore_caps(cs, "dora@partner.example", &sc) == 0 && (sc.flags & SG_CAP_AES256_GCM) &&
              sc.preferred == SG_CAP_AES256_GCM && strcmp(sc.fpr, fpr) == 0 && sc.last_seen == now,
          "caps for the address: AES-256-GCM supported and preferred, signer fingerprint");
    CHECK(sg_certstore_caps(cs, "Dora@partner.example", &sc) == 1, "local part is exact for caps");

    char reason[256];
    CHECK(sg_cert_validate(cs, leaf, "dora@partner.example", SG_CERT_ENCRYPT, now, reason, sizeof reason) ==
              SG_CERT_UNTRUSTED,
          "learned but root not trusted: untrusted chain (%s)", reason);
    char *rp = pem_of(root, NULL);
    char rfpr[SG_CERT_FPR_LEN + 1];
    sg_cert_fpr(root, rfpr);
    CHECK(sg_certstore_import(cs, (const uint8_t *)rp, strlen(rp), NULL, NULL, NULL) == 0 &&
              sg_certstore_set_trust(cs, rfpr, true) == 0,
          "the admin imports and trusts the root");
    CHECK(sg_cert_validate(cs, leaf, "dora@partner.example", SG_CERT_ENCRYPT, now, reason, sizeof reason) ==
              SG_CERT_VALID,
          "now the learned certificate validates through the learned intermediate (%s)", reason);

    /* A later message with other capabilities replaces them; an older one does not. */
    CHECK(sg_certstore_learn(cs, chain, clen, "dora@partner.example", caps2, (size_t)cap2len, now + 10,
                             NULL) == 0 &&
              sg_certstore_caps(cs, "dora@partner.example", &sc) == 0 && sc.preferred == SG_CAP_AES128_CBC,
          "newer signature: its capabilities count");
    CHECK(sg_certstore_learn(cs, chain, clen, "dora@partner.example", caps, (size_t)caplen, now + 5, NULL) ==
                  0 &&
              sg_certstore_caps(cs, "dora@partner.example", &sc) == 0 && sc.preferred == SG_CAP_AES128_CBC &&
              sc.last_seen == now + 10 && sc.first_seen == now,
          "older signature arriving late: capabilities unchanged");
    CHECK(sg_certstore_learn(cs, chain, clen, "dora@partner.example", (const unsigned char *)"\x30\x03xyz", 5,
                             now + 20, NULL) == 0 &&
              sg_certstore_caps(cs, "dora@partner.example", &sc) == 0 && sc.flags == 0,
          "malformed capabilities: certificate still learned, no capabilities claimed");

    /* ---- refusals ---- */
    CHECK(sg_certstore_learn(cs, chain, clen, "eve@partner.example", caps, (size_t)caplen, now, NULL) == 1 &&
              strstr(sg_certstore_error(cs), "not an address"),
          "From not in the certificate: refused (%s)", sg_certstore_error(cs));
    CHECK(sg_certstore_learn(cs, chain, clen - 1, "dora@partner.example", NULL, 0, now, NULL) == 1,
          "truncated chain: refused");
    X509 *selfsig = mk("Self", "self@partner.example", NULL, NULL, lk, -DAY, DAY, "emailProtection",
                       EVP_sha256());
    size_t slen = chain_der(&selfsig, 1, chain, sizeof chain);
    CHECK(sg_certstore_learn(cs, chain, slen, "self@partner.example", NULL, 0, now, NULL) == 1 &&
              strstr(sg_certstore_error(cs), "self-signed"),
          "self-signed signer: not learned");
    EVP_PKEY *weak = EVP_RSA_gen(1024);
    X509 *wk = mk("Weak", "weak@partner.example", inter, ik, weak, -DAY, DAY, "emailProtection", EVP_sha256());
    slen = chain_der(&wk, 1, chain, sizeof chain);
    CHECK(sg_certstore_learn(cs, chain, slen, "weak@partner.example", NULL, 0, now, NULL) == 1 &&
              strstr(sg_certstore_error(cs), "2048"),
          "acceptance policy applies: RSA-1024 not learned");
    X509 *many[SG_LEARN_MAX_CERTS + 1];
    for (int i = 0; i <= SG_LEARN_MAX_CERTS; i++)
        many[i] = inter;
    many[0] = leaf;
    slen = chain_der(many, SG_LEARN_MAX_CERTS + 1, chain, sizeof chain);
    CHECK(sg_certstore_learn(cs, chain, slen, "dora@partner.example", NULL, 0, now, NULL) == 1 &&
              strstr(sg_certstore_error(cs), "more than"),
          "more than %d certificates: refused", SG_LEARN_MAX_CERTS);

    /* ---- flood: only the newest few learned signer certificates per address stay ---- */
    int before = count("SELECT count(*) FROM x509_certs");
    for (int i = 0; i < SG_LEARN_PER_ADDR + 3; i++) {
        EVP_PKEY *k = EVP_EC_gen("P-256");
        X509 *x = mk("Flood", "flood@partner.example", inter, ik, k, -DAY, DAY, "emailProtection", EVP_sha256());
        slen = chain_der(&x, 1, chain, sizeof chain);
        if (sg_certstore_learn(cs, chain, slen, "flood@partner.example", NULL, 0, now + i, NULL) != 0)
            CHECK(0, "flood learn %d: %s", i, sg_certstore_error(cs));
        X509_free(x);
        EVP_PKEY_free(k);
    }
    CHECK(count("SELECT count(*) FROM x509_learned WHERE addr = 'flood@partner.example'") ==
                  SG_LEARN_PER_ADDR &&
              count("SELECT count(*) FROM x509_certs") == before + SG_LEARN_PER_ADDR,
          "flood of %d certificates: the newest %d kept, the rest removed", SG_LEARN_PER_ADDR + 3,
          SG_LEARN_PER_ADDR);
    CHECK(count("SELECT min(last_seen) FROM x509_learned WHERE addr = 'flood@partner.example'") ==
              (int)now + 3,
          "the evicted ones are the oldest");

    /* ---- the admin importing a learned certificate makes it an ordinary one ---- */
    char *lp = pem_of(leaf, NULL);
    CHECK(sg_certstore_import(cs, (const uint8_t *)lp, strlen(lp), NULL, NULL, NULL) == 0 &&
              sg_certstore_get(cs, fpr, &ci) == 0 && !ci.learned,
          "imported by the admin: no longer marked learned");
    sg_cert_info_clear(&ci);
    CHECK(sg_certstore_delete(cs, fpr) == 0 && sg_certstore_caps(cs, "dora@partner.example", &sc) == 1,
          "delete removes the capabilities recorded with the certificate");

    free(rp), free(lp);
    OPENSSL_free(caps), OPENSSL_free(caps2);
    X509_free(root), X509_free(inter), X509_free(leaf), X509_free(selfsig), X509_free(wk);
    EVP_PKEY_free(rk), EVP_PKEY_free(ik), EVP_PKEY_free(lk), EVP_PKEY_free(weak);
    sg_certstore_close(cs);
    sg_store_close(st);
    if (tc_rmtree(dir) < 0)
        return 1;
    return CHECK_DONE();
}
