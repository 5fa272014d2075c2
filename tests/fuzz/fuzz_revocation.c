/* fuzz_revocation.c - libFuzzer target for what revocation checking and learning parse from
 * strangers: the first byte picks the parser, the rest is its input. 0: a CRL body from a
 * distribution point (sg_crl_accept, then sg_crl_lists); 1: an OCSP response body
 * (sg_ocsp_accept); 2: SMIMECapabilities DER (sg_smime_caps_parse); 3: a certificate chain
 * from a signed message into an in-memory store (sg_certstore_learn, then sg_certstore_caps).
 * The issuer and leaf the answers are checked against are made once per process (their
 * signatures will rarely verify: the point is the parsing before and around it). The learning
 * address is that of the seed chain's signer (tests/fuzz/corpus/fuzz_revocation/learn). Owner: src/keys. */
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys/certstore.h"
#include "keys/revocation.h"

static X509 *issuer, *leaf;
static OCSP_CERTID *id;

static X509 *cert(const char *cn, X509 *iss, EVP_PKEY *ikey, EVP_PKEY *key)
{
    X509 *x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), iss ? 2 : 1);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(iss ? iss : x));
    X509_gmtime_adj(X509_getm_notBefore(x), -86400);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
    X509_set_pubkey(x, key);
    if (!X509_sign(x, ikey, EVP_sha256()))
        abort();
    return x;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    EVP_PKEY *ik = EVP_EC_gen("P-256"), *lk = EVP_EC_gen("P-256");
    issuer = cert("Fuzz CA", NULL, ik, ik);
    leaf = cert("Fuzz Leaf", issuer, ik, lk);
    id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer);
    EVP_PKEY_free(ik);
    EVP_PKEY_free(lk);
    return issuer && leaf && id ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    if (len < 1)
        return 0;
    /* An exact-size heap copy so ASan catches any read past the end. */
    size_t n = len - 1;
    uint8_t *in = malloc(n ? n : 1);
    if (!in)
        return 0;
    memcpy(in, buf + 1, n);
    char why[512];
    time_t now = time(NULL);
    switch (buf[0] % 4) {
    case 0: {
        X509_CRL *crl = NULL;
        int64_t at;
        if (sg_crl_accept(in, n, leaf, issuer, now, &crl, why, sizeof why) == 0) {
            sg_crl_lists(crl, leaf, now, &at);
            X509_CRL_free(crl);
        } else if (!memchr(why, 0, sizeof why)) {
            abort(); /* the reason must be a terminated string */
        }
        break;
    }
    case 1: {
        sg_ocsp_answer a;
        if (sg_ocsp_accept(in, n, NULL, id, issuer, now, 7 * 86400, &a, why, sizeof why) == 0 &&
            a.status != REV_GOOD && a.status != REV_REVOKED)
            abort();
        break;
    }
    case 2: {
        unsigned flags, pref;
        if (sg_smime_caps_parse(in, n, &flags, &pref) == 0 && pref && !(flags & pref))
            abort(); /* the preferred cipher is always among the flags */
        break;
    }
    default: {
        char err[256];
        sg_store *st = sg_store_open(":memory:", err, sizeof err);
        if (!st)
            abort();
        sg_certstore *cs = sg_certstore_open(st, NULL, 0);
        /* Split the input: the last 64 bytes (when there are more) play the capabilities. */
        size_t clen = n > 96 ? n - 64 : n;
        sg_certstore_learn(cs, in, clen, "alice@demo.test", clen < n ? in + clen : NULL, n - clen, now, NULL);
        sg_smime_caps caps;
        sg_certstore_caps(cs, "alice@demo.test", &caps);
        sg_certstore_close(cs);
        sg_store_close(st);
    }
    }
    free(in);
    return 0;
}
