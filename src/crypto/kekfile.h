/* kekfile.h - the key-encryption key wrapped under a passphrase, for backups, for moving the KEK
 * to another node (`sealgate kek export|import`) and for restore. Owner: src/crypto.
 * SECURITY: the passphrase is stretched with argon2id (libargon2; cost and salt stored in the
 * file) into an AES-256-GCM key. The file carries a SHA-256 of everything before it, so a
 * truncated or damaged file is told apart from a wrong passphrase: the digest is checked first
 * (corrupt), then the GCM tag (wrong passphrase, since the bytes are intact). The digest is no
 * authentication (anyone can recompute it); the GCM tag over header (AAD) and KEK is.
 * The parser bounds the argon2 cost it accepts so a crafted file cannot make restore allocate
 * gigabytes or run for hours.
 *
 * Layout (integers big-endian), SG_KEKFILE_LEN bytes:
 *   0  magic "SGKEKPW1" (8)      8  version (1) = 1        9  kdf (1) = 1 (argon2id v1.3)
 *   10 reserved (2) = 0          12 t_cost (4)             16 m_cost in KiB (4)
 *   20 parallelism (4)           24 salt (16)              40 nonce (12)
 *   52 AES-256-GCM(KEK) (32)     84 tag (16)               100 SHA-256 of bytes 0..99 (32)
 * Bytes 0..51 are the GCM AAD. */
#ifndef SG_KEKFILE_H
#define SG_KEKFILE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/kek.h"

#define SG_KEKFILE_LEN 132
#define SG_KEKFILE_MAGIC "SGKEKPW1"

typedef struct sg_kekfile_params {
    uint32_t t_cost, m_cost_kib, parallelism;
} sg_kekfile_params;

/* What this version writes: argon2id t=3, 64 MiB, 1 lane (RFC 9106's second recommendation). */
extern const sg_kekfile_params sg_kekfile_default;

typedef enum {
    SG_KEKFILE_OK = 0,
    SG_KEKFILE_TRUNCATED,   /* shorter than the format (or longer: trailing bytes) */
    SG_KEKFILE_NOT_KEKFILE, /* wrong magic */
    SG_KEKFILE_VERSION,     /* a version or KDF this sealgate does not know */
    SG_KEKFILE_PARAMS,      /* argon2 cost outside the accepted bounds */
    SG_KEKFILE_CORRUPT,     /* the SHA-256 does not match: damaged in storage or transit */
    SG_KEKFILE_PASSPHRASE,  /* intact, but the tag fails: wrong passphrase */
    SG_KEKFILE_ERROR,       /* out of memory, KDF or cipher failure */
} sg_kekfile_status;

/* A sentence for each status (for the operator). */
const char *sg_kekfile_status_text(sg_kekfile_status st);

/* Builds the file for kek under pass (len bytes) with params: out has SG_KEKFILE_LEN bytes. */
int sg_kekfile_seal(const sg_kek *kek, const char *pass, size_t passlen, const sg_kekfile_params *params,
                    uint8_t out[SG_KEKFILE_LEN]);
/* Checks the framing only (length, magic, version, bounds, digest), no KDF: fills *params. */
sg_kekfile_status sg_kekfile_parse(const uint8_t *in, size_t len, sg_kekfile_params *params);
/* Parses, derives the key and decrypts into *kek (wiped on any failure). */
sg_kekfile_status sg_kekfile_open(const uint8_t *in, size_t len, const char *pass, size_t passlen,
                                  sg_kek *kek);

#endif
