/* discover_ldap.h - LDAP as a key discovery source (docs/discovery.md "LDAP"): the filter built
 * from the configured pattern, the search through the fetch helper, and what is accepted from
 * its answer. Owner: src/keys.
 * SECURITY: the address reaches the filter only RFC 4515-escaped; the answer comes from the
 * network and is parsed by sg_discover_ldap_answer (fuzzed by tests/fuzz/fuzz_discover_ldap.c),
 * each OpenPGP value through the same filter as WKD and key server answers (discover_filter.h).
 * A malformed answer is a failed lookup, never "no key". */
#ifndef SG_DISCOVER_LDAP_H
#define SG_DISCOVER_LDAP_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/openpgp.h"
#include "lib/config.h"

/* pattern with its one {address} replaced by addr escaped per RFC 4515 (every byte outside
 * printable ASCII, and * ( ) \, as \XX). 0, or -1 when it does not fit or has no {address}. */
int sg_ldap_filter(const char *pattern, const char *addr, char *out, size_t outlen);

/* The helper's answer (net/ldap_search.h): attribute 0 the certificate attribute, 1 the
 * OpenPGP one. 1 with *out (malloc'd, the reduced key) and fpr for the newest acceptable key;
 * 0 when the answer holds none (why says what the last value lacked); -1 for a malformed
 * answer or out of memory (why says which). */
int sg_discover_ldap_answer(const uint8_t *ans, size_t len, const char *addr, int64_t now, uint8_t **out,
                            size_t *outlen, char fpr[SG_PGP_FPR_LEN + 1], char *why, size_t whylen);

/* The values of attribute idx (0 certificate, 1 OpenPGP) in the helper's answer, each given
 * to cb (may be NULL: only counted); cb's non-zero return stops and is returned. The whole
 * answer's structure is checked first: -1 when malformed. Else the number of values. */
typedef int (*sg_ldap_value_cb)(void *ctx, const uint8_t *v, size_t len);
int sg_ldap_answer_values(const uint8_t *ans, size_t len, int idx, sg_ldap_value_cb cb, void *ctx);

/* The search for addr at the LDAP server l (both attributes): 0 with *ans (free()) and url,
 * -1 failed (err; logged). */
int sg_discover_ldap_fetch(const sg_discovery_ldap *l, const sg_discovery_cfg *dc, const char *addr, int64_t left_ms,
                           uint8_t **ans, size_t *alen, char url[512], char *err, size_t errlen);

/* One lookup of addr's OpenPGP key at the LDAP server l, bounded by left_ms (and l->timeout).
 * 1 found (*out, fpr, and url: where it came from), 0 definitively none, -1 failed (err). */
int sg_discover_ldap(const sg_discovery_ldap *l, const sg_discovery_cfg *dc, const char *addr, int64_t left_ms,
                     uint8_t **out, size_t *outlen, char fpr[SG_PGP_FPR_LEN + 1], char url[512], char *err,
                     size_t errlen);

#endif
