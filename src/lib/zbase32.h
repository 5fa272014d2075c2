/* zbase32.h - z-base-32 encoding (Zooko's human-oriented base-32), as WKD uses it for the
 * hashed local part (draft-koch-openpgp-webkey-service, section 3.1), and RFC 4648 base32 (the
 * alphabet of TOTP secrets in otpauth:// URIs, admin/totp.h). Owner: src/lib.
 * Written here because Debian has no C library with it (only a Rust crate); checked against
 * `gpg-wks-client --print-wkd-hash` by the unit test and fuzzed (tests/fuzz/fuzz_zbase32.c). */
#ifndef SG_ZBASE32_H
#define SG_ZBASE32_H

#include <stddef.h>
#include <stdint.h>

/* Characters needed for len bytes, without the NUL. */
#define SG_ZBASE32_LEN(len) (((len) * 8 + 4) / 5)

/* Encodes len bytes into out (SG_ZBASE32_LEN(len) + 1 bytes, NUL-terminated). Returns the
 * number of characters written, or -1 when outlen is too small. */
int sg_zbase32_encode(const uint8_t *in, size_t len, char *out, size_t outlen);
/* The same in RFC 4648's base32 alphabet, without padding. */
int sg_base32_encode(const uint8_t *in, size_t len, char *out, size_t outlen);
/* Decodes RFC 4648 base32 (upper or lower case; '=' and spaces ignored; trailing bits that make
 * no byte dropped): the byte count, or -1 when a character is not base32 or out is too small.
 * SECURITY: the input may be anything (fuzz_totp); nothing is written past outlen. */
int sg_base32_decode(const char *in, uint8_t *out, size_t outlen);

#endif
