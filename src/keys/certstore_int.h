/* certstore_int.h - shared between certstore*.c, x509_validate.c and ca.c only. Owner: src/keys. */
#ifndef SG_CERTSTORE_INT_H
#define SG_CERTSTORE_INT_H

#include <openssl/pkcs12.h>

#include "crypto/kek.h"
#include "keys/certstore.h"
#include "store/revocation_rows.h"
#include "store/x509_rows.h"

_Static_assert(SG_CERT_FPR_LEN == SG_X509_FPR_LEN, "the store's fingerprints are the certstore's");

struct sg_certstore {
    sg_store *st; /* certificates, addresses, keys, learned pairs: store/x509_rows.h */
    char *kek_path;
    unsigned flags;
    bool have_kek;
    sg_kek kek;
    char err[256];
    bool rev_set; /* sg_certstore_set_revocation was called: rev holds the policy */
    sg_revocation_cfg rev;
    pthread_mutex_t *lock; /* sg_certstore_set_lock: released across fetches; NULL: none */
    /* URLs that failed recently (revocation.c): not asked again before `until`, so a dead
     * responder costs one timeout per retry_after, not one per message. */
    struct cs_fetch_fail {
        char url[256];
        int64_t until;
        char why[200];
    } fails[32];
};

/* Sets the error message; returns -1. */
int cs_fail(sg_certstore *cs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes the store's reason for the call that just failed as the error; returns -1. */
int cs_store_fail(sg_certstore *cs);
int cs_need_kek(sg_certstore *cs);
/* Normalised fingerprint (upper-case hex) of user input; -1 when it is not 64 hex digits. */
int cs_norm_fpr(sg_certstore *cs, const char *in, char out[SG_CERT_FPR_LEN + 1]);
/* The CA certificates that are trust anchors (trusted) or not (the intermediates); NULL with
 * the error on a store error. Rows that do not parse are left out. */
STACK_OF(X509) * cs_load_cas(sg_certstore *cs, bool trusted);
/* "local@domain" with the domain lower-cased into out; -1 when addr is not an address. */
int cs_norm_addr(const char *addr, size_t len, char *out, size_t outlen);
/* Addresses of x: SAN rfc822Names, else emailAddress in the subject. Free with cs_free_addrs. */
int cs_cert_addrs(X509 *x, char ***addrs, size_t *n);
void cs_free_addrs(char **addrs, size_t n);
/* Stores crl as the newest of issuer_fpr; url NULL for a CRL made or imported locally (it is
 * then authoritative whatever its nextUpdate), else where it was fetched from and when. */
int cs_put_crl(sg_certstore *cs, const char *issuer_fpr, X509_CRL *crl, int64_t number, const char *url,
               int64_t fetched, int64_t next_update);
/* Unix seconds of an ASN1 time: 0 or -1. */
int cs_asn1_time(const ASN1_TIME *t, int64_t *out);
/* Is address (normalised here) one of x's addresses? */
bool cs_cert_has_addr(X509 *x, const char *address);

/* ---- import (certstore_import.c, certstore_p12.c) ---- */
DEFINE_STACK_OF(EVP_PKEY)
/* The library context for decrypting PKCS#12 and encrypted PKCS#8 at import: the default and
 * the legacy provider (RC2, DES), never used for mail crypto. NULL when it cannot be made.
 * *legacy (may be NULL) tells whether the legacy provider loaded. */
OSSL_LIB_CTX *cs_import_libctx(bool *legacy);
/* The certificates and private keys of a PKCS#12 pushed onto certs and keys (objects of the
 * default context). 0, or -1 with *why when it is PKCS#12 but unusable. */
int cs_parse_p12(PKCS12 *p12, const char *password, STACK_OF(X509) * certs, STACK_OF(EVP_PKEY) * keys,
                 const char **why);

#endif
