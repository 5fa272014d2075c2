/* certstore_query.c - reading, exporting, deleting and trusting stored certificates, and the
 * stored CRLs (see certstore.h). Owner: src/keys.
 * SECURITY: sg_certstore_load_key and sg_certstore_export_key unwrap a private key with the
 * KEK; the plaintext PKCS#8 is wiped right after it is parsed or handed to the caller. */
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys/certstore.h"
#include "keys/certstore_int.h"

#define CERT_COLS                                                                                            \
    "c.fpr, c.subject, c.issuer, c.serial, c.not_before, c.not_after, c.key_usage, c.eku_email, c.is_ca,"    \
    " c.trusted, c.learned, c.local_ca, c.revoked, c.revoked_at,"                                            \
    " EXISTS (SELECT 1 FROM x509_keys k WHERE k.fpr = c.fpr)"

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return strdup(s ? (const char *)s : "");
}

static int addrs_of(sg_certstore *cs, sg_cert_info *ci)
{
    sqlite3_stmt *st = cs_prep(cs, "SELECT addr FROM x509_addrs WHERE fpr = ? ORDER BY addr");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, ci->fpr, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char **v = realloc(ci->addrs, (ci->naddrs + 1) * sizeof *v);
        if (!v || !(v[ci->naddrs] = col_dup(st, 0))) {
            if (v)
                ci->addrs = v;
            sqlite3_finalize(st);
            return cs_fail(cs, "out of memory");
        }
        ci->addrs = v;
        ci->naddrs++;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : cs_fail(cs, "store: %s", sqlite3_errmsg(cs->db));
}

static int row_info(sg_certstore *cs, sqlite3_stmt *st, sg_cert_info *ci)
{
    memset(ci, 0, sizeof *ci);
    const unsigned char *f = sqlite3_column_text(st, 0);
    snprintf(ci->fpr, sizeof ci->fpr, "%s", f ? (const char *)f : "");
    ci->subject = col_dup(st, 1);
    ci->issuer = col_dup(st, 2);
    ci->serial = col_dup(st, 3);
    ci->not_before = sqlite3_column_int64(st, 4);
    ci->not_after = sqlite3_column_int64(st, 5);
    ci->key_usage = sqlite3_column_int64(st, 6);
    ci->eku_email = sqlite3_column_int(st, 7);
    ci->is_ca = sqlite3_column_int(st, 8);
    ci->trusted = sqlite3_column_int(st, 9);
    ci->learned = sqlite3_column_int(st, 10);
    ci->local_ca = sqlite3_column_int(st, 11);
    ci->revoked = sqlite3_column_int(st, 12);
    ci->revoked_at = sqlite3_column_int64(st, 13);
    ci->has_key = sqlite3_column_int(st, 14);
    if (!ci->subject || !ci->issuer || !ci->serial) {
        sg_cert_info_clear(ci);
        return cs_fail(cs, "out of memory");
    }
    return addrs_of(cs, ci);
}

int sg_certstore_list(sg_certstore *cs, const char *address, sg_cert_info **out, size_t *n)
{
    char norm[320];
    *out = NULL;
    *n = 0;
    /* No stored certificate can carry an address that does not normalise (add_addr skips such
     * names), so that is "none", never an error: a lookup error must mean the store failed. */
    if (address && cs_norm_addr(address, strlen(address), norm, sizeof norm) < 0)
        return 0;
    sqlite3_stmt *st =
        cs_prep(cs, address ? "SELECT " CERT_COLS " FROM x509_certs c WHERE c.fpr IN"
                              " (SELECT fpr FROM x509_addrs WHERE addr = ?) ORDER BY c.not_before DESC, c.fpr"
                            : "SELECT " CERT_COLS " FROM x509_certs c ORDER BY c.not_before DESC, c.fpr");
    if (!st)
        return -1;
    if (address)
        sqlite3_bind_text(st, 1, norm, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        sg_cert_info *v = realloc(*out, (*n + 1) * sizeof *v);
        if (!v) {
            rc = SQLITE_NOMEM;
            break;
        }
        *out = v;
        if (row_info(cs, st, &v[*n]) < 0) {
            rc = SQLITE_ERROR;
            break;
        }
        (*n)++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        sg_certstore_free_list(*out, *n);
        *out = NULL;
        *n = 0;
        return cs->err[0] ? -1 : cs_fail(cs, "store: %s", sqlite3_errmsg(cs->db));
    }
    return 0;
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
    sqlite3_stmt *st = cs_prep(cs, "SELECT " CERT_COLS " FROM x509_certs c WHERE c.fpr = ?");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        rc = row_info(cs, st, ci);
    else if (rc == SQLITE_DONE)
        rc = 1;
    else
        rc = cs_fail(cs, "store: %s", sqlite3_errmsg(cs->db));
    sqlite3_finalize(st);
    if (rc == 1)
        cs_fail(cs, "no such certificate");
    return rc;
}

/* The blob of one row: 0, 1 when absent, -1 on error. */
static int get_blob(sg_certstore *cs, const char *sql, const char *fpr, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    sqlite3_stmt *st = cs_prep(cs, sql);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int n = sqlite3_column_bytes(st, 0);
        const void *b = sqlite3_column_blob(st, 0);
        if (n > 0 && b && (*out = malloc((size_t)n))) {
            memcpy(*out, b, (size_t)n);
            *len = (size_t)n;
            rc = 0;
        } else {
            rc = cs_fail(cs, "store: empty or unreadable row for %s", fpr);
        }
    } else {
        rc = rc == SQLITE_DONE ? 1 : cs_fail(cs, "store: %s", sqlite3_errmsg(cs->db));
    }
    sqlite3_finalize(st);
    return rc;
}

X509 *sg_certstore_load_cert(sg_certstore *cs, const char *fpr_in)
{
    char fpr[SG_CERT_FPR_LEN + 1];
    uint8_t *der;
    size_t len;
    if (cs_norm_fpr(cs, fpr_in, fpr) < 0)
        return NULL;
    int rc = get_blob(cs, "SELECT der FROM x509_certs WHERE fpr = ?", fpr, &der, &len);
    if (rc != 0) {
        if (rc == 1)
            cs_fail(cs, "no such certificate");
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
    int rc = get_blob(cs, "SELECT wrapped FROM x509_keys WHERE fpr = ?", fpr, &wrapped, &wlen);
    if (rc == 1)
        cs_fail(cs, "no private key held for %s", fpr);
    if (rc != 0)
        return rc;
    if (cs_need_kek(cs) < 0) {
        free(wrapped);
        return -1;
    }
    rc = sg_kek_unwrap(&cs->kek, fpr, wrapped, wlen, der, len) < 0
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
    static const char *const sql[] = {
        "DELETE FROM x509_addrs WHERE fpr = ?", "DELETE FROM x509_keys WHERE fpr = ?",
        "DELETE FROM x509_crls WHERE issuer_fpr = ?", "DELETE FROM x509_learned WHERE fpr = ?",
        "DELETE FROM x509_ocsp WHERE fpr = ?", "DELETE FROM x509_certs WHERE fpr = ?"};
    if (cs_exec(cs, "BEGIN IMMEDIATE") < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof sql / sizeof sql[0]; i++) {
        sqlite3_stmt *st = cs_prep(cs, sql[i]);
        if (!st) {
            rc = -1;
            break;
        }
        sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
        rc = cs_run(cs, st);
    }
    int changed = sqlite3_changes(cs->db);
    if (rc == 0 && cs_exec(cs, "COMMIT") == 0)
        return changed > 0 ? 0 : (cs_fail(cs, "no such certificate"), 1);
    sqlite3_exec(cs->db, "ROLLBACK", NULL, NULL, NULL);
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
    sqlite3_stmt *st = cs_prep(cs, "UPDATE x509_certs SET trusted = ? WHERE fpr = ?");
    if (!st)
        return -1;
    sqlite3_bind_int(st, 1, trusted);
    sqlite3_bind_text(st, 2, fpr, -1, SQLITE_STATIC);
    return cs_run(cs, st);
}

STACK_OF(X509) * cs_load_where(sg_certstore *cs, const char *where)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT der FROM x509_certs WHERE %s", where);
    sqlite3_stmt *st = cs_prep(cs, sql);
    STACK_OF(X509) *sk = sk_X509_new_null();
    if (!st || !sk) {
        sqlite3_finalize(st);
        sk_X509_free(sk);
        return NULL;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *p = sqlite3_column_blob(st, 0);
        X509 *x = p ? d2i_X509(NULL, &p, sqlite3_column_bytes(st, 0)) : NULL;
        if (x && !sk_X509_push(sk, x))
            X509_free(x);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        cs_fail(cs, "store: %s", sqlite3_errmsg(cs->db));
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
    int rc = sg_store_revocation_put_crl(cs->store, issuer_fpr, &row) < 0
                 ? cs_fail(cs, "%s", sg_store_error(cs->store))
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
    int rc = sg_store_revocation_get_crl(cs->store, issuer_fpr, &row);
    if (rc < 0) {
        cs_fail(cs, "%s", sg_store_error(cs->store));
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
