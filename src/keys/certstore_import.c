/* certstore_import.c - sg_certstore_import_set: parsing of certificate input (PEM with
 * certificates, PKCS#7 and private keys; DER certificate, PKCS#7, PKCS#12 or private key) from
 * all files of one call, matching keys to certificates across them, and storing. PKCS#12 is
 * read by certstore_p12.c. Owner: src/keys.
 * Certificates arrive from anywhere (mail, admins, partners): every input is untrusted and the
 * parsers are fuzzed (tests/fuzz/fuzz_x509_import.c).
 * SECURITY: private keys found in the input are held in memory only until they are matched to
 * their certificate and wrapped by the KEK (sg_certstore_add); decoded PEM key blocks are
 * cleansed before release. Fail closed: a call with a key that cannot be read or matches no
 * certificate stores nothing, so no certificate silently arrives without its key. Encrypted
 * keys are decrypted in the import's own library context (certstore_p12.c). */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/certstore.h"
#include "keys/certstore_int.h"

/* What the inputs of one call gave. why: the first problem of the input being parsed. */
typedef struct parsed {
    STACK_OF(X509) * certs;
    STACK_OF(EVP_PKEY) * keys;
    const char *password;
    const char *why;
} parsed;

static void push_certs(parsed *p, STACK_OF(X509) * sk)
{
    for (int i = 0; sk && i < sk_X509_num(sk); i++) {
        X509 *x = sk_X509_value(sk, i);
        if (X509_up_ref(x) && !sk_X509_push(p->certs, x))
            X509_free(x);
    }
}

static void push_cert(parsed *p, X509 *x)
{
    if (!x && !p->why)
        p->why = "certificate does not parse";
    else if (x && !sk_X509_push(p->certs, x))
        X509_free(x);
}

static void push_pkcs7(parsed *p, PKCS7 *p7)
{
    if (!p7) {
        p->why = p->why ? p->why : "PKCS#7 does not parse";
        return;
    }
    /* Only signed-data carries certificates (a .p7b/.p7c is degenerate signed-data). */
    if (OBJ_obj2nid(p7->type) == NID_pkcs7_signed && p7->d.sign)
        push_certs(p, p7->d.sign->cert);
    PKCS7_free(p7);
}

/* k NULL: the key could not be read; why says how, so the call fails instead of the
 * certificate being imported without its key. */
static void push_key(parsed *p, EVP_PKEY *k, bool encrypted)
{
    if (!k && !p->why)
        p->why = !encrypted       ? "private key does not parse"
                 : !p->password ? "encrypted private key (give --password)"
                                : "private key does not decrypt (wrong password?)";
    else if (k && !sk_EVP_PKEY_push(p->keys, k))
        EVP_PKEY_free(k);
}

/* Encrypted PKCS#8, decrypted in the import context (legacy PBEs such as RC2-40 included). */
static EVP_PKEY *encrypted_pkcs8(const unsigned char *der, long len, const char *password)
{
    X509_SIG *sig = d2i_X509_SIG(NULL, &der, len);
    OSSL_LIB_CTX *ctx = cs_import_libctx(NULL);
    PKCS8_PRIV_KEY_INFO *p8 =
        sig && password && ctx ? PKCS8_decrypt_ex(sig, password, (int)strlen(password), ctx, NULL) : NULL;
    EVP_PKEY *k = p8 ? EVP_PKCS82PKEY(p8) : NULL;
    PKCS8_PRIV_KEY_INFO_free(p8);
    X509_SIG_free(sig);
    return k;
}

static int pem_password(char *buf, int size, int rwflag, void *u)
{
    (void)rwflag;
    size_t n = strlen(u);
    if (n > (size_t)size)
        return -1;
    memcpy(buf, u, n);
    return (int)n;
}

/* A traditional key with Proc-Type/DEK-Info headers (`openssl rsa -aes256 -traditional`). The
 * cipher comes from the default context: DES-CBC keys are refused, 3DES and AES work. */
static EVP_PKEY *encrypted_traditional(const char *header, unsigned char *data, long len, const char *password)
{
    EVP_CIPHER_INFO ci;
    const unsigned char *q = data;
    if (!password || !PEM_get_EVP_CIPHER_INFO((char *)header, &ci) || !ci.cipher ||
        !PEM_do_header(&ci, data, &len, pem_password, (void *)password))
        return NULL;
    return d2i_AutoPrivateKey(NULL, &q, len);
}

/* One PEM block by its label. Unknown labels are skipped. */
static void pem_block(parsed *p, const char *name, const char *header, unsigned char *data, long len)
{
    const unsigned char *q = data;
    if (!strcmp(name, "CERTIFICATE") || !strcmp(name, "X509 CERTIFICATE")) {
        push_cert(p, d2i_X509(NULL, &q, len));
    } else if (!strcmp(name, "TRUSTED CERTIFICATE")) {
        push_cert(p, d2i_X509_AUX(NULL, &q, len));
    } else if (!strcmp(name, "PKCS7") || !strcmp(name, "CERTIFICATE CHAIN")) {
        push_pkcs7(p, d2i_PKCS7(NULL, &q, len));
    } else if (!strcmp(name, "PRIVATE KEY") || !strcmp(name, "RSA PRIVATE KEY") ||
               !strcmp(name, "EC PRIVATE KEY")) {
        bool enc = header && *header;
        push_key(p, enc ? encrypted_traditional(header, data, len, p->password) : d2i_AutoPrivateKey(NULL, &q, len),
                 enc);
    } else if (!strcmp(name, "ENCRYPTED PRIVATE KEY")) {
        push_key(p, encrypted_pkcs8(q, len, p->password), true);
    }
}

static void parse_pem(parsed *p, const uint8_t *data, size_t len)
{
    BIO *b = BIO_new_mem_buf(data, (int)len);
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long dlen = 0;
    while (b && PEM_read_bio(b, &name, &header, &der, &dlen)) {
        long blen = dlen; /* pem_block may decrypt in place and shorten its copy of the length */
        pem_block(p, name, header, der, dlen);
        OPENSSL_cleanse(der, (size_t)blen); /* may have been a private key */
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(der);
        name = header = NULL;
        der = NULL;
    }
    ERR_clear_error(); /* the loop ends with "no start line" */
    BIO_free(b);
}

/* DER: a certificate, PKCS#7, PKCS#12 or a private key (PKCS#8, encrypted PKCS#8, traditional). */
static void parse_der(parsed *p, const uint8_t *data, size_t len)
{
    const unsigned char *q = data;
    X509 *x = d2i_X509(NULL, &q, (long)len);
    if (x) {
        push_cert(p, x);
        return;
    }
    q = data;
    PKCS7 *p7 = d2i_PKCS7(NULL, &q, (long)len);
    if (p7) {
        push_pkcs7(p, p7);
        return;
    }
    q = data;
    PKCS12 *p12 = d2i_PKCS12(NULL, &q, (long)len);
    if (p12) {
        cs_parse_p12(p12, p->password, p->certs, p->keys, &p->why);
        PKCS12_free(p12);
        return;
    }
    q = data;
    EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &q, (long)len);
    if (k) {
        push_key(p, k, false);
        return;
    }
    q = data;
    X509_SIG *sig = d2i_X509_SIG(NULL, &q, (long)len);
    if (sig) {
        X509_SIG_free(sig);
        push_key(p, encrypted_pkcs8(data, (long)len, p->password), true);
        return;
    }
    p->why = "not a certificate, PKCS#7, PKCS#12 or private key";
}

static void report(sg_cert_import_cb cb, void *ctx, const sg_cert_import_result *r)
{
    if (cb)
        cb(ctx, r);
}

static void report_input(sg_cert_import_cb cb, void *ctx, const char *input, const char *why)
{
    sg_cert_import_result r = {SG_CERT_REJECTED, NULL, NULL, why, false, 0, input};
    report(cb, ctx, &r);
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

static void report_cert(sg_cert_import_cb cb, void *ctx, int status, X509 *x, const char *fpr, const char *reason,
                        bool key, int trust)
{
    char own[SG_CERT_FPR_LEN + 1] = "";
    if (!fpr && sg_cert_fpr(x, own) == 0)
        fpr = own;
    char *subj = subject_of(x);
    sg_cert_import_result r = {status, fpr && *fpr ? fpr : NULL, subj, reason, key, trust, NULL};
    report(cb, ctx, &r);
    free(subj);
}

/* The first key of keys that belongs to x, or NULL; marks it used. */
static EVP_PKEY *key_of(X509 *x, STACK_OF(EVP_PKEY) * keys, bool *used)
{
    EVP_PKEY *key = NULL;
    for (int k = 0; k < sk_EVP_PKEY_num(keys); k++)
        if (EVP_PKEY_eq(X509_get0_pubkey(x), sk_EVP_PKEY_value(keys, k)) == 1) {
            key = key ? key : sk_EVP_PKEY_value(keys, k);
            used[k] = true;
        }
    return key;
}

/* Stores every certificate with its key, trusting CA certificates when asked. */
static int store_all(sg_certstore *cs, parsed *p, bool *used, unsigned flags, sg_cert_import_cb cb, void *ctx,
                     int *rejected)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < sk_X509_num(p->certs); i++) {
        X509 *x = sk_X509_value(p->certs, i);
        EVP_PKEY *key = key_of(x, p->keys, used);
        char fpr[SG_CERT_FPR_LEN + 1];
        const char *reason = NULL;
        int st = sg_certstore_add(cs, x, key, 0, fpr, &reason), trust = 0;
        if (st < 0) {
            rc = -1;
            break;
        }
        if (st != SG_CERT_REJECTED && (flags & SG_CS_IMPORT_TRUST)) {
            int t = sg_certstore_set_trust(cs, fpr, true);
            if (t != 0 && t != 2) {
                rc = -1;
                break;
            }
            trust = t == 0 ? 1 : -1;
            if (t == 2)
                reason = "not a CA certificate: cannot be a trust anchor";
        }
        report_cert(cb, ctx, st, x, fpr, reason, key && st != SG_CERT_REJECTED, trust);
        *rejected += st == SG_CERT_REJECTED;
    }
    return rc;
}

int sg_certstore_import_set(sg_certstore *cs, const sg_cert_input *in, size_t n, const char *password,
                            unsigned flags, sg_cert_import_cb cb, void *ctx)
{
    parsed p = {sk_X509_new_null(), sk_EVP_PKEY_new_null(), password, NULL};
    const char **key_from = NULL; /* the input each key came from, for the messages */
    bool *used = NULL;
    int rejected = 0, rc = 0;
    cs->err[0] = '\0';
    if (!p.certs || !p.keys) {
        rc = cs_fail(cs, "out of memory");
        goto out;
    }
    /* Every input is read before anything is stored: a key in one file may belong to a
     * certificate in another (`cert import CERT KEY`), and a call that cannot be read
     * completely stores nothing, so no certificate is imported without the key given for it. */
    bool refused = false;
    for (size_t i = 0; i < n; i++) {
        const char *name = in[i].name;
        int nkeys = sk_EVP_PKEY_num(p.keys);
        p.why = NULL;
        if (in[i].len > INT32_MAX)
            p.why = "input too large";
        else if (memmem(in[i].data, in[i].len, "-----BEGIN ", 11))
            parse_pem(&p, in[i].data, in[i].len);
        else
            parse_der(&p, in[i].data, in[i].len);
        const char **kf = realloc(key_from, ((size_t)sk_EVP_PKEY_num(p.keys) + 1) * sizeof *kf);
        if (!kf) {
            rc = cs_fail(cs, "out of memory");
            goto out;
        }
        key_from = kf;
        for (int k = nkeys; k < sk_EVP_PKEY_num(p.keys); k++)
            key_from[k] = name;
        if (p.why) {
            report_input(cb, ctx, name, p.why);
            rejected++;
            refused = true;
        }
    }
    int ncerts = sk_X509_num(p.certs);
    if (!(used = calloc((size_t)sk_EVP_PKEY_num(p.keys) + 1, sizeof *used))) {
        rc = cs_fail(cs, "out of memory");
        goto out;
    }
    for (int i = 0; i < ncerts; i++)
        key_of(sk_X509_value(p.certs, i), p.keys, used);
    for (int k = 0; k < sk_EVP_PKEY_num(p.keys); k++)
        if (!used[k]) {
            report_input(cb, ctx, key_from[k],
                         ncerts ? "private key matches none of the certificates given"
                                : "private key without its certificate (give both: cert import CERT KEY)");
            rejected++;
            refused = true;
        }
    if (ncerts == 0 && !refused) {
        report_input(cb, ctx, n == 1 ? in[0].name : NULL, "no certificate found");
        rejected++;
    } else if (refused) {
        for (int i = 0; i < ncerts; i++)
            report_cert(cb, ctx, SG_CERT_REJECTED, sk_X509_value(p.certs, i), NULL,
                        "not imported: the call was refused, see above", false, 0);
        rejected += ncerts;
    } else {
        rc = store_all(cs, &p, used, flags, cb, ctx, &rejected);
    }
out:
    free(used);
    free(key_from);
    sk_X509_pop_free(p.certs, X509_free);
    sk_EVP_PKEY_pop_free(p.keys, EVP_PKEY_free);
    ERR_clear_error();
    return rc < 0 ? -1 : rejected;
}

int sg_certstore_import(sg_certstore *cs, const uint8_t *data, size_t len, const char *password,
                        sg_cert_import_cb cb, void *ctx)
{
    sg_cert_input one = {data, len, NULL};
    return sg_certstore_import_set(cs, &one, 1, password, 0, cb, ctx);
}
