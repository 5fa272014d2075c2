/* pgpcache.h - one librnp context per thread holding the keys that thread has signed and
 * encrypted with, so a message costs one OpenPGP operation instead of a key import (with its
 * self-signature checks) and a secret unwrap. Internal to pgp_ops.c. Owner: src/engine
 * (PGP/MIME).
 * SECURITY: for cryptd only. A thread's context may hold unwrapped secret keys (signers) for as
 * long as it is valid: it is dropped (rnp_ffi_destroy, which wipes librnp's secret key fields)
 * when the keystore's generation changes (any import, update, revocation or deletion, by any
 * process: store triggers), when another keystore is used, when a loaded (sub)key reaches the
 * end of its validity, when it would exceed SG_PGPCACHE_MAX keys, when the thread ends, and on
 * sg_pgp_ops_cache_clear. Decryption never uses it: there each message keeps its own context,
 * so only the candidates' secrets can be reached. */
#ifndef SG_PGPCACHE_H
#define SG_PGPCACHE_H

#include <rnp/rnp.h>
#include <stdbool.h>
#include <stddef.h>

#include "crypto/pgp_rsasign.h"
#include "engine/pgp/pgp_ops.h"

#define SG_PGPCACHE_MAX 256 /* keys per thread; a full cache is dropped and filled again */

/* The calling thread's context, checked against the keystore's generation first (the cache is
 * dropped when anything changed), with room for nkeys more keys. NULL on a store error: the
 * caller fails (cryptd holds the message) rather than use keys it cannot check. Valid until the
 * next sg_pgpcache_begin or sg_pgp_ops_cache_clear on this thread. */
rnp_ffi_t sg_pgpcache_begin(const sg_pgp_ops_keys *k, size_t nkeys);
/* Key fpr (its public part, or with secret its unwrapped secret too) is in the context after
 * sg_pgpcache_begin, loaded from the keystore unless it already was. 0 or -1. */
int sg_pgpcache_need(const sg_pgp_ops_keys *k, const char *fpr, bool secret);

/* The OpenSSL signer of key fpr when it is an RSA key loaded with its secret, else NULL.
 * Owned by the cache: valid as long as the context of sg_pgpcache_begin. */
sg_pgp_rsasigner *sg_pgpcache_rsa(const char *fpr);
/* Copies key fpr (public, or with its unwrapped secret) from the keystore into ffi, any
 * context; the exported secret bytes are wiped once librnp has them. 0 or -1. */
int sg_pgpcache_load(const sg_pgp_ops_keys *k, rnp_ffi_t ffi, const char *fpr, bool secret);

#endif
