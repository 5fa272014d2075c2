/* x509_rows.h - the store's typed calls for the X.509 certificate store. Owner: src/store.
 * Its data: certificates with the facts selection reads (x509_certs), their addresses
 * (x509_addrs), their private keys wrapped by the KEK (x509_keys) and the (address, signer)
 * pairs learned from signed mail with their SMIMECapabilities (x509_learned). The caller is
 * src/keys (certstore*.c, ca.c), which keeps parsing, validation, selection rules and KEK
 * wrapping: rows carry fingerprints, DER, flags and times, never an OpenSSL object.
 * Results: 0 done (or found); 1 "no such row" where a call says so; -1 a store error with its
 * reason in sg_store_error(s), never reported as "not found" or "none".
 * Memory: input pointers are only read during the call; what a call hands back is malloc'd
 * and the caller's (free() or the free function named). Callbacks get bytes valid for that
 * call only and must not call the store.
 * Fingerprints are SG_X509_FPR_LEN upper-case hex digits; addresses are normalised by the
 * caller (exact local part, lower-cased domain) and stored as given.
 * Transactions are the caller's (sg_store_begin/commit/rollback around several calls). */
#ifndef SG_STORE_X509_ROWS_H
#define SG_STORE_X509_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define SG_X509_FPR_LEN 64 /* SHA-256 of the DER, upper-case hex */

/* One certificate row with its addresses. */
typedef struct sg_x509_row {
    char fpr[SG_X509_FPR_LEN + 1];
    char *subject, *issuer, *serial; /* RFC 2253 names, hex serial */
    int64_t not_before, not_after;   /* Unix seconds */
    int64_t key_usage;               /* keyUsage bits, -1 without the extension */
    bool eku_email, is_ca, trusted, learned, local_ca, revoked;
    int64_t revoked_at;
    bool has_key; /* read only: a wrapped key is held for fpr */
    char **addrs; /* normalised addresses; sorted when read */
    size_t naddrs;
} sg_x509_row;
/* Frees what a read row owns and zeroes it. */
void sg_store_x509_row_clear(sg_x509_row *r);
void sg_store_x509_rows_free(sg_x509_row *rows, size_t n);

/* ---- certificates ---- */
/* Whether a certificate row and a key row exist for fpr: 0 (both set), -1. */
int sg_store_x509_state(sg_store *s, const char *fpr, bool *have_cert, bool *have_key);
/* Adds the certificate der (with the facts of r, its flags trusted/learned/local_ca and its
 * addresses; revoked, revoked_at and has_key are ignored) imported now. An existing fpr is an
 * error. 0, -1. */
int sg_store_x509_insert(sg_store *s, const sg_x509_row *r, const uint8_t *der, size_t der_len);
/* Certificates for addr (NULL: all), newest not_before first, then by fpr: a malloc'd array
 * (sg_store_x509_rows_free) and its count, empty when none. 0, -1. */
int sg_store_x509_list(sg_store *s, const char *addr, sg_x509_row **rows, size_t *n);
/* One page of list's answer (the same order) and in *total how many list would answer: only the
 * page's rows are read. 0 or -1. */
int sg_store_x509_page(sg_store *s, const char *addr, size_t limit, size_t offset, sg_x509_row **rows, size_t *n,
                       int64_t *total);
/* One certificate: 0 (r filled, sg_store_x509_row_clear), 1 none, -1. */
int sg_store_x509_get(sg_store *s, const char *fpr, sg_x509_row *r);
/* The DER of fpr (malloc'd, free()): 0, 1 none, -1 (an empty row too). */
int sg_store_x509_der(sg_store *s, const char *fpr, uint8_t **der, size_t *len);
/* Calls cb with the DER of every CA certificate (is_ca) whose trust-anchor flag is trusted;
 * der may be NULL for an unreadable row. cb returns 0 to go on; another value stops the walk
 * and is returned (so make it positive). 0, cb's value, -1. */
typedef int (*sg_x509_der_cb)(void *ctx, const uint8_t *der, size_t len);
int sg_store_x509_each_ca(sg_store *s, bool trusted, sg_x509_der_cb cb, void *ctx);
/* Makes fpr a trust anchor or not: 0, 1 none, -1. */
int sg_store_x509_set_trust(sg_store *s, const char *fpr, bool trusted);
/* Clears the learned flag (the admin imported a certificate first learned from mail): 0 it
 * was learned, 1 it was not (or is absent), -1. */
int sg_store_x509_unlearn(sg_store *s, const char *fpr);
/* Removes the certificate and everything that hangs on it: its addresses, key and learned
 * pairs, and in the revocation cache the CRL it issued and its OCSP answer. 0 removed, 1 it
 * was absent (nothing else is kept for it either), -1. Atomic inside the caller's
 * transaction. */
int sg_store_x509_delete(sg_store *s, const char *fpr);

/* ---- private keys ---- */
/* Stores (or replaces) the wrapped key of fpr: 0, -1. */
int sg_store_x509_put_key(sg_store *s, const char *fpr, const uint8_t *wrapped, size_t len);
/* The wrapped key of fpr (malloc'd, free()): 0, 1 none, -1 (an empty row too). */
int sg_store_x509_key(sg_store *s, const char *fpr, uint8_t **wrapped, size_t *len);

/* ---- the local CA ---- */
/* The fingerprint of the newest local CA certificate: 0, 1 none, -1. */
int sg_store_x509_local_ca(sg_store *s, char fpr[SG_X509_FPR_LEN + 1]);
/* Marks fpr revoked by the local CA as of now: 0, 1 none, -1. */
int sg_store_x509_revoke(sg_store *s, const char *fpr);
/* Calls cb with the hex serial and revocation time of every revoked certificate that is not
 * a local CA; cb as for sg_store_x509_each_ca. 0, cb's value, -1. */
typedef int (*sg_x509_revoked_cb)(void *ctx, const char *serial, int64_t revoked_at);
int sg_store_x509_each_revoked(sg_store *s, sg_x509_revoked_cb cb, void *ctx);

/* ---- learned from signed mail ---- */
/* Records that addr signed with fpr at seen, with the SMIMECapabilities DER caps (NULL:
 * none) and its recognised bits. A pair seen before keeps the earliest first_seen and the
 * latest last_seen, and takes caps and cap_flags only when seen is not older. 0, -1. */
int sg_store_x509_learn_put(sg_store *s, const char *addr, const char *fpr, const uint8_t *caps,
                            size_t caps_len, unsigned cap_flags, int64_t seen);
/* The learned signer certificates of addr beyond the newest keep (by last_seen, then fpr)
 * that are still marked learned and hold no key: up to max fingerprints into fprs. The
 * count, or -1. */
int sg_store_x509_learn_stale(sg_store *s, const char *addr, int keep, char (*fprs)[SG_X509_FPR_LEN + 1],
                              size_t max);
/* Removes the pair (addr, fpr); returns how many pairs still name fpr, or -1. */
int sg_store_x509_learn_forget(sg_store *s, const char *addr, const char *fpr);
/* The pair of addr seen last (then by fpr). */
typedef struct sg_x509_learned {
    char fpr[SG_X509_FPR_LEN + 1];
    uint8_t *caps; /* malloc'd (free()), NULL when the signature had none */
    size_t caps_len;
    int64_t first_seen, last_seen;
} sg_x509_learned;
/* 0 (l filled), 1 addr never seen, -1. */
int sg_store_x509_caps(sg_store *s, const char *addr, sg_x509_learned *l);

/* What a backend provides for x509 data (store_int.h): the calls above, less the pure
 * memory helpers. */
struct sg_store_x509_ops {
    int (*state)(sg_store *s, const char *fpr, bool *have_cert, bool *have_key);
    int (*insert)(sg_store *s, const sg_x509_row *r, const uint8_t *der, size_t der_len);
    int (*list)(sg_store *s, const char *addr, sg_x509_row **rows, size_t *n);
    int (*page)(sg_store *s, const char *addr, size_t limit, size_t offset, sg_x509_row **rows, size_t *n,
                int64_t *total);
    int (*get)(sg_store *s, const char *fpr, sg_x509_row *r);
    int (*der)(sg_store *s, const char *fpr, uint8_t **der, size_t *len);
    int (*each_ca)(sg_store *s, bool trusted, sg_x509_der_cb cb, void *ctx);
    int (*set_trust)(sg_store *s, const char *fpr, bool trusted);
    int (*unlearn)(sg_store *s, const char *fpr);
    int (*delete_cert)(sg_store *s, const char *fpr);
    int (*put_key)(sg_store *s, const char *fpr, const uint8_t *wrapped, size_t len);
    int (*key)(sg_store *s, const char *fpr, uint8_t **wrapped, size_t *len);
    int (*local_ca)(sg_store *s, char fpr[SG_X509_FPR_LEN + 1]);
    int (*revoke)(sg_store *s, const char *fpr);
    int (*each_revoked)(sg_store *s, sg_x509_revoked_cb cb, void *ctx);
    int (*learn_put)(sg_store *s, const char *addr, const char *fpr, const uint8_t *caps, size_t caps_len,
                     unsigned cap_flags, int64_t seen);
    int (*learn_stale)(sg_store *s, const char *addr, int keep, char (*fprs)[SG_X509_FPR_LEN + 1],
                       size_t max);
    int (*learn_forget)(sg_store *s, const char *addr, const char *fpr);
    int (*caps)(sg_store *s, const char *addr, sg_x509_learned *l);
};

#endif
