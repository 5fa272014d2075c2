/* witness.h - peers witnessing each other's logs (issue 14, docs/notary.md "Witnessing"): the
 * C2SP tlog-cosignature lines a witness adds to a peer's checkpoint, and the judgement of a
 * peer's new checkpoint against the last one accepted from it (new, same, stale, or a fork).
 * Owner: src/audit. Pure except for signing (the log's key, as for checkpoints); the fetching,
 * storing and reporting around it are the next slice (docs/notary.md).
 * SECURITY: the cosignature parser takes untrusted text (a peer's POST, a published note) and is
 * fuzzed (tests/fuzz/fuzz_cosig.c); a fork is decided only on two checkpoints whose signatures
 * the caller has verified with the peer's configured key, so a forged note cannot make one. */
#ifndef SG_AUDIT_WITNESS_H
#define SG_AUDIT_WITNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/checkpoint.h"

/* The cosignature line (with its newline) of witness (its origin; its key is the log's key
 * under base_dir, whose public half is pub) for the checkpoint c parsed from note, at time ts:
 *     "— " WITNESS " " BASE64(KEYID(4) || TS(8, big endian) || SIG(64)) "\n"
 * SIG is Ed25519 over "cosignature/v1\ntime " TS "\n" followed by the note's three body lines;
 * KEYID the first 4 bytes of SHA-256(WITNESS "\n" 0x04 PUB). 0, or -1 with why. */
int sg_cosig_make(const char *base_dir, const char *witness, const uint8_t pub[32], const char *note,
                  const sg_checkpoint *c, uint64_t ts, char *line, size_t linelen, char *why, size_t whylen);

/* Checks one cosignature line (len bytes, newline optional) of witness with pub over the body of
 * note (c parsed from it): true with *ts set when it holds. */
bool sg_cosig_check(const char *line, size_t len, const char *witness, const uint8_t pub[32], const char *note,
                    const sg_checkpoint *c, uint64_t *ts, char *why, size_t whylen);

enum sg_witness_verdict {
    SG_WITNESS_NEW,   /* larger than the last accepted, consistent with it (or the first seen) */
    SG_WITNESS_SAME,  /* the same tree as the last accepted */
    SG_WITNESS_STALE, /* an older tree, consistent with the last accepted: ignore */
    SG_WITNESS_FORK,  /* two different trees: same size other root, or no valid consistency proof */
};

/* Judges next against prev (NULL: nothing accepted yet) with proof, RFC 9162 PROOF between the
 * smaller and the larger of the two sizes (ignored when the sizes are equal). Both checkpoints'
 * signatures must have been verified by the caller. Returns the verdict; why says it in words. */
int sg_witness_judge(const sg_checkpoint *prev, const sg_checkpoint *next, const sg_mhash *proof, size_t plen,
                     char *why, size_t whylen);

#endif
