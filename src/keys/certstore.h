/* certstore.h - the X.509 certificate store over the store's x509 calls (S/MIME; store/
 * x509_rows.h). Owner: src/keys.
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
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/config.h"
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
    const char *reason; /* why rejected (or, with a trust request, why not trusted), or NULL */
    bool key;           /* a private key for this certificate was taken */
    int trust;          /* SG_CS_IMPORT_TRUST: 1 made a trust anchor, -1 refused (not a CA), else 0 */
    const char *input;  /* fpr NULL: the name of the input that was refused (may be NULL) */
} sg_cert_import_result;
typedef void (*sg_cert_import_cb)(void *ctx, const sg_cert_import_result *r);

/* One input of an import: the bytes of a file and its name for messages (may be NULL). */
typedef struct sg_cert_input {
    const uint8_t *data;
    size_t len;
    const char *name;
} sg_cert_input;
#define SG_CS_IMPORT_TRUST 1u /* make every CA certificate of the input a trust anchor */

/* Imports the inputs of one call together: PEM (certificates, PKCS#7, private keys in PKCS#8,
 * encrypted PKCS#8 or traditional form, encrypted or not), DER (certificate, PKCS#7, PKCS#8,
 * encrypted PKCS#8, traditional key) and PKCS#12 (legacy RC2/DES encryption included, decrypted
 * in a library context of its own: the legacy provider never reaches mail crypto). password
 * decrypts PKCS#12 and encrypted keys ("" / none are tried for PKCS#12 when NULL). Private keys
 * are matched to the certificates of all inputs by public key. Fail closed: when an input
 * cannot be read completely (unparsable, wrong password, an encrypted key without password) or
 * a private key matches none of the certificates, nothing is stored: the input is reported
 * with fpr NULL and every certificate as rejected. Reports every certificate through cb.
 * Returns the number rejected, or -1 on a store error. */
int sg_certstore_import_set(sg_certstore *cs, const sg_cert_input *in, size_t n, const char *password,
                            unsigned flags, sg_cert_import_cb cb, void *ctx);
/* sg_certstore_import_set with one unnamed input and no flags. */
int sg_certstore_import(sg_certstore *cs, const uint8_t *data, size_t len, const char *password,
                        sg_cert_import_cb cb, void *ctx);
/* Stores one certificate (and key when not NULL) as the CA does: flags below. Writes fpr.
 * Returns enum sg_cert_import_status, -1 on error; reason set when rejected. */
#define SG_CS_ADD_TRUSTED 1u
#define SG_CS_ADD_LOCAL_CA 2u
#define SG_CS_ADD_LEARNED 4u /* from incoming mail (sg_certstore_learn); never with TRUSTED */
int sg_certstore_add(sg_certstore *cs, X509 *x, EVP_PKEY *key, unsigned flags, char fpr[SG_CERT_FPR_LEN + 1],
                     const char **reason);

/* Certificates for address (exact local part, case-insensitive domain), or all, newest first.
 * An address no certificate can carry (see sg_cert_addr_ok) gives an empty list; -1 is a store
 * error only. */
int sg_certstore_list(sg_certstore *cs, const char *address, sg_cert_info **out, size_t *n);
/* One page of sg_certstore_list's answer (limit >= 1) and how many it would answer in all. */
int sg_certstore_page(sg_certstore *cs, const char *address, size_t limit, size_t offset, sg_cert_info **out,
                      size_t *n, int64_t *total);
void sg_certstore_free_list(sg_cert_info *list, size_t n);
/* One certificate by fingerprint (case-insensitive hex): 0, 1 when absent, -1 on error. */
int sg_certstore_get(sg_certstore *cs, const char *fpr, sg_cert_info *ci);
/* The certificate as PEM (or DER): 0, 1 when absent, -1 on error. Free with free(). */
int sg_certstore_export(sg_certstore *cs, const char *fpr, bool der, uint8_t **out, size_t *len);
/* The private key as unencrypted PKCS#8 PEM (admin only, needs the KEK). 0, 1 absent/no key,
 * -1 on error. Free with sg_kek_free_plain(out, len). */
int sg_certstore_export_key(sg_certstore *cs, const char *fpr, uint8_t **out, size_t *len);
/* Certificate, addresses, key, learned pairs, the CRL it issued and its OCSP answer, in one
 * transaction: 0, 1 when absent, -1 on error. */
int sg_certstore_delete(sg_certstore *cs, const char *fpr);
/* Trust anchor on/off: 0, 1 when absent, 2 when not a CA certificate, -1 on error. */
int sg_certstore_set_trust(sg_certstore *cs, const char *fpr, bool trusted);

/* The parsed certificate (X509_free) or NULL (absent: error "no such certificate"). */
X509 *sg_certstore_load_cert(sg_certstore *cs, const char *fpr);
/* The private key (EVP_PKEY_free), needs the KEK. NULL on error or when none is held. */
EVP_PKEY *sg_certstore_load_key(sg_certstore *cs, const char *fpr);
/* Fingerprint of x (SHA-256 of its DER, upper-case hex). 0 or -1. */
int sg_cert_fpr(X509 *x, char fpr[SG_CERT_FPR_LEN + 1]);
/* User input (upper or lower case hex, openssl's AA:BB:... form) as a fingerprint: 0, or -1
 * when it is not one. Pure. */
int sg_cert_fpr_norm(const char *in, char out[SG_CERT_FPR_LEN + 1]);
/* Is addr an address a certificate can be stored under (one @, no space, control or <>)? */
bool sg_cert_addr_ok(const char *addr);

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
    SG_CERT_ERROR,   /* store or memory error */
    SG_CERT_REVOCATION_UNKNOWN /* no revocation answer and revocation.unreachable = hard-fail */
};
const char *sg_cert_verdict_name(int verdict); /* "valid", "expired", ... */
/* Validates x for address (NULL: no address check) and purpose at time at: chain from the
 * store's certificates to a trusted one, validity, emailProtection, keyUsage, rfc822Name and,
 * when the store holds a CRL of an issuer in the chain, revocation. reason gets a human
 * sentence. Returns enum sg_cert_verdict. */
int sg_cert_validate(sg_certstore *cs, X509 *x, const char *address, int purpose, time_t at, char *reason,
                     size_t reasonlen);

/* ---- revocation (revocation*.c, docs/x509.md "Revocation") ----
 * The revocation policy of this certstore: which methods in which order (OCSP, CRL), whether
 * to fetch over the network, limits, and hard or soft fail when no answer can be had. Until
 * this is called, a certstore fetches nothing and consults only CRLs in the store (soft-fail):
 * a process must opt in to network access. cryptd and the CLI pass &cfg->revocation. The
 * configuration is copied. Fetches go through the fetch helper when the process started one
 * (net/fetch_helper.h: sg_fetch_helper_start before loading the KEK; cryptd should), else
 * they run in the calling process (docs/architecture.md, "Revocation fetches"). */
void sg_certstore_set_revocation(sg_certstore *cs, const sg_revocation_cfg *rev);
/* The mutex that guards cs's store handle where threads share it (cryptd's store lock):
 * callers hold it around every call on cs, as before. Validation releases it while a CRL or
 * OCSP fetch runs (no lock is held across network I/O) and takes it again to verify and cache
 * the answer, so what a caller read from the store before sg_cert_validate may have changed
 * when it returns. NULL (the default): nothing is released (single-threaded users). */
void sg_certstore_set_lock(sg_certstore *cs, pthread_mutex_t *lock);

/* What revocation checking found for a chain (the worst over its certificates). */
enum sg_rev_status {
    SG_REV_NOT_CHECKED, /* no certificate of the chain names an OCSP responder or CRL, or none asked */
    SG_REV_GOOD,        /* every certificate that could be checked is good */
    SG_REV_UNKNOWN,     /* some certificate could not be checked: unreachable, invalid, too large */
    SG_REV_REVOKED
};
const char *sg_rev_status_name(int s); /* "not checked", "good", "unknown", "revoked" */

#define SG_CERT_CHAIN_MAX 8
typedef struct sg_cert_result {
    int verdict;     /* enum sg_cert_verdict, as sg_cert_validate returns */
    int revocation;  /* enum sg_rev_status; NOT_CHECKED when validation failed before it */
    bool soft_fail;  /* revocation UNKNOWN, accepted because revocation.unreachable = soft-fail */
    bool store_error; /* the store's revocation cache could not be read: verdict SG_CERT_ERROR */
    char reason[512]; /* e.g. "valid; revocation unknown: OCSP responder unreachable (...), soft-fail" */
    char revocation_detail[384]; /* the revocation part alone, e.g. "good (OCSP, cached)" */
    /* The chain verification built, leaf first, as fingerprints (nchain 0: none was built;
     * on a failure, as far as it got); at most SG_CERT_CHAIN_MAX. */
    char chain[SG_CERT_CHAIN_MAX][SG_CERT_FPR_LEN + 1];
    int nchain;
} sg_cert_result;

/* sg_cert_validate with the full result, including what revocation checking did. May fetch
 * CRLs and OCSP answers (per sg_certstore_set_revocation) and cache them in the store: it
 * can block for up to revocation.timeout seconds per fetch, with the certstore's lock
 * released meanwhile (sg_certstore_set_lock). Returns r->verdict. */
int sg_cert_validate_ex(sg_certstore *cs, X509 *x, const char *address, int purpose, time_t at,
                        sg_cert_result *r);

/* ---- the CRLs known to the store ---- */
/* Stores crl as the newest CRL of the issuer whose certificate is issuer_fpr. 0 or -1. */
int sg_certstore_put_crl(sg_certstore *cs, const char *issuer_fpr, X509_CRL *crl, int64_t number);
/* The stored CRL of issuer_fpr (X509_CRL_free), NULL when none (*number untouched) or on a
 * store error (*number -1, sg_certstore_error); *number when not NULL. */
X509_CRL *sg_certstore_get_crl(sg_certstore *cs, const char *issuer_fpr, int64_t *number);

/* ---- learned certificates and S/MIME capabilities (certstore_learn.c) ----
 * The S/MIME engine calls sg_certstore_learn after it verified a signature on incoming mail
 * and bound it to the From address: the signer's certificate and the chain the message
 * carried are stored with learned = 1 (never trusted: they count only when they validate with
 * sg_cert_validate like any other certificate; self-signed certificates are not kept, trust
 * anchors are the admin's decision), and the signature's SMIMECapabilities are recorded for
 * that address so that replies can use what the correspondent's client supports.
 * Limits: at most SG_LEARN_MAX_CERTS certificates and SG_LEARN_MAX_BYTES of chain input, at
 * most SG_LEARN_MAX_CAPS bytes of capabilities; per address the newest SG_LEARN_PER_ADDR
 * learned signer certificates are kept (older learned ones without a private key are removed),
 * so mail from strangers cannot grow the store without bound. */
#define SG_LEARN_MAX_CERTS 10
#define SG_LEARN_MAX_BYTES (256u * 1024)
#define SG_LEARN_MAX_CAPS 4096u
#define SG_LEARN_PER_ADDR 4

/* Capabilities we recognise (RFC 8551 2.5.2, RFC 5084, RFC 3560), as bits. */
#define SG_CAP_AES256_GCM 0x01u /* id-aes256-GCM: AuthEnvelopedData with AES-256-GCM */
#define SG_CAP_AES128_GCM 0x02u
#define SG_CAP_AES256_CBC 0x04u
#define SG_CAP_AES128_CBC 0x08u
#define SG_CAP_RSAES_OAEP 0x10u /* id-RSAES-OAEP */
#define SG_CAP_PREFER_BIN_OK 0x20u /* preferBinaryInside (RFC 8551 2.5.3) */

typedef struct sg_smime_caps {
    char fpr[SG_CERT_FPR_LEN + 1]; /* the certificate of the newest signature seen */
    unsigned flags;                /* SG_CAP_* */
    unsigned preferred;            /* the first content-encryption SG_CAP_* bit listed, 0 none */
    int64_t first_seen, last_seen; /* Unix seconds */
} sg_smime_caps;

/* chain_der: one or more DER certificates concatenated, the signer's first (as the CMS
 * SignedData carried them; order of the rest does not matter). address: the From address the
 * signature was bound to; it must be one of the signer certificate's addresses. caps_der: the
 * DER of the SMIMECapabilities attribute value (SEQUENCE OF SMIMECapability), or NULL/0 when
 * the signature had none. seen: the time to record (time(NULL)). fpr (may be NULL) gets the
 * signer's fingerprint. Returns 0 when stored or refreshed, 1 when refused (reason in
 * sg_certstore_error: unparsable, over a limit, address not in the certificate, rejected by
 * the acceptance policy), -1 on a store error. Certificates imported by the admin stay as
 * they are (not marked learned); their capabilities are still recorded. caps_der from a CMS
 * SignerInfo: ASN1_STRING *s = CMS_signed_get0_data_by_OBJ(si,
 * OBJ_nid2obj(NID_SMIMECapabilities), -3, V_ASN1_SEQUENCE); its bytes (ASN1_STRING_get0_data,
 * ASN1_STRING_length) are the whole SEQUENCE. Call it only for a signature that verified and
 * whose signer matched From (the same rule as for showing it as valid). */
int sg_certstore_learn(sg_certstore *cs, const unsigned char *chain_der, size_t len, const char *address,
                       const unsigned char *caps_der, size_t caps_len, time_t seen,
                       char fpr[SG_CERT_FPR_LEN + 1]);
/* Convenience for callers holding parsed certificates: signer plus others (may be NULL). */
int sg_certstore_learn_x509(sg_certstore *cs, X509 *signer, STACK_OF(X509) * others, const char *address,
                            const unsigned char *caps_der, size_t caps_len, time_t seen,
                            char fpr[SG_CERT_FPR_LEN + 1]);
/* What the newest signed message from address said it supports: 0 found, 1 never seen (caps
 * zeroed), -1 on error. The address is normalised like everywhere (exact local part). */
int sg_certstore_caps(sg_certstore *cs, const char *address, sg_smime_caps *caps);
/* Parses SMIMECapabilities DER into SG_CAP_* bits and the preferred content cipher. 0 or -1
 * when malformed or over SG_LEARN_MAX_CAPS. Pure; exported for the fuzz target and tests. */
int sg_smime_caps_parse(const unsigned char *der, size_t len, unsigned *flags, unsigned *preferred);

#endif
