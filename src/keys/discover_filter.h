/* discover_filter.h - what key discovery accepts from a WKD, VKS or HKP answer
 * (docs/discovery.md "What is accepted"). Owner: src/keys.
 * SECURITY: the answer comes from the network and may be anything: it is parsed by librnp in a
 * context of its own, and only a key with a user ID that is exactly the recipient's address,
 * bound by a valid self-signature, neither expired nor revoked, of an accepted algorithm and
 * size, with a valid encryption subkey, passes; and then only its primary key, that user ID
 * and one encryption subkey (every other user ID, user attribute and third-party signature is
 * dropped). Fuzzed by tests/fuzz/fuzz_discover_filter.c. */
#ifndef SG_DISCOVER_FILTER_H
#define SG_DISCOVER_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/openpgp.h"

/* Picks the key for addr in data (armored or binary, any number of keys; the newest acceptable
 * one wins). 1 with *out (malloc'd, binary, the reduced key) and fpr; 0 when none is acceptable,
 * why says what the last candidate lacked; -1 out of memory. */
int sg_discover_filter(const uint8_t *data, size_t len, const char *addr, int64_t now, uint8_t **out,
                       size_t *outlen, char fpr[SG_PGP_FPR_LEN + 1], char *why, size_t whylen);

#endif
