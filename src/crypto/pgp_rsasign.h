/* pgp_rsasign.h - OpenPGP signed messages made with an RSA key through OpenSSL, for sign+encrypt
 * (pgp_ops.c), which then has librnp encrypt them as they are. Owner: src/crypto (PGP/MIME).
 * Why not librnp: librnp 0.16 with Botan 2 rebuilds the Botan RSA key from p, q, e for every
 * signature (two modular inversions, ~4.9 ms at 3072 bits here) and a new blinder (another
 * inversion, ~3 ms), then signs (~2.9 ms): ~11 ms per message; OpenSSL signs with CRT
 * parameters computed once and blinding kept per key in ~1.5 ms (bench/README.md).
 * SECURITY: a signer holds an unwrapped RSA private key; it lives in cryptd's per-thread key
 * cache (pgpcache.h) and is freed with it (OpenSSL clears private BIGNUMs as it frees them).
 * The key is checked once when made (MPI checksum, fingerprint, pairwise consistency), and
 * OpenSSL verifies each CRT result before releasing it (fault attacks). */
#ifndef SG_PGP_RSASIGN_H
#define SG_PGP_RSASIGN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/openpgp.h"

typedef struct sg_pgp_rsasigner sg_pgp_rsasigner;

/* A signer for primary key fpr from its unprotected secret export (binary; the first packet is
 * the primary secret key). NULL when that key is not RSA, or is protected or inconsistent: the
 * caller then signs with librnp. */
sg_pgp_rsasigner *sg_pgp_rsasigner_new(const uint8_t *sec, size_t len, const char *fpr);
void sg_pgp_rsasigner_free(sg_pgp_rsasigner *s);

/* data as an OpenPGP signed message (RFC 4880 11.3): one-pass signature, literal data (binary,
 * no file name), signature (binary document, SHA-256, created now, issuer fingerprint hashed,
 * issuer key ID unhashed): the same packets librnp writes when it signs while encrypting.
 * *out malloc'd. 0 or -1. */
int sg_pgp_rsasign_message(sg_pgp_rsasigner *s, const char *data, size_t len, uint8_t **out, size_t *outlen);

#endif
