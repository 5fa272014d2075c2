/* certstore_p12.c - reading PKCS#12 for the import (certstore_import.c), with OpenSSL's legacy
 * provider in a library context of its own. Owner: src/keys.
 * Why: many CAs and older Windows exports still write PKCS#12 with RC2-40 (and 3DES or DES),
 * and OpenSSL 3 offers RC2 and DES only in its legacy provider. Loaded into the default
 * context, that provider would make RC2, DES, MD4 and friends usable for mail crypto too; here
 * it lives only in a context that decrypts PKCS#12 bags and encrypted PKCS#8 keys at import.
 * What leaves are certificates and keys decoded from DER in the default context.
 * PKCS12_parse takes no library context, so the bags are walked here with the _ex calls.
 * SECURITY: the input is untrusted (fuzzed by tests/fuzz/fuzz_x509_import.c). The MAC is
 * checked first, with the iteration count capped before any key derivation; nesting and the
 * number of bags are bounded. Decrypted PKCS#8 structures are cleansed by OpenSSL's free. */
#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <pthread.h>
#include <string.h>

#include "keys/certstore_int.h"

/* PKCS#12 files with a higher MAC iteration count are refused before any key derivation: an
 * attacker-chosen count would otherwise stall the importer (OpenSSL writes 2048 by default,
 * other tools up to a few hundred thousand). */
#define P12_MAX_ITER 1000000L
#define P12_MAX_DEPTH 4   /* safeContentsBag inside safeContentsBag ... */
#define P12_MAX_BAGS 1000 /* a certificate chain and a key need a handful */

static OSSL_LIB_CTX *import_ctx;
static bool import_legacy;

static void import_ctx_init(void)
{
    OSSL_LIB_CTX *c = OSSL_LIB_CTX_new();
    if (c && OSSL_PROVIDER_load(c, "default")) {
        import_legacy = OSSL_PROVIDER_load(c, "legacy") != NULL;
        import_ctx = c;
    } else {
        OSSL_LIB_CTX_free(c);
    }
    ERR_clear_error();
}

/* Made once per process and kept (providers are expensive to load). */
OSSL_LIB_CTX *cs_import_libctx(bool *legacy)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, import_ctx_init);
    if (legacy)
        *legacy = import_legacy;
    return import_ctx;
}

typedef struct walk {
    OSSL_LIB_CTX *ctx;
    const char *pw;
    int pwlen;
    STACK_OF(X509) * certs;
    STACK_OF(EVP_PKEY) * keys;
    int nbags;
    const char *why;
} walk;

static const char *decrypt_failed(void)
{
    bool legacy = false;
    cs_import_libctx(&legacy);
    return legacy ? "PKCS#12 does not decrypt"
                  : "PKCS#12 does not decrypt (OpenSSL's legacy provider, needed for RC2/DES, is not available)";
}

static int push_p8(walk *w, const PKCS8_PRIV_KEY_INFO *p8)
{
    EVP_PKEY *k = p8 ? EVP_PKCS82PKEY(p8) : NULL; /* the default context: keys are plain RSA/EC */
    if (!k || !sk_EVP_PKEY_push(w->keys, k)) {
        EVP_PKEY_free(k);
        w->why = "PKCS#12 private key does not parse";
        return -1;
    }
    return 0;
}

static int bags(walk *w, const STACK_OF(PKCS12_SAFEBAG) * sk, int depth)
{
    if (depth > P12_MAX_DEPTH) {
        w->why = "PKCS#12 nested too deeply";
        return -1;
    }
    for (int i = 0; i < sk_PKCS12_SAFEBAG_num(sk); i++) {
        const PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(sk, i);
        if (++w->nbags > P12_MAX_BAGS) {
            w->why = "PKCS#12 with too many bags";
            return -1;
        }
        int rc = 0;
        switch (PKCS12_SAFEBAG_get_nid(bag)) {
        case NID_keyBag:
            rc = push_p8(w, PKCS12_SAFEBAG_get0_p8inf(bag));
            break;
        case NID_pkcs8ShroudedKeyBag: {
            PKCS8_PRIV_KEY_INFO *p8 = PKCS12_decrypt_skey_ex(bag, w->pw, w->pwlen, w->ctx, NULL);
            if (!p8) {
                w->why = decrypt_failed();
                return -1;
            }
            rc = push_p8(w, p8);
            PKCS8_PRIV_KEY_INFO_free(p8);
            break;
        }
        case NID_certBag:
            if (PKCS12_SAFEBAG_get_bag_nid(bag) == NID_x509Certificate) {
                X509 *x = PKCS12_SAFEBAG_get1_cert(bag);
                if (!x || !sk_X509_push(w->certs, x)) {
                    X509_free(x);
                    w->why = "PKCS#12 certificate does not parse";
                    return -1;
                }
            }
            break;
        case NID_safeContentsBag:
            rc = bags(w, PKCS12_SAFEBAG_get0_safes(bag), depth + 1);
            break;
        default: /* CRL and secret bags: nothing for the store */
            break;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* One authenticated safe: plain data, or encrypted with a password-based cipher. */
static int safe(walk *w, PKCS7 *p7)
{
    STACK_OF(PKCS12_SAFEBAG) *sk = NULL;
    int nid = OBJ_obj2nid(p7->type);
    if (nid == NID_pkcs7_data) {
        sk = PKCS12_unpack_p7data(p7);
    } else if (nid == NID_pkcs7_encrypted) {
        PKCS7_ENC_CONTENT *ec = p7->d.encrypted ? p7->d.encrypted->enc_data : NULL;
        /* The content is OPTIONAL in the syntax: check before OpenSSL dereferences it. */
        if (ec && ec->algorithm && ec->enc_data)
            sk = PKCS12_item_decrypt_d2i_ex(ec->algorithm, ASN1_ITEM_rptr(PKCS12_SAFEBAGS), w->pw, w->pwlen,
                                            ec->enc_data, 1, w->ctx, NULL);
        if (!sk) {
            w->why = decrypt_failed();
            return -1;
        }
    } else {
        return 0; /* enveloped (public-key) safes: not used for key transport by any tool */
    }
    if (!sk) {
        w->why = "PKCS#12 does not parse";
        return -1;
    }
    int rc = bags(w, sk, 0);
    sk_PKCS12_SAFEBAG_pop_free(sk, PKCS12_SAFEBAG_free);
    return rc;
}

int cs_parse_p12(PKCS12 *p12, const char *password, STACK_OF(X509) * certs, STACK_OF(EVP_PKEY) * keys,
                 const char **why)
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
    walk w = {cs_import_libctx(NULL), pw, pw ? (int)strlen(pw) : 0, certs, keys, 0, NULL};
    if (!w.ctx) {
        *why = "PKCS#12: cannot set up OpenSSL's providers for the import";
        return -1;
    }
    STACK_OF(PKCS7) *safes = PKCS12_unpack_authsafes(p12);
    if (!safes) {
        *why = "PKCS#12 does not parse";
        return -1;
    }
    int rc = 0;
    for (int i = 0; rc == 0 && i < sk_PKCS7_num(safes); i++)
        rc = safe(&w, sk_PKCS7_value(safes, i));
    sk_PKCS7_pop_free(safes, PKCS7_free);
    if (rc < 0)
        *why = w.why;
    return rc;
}
