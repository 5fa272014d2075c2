/* fpr.h - SHA-256 fingerprints as text (relay.tls_fingerprints). Owner: src/lib. */
#ifndef SG_FPR_H
#define SG_FPR_H

#include <stddef.h>

#define SG_FPR_SHA256_HEX 65 /* 64 hex digits and the NUL */

/* Parses a SHA-256 fingerprint written as 64 hex digits, either run together or as 32 pairs
 * separated by ':' (the form `openssl x509 -fingerprint -sha256` prints), in either case.
 * Writes the 64 lower-case digits to out. Returns 0, or -1 for anything else. */
int sg_fpr_sha256_parse(const char *in, char out[SG_FPR_SHA256_HEX]);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void sg_fpr_hex(const unsigned char *p, size_t n, char *out);

#endif
