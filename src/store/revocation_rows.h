/* revocation_rows.h - the store's typed calls for revocation data: the newest CRL per issuer
 * (fetched, or made or imported locally) and the last verified OCSP answer per certificate.
 * Owner: src/store. Callers: src/keys/revocation*.c and the CRL calls of certstore_query.c.
 * The rows carry fingerprints (SHA-256 of the DER, upper-case hex), DER bytes and Unix
 * seconds; parsing and verifying them is the caller's job (keys/), never the store's.
 * Every call: -1 with sg_store_error on a store error, which is never "no such row". */
#ifndef SG_STORE_REVOCATION_ROWS_H
#define SG_STORE_REVOCATION_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* The CRL of one issuer. For put the pointers are the caller's and are copied; get points
 * them into one malloc'd block (own) that sg_store_crl_free releases. */
typedef struct sg_store_crl {
    const uint8_t *der; /* the CRL as DER */
    size_t der_len;
    int64_t this_update, next_update, number; /* number 0 when the CRL has none */
    const char *url;                          /* where it was fetched from; NULL: made or imported locally */
    int64_t fetched;                          /* when it was fetched; 0 locally */
    void *own;
} sg_store_crl;

/* The last verified OCSP answer for one certificate, usable until `until`. */
enum { SG_STORE_OCSP_GOOD = 0, SG_STORE_OCSP_REVOKED = 1 };
typedef struct sg_store_ocsp {
    int status; /* SG_STORE_OCSP_GOOD or SG_STORE_OCSP_REVOKED */
    int64_t revoked_at, this_update, until, fetched;
    const char *url;         /* put only: the responder asked */
    const uint8_t *response; /* put only: the response as received (DER) */
    size_t response_len;
} sg_store_ocsp;

/* Replaces the CRL of issuer_fpr with row (one CRL per issuer). 0 or -1. */
int sg_store_revocation_put_crl(sg_store *s, const char *issuer_fpr, const sg_store_crl *row);
/* The stored CRL of issuer_fpr into *row (sg_store_crl_free it): 0; 1 when there is none
 * (*row zeroed); -1 on error (*row zeroed). Asked per message (cached statement). */
int sg_store_revocation_get_crl(sg_store *s, const char *issuer_fpr, sg_store_crl *row);
void sg_store_crl_free(sg_store_crl *row);

/* Replaces the answer cached for certificate fpr. 0 or -1. */
int sg_store_revocation_put_ocsp(sg_store *s, const char *fpr, const sg_store_ocsp *row);
/* The answer for fpr still usable at now (until > now) into *row: 0; 1 when there is none;
 * -1 on error. Only the verdict is read (status and the times; url and response stay NULL):
 * asked per message (cached statement), it copies no response bytes. */
int sg_store_revocation_get_ocsp(sg_store *s, const char *fpr, int64_t now, sg_store_ocsp *row);

/* Forgets what is stored about certificate fpr: the CRL it issued and its OCSP answer (for
 * deleting a certificate, inside the caller's transaction). 0 or -1. */
int sg_store_revocation_forget(sg_store *s, const char *fpr);

/* What a backend provides for revocation data (store_int.h): the calls above. */
struct sg_store_revocation_ops {
    int (*put_crl)(sg_store *s, const char *issuer_fpr, const sg_store_crl *row);
    int (*get_crl)(sg_store *s, const char *issuer_fpr, sg_store_crl *row);
    int (*put_ocsp)(sg_store *s, const char *fpr, const sg_store_ocsp *row);
    int (*get_ocsp)(sg_store *s, const char *fpr, int64_t now, sg_store_ocsp *row);
    int (*forget)(sg_store *s, const char *fpr);
};

#endif
