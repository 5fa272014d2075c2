/* certstore.h - the X.509 certificate store over the SQLite store (S/MIME). Owner: src/keys.
 * Certificates, their addresses and derived facts live in x509_certs/x509_addrs; private keys
 * in x509_keys as PKCS#8 DER wrapped by the KEK (src/crypto/kek.h, AAD = the certificate's
 * SHA-256 fingerprint), exactly like the OpenPGP keystore does for its secrets.
 * SECURITY: listing, lookups, public export and validation need no KEK. Taking a private key
 * (import of keys/PKCS#12, the local CA, export --key, load_key) loads the KEK on first use and
 * is for cryptd and the admin CLI only; file modes make it fail elsewhere. Plaintext private
 * keys exist only in memory and are wiped (OPENSSL_cleanse / sg_kek_free_plain) after use. */
#ifndef SG_CERTSTORE_H
#define SG_CERTSTORE_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store/store.h"

#define SG_CERT_FPR_LEN 64 /* SHA-256, upper-case hex */

typedef struct sg_certstore sg_certstore;

/* Create the KEK file when it is missing (admin CLI), instead of failing. */
#define SG_CS_CREATE_KEK 1u

/* kek_path may be NULL for a public-only store. The store must outlive the certstore. */
sg_certstore *sg_certstore_open(sg_store *st, const char *kek_path, unsigned flags);
void sg_certstore_close(sg_certstore *cs);
/* The last error of a failed call (never contains key material). */
const char *sg_certstore_error(const sg_certstore *cs);

/* What the store knows about one certificate. */
typedef struct sg_cert_info {
    char fpr[SG_CERT_FPR_LEN + 1];
    char *subject, *issuer, *serial; /* RFC 2253 names (control bytes escaped), hex serial */
    int64_t not_before, not_after;   /* Unix seconds */
    int64_t key_usage;               /* X509v3_KU_* bits, -1 without the extension */
    bool eku_email, is_ca, trusted, learned, local_ca, revoked, has_key;
    int64_t revoked_at;
    char **addrs;
    size_t naddrs;
} sg_cert_info;
void sg_cert_info_clear(sg_cert_info *ci);

enum sg_cert_import_status { SG_CERT_IMPORTED, SG_CERT_UNCHANGED, SG_CERT_REJECTED };
const char *sg_cert_import_status_name(int status); /* "imported", "unchanged", "rejected" */

typedef struct sg_cert_import_result {
    int status;      /* enum sg_cert_import_status */
    const char *fpr; /* NULL when the input could not be parsed at all */
    const char *subject;
    const char *reason; /* why rejected, or NULL */
    bool key;           /* a private key for this certificate was taken */
} sg_cert_import_result;
typedef void (*sg_cert_import_cb)(void *ctx, const sg_cert_import_result *r);

/* Imports PEM (certificates, PKCS#7, private keys in PKCS#8 or traditional form), DER
 * (certificate, PKCS#7) or PKCS#12 (password, or "" / none when NULL). Private keys are matched
 * to certificates by public key; a key without its certificate is reported as rejected.
 * Reports every certificate through cb. Returns the number rejected, or -1 on a store error. */
int sg_certstore_import(sg_certstore *cs, const uint8_t *data, size_t len, const char *password,
                        sg_cert_import_cb cb, void *ctx);
/* Stores one certificate (and key when not NULL) as the CA does: flags below. Writes fpr.
 * Returns enum sg_cert_import_status, -1 on error; reason set when rejected. */
#define SG_CS_ADD_TRUSTED 1u
#define SG_CS_ADD_LOCAL_CA 2u
int sg_certstore_add(sg_certstore *cs, X509 *x, EVP_PKEY *key, unsigned flags, char fpr[SG_CERT_FPR_LEN + 1],
                     const char **reason);

/* Certificates for address (exact local part, case-insensitive domain), or all, newest first. */
int sg_certstore_list(sg_certstore *cs, const char *address, sg_cert_info **out, size_t *n);
void sg_certstore_free_list(sg_cert_info *list, size_t n);
/* One certificate by fingerprint (case-insensitive hex): 0, 1 when absent, -1 on error. */
int sg_certstore_get(sg_certstore *cs, const char *fpr, sg_cert_info *ci);
/* The certificate as PEM (or DER): 0, 1 when absent, -1 on error. Free with free(). */
int sg_certstore_export(sg_certstore *cs, const char *fpr, bool der, uint8_t **out, size_t *len);
/* The private key as unencrypted PKCS#8 PEM (admin only, needs the KEK). 0, 1 absent/no key,
 * -1 on error. Free with sg_kek_free_plain(out, len). */
int sg_certstore_export_key(sg_certstore *cs, const char *fpr, uint8_t **out, size_t *len);
/* Certificate, addresses, key and CRL: 0, 1 when absent, -1 on error. */
int sg_certstore_delete(sg_certstore *cs, const char *fpr);
/* Trust anchor on/off: 0, 1 when absent, 2 when not a CA certificate, -1 on error. */
int sg_certstore_set_trust(sg_certstore *cs, const char *fpr, bool trusted);

/* The parsed certificate (X509_free) or NULL (absent: error "no such certificate"). */
X509 *sg_certstore_load_cert(sg_certstore *cs, const char *fpr);
/* The private key (EVP_PKEY_free), needs the KEK. NULL on error or when none is held. */
EVP_PKEY *sg_certstore_load_key(sg_certstore *cs, const char *fpr);
/* Fingerprint of x (SHA-256 of its DER, upper-case hex). 0 or -1. */
int sg_cert_fpr(X509 *x, char fpr[SG_CERT_FPR_LEN + 1]);

/* ---- validation (x509_validate.c) ---- */
enum sg_cert_purpose { SG_CERT_SIGN, SG_CERT_ENCRYPT };
enum sg_cert_verdict {
    SG_CERT_VALID,
    SG_CERT_EXPIRED,
    SG_CERT_NOT_YET_VALID,
    SG_CERT_UNTRUSTED, /* no chain to a trust anchor in the store */
    SG_CERT_NO_EMAIL_PROTECTION,
    SG_CERT_BAD_KEY_USAGE, /* keyUsage does not allow the purpose */
    SG_CERT_ADDRESS_MISMATCH,
    SG_CERT_REVOKED,
    SG_CERT_INVALID, /* bad signature, malformed extension, ... */
    SG_CERT_ERROR    /* store or memory error */
};
const char *sg_cert_verdict_name(int verdict); /* "valid", "expired", ... */
/* Validates x for address (NULL: no address check) and purpose at time at: chain from the
 * store's certificates to a trusted one, validity, emailProtection, keyUsage, rfc822Name and,
 * when the store holds a CRL of an issuer in the chain, revocation. reason gets a human
 * sentence. Returns enum sg_cert_verdict. */
int sg_cert_validate(sg_certstore *cs, X509 *x, const char *address, int purpose, time_t at, char *reason,
                     size_t reasonlen);

/* ---- the CRLs known to the store ---- */
/* Stores crl as the newest CRL of the issuer whose certificate is issuer_fpr. 0 or -1. */
int sg_certstore_put_crl(sg_certstore *cs, const char *issuer_fpr, X509_CRL *crl, int64_t number);
/* The stored CRL of issuer_fpr (X509_CRL_free), NULL when none; *number when not NULL. */
X509_CRL *sg_certstore_get_crl(sg_certstore *cs, const char *issuer_fpr, int64_t *number);

#endif
