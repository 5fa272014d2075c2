/* unwrap_int.h - shared by the files of the decrypt/verify entry point only (unwrap.c,
 * unwrap_chain.c, unwrap_parts.c). Owner: src/engine (OpenPGP engineer). */
#ifndef SG_UNWRAP_INT_H
#define SG_UNWRAP_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"
#include "engine/unwrap.h"

#define SG_CHAIN_MAX 64 /* layers of one entity at most, whatever the configuration says */

/* The layers peeled from the top of one entity. Each opened layer (decrypted, or opaque
 * signed) replaces everything outside it; a clear-signed layer is descended into. */
typedef struct sg_chain {
    sg_layer l[SG_CHAIN_MAX];
    int n;
    const char *delivered; /* the entity that replaces the body (an inner of l[]), or NULL */
    size_t dlen;
    const char *cur; /* where peeling stopped: the innermost entity (in the input or an inner) */
    size_t curlen;
    int ndec;      /* encrypted layers opened */
    int first_enc; /* index of the first encrypted layer, -1 */
    int failed;    /* index of an encrypted layer that could not be opened, -1 */
    bool too_deep; /* an encrypted layer is left beyond the limit */
    bool partial;  /* a layer covered only part of its entity (sg_layer.partial) */
    bool embedded; /* in: the entity is a part among others: encrypted layers are not opened */
    int sealed;    /* out: the method of the encrypted layer peeling stopped at because of embedded, 0 */
    bool *can;     /* [nrcpt]: may read everything opened so far */
} sg_chain;

/* can: who may read at the start ([req->nrcpt]; NULL: everyone). 0 or -1. */
int sg_chain_init(sg_chain *c, size_t nrcpt, const bool *can);
void sg_chain_free(sg_chain *c);
/* Peels msg from the top through sg_engines[] up to req->max_layers: 0, 1 when the message
 * must be held (reason set), -1 on error. */
int sg_chain_peel(const sg_unwrap_req *req, const char *from, const char *msg, size_t len, sg_chain *c,
                  char *reason, size_t reasonlen);

/* What the walk through a message's parts found (unwrap_parts.c): layers below the top, in
 * parts of a multipart. Their signatures never cover the whole message, and their encrypted
 * layers are never opened (embedded ciphertext: unwrap.h). */
typedef struct sg_parts {
    int nenc;           /* encrypted parts found (left closed) */
    int method;         /* of the first layer found */
    sg_sig_verdict sig; /* the first valid part signature, else the first invalid one */
    char *out;          /* the entity with opened signed parts in place (malloc'd), NULL when unchanged */
    size_t outlen;
} sg_parts;

/* Walks ent's multipart tree below the top (depth and part count bounded) and peels every
 * part that is a layer, encrypted layers excepted. 0, 1 hold (reason set), -1 error. */
int sg_parts_walk(const sg_unwrap_req *req, const char *from, const char *ent, size_t len, sg_parts *p,
                  char *reason, size_t reasonlen);
void sg_parts_free(sg_parts *p);

#endif
