/* testcerts.h - test PKI helpers for the X.509 unit tests (test_certstore.c,
 * test_certlearn.c, test_revocation.c): certificates made with OpenSSL's API at test time.
 * Owner: src/keys (tests). Static functions: each test includes it once. */
#ifndef SG_TESTCERTS_H
#define SG_TESTCERTS_H

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* When set, mk() adds a CRL distribution point / an AIA OCSP URL to the certificates it makes. */
static const char *tc_crl_url, *tc_ocsp_url;

static const time_t DAY = 86400;

static void ext(X509 *x, X509 *iss, int nid, const char *v)
{
    X509V3_CTX c;
    X509V3_set_ctx(&c, iss, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &c, nid, v);
    if (!e || !X509_add_ext(x, e, -1))
        abort();
    X509_EXTENSION_free(e);
}

/* A certificate for key signed by ikey (self-signed when iss is NULL), valid from now+from to
 * now+to; email NULL for CAs; eku NULL for none; md the signature hash. */
static X509 *mk(const char *cn, const char *email, X509 *iss, EVP_PKEY *ikey, EVP_PKEY *key, time_t from,
                time_t to, const char *eku, const EVP_MD *md)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, iss ? X509_get_subject_name(iss) : n);
    time_t now = time(NULL);
    X509_time_adj_ex(X509_getm_notBefore(x), 0, (long)from, &now);
    X509_time_adj_ex(X509_getm_notAfter(x), 0, (long)to, &now);
    X509_set_pubkey(x, key);
    X509 *ictx = iss ? iss : x;
    ext(x, ictx, NID_subject_key_identifier, "hash");
    ext(x, ictx, NID_authority_key_identifier, "keyid:always");
    if (!email) {
        ext(x, ictx, NID_basic_constraints, "critical,CA:TRUE");
        ext(x, ictx, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        char san[128];
        snprintf(san, sizeof san, "email:%s", email);
        ext(x, ictx, NID_basic_constraints, "critical,CA:FALSE");
        ext(x, ictx, NID_key_usage, "critical,digitalSignature,keyEncipherment");
        ext(x, ictx, NID_subject_alt_name, san);
    }
    if (eku)
        ext(x, ictx, NID_ext_key_usage, eku);
    char url[300];
    if (tc_crl_url) {
        snprintf(url, sizeof url, "URI:%s", tc_crl_url);
        ext(x, ictx, NID_crl_distribution_points, url);
    }
    if (tc_ocsp_url) {
        snprintf(url, sizeof url, "OCSP;URI:%s", tc_ocsp_url);
        ext(x, ictx, NID_info_access, url);
    }
    if (!X509_sign(x, ikey ? ikey : key, md))
        abort();
    return x;
}

/* What was written to a memory BIO, as a string; frees the BIO. */
static char *tc_bio_string(BIO *b)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *s = strndup(p, (size_t)n);
    BIO_free(b);
    return s;
}

static char *pem_of(X509 *x, EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    if (k)
        PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    return tc_bio_string(b);
}

/* Removes a test's temporary directory and everything in it: 0, or -1. */
static int tc_rmtree(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
