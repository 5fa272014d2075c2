/* certstore_query.c - reading, exporting, deleting and trusting stored certificates (through
 * store/x509_rows.h), and the stored CRLs (see certstore.h). Owner: src/keys.
 * SECURITY: sg_certstore_load_key and sg_certstore_export_key unwrap a private key with the
 * KEK; the plaintext PKCS#8 is wiped right after it is parsed or handed to the caller. */
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys/certstore.h"
#include "keys/certstore_int.h"

/* Moves what the store read into ci (the row is left empty). */
static void info_from_row(sg_cert_info *ci, sg_x509_row *r)
{
    memset(ci, 0, sizeof *ci);
    memcpy(ci->fpr, r->fpr, sizeof ci->fpr);
    ci->subject = r->subject;
    ci->issuer = r->issuer;
    ci->serial = r->serial;
    ci->not_before = r->not_before;
    ci->not_after = r->not_after;
    ci->key_usage = r->key_usage;
    ci->eku_email = r->eku_email;
    ci->is_ca = r->is_ca;
    ci->trusted = r->trusted;
    ci->learned = r->learned;
    ci->local_ca = r->local_ca;
    ci->revoked = r->revoked;
    ci->revoked_at = r->revoked_at;
    ci->has_key = r->has_key;
    ci->addrs = r->addrs;
    ci->naddrs = r->naddrs;
    memset(r, 0, sizeof *r);
}

/* list and page: page when limit > 0 (with *total), else every certificate. */
static int list_rows(sg_certstore *cs, const char *address, size_t limit, size_t offset, sg_cert_info **out,
                     size_t *n, int64_t *total)
{
    char norm[320];
    *out = NULL;
    *n = 0;
    *total = 0;
    /* No stored certificate can carry an address that does not normalise (add_addr skips such
     * names), so that is "none", never an error: a lookup error must mean the store failed. */
    if (address && cs_norm_addr(address, strlen(address), norm, sizeof norm) < 0)
        return 0;
    sg_x509_row *rows;
    size_t nrows;
    if ((limit ? sg_store_x509_page(cs->st, address ? norm : NULL, limit, offset, &rows, &nrows, total)
               : sg_store_x509_list(cs->st, address ? norm : NULL, &rows, &nrows)) < 0)
        return cs_store_fail(cs);
    if (nrows && !(*out = calloc(nrows, sizeof **out))) {
        sg_store_x509_rows_free(rows, nrows);
        return cs_fail(cs, "out of memory");
    }
    for (; *n < nrows; (*n)++)
        info_from_row(&(*out)[*n], &rows[*n]);
    free(rows);
    return 0;
}

int sg_certstore_list(sg_certstore *cs, const char *address, sg_cert_info **out, size_t *n)
{
    int64_t total;
    return list_rows(cs, address, 0, 0, out, n, &total);
}

int sg_certstore_page(sg_certstore *cs, const char *address, size_t limit, size_t offset, sg_cert_info **out,
                      size_t *n, int64_t *total)
{
    return list_rows(cs, address, limit ? limit : 1, offset, out, n, total);
}

void sg_certstore_free_list(sg_cert_info *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sg_cert_info_clear(&list[i]);
    free(list);
}

int sg_certstore_get(sg_certstore *cs, const char *fpr_in, sg_cert_info *ci)
{
    char fpr[SG_CERT_FPR_LEN + 1];
    memset(ci, 0, sizeof *ci);
    if (cs_norm_fpr(cs, fpr_in, fpr) < 0)
        return -1;
    sg_x509_row row;
    int rc = sg_store_x509_get(cs->st, fpr, &row);
    if (rc == 0)
        info_from_row(ci, &row);
    else if (rc == 1)
        cs_fail(cs, "no such certificate");
    else
        cs_store_fail(cs);
    return rc;
}

X509 *sg_certstore_load_cert(sg_certstore *cs, const char *fpr_in)
{
    char fpr[SG_CERT_FPR_LEN + 1];
    uint8_t *der;
    size_t len;
    if (cs_norm_fpr(cs, fpr_in, fpr) < 0)
        return NULL;
    int rc = sg_store_x509_der(cs->st, fpr, &der, &len);
    if (rc != 0) {
        if (rc == 1)
            cs_fail(cs, "no such certificate");
        else
            cs_store_fail(cs);
        return NULL;
    }
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    free(der);
    if (!x)
        cs_fail(cs, "stored certificate %s does not parse", fpr);
    return x;
}

/* The unwrapped PKCS#8 DER of fpr (sg_kek_free_plain): 0, 1 when none, -1 on error. */
static int unwrap_key(sg_certstore *cs, const char *fpr, uint8_t **der, size_t *len)
{
    uint8_t *wrapped;
    size_t wlen;
    int rc = sg_store_x509_key(cs->st, fpr, &wrapped, &wlen);
    if (rc == 1)
        cs_fail(cs, "no private key held for %s", fpr);
    else if (rc < 0)
        cs_store_fail(cs);
    if (rc != 0)
        return rc;
    if (cs_need_kek(cs) < 0) {
        free(wrapped);
        return -1;
    }
    /* _fresh: `sealgate kek rotate` may have replaced the KEK under a running cryptd. */
    rc = sg_kek_unwrap_fresh(&cs->kek, cs->kek_path, fpr, wrapped, wlen, der, len) < 0
             ? cs_fail(cs, "the private key of %s does not unwrap (wrong KEK or tampered row)", fpr)
             : 0;
    free(wrapped);
    return rc;
}

EVP_PKEY *sg_certstore_load_key(sg_certstore *cs, const char *fpr_in)
{
    char fpr[SG_CERT_FPR_LEN + 1];
    uint8_t *der;
    size_t len;
    if (cs_norm_fpr(cs, fpr_in, fpr) < 0 || unwrap_key(cs, fpr, &der, &len) != 0)
        return NULL;
    const unsigned char *p = der;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
    EVP_PKEY *k = p8 ? EVP_PKCS82PKEY(p8) : NULL;
    PKCS8_PRIV_KEY_INFO_free(p8);
    sg_kek_free_plain(der, len);
    if (!k)
        cs_fail(cs, "the private key of %s does not parse", fpr);
    return k;
}

static int bio_take(BIO *b, uint8_t **out, size_t *len)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    if (n <= 0 || !(*out = malloc((size_t)n)))
        return -1;
    memcpy(*out, p, (size_t)n);
    *len = (size_t)n;
    return 0;
}

int sg_certstore_export(sg_certstore *cs, const char *fpr, bool der, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    X509 *x = sg_certstore_load_cert(cs, fpr);
    if (!x)
        return strcmp(cs->err, "no such certificate") == 0 ? 1 : -1;
    BIO *b = BIO_new(BIO_s_mem());
    int ok = b && (der ? i2d_X509_bio(b, x) : PEM_write_bio_X509(b, x)) && bio_take(b, out, len) == 0;
    BIO_free(b);
    X509_free(x);
    return ok ? 0 : cs_fail(cs, "cannot encode the certificate");
}

int sg_certstore_export_key(sg_certstore *cs, const char *fpr, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    EVP_PKEY *k = sg_certstore_load_key(cs, fpr);
    if (!k)
        return strncmp(cs->err, "no private key", 14) == 0 ? 1 : -1;
    /* A memory BIO does not cleanse its buffer on free: copy the PEM out, cleanse the BIO's. */
    BIO *b = BIO_new(BIO_s_mem());
    int ok = b && PEM_write_bio_PKCS8PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    if (ok) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        ok = n > 0 && (*out = malloc((size_t)n));
        if (ok) {
            memcpy(*out, p, (size_t)n);
            *len = (size_t)n;
        }
        OPENSSL_cleanse(p, (size_t)(n > 0 ? n : 0));
    }
    BIO_free(b);
    EVP_PKEY_free(k);
    return ok ? 0 : cs_fail(cs, "cannot encode the private key");
}

int sg_certstore_delete(sg_certstore *cs, const char *fpr_in)
{
    char fpr[SG_CERT_FPR_LEN + 1];
    if (cs_norm_fpr(cs, fpr_in, fpr) < 0)
        return -1;
    /* One transaction: the certificate goes with its addresses, key, learned pairs, the CRL
     * it issued and its OCSP answer, or nothing goes. */
    if (sg_store_begin(cs->st) < 0)
        return cs_store_fail(cs);
    int rc = sg_store_x509_delete(cs->st, fpr);
    if (rc >= 0 && sg_store_commit(cs->st) == 0)
        return rc == 0 ? 0 : (cs_fail(cs, "no such certificate"), 1);
    cs_store_fail(cs);
    sg_store_rollback(cs->st);
    return -1;
}

int sg_certstore_set_trust(sg_certstore *cs, const char *fpr_in, bool trusted)
{
    sg_cert_info ci;
    int rc = sg_certstore_get(cs, fpr_in, &ci);
    if (rc != 0)
        return rc;
    bool is_ca = ci.is_ca;
    char fpr[SG_CERT_FPR_LEN + 1];
    memcpy(fpr, ci.fpr, sizeof fpr);
    sg_cert_info_clear(&ci);
    if (trusted && !is_ca) {
        cs_fail(cs, "not a CA certificate: only CA certificates can be trust anchors");
        return 2;
    }
    rc = sg_store_x509_set_trust(cs->st, fpr, trusted);
    if (rc == 1)
        cs_fail(cs, "no such certificate");
    return rc < 0 ? cs_store_fail(cs) : rc;
}

/* Parses one stored CA certificate onto the stack ctx; one that does not parse is left out. */
static int push_der(void *ctx, const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = der && len <= LONG_MAX ? d2i_X509(NULL, &p, (long)len) : NULL;
    if (x && !sk_X509_push(ctx, x))
        X509_free(x);
    return 0;
}

STACK_OF(X509) * cs_load_cas(sg_certstore *cs, bool trusted)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    if (!sk) {
        cs_fail(cs, "out of memory");
        return NULL;
    }
    if (sg_store_x509_each_ca(cs->st, trusted, push_der, sk) < 0) {
        cs_store_fail(cs);
        sk_X509_pop_free(sk, X509_free);
        return NULL;
    }
    return sk;
}

/* ---- CRLs ---- */

int cs_asn1_time(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm))
        return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

int cs_put_crl(sg_certstore *cs, const char *issuer_fpr, X509_CRL *crl, int64_t number, const char *url,
               int64_t fetched, int64_t next)
{
    unsigned char *der = NULL;
    int len = i2d_X509_CRL(crl, &der);
    sg_store_crl row = {.number = number, .next_update = next, .url = url, .fetched = fetched};
    if (len <= 0 || cs_asn1_time(X509_CRL_get0_lastUpdate(crl), &row.this_update) < 0) {
        OPENSSL_free(der);
        return cs_fail(cs, "cannot encode the CRL");
    }
    row.der = der;
    row.der_len = (size_t)len;
    int rc = sg_store_revocation_put_crl(cs->st, issuer_fpr, &row) < 0
                 ? cs_fail(cs, "%s", sg_store_error(cs->st))
                 : 0;
    OPENSSL_free(der);
    return rc;
}

int sg_certstore_put_crl(sg_certstore *cs, const char *issuer_fpr, X509_CRL *crl, int64_t number)
{
    int64_t next = 0;
    if (X509_CRL_get0_nextUpdate(crl))
        cs_asn1_time(X509_CRL_get0_nextUpdate(crl), &next);
    return cs_put_crl(cs, issuer_fpr, crl, number, NULL, 0, next);
}

X509_CRL *sg_certstore_get_crl(sg_certstore *cs, const char *issuer_fpr, int64_t *number)
{
    sg_store_crl row;
    int rc = sg_store_revocation_get_crl(cs->st, issuer_fpr, &row);
    if (rc < 0) {
        cs_fail(cs, "%s", sg_store_error(cs->st));
        if (number)
            *number = -1;
        return NULL;
    }
    X509_CRL *crl = NULL;
    if (rc == 0) {
        const unsigned char *p = row.der;
        if (row.der_len)
            crl = d2i_X509_CRL(NULL, &p, (long)row.der_len);
        if (number)
            *number = row.number;
    }
    sg_store_crl_free(&row);
    return crl;
}
