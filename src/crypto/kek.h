/* kek.h - the key-encryption key (KEK) that wraps private keys at rest. Owner: src/crypto.
 * SECURITY: only cryptd and the admin's CLI may load the KEK (the file is 0600, owned by the
 * cryptd user); network-facing roles (smtpd, relay, web) must never call these functions.
 * Wrapped format: nonce (12) | ciphertext | tag (16), AES-256-GCM, AAD = the key's fingerprint
 * so a wrapped secret copied onto another key's row fails to unwrap. */
#ifndef SG_KEK_H
#define SG_KEK_H

#include <stddef.h>
#include <stdint.h>

#define SG_KEK_LEN 32
#define SG_KEK_NONCE_LEN 12
#define SG_KEK_TAG_LEN 16
#define SG_KEK_OVERHEAD (SG_KEK_NONCE_LEN + SG_KEK_TAG_LEN)

typedef struct sg_kek {
    uint8_t key[SG_KEK_LEN];
} sg_kek;

/* Where the KEK lives: <base_dir>/keys/kek (directory 0700, file 0600). */
void sg_kek_path(const char *base_dir, char *out, size_t outlen);
/* Creates path with 32 random bytes (mode 0600, parent made 0700) unless it exists already.
 * Returns 1 when created, 0 when it was there, -1 with errno on error. */
int sg_kek_create(const char *path);
/* The KEK of base_dir exists (created when absent) and, when running as root, belongs to
 * owner:group with dir 0700 and file 0600, so only that user (cryptd) can read it. 0 or -1. */
int sg_kek_ensure(const char *base_dir, const char *owner, const char *group);
/* Loads the KEK; -1 with errno (EINVAL: wrong size, EPERM: readable by group/others). */
int sg_kek_load(const char *path, sg_kek *kek);
/* Writes kek to path atomically and durably (temp file beside it, fsync, rename, fsync of the
 * directory), 0600, and when running as root owned by owner:group (kept the caller's when owner
 * is NULL). 0 or -1 with errno. */
int sg_kek_write(const char *path, const sg_kek *kek, const char *owner, const char *group);
/* sg_kek_unwrap with *kek, and when that fails, again after re-reading the KEK file at path: a
 * `sealgate kek rotate` (keys/kekrotate.h) may have replaced it while this process kept an older
 * key, or be between its commit and its rename (the new key still in path".new"). So the file
 * is tried, then path".new"; *kek keeps whichever key opened it. Same result as sg_kek_unwrap. */
int sg_kek_unwrap_fresh(sg_kek *kek, const char *path, const char *aad, const uint8_t *in, size_t inlen,
                        uint8_t **out, size_t *outlen);
/* Wipes the key from memory. */
void sg_kek_wipe(sg_kek *kek);

/* *out (malloc'd, *outlen = len + SG_KEK_OVERHEAD) = nonce | AES-256-GCM(pt) | tag. 0 or -1. */
int sg_kek_wrap(const sg_kek *kek, const char *aad, const uint8_t *pt, size_t len, uint8_t **out,
                size_t *outlen);
/* Reverse of sg_kek_wrap; -1 on any tamper (nonce, ciphertext, tag, AAD) or wrong KEK. The
 * caller must free *out with sg_kek_free_plain (it wipes before freeing). */
int sg_kek_unwrap(const sg_kek *kek, const char *aad, const uint8_t *in, size_t inlen, uint8_t **out,
                  size_t *outlen);
void sg_kek_free_plain(uint8_t *p, size_t len);

#endif
