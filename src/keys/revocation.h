/* revocation.h - revocation checking of a verified chain by OCSP and CRL, with the store as
 * cache. Shared by x509_validate.c, revocation*.c, the unit tests and the fuzz target only.
 * Owner: src/keys. The policy (methods, order, hard/soft fail) is sg_revocation_cfg
 * (lib/config.h); the result reaches callers through sg_cert_result (certstore.h). */
#ifndef SG_REVOCATION_H
#define SG_REVOCATION_H

#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <time.h>

#include "keys/certstore.h"

#define SG_REV_LEEWAY 300 /* seconds of clock skew allowed on thisUpdate/nextUpdate */
#define SG_REV_MAX_URLS 4 /* distribution points / responders tried per certificate */
#define SG_OCSP_NO_NEXT_CACHE 3600 /* seconds an OCSP answer without nextUpdate is cached */
#define SG_CRL_NO_NEXT_CACHE 86400 /* seconds a fetched CRL without nextUpdate counts as fresh */

/* One method's answer for one certificate. NA: the method does not apply (no URL, no CRL).
 * ERROR: the store's cache could not be read; it ends the check of the chain and the
 * validation fails (sg_cert_result.store_error), never "unknown" that soft-fail would accept. */
enum rev_answer { REV_NA, REV_GOOD, REV_REVOKED, REV_UNKNOWN, REV_ERROR };

/* ---- pure parsing and verification: no store, no network (fuzzed) ---- */
/* Parses body (DER, or PEM "X509 CRL") and accepts it as a complete, direct CRL of issuer
 * covering x: issuer name, signature by issuer's key, no delta CRL, no partitioned or indirect
 * CRL, no unknown critical extension, thisUpdate not in the future. 0 with *out (X509_CRL_free),
 * or -1 with why. */
int sg_crl_accept(const uint8_t *body, size_t len, X509 *x, X509 *issuer, time_t now, X509_CRL **out, char *why,
                  size_t whylen);
/* Is x listed in crl with a revocation date at or before at? 1 (revoked_at set) or 0. */
int sg_crl_lists(X509_CRL *crl, X509 *x, time_t at, int64_t *revoked_at);

typedef struct sg_ocsp_answer {
    int status; /* REV_GOOD or REV_REVOKED */
    int64_t revoked_at, this_update, until;
} sg_ocsp_answer;
/* Parses body as an OCSP response and accepts it for id: successful, signed by issuer or a
 * responder issuer delegated (id-kp-OCSPSigning), the nonce of req echoed or absent (req may
 * be NULL), an answer for id that is fresh at now (thisUpdate not in the future nor older than
 * max_age, nextUpdate not past); "unknown" status is refused. until = nextUpdate capped by
 * thisUpdate + max_age (without nextUpdate: now + SG_OCSP_NO_NEXT_CACHE, same cap). 0 or -1. */
int sg_ocsp_accept(const uint8_t *body, size_t len, OCSP_REQUEST *req, OCSP_CERTID *id, X509 *issuer, time_t now,
                   int max_age, sg_ocsp_answer *a, char *why, size_t whylen);

/* ---- per method, with the store as cache and fetching per cs->rev ----
 * at: the time the certificate must be good at (revocations after it do not count); now: the
 * clock for freshness. detail gets a short phrase ("good (CRL fetched from URL)"). */
int rev_crl_check(sg_certstore *cs, X509 *x, X509 *issuer, time_t at, time_t now, char *detail, size_t dlen);
int rev_ocsp_check(sg_certstore *cs, X509 *x, X509 *issuer, time_t at, time_t now, char *detail, size_t dlen);
/* The store's locally made CRL of issuer (url NULL: `ca crl`): it always counts. REV_NA when
 * there is none. */
int rev_local_crl_check(sg_certstore *cs, X509 *x, X509 *issuer, time_t at, char *detail, size_t dlen);

/* The chain as verified (leaf first, anchor last): the worst answer over every certificate but
 * the anchor, into r->revocation and r->revocation_detail. */
void rev_check_chain(sg_certstore *cs, STACK_OF(X509) * chain, time_t at, sg_cert_result *r);

/* sg_http_fetch with cs->rev's limits, unless url failed within revocation.retry_after: then
 * REV_FETCH_SKIPPED at once, err holding the remembered reason and until when. Callers note
 * each failure (rev_note_failure) with the phrase they report. cs->lock (when set) is released
 * during the fetch and held again on return: callers keep no statement open across it and
 * read again what another thread may have changed meanwhile. */
#define REV_FETCH_SKIPPED (-10)
int rev_fetch(sg_certstore *cs, const char *url, const char *content_type, const uint8_t *body, size_t blen,
              long max_size, uint8_t **out, size_t *outlen, char *err, size_t errlen);
/* Fetching from url failed, or its answer was refused (why): not again for retry_after. */
void rev_note_failure(sg_certstore *cs, const char *url, const char *why);
/* "2026-11-24 01:00Z" */
void rev_fmt_time(int64_t t, char *out, size_t n);

#endif
