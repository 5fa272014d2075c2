/* certstore_import.c - parsing of certificate input for sg_certstore_import: PEM (certificates,
 * PKCS#7, private keys), DER (certificate, PKCS#7) and PKCS#12. Owner: src/keys.
 * Certificates arrive from anywhere (mail, admins, partners): every input is untrusted and the
 * parsers are fuzzed (tests/fuzz/fuzz_x509_import.c).
 * SECURITY: private keys found in the input are held in memory only until they are matched to
 * their certificate and wrapped by the KEK (sg_certstore_add); decoded PEM key blocks are
 * cleansed before release. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/certstore.h"
#include "keys/certstore_int.h"

/* PKCS#12 files with a higher MAC iteration count are refused before any key derivation: an
 * attacker-chosen count would otherwise stall the importer (OpenSSL writes 2048 by default,
 * other tools up to a few hundred thousand). */
#define P12_MAX_ITER 1000000L

typedef struct parsed {
    STACK_OF(X509) * certs;
    STACK_OF(EVP_PKEY) * keys;
    int bad_keys; /* key blocks that could not be read (encrypted without password, ...) */
} parsed;

DEFINE_STACK_OF(EVP_PKEY)

static void push_certs(parsed *p, STACK_OF(X509) * sk)
{
    for (int i = 0; sk && i < sk_X509_num(sk); i++) {
        X509 *x = sk_X509_value(sk, i);
        if (X509_up_ref(x) && !sk_X509_push(p->certs, x))
            X509_free(x);
    }
}

static void push_pkcs7(parsed *p, PKCS7 *p7)
{
    if (!p7)
        return;
    /* Only signed-data carries certificates (a .p7b/.p7c is degenerate signed-data). */
    if (OBJ_obj2nid(p7->type) == NID_pkcs7_signed && p7->d.sign)
        push_certs(p, p7->d.sign->cert);
    PKCS7_free(p7);
}

static void push_key(parsed *p, EVP_PKEY *k)
{
    if (!k)
        p->bad_keys++;
    else if (!sk_EVP_PKEY_push(p->keys, k))
        EVP_PKEY_free(k);
}

static EVP_PKEY *encrypted_pkcs8(const unsigned char *der, long len, const char *password)
{
    X509_SIG *sig = d2i_X509_SIG(NULL, &der, len);
    PKCS8_PRIV_KEY_INFO *p8 = sig && password ? PKCS8_decrypt(sig, password, (int)strlen(password)) : NULL;
    EVP_PKEY *k = p8 ? EVP_PKCS82PKEY(p8) : NULL;
    PKCS8_PRIV_KEY_INFO_free(p8);
    X509_SIG_free(sig);
    return k;
}

/* One PEM block by its label. Unknown labels are skipped. */
static void pem_block(parsed *p, const char *name, const char *header, unsigned char *data, long len,
                      const char *password)
{
    const unsigned char *q = data;
    if (!strcmp(name, "CERTIFICATE") || !strcmp(name, "X509 CERTIFICATE")) {
        X509 *x = d2i_X509(NULL, &q, len);
        if (x && !sk_X509_push(p->certs, x))
            X509_free(x);
    } else if (!strcmp(name, "TRUSTED CERTIFICATE")) {
        X509 *x = d2i_X509_AUX(NULL, &q, len);
        if (x && !sk_X509_push(p->certs, x))
            X509_free(x);
    } else if (!strcmp(name, "PKCS7") || !strcmp(name, "CERTIFICATE CHAIN")) {
        push_pkcs7(p, d2i_PKCS7(NULL, &q, len));
    } else if (!strcmp(name, "PRIVATE KEY") || !strcmp(name, "RSA PRIVATE KEY") ||
               !strcmp(name, "EC PRIVATE KEY")) {
        /* Traditional keys encrypted with Proc-Type headers are not supported: use PKCS#8. */
        push_key(p, header && *header ? NULL : d2i_AutoPrivateKey(NULL, &q, len));
    } else if (!strcmp(name, "ENCRYPTED PRIVATE KEY")) {
        push_key(p, encrypted_pkcs8(q, len, password));
    }
}

static void parse_pem(parsed *p, const uint8_t *data, size_t len, const char *password)
{
    BIO *b = BIO_new_mem_buf(data, (int)len);
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long dlen = 0;
    while (b && PEM_read_bio(b, &name, &header, &der, &dlen)) {
        pem_block(p, name, header, der, dlen, password);
        OPENSSL_cleanse(der, (size_t)dlen); /* may have been a private key */
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(der);
        name = header = NULL;
        der = NULL;
    }
    ERR_clear_error(); /* the loop ends with "no start line" */
    BIO_free(b);
}

/* PKCS#12: 0 parsed, -1 with *why when it is PKCS#12 but unusable. */
static int parse_p12(parsed *p, PKCS12 *p12, const char *password, const char **why)
{
    const ASN1_INTEGER *iter = NULL;
    if (!PKCS12_mac_present(p12)) {
        *why = "PKCS#12 without integrity MAC";
        return -1;
    }
    PKCS12_get0_mac(NULL, NULL, NULL, &iter, p12);
    long n = iter ? ASN1_INTEGER_get(iter) : 1;
    if (n < 1 || n > P12_MAX_ITER) {
        *why = "PKCS#12 MAC iteration count out of range";
        return -1;
    }
    /* Without a password given, try the two ways tools write "no password". */
    const char *pw = password ? password : "";
    if (!PKCS12_verify_mac(p12, pw, -1)) {
        if (password || !PKCS12_verify_mac(p12, NULL, 0)) {
            *why = "PKCS#12: wrong password";
            return -1;
        }
        pw = NULL;
    }
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    STACK_OF(X509) *ca = NULL;
    if (!PKCS12_parse(p12, pw, &key, &cert, &ca)) {
        *why = "PKCS#12 does not parse";
        return -1;
    }
    if (cert && !sk_X509_push(p->certs, cert))
        X509_free(cert);
    if (key)
        push_key(p, key);
    push_certs(p, ca);
    sk_X509_pop_free(ca, X509_free);
    return 0;
}

/* DER: a certificate, PKCS#7 or PKCS#12. 0, or -1 with *why. */
static int parse_der(parsed *p, const uint8_t *data, size_t len, const char *password, const char **why)
{
    const unsigned char *q = data;
    X509 *x = d2i_X509(NULL, &q, (long)len);
    if (x) {
        if (!sk_X509_push(p->certs, x))
            X509_free(x);
        return 0;
    }
    q = data;
    PKCS7 *p7 = d2i_PKCS7(NULL, &q, (long)len);
    if (p7) {
        push_pkcs7(p, p7);
        return 0;
    }
    q = data;
    PKCS12 *p12 = d2i_PKCS12(NULL, &q, (long)len);
    if (p12) {
        int rc = parse_p12(p, p12, password, why);
        PKCS12_free(p12);
        return rc;
    }
    *why = "not a certificate, PKCS#7 or PKCS#12";
    return -1;
}

static void report(sg_cert_import_cb cb, void *ctx, int status, const char *fpr, const char *subject,
                   const char *reason, bool key)
{
    sg_cert_import_result r = {status, fpr && *fpr ? fpr : NULL, subject, reason, key};
    if (cb)
        cb(ctx, &r);
}

static char *subject_of(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *s = NULL, *d;
    if (b && X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0) {
        long n = BIO_get_mem_data(b, &d);
        if ((s = malloc((size_t)n + 1))) {
            memcpy(s, d, (size_t)n);
            s[n] = '\0';
        }
    }
    BIO_free(b);
    return s;
}

int sg_certstore_import(sg_certstore *cs, const uint8_t *data, size_t len, const char *password,
                        sg_cert_import_cb cb, void *ctx)
{
    parsed p = {sk_X509_new_null(), sk_EVP_PKEY_new_null(), 0};
    const char *why = NULL;
    int rejected = 0, rc = 0;
    cs->err[0] = '\0';
    if (!p.certs || !p.keys || len > INT32_MAX) {
        rc = cs_fail(cs, !p.certs || !p.keys ? "out of memory" : "input too large");
        goto out;
    }
    if (memmem(data, len, "-----BEGIN ", 11))
        parse_pem(&p, data, len, password);
    else
        parse_der(&p, data, len, password, &why);
    if (sk_X509_num(p.certs) == 0) {
        report(cb, ctx, SG_CERT_REJECTED, NULL, NULL,
               why                                     ? why
               : p.bad_keys || sk_EVP_PKEY_num(p.keys) ? "private key without its certificate"
                                                       : "no certificate found",
               false);
        rejected = 1;
        goto out;
    }
    bool *used = calloc((size_t)sk_EVP_PKEY_num(p.keys) + 1, sizeof *used);
    if (!used) {
        rc = cs_fail(cs, "out of memory");
        goto out;
    }
    for (int i = 0; i < sk_X509_num(p.certs); i++) {
        X509 *x = sk_X509_value(p.certs, i);
        EVP_PKEY *key = NULL;
        for (int k = 0; !key && k < sk_EVP_PKEY_num(p.keys); k++)
            if (EVP_PKEY_eq(X509_get0_pubkey(x), sk_EVP_PKEY_value(p.keys, k)) == 1) {
                key = sk_EVP_PKEY_value(p.keys, k);
                used[k] = true;
            }
        char fpr[SG_CERT_FPR_LEN + 1];
        const char *reason = NULL;
        int st = sg_certstore_add(cs, x, key, 0, fpr, &reason);
        if (st < 0) {
            rc = -1;
            break;
        }
        char *subj = subject_of(x);
        report(cb, ctx, st, fpr, subj, reason, key && st != SG_CERT_REJECTED);
        free(subj);
        rejected += st == SG_CERT_REJECTED;
    }
    for (int k = 0; rc == 0 && k < sk_EVP_PKEY_num(p.keys); k++)
        if (!used[k]) {
            report(cb, ctx, SG_CERT_REJECTED, NULL, NULL, "private key without its certificate", false);
            rejected++;
        }
    free(used);
out:
    sk_X509_pop_free(p.certs, X509_free);
    sk_EVP_PKEY_pop_free(p.keys, EVP_PKEY_free);
    ERR_clear_error();
    return rc < 0 ? -1 : rejected;
}
