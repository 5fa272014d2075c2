/* checkpoint.h - signed checkpoints of the log in the C2SP signed-note / tlog-checkpoint
 * format, and the log's Ed25519 key. Owner: src/audit (issue 14); docs/audit.md has the bytes.
 * A checkpoint note is
 *     ORIGIN "\n" SIZE "\n" BASE64(ROOT) "\n" "\n" "— " ORIGIN " " BASE64(KEYID || SIG) "\n"
 * where SIG is Ed25519 over the first three lines (with their newlines) and KEYID the first
 * four bytes of SHA-256(ORIGIN "\n" 0x01 PUBKEY).
 * SECURITY: the private key (<base_dir>/keys/audit.key) is made at prepare time, mode 0600 and
 * owned by the cryptd user like the KEK; only cryptd (and root) can sign. The parser takes
 * untrusted text (an exported or stored note) and is fuzzed (tests/fuzz/fuzz_checkpoint.c). */
#ifndef SG_AUDIT_CHECKPOINT_H
#define SG_AUDIT_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/merkle.h"

#define SG_CKPT_ORIGIN_MAX 256

typedef struct sg_checkpoint {
    char origin[SG_CKPT_ORIGIN_MAX];
    uint64_t size;
    sg_mhash root;
    /* The first signature line: its key name, key id and 64-byte signature. */
    char key_name[SG_CKPT_ORIGIN_MAX];
    uint8_t keyid[4];
    uint8_t sig[64];
    size_t body_len; /* the signed text is note[0 .. body_len) */
} sg_checkpoint;

/* Parses note (len bytes, not necessarily NUL-terminated): 0, or -1 with why. */
int sg_checkpoint_parse(const char *note, size_t len, sg_checkpoint *c, char *why, size_t whylen);

/* The key's paths under base_dir. */
void sg_audit_key_paths(const char *base_dir, char *priv, size_t privlen, char *pub, size_t publen);
/* Creates the key pair unless it exists, owned by owner:group (when root), private 0600:
 * 0 or -1 with errno. */
int sg_audit_key_ensure(const char *base_dir, const char *owner, const char *group);
/* The 32-byte public key from the .pub file (base64 of the raw key, one line), or from its copy
 * <base_dir>/audit/audit.pub that the roles without access to keys/ read: 0 or -1. */
int sg_audit_pubkey_load(const char *base_dir, uint8_t pub[32]);
/* The key id of (name, pub). */
void sg_audit_keyid(const char *name, const uint8_t pub[32], uint8_t keyid[4]);

/* Ed25519 signature of msg with the log's private key (root or the cryptd user): 0, or -1 with
 * why. Checkpoints and cosignatures (witness.h) are made with it. */
int sg_audit_sign(const char *base_dir, const void *msg, size_t len, uint8_t sig[64], char *why, size_t whylen);
/* Standard base64 of exactly n bytes from text (len chars): 0 or -1. */
int sg_audit_b64_decode(const char *text, size_t len, uint8_t *out, size_t n);

/* Signs a checkpoint for (origin, size, root) with the private key: a NUL-terminated note in
 * out, 0, or -1 with why. */
int sg_checkpoint_sign(const char *base_dir, const char *origin, uint64_t size, const sg_mhash root, char *out,
                       size_t outlen, char *why, size_t whylen);
/* Checks note's signature against pub: true when key name, key id and signature hold. */
bool sg_checkpoint_verify(const char *note, size_t len, const uint8_t pub[32], sg_checkpoint *c, char *why,
                          size_t whylen);

#endif
