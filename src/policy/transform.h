/* transform.h - the transform interface between cryptd and the policy. Owner: src/policy (which
 * implements it; cryptd, the role above, calls it). A transform turns one accepted message into one output per recipient
 * group (each its own SMTP transaction later), or asks for the message to be held.
 * The foundation ships the identity transform: one group with every recipient, bytes unchanged. */
#ifndef SG_TRANSFORM_H
#define SG_TRANSFORM_H

#include <stddef.h>

#include "lib/mapview.h"
#include "queue/envelope.h"

typedef struct sg_output {
    sg_envelope env;  /* recipients of this group; other fields copied from the input */
    const char *data; /* the message to send: points into the input or into owned */
    size_t len;
    char *owned; /* freed with the result, may be NULL */
    sg_mapview *map; /* a file the output was written to (a large protected message, issue 11):
                        data points into it; freed with the result, may be NULL */
    int hold;    /* nonzero: this output is kept in hold/ (a partial hold: these recipients were
                    stopped by policy; env.last_error says why), not sent */
} sg_output;

typedef struct sg_transform_result {
    sg_output *out;
    size_t nout;
    int hold;         /* nonzero: keep the input in hold/ instead of producing output */
    int defer;        /* nonzero: a temporary error (1: a key lookup failed on the store; 2: a
                         content scanner failed, docs/scanning.md): keep the
                         input and try again later; out holds only notices (the admin alert) */
    int unchanged;    /* the one output is the input exactly (bytes and recipients): cryptd
                         then moves the file on by rename instead of copying it */
    char reason[256]; /* why it was held, for the log and the sender notice */
    unsigned done;    /* SG_DONE_* bits: what the engines did for some output (cryptd's metrics) */
    /* What the notary log records of the decision (issue 14, docs/audit.md), never a body:
     * the policy revision in force (-1: no policy ran), per recipient group
     * "RULE|DIRECTION|DECISION", per protection "METHOD sign=FPR enc=FPR,...", per
     * decryption "decrypt=STATUS sig=STATUS signer=FPR from-match=yes|no"; each joined by ";"
     * and cut when full. */
    long long policy_rev;
    unsigned fates;       /* SG_FATE_* bits: recipients returned or deleted by policy */
    char direction[64];   /* the directions of the groups, each once, joined by "," */
    char decisions[1536];
    char keys[1536];
    char engine[768];
} sg_transform_result;

/* Appends one item to a ";"-joined note of a result (cut when the buffer is full). */
void sg_transform_note(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

enum { SG_FATE_RETURNED = 1, SG_FATE_DELETED = 2 };
enum { SG_DONE_ENCRYPTED = 1, SG_DONE_SIGNED = 2, SG_DONE_DECRYPTED = 4, SG_DONE_VERIFIED = 8 };

/* Returns 0 on success (result filled: outputs, hold or defer), -1 on an error that should
 * hold the message. */
typedef int (*sg_transform_fn)(const sg_envelope *in, const char *data, size_t len, sg_transform_result *res);

int sg_transform_identity(const sg_envelope *in, const char *data, size_t len, sg_transform_result *res);
void sg_transform_result_free(sg_transform_result *res);
/* Frees what one output owns (its bytes, its mapped file), not its envelope. */
void sg_output_release(sg_output *o);

#endif
