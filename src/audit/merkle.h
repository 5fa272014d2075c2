/* merkle.h - RFC 9162 section 2.1 Merkle tree hashing: leaf and node hashes, the tree head of
 * any size, the compact "frontier" an append-only log keeps per entry, inclusion and
 * consistency proofs and their verification. Owner: src/audit (issue 14).
 * Pure functions over leaf hashes (no store, no I/O), so the unit test and `sealgate audit`
 * share one implementation that tests/integration/test_audit_log.py checks against Python.
 * SECURITY: leaf and node hashes are domain-separated (0x00 / 0x01 prefixes) so that a leaf can
 * never be passed off as an inner node (second-preimage attack on the tree). */
#ifndef SG_AUDIT_MERKLE_H
#define SG_AUDIT_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SG_MERKLE_HASH 32
/* A frontier holds one hash per set bit of the tree size: at most 64. */
#define SG_MERKLE_MAX_FRONTIER 64
/* Proofs are at most about two hashes per level. */
#define SG_MERKLE_MAX_PROOF 130

typedef uint8_t sg_mhash[SG_MERKLE_HASH];

/* SHA-256(0x00 || data). */
void sg_merkle_leaf(const void *data, size_t len, sg_mhash out);
/* SHA-256(0x01 || left || right). */
void sg_merkle_node(const sg_mhash left, const sg_mhash right, sg_mhash out);
/* MTH(D[0:n]) from the leaf hashes; n 0 gives SHA-256 of nothing. */
void sg_merkle_root(const sg_mhash *leaves, uint64_t n, sg_mhash out);

/* The frontier of a tree of size n: the roots of its perfect subtrees, largest (leftmost)
 * first, one per set bit of n. push turns the frontier of size n (count hashes) into that of
 * size n + 1 and returns the new count; root gives MTH of the tree it describes. */
size_t sg_merkle_frontier_push(sg_mhash *f, size_t count, uint64_t n, const sg_mhash leaf);
void sg_merkle_frontier_root(const sg_mhash *f, size_t count, sg_mhash out);

/* PATH(m, D[n]) (RFC 9162 2.1.3.1) into proof; returns the number of hashes, -1 when m >= n. */
int sg_merkle_inclusion(const sg_mhash *leaves, uint64_t n, uint64_t m, sg_mhash *proof);
/* PROOF(m, D[n]) (RFC 9162 2.1.4.1); returns the number of hashes, -1 unless 0 < m <= n. */
int sg_merkle_consistency(const sg_mhash *leaves, uint64_t n, uint64_t m, sg_mhash *proof);

/* The verification algorithms of RFC 9162 2.1.3.2 and 2.1.4.2: true when the proof holds. */
bool sg_merkle_verify_inclusion(uint64_t index, uint64_t size, const sg_mhash leaf, const sg_mhash *proof,
                                size_t len, const sg_mhash root);
bool sg_merkle_verify_consistency(uint64_t m, uint64_t n, const sg_mhash old_root, const sg_mhash new_root,
                                  const sg_mhash *proof, size_t len);

#endif
