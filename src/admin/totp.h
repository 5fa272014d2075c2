/* totp.h - time-based one-time passwords (RFC 6238 over RFC 4226's HOTP) for the optional second
 * factor of administration and self-service accounts, and the base32 secrets authenticator
 * apps read (RFC 4648, otpauth:// URIs). Owner: src/admin. Callers: auth_totp.c (sign-in),
 * ops_totp.c (enrolment), tests/unit/test_admin_totp.c (the RFC 6238 test vectors).
 * Parameters: 30-second steps from the Unix epoch, 6 digits, HMAC-SHA1 (what every
 * authenticator app reads from an otpauth:// URI without further parameters); a code of the
 * step before or after the current one is accepted too (clock drift).
 * SECURITY: codes are compared in constant time; secrets are wiped from our buffers after use.
 * A code is taken once: the caller records the step it matched (sg_store_admin_account_totp_use)
 * and refuses that step and older ones afterwards. */
#ifndef SG_ADMIN_TOTP_H
#define SG_ADMIN_TOTP_H

#include <stddef.h>
#include <stdint.h>

#define SG_TOTP_STEP 30
#define SG_TOTP_DIGITS 6
#define SG_TOTP_SECRET_BYTES 20 /* 160 bits, RFC 4226's recommendation */
#define SG_TOTP_SECRET_B32 32   /* its base32 length */

typedef enum { SG_TOTP_SHA1, SG_TOTP_SHA256, SG_TOTP_SHA512 } sg_totp_hash;

/* The HOTP value of key at counter, truncated to digits (6..8) decimal digits: 0 with *code,
 * or -1 (bad arguments, HMAC failure). */
int sg_hotp(const uint8_t *key, size_t keylen, uint64_t counter, int digits, sg_totp_hash h, uint32_t *code);
/* The time step of Unix time t. */
int64_t sg_totp_step(int64_t t);

/* A new random secret in base32 (SG_TOTP_SECRET_B32 + 1 bytes): 0 or -1. */
int sg_totp_new_secret(char out[SG_TOTP_SECRET_B32 + 1]);
/* The otpauth:// URI of secret for account at issuer (both percent-encoded) into out: 0, or -1
 * when it does not fit. */
int sg_totp_uri(const char *issuer, const char *account, const char *secret, char *out, size_t outlen);
/* Whether code (SG_TOTP_DIGITS digits) is the code of secret (base32) at now or one step
 * either side: 0 with the matched step in *step, 1 when it is not, -1 when the secret is not
 * valid base32. */
int sg_totp_verify(const char *secret, const char *code, int64_t now, int64_t *step);

#endif
