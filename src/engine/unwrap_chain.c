/* unwrap_chain.c - peeling the layers of one entity from the top, through every engine
 * (see unwrap_int.h). Owner: src/engine (OpenPGP engineer); engine-agnostic.
 * SECURITY: an encrypted layer without valid integrity protection, or whose plaintext would be
 * too large, stops everything (hold); its engine returned no plaintext. In an embedded entity
 * (a part among others) an encrypted layer is not even tried: nothing of it may be opened. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/unwrap_int.h"
#include "mime/mime.h"
#include "mime/rawmsg.h"

static int peel_any(const sg_peel_req *pr, const char *cur, size_t curlen, sg_layer *l)
{
    memset(l, 0, sizeof *l);
    for (size_t e = 0; sg_engines[e]; e++) {
        if (sg_engines[e]->peel(pr, cur, curlen, l) < 0)
            return -1;
        if (l->kind != SG_LAYER_NONE)
            return 0;
        sg_layer_free(l);
    }
    return 0;
}

/* An encrypted layer at the top of cur: left beyond the limit (a signature left there is
 * simply not counted), or left closed in an embedded entity. */
static int encrypted_layer(const char *cur, size_t curlen)
{
    for (size_t e = 0; sg_engines[e]; e++)
        if (sg_engines[e]->detect(cur, curlen) == SG_LAYER_ENCRYPTED)
            return sg_engines[e]->method;
    return SG_METHOD_NONE;
}

/* The text of a placeholder part carries nothing: whitespace, and at most the "-- " line that
 * starts an (empty) signature block. */
static bool carries_nothing(const char *b, size_t n)
{
    bool dashes = false;
    for (size_t i = 0; i < n; i++) {
        if (b[i] == '-' && i + 1 < n && b[i + 1] == '-' && !dashes && (i == 0 || b[i - 1] == '\n')) {
            dashes = true;
            i++;
        } else if (b[i] != ' ' && b[i] != '\t' && b[i] != '\r' && b[i] != '\n') {
            return false;
        }
    }
    return true;
}

/* The repaired "mixed-up" shape of a mangling server (Google Workspace): multipart/mixed of
 * exactly a text/plain placeholder that carries nothing, then an encrypted entity. That entity
 * is the message's whole content: *in points to it. Any other part makes it embedded. */
static bool placeholder_before(const char *cur, size_t curlen, const char **in, size_t *inlen)
{
    sg_rawpart parts[3];
    char boundary[200];
    sg_rawmsg ph;
    if (!sg_mime_top_is(cur, curlen, "multipart", "mixed") ||
        sg_mime_split_multipart(cur, curlen, parts, 3, boundary, sizeof boundary) != 2 ||
        !sg_mime_top_is(parts[0].data, parts[0].len, "text", "plain") ||
        encrypted_layer(parts[1].data, parts[1].len) == SG_METHOD_NONE ||
        sg_rawmsg_parse(parts[0].data, parts[0].len, &ph) < 0)
        return false;
    bool empty = carries_nothing(ph.body, ph.bodylen);
    sg_rawmsg_free(&ph);
    if (empty) {
        *in = parts[1].data;
        *inlen = parts[1].len;
    }
    return empty;
}

/* Most plaintext one layer may produce: 64 times the entity, at least 8 MB, at most the
 * output bound (a decompression bomb is held, never truncated). */
static size_t max_plain(size_t clen)
{
    size_t m = clen > SG_MIME_MAX_OUT / 64 ? SG_MIME_MAX_OUT : clen * 64;
    return m < (8u << 20) ? (8u << 20) : m;
}

int sg_chain_init(sg_chain *c, size_t nrcpt, const bool *can)
{
    memset(c, 0, sizeof *c);
    c->first_enc = c->failed = -1;
    if (!(c->can = calloc(nrcpt ? nrcpt : 1, sizeof *c->can)))
        return -1;
    for (size_t i = 0; i < nrcpt; i++)
        c->can[i] = can ? can[i] : true;
    return 0;
}

void sg_chain_free(sg_chain *c)
{
    for (int i = 0; i < c->n; i++)
        sg_layer_free(&c->l[i]);
    free(c->can);
    c->can = NULL;
    c->n = 0;
}

int sg_chain_peel(const sg_unwrap_req *req, const char *from, const char *msg, size_t len, sg_chain *c,
                  char *reason, size_t reasonlen)
{
    const char *cur = msg;
    size_t curlen = len;
    int limit = req->max_layers > 0 && req->max_layers < SG_CHAIN_MAX ? req->max_layers : SG_CHAIN_MAX;
    const char **sub = calloc(req->nrcpt ? req->nrcpt : 1, sizeof *sub);
    size_t *map = calloc(req->nrcpt ? req->nrcpt : 1, sizeof *map);
    int rc = -1;
    if (!sub || !map)
        goto out;
    for (;;) {
        if (c->n == limit) {
            c->too_deep = encrypted_layer(cur, curlen) != SG_METHOD_NONE;
            break;
        }
        if (c->embedded && (c->sealed = encrypted_layer(cur, curlen)) != SG_METHOD_NONE)
            break;
        /* Only those who could read every layer so far may read the next one. */
        size_t nsub = 0;
        for (size_t i = 0; i < req->nrcpt; i++)
            if (c->can[i]) {
                map[nsub] = i;
                sub[nsub++] = req->rcpts[i];
            }
        sg_peel_req pr = {.from = from,
                          .rcpts = sub,
                          .nrcpt = nsub,
                          .max_plain = max_plain(curlen),
                          .qid = req->qid,
                          .tmpdir = req->tmpdir};
        sg_layer *l = &c->l[c->n];
        if (peel_any(&pr, cur, curlen, l) < 0)
            goto out;
        if (l->kind == SG_LAYER_NONE && !c->embedded && placeholder_before(cur, curlen, &cur, &curlen))
            continue; /* no layer: what opens there replaces the placeholder too */
        if (l->kind == SG_LAYER_NONE)
            break;
        c->n++;
        c->partial = c->partial || l->partial;
        if (l->kind == SG_LAYER_ENCRYPTED) {
            if (c->first_enc < 0)
                c->first_enc = c->n - 1;
            if (l->dec == SG_DEC_NO_INTEGRITY || l->dec == SG_DEC_TOO_LARGE) {
                snprintf(reason, reasonlen, "%s %s (%s)", sg_method_name(l->method),
                         l->dec == SG_DEC_TOO_LARGE ? "plaintext over the size limit"
                                                    : "message without valid integrity protection",
                         l->reason);
                rc = 1;
                goto out;
            }
            if (l->dec != SG_DEC_OK || !l->inner) {
                c->failed = c->n - 1;
                break;
            }
            bool *next = calloc(req->nrcpt ? req->nrcpt : 1, sizeof *next);
            if (!next)
                goto out;
            for (size_t k = 0; k < nsub; k++)
                next[map[k]] = l->readable && l->readable[k];
            free(c->can);
            c->can = next;
            c->ndec++;
            cur = c->delivered = l->inner;
            curlen = c->dlen = l->innerlen;
        } else if (l->inner) { /* opaque signed data: its content replaces the body */
            cur = c->delivered = l->inner;
            curlen = c->dlen = l->innerlen;
        } else if (!sg_mime_signed_content(cur, curlen, &cur, &curlen)) {
            break; /* a clear signature of another shape (inline): nothing inside to peel */
        }
    }
    rc = 0;
out:
    c->cur = cur;
    c->curlen = curlen;
    free(sub);
    free(map);
    return rc;
}

