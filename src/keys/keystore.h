/* keystore.h - the managed OpenPGP keystore over the SQLite store. Owner: src/keys.
 * Public keys, their user IDs and selection facts live in tables pgp_keys/pgp_uids; secret keys
 * in pgp_secrets, wrapped by the KEK (src/crypto/kek.h). Plaintext secret keys never touch disk:
 * they are exported from librnp into memory, wrapped, stored.
 * SECURITY: any process with store access may use the public calls (list, get, export public,
 * find_encryption_key). Calls that need the KEK (import of secret keys, export --secret,
 * generate, revoke, domain key) are for cryptd and the admin CLI only: they load the KEK on
 * first use and fail when the process cannot read it, which is what file modes enforce. */
#ifndef SG_KEYSTORE_H
#define SG_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/openpgp.h"
#include "store/store.h"

typedef struct sg_keystore sg_keystore;

/* Create the KEK file when it is missing (admin CLI, master), instead of failing. */
#define SG_KS_CREATE_KEK 1u

/* kek_path may be NULL for a public-only keystore. The store must outlive the keystore. */
sg_keystore *sg_keystore_open(sg_store *st, const char *kek_path, unsigned flags);
void sg_keystore_close(sg_keystore *ks);
/* The last error of a failed call, for messages (never contains key material). */
const char *sg_keystore_error(const sg_keystore *ks);

enum sg_import_status { SG_IMPORT_IMPORTED, SG_IMPORT_UPDATED, SG_IMPORT_UNCHANGED, SG_IMPORT_REJECTED };
const char *sg_import_status_name(int status); /* "imported", "updated", "unchanged", "rejected" */

typedef struct sg_import_result {
    int status;         /* enum sg_import_status */
    const char *fpr;    /* NULL when the input held no key at all */
    const char *uid;    /* first user ID, or NULL */
    const char *reason; /* why rejected, or a note (e.g. secret part not taken), or NULL */
} sg_import_result;
typedef void (*sg_import_cb)(void *ctx, const sg_import_result *r);

/* Imports every key in data (armored or binary; public and/or unprotected secret keys) or, when
 * data holds no key, standalone signatures such as a revocation certificate for stored keys.
 * Reports each key through cb. Returns the number of rejected keys, or -1 on a store error. */
int sg_keystore_import(sg_keystore *ks, const uint8_t *data, size_t len, sg_import_cb cb, void *ctx);
/* Progress of a long import (the jobs of issue 18): called before each key with the keys
 * finished and the keys in all, and once more at the end; answering non-zero stops the import
 * before the next key. Each key is saved whole or not at all, so a stop leaves nothing
 * half-written. */
typedef int (*sg_import_step_fn)(void *ctx, size_t done, size_t total);
/* sg_keystore_import with step (NULL: none); *done (may be NULL): the keys finished. */
int sg_keystore_import_steps(sg_keystore *ks, const uint8_t *data, size_t len, sg_import_cb cb, void *ctx,
                             sg_import_step_fn step, void *step_ctx, size_t *done);

/* Keys for address (exact local part, case-insensitive domain), or all keys when NULL, newest
 * first. Free with sg_keystore_free_list. */
int sg_keystore_list(sg_keystore *ks, const char *address, sg_pgp_key **keys, size_t *n);
/* One page of sg_keystore_list's answer (limit >= 1) and how many keys it would answer in all. */
int sg_keystore_page(sg_keystore *ks, const char *address, size_t limit, size_t offset, sg_pgp_key **keys,
                     size_t *n, int64_t *total);
void sg_keystore_free_list(sg_pgp_key *keys, size_t n);
/* One key by fingerprint (case-insensitive hex): 0, 1 when absent, -1 on error. */
int sg_keystore_get(sg_keystore *ks, const char *fpr, sg_pgp_key *key);
/* Public (or, needing the KEK, unprotected secret) key with subkeys; secret output must be
 * released with sg_pgp_free_secret. 0, 1 when absent (or no secret held), -1 on error. */
int sg_keystore_export(sg_keystore *ks, const char *fpr, bool secret, bool armored, uint8_t **out,
                       size_t *len);
/* The subkeys of stored key fpr, read from its public key bytes (public-only is enough):
 * 0 with *subs (free()), 1 when absent, -1 on error (a stored key that does not parse is one). */
int sg_keystore_subkeys(sg_keystore *ks, const char *fpr, sg_pgp_subkey **subs, size_t *n);
/* Removes key, user IDs and secret: 0, 1 when absent, -1 on error. */
int sg_keystore_delete(sg_keystore *ks, const char *fpr);

/* New key: primary (sign, certify) + encryption subkey; uid is "addr" (stored as "<addr>") or
 * "Name <addr>"; algo "ed25519", "rsa3072" or "rsa4096"; expires in seconds, 0 never. When
 * domain_addr is not NULL the user ID is certified by the domain key (created on first need).
 * Writes the fingerprint. 0 or -1. */
int sg_keystore_generate(sg_keystore *ks, const char *uid, const char *algo, uint32_t expires,
                         const char *domain_addr, char fpr[SG_PGP_FPR_LEN + 1]);
/* Adds a key revocation signature made with the held secret: 0, 1 absent/no secret, -1 error. */
int sg_keystore_revoke(sg_keystore *ks, const char *fpr, const char *reason);

/* The gateway's domain key for domain_addr ("sealgate@<domain>"): found, or created when create
 * is true. 0, 1 when absent and not created, -1 on error. */
int sg_keystore_domain_key(sg_keystore *ks, const char *domain_addr, bool create,
                           char fpr[SG_PGP_FPR_LEN + 1]);

/* "sealgate@<domain>" for the domain key: the first internal domain, else the hostname
 * without its first label (or the hostname itself when it has one label). */
void sg_keystore_domain_address(const char *first_internal_domain, const char *hostname, char *out,
                                size_t outlen);

/* Recipient key selection: the newest key that is valid now (not expired, not revoked), has a
 * valid encryption subkey, and a user ID with exactly this address bound by a valid
 * self-signature. 0 found, 1 none, -1 error. */
int sg_keystore_find_encryption_key(sg_keystore *ks, const char *address, char fpr[SG_PGP_FPR_LEN + 1]);
/* Signing key for a sender: the newest valid signing key with secret held for address, else
 * (domain_addr not NULL) the domain key. 0 found, 1 none, -1 error. */
int sg_keystore_find_signing_key(sg_keystore *ks, const char *address, const char *domain_addr,
                                 char fpr[SG_PGP_FPR_LEN + 1]);

/* The keystore's generation: a number that changes whenever any process adds, updates
 * (e.g. revokes) or deletes a key, its user IDs or its secret (store triggers, migration 6).
 * Caches of loaded keys compare it before use. 0 or -1. */
int sg_keystore_generation(sg_keystore *ks, int64_t *gen);
/* A number that tells this open keystore from every other one this process opened (a cache
 * must not take keys loaded from a closed keystore for keys of a new one at the same address). */
uint64_t sg_keystore_id(const sg_keystore *ks);

/* A context holding public and secret material of fpr, for signing/decrypting in cryptd.
 * Needs the KEK. NULL on error or when no secret is held. Free with sg_pgp_free. */
sg_pgp *sg_keystore_load_secret(sg_keystore *ks, const char *fpr);

#endif
