/* unwrap_parts.c - layers below the top of a message: the parts of its multiparts (e.g. a
 * mailing list's multipart/signed inside multipart/mixed beside a footer), peeled through the
 * engines like the top (unwrap_int.h). Owner: src/engine (OpenPGP engineer); engine-agnostic.
 *
 * SECURITY (decryption oracle, EFAIL): a part among other parts is never decrypted, whatever
 * the other parts are: whoever mails a ciphertext to its owner inside a wrapper of their own
 * (their text beside it, their plain-text alternative, their HTML) would otherwise get the
 * plaintext back in the reply or through the markup. Such parts are only counted (stamped
 * embedded-ciphertext); their engines are not even asked to decrypt. Signed parts are
 * verified, and opaque signed content replaces exactly its own part, bytes around it
 * unchanged, with only its Content-* fields kept; their signatures never count for the whole
 * message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/unwrap_int.h"
#include "mime/mime.h"

#define MAX_DEPTH 32
#define MAX_VISITS 1024 /* parts looked at in one message */

typedef struct walker {
    const sg_unwrap_req *req;
    const char *from;
    sg_parts *p;
    int visits;
    char *reason;
    size_t reasonlen;
} walker;

static void keep_sig(sg_sig_verdict *keep, const sg_sig_verdict *v)
{
    if (v->sig == SG_SIG_VALID ? keep->sig != SG_SIG_VALID : (v->sig == SG_SIG_INVALID && keep->sig == SG_SIG_NONE))
        *keep = *v;
}

/* Records what a part's chain found; opened signed content (Content-* fields and body only)
 * goes to out when it may replace the part. */
static int take_chain(walker *w, const sg_chain *c, sg_buf *out, bool *changed)
{
    sg_parts *p = w->p;
    if (!p->nenc && p->sig.sig == SG_SIG_NONE)
        p->method = c->n ? c->l[0].method : c->sealed;
    for (int i = 0; i < c->n; i++)
        keep_sig(&p->sig, &c->l[i].sig);
    bool enc = c->first_enc >= 0 || c->sealed; /* never opened here (the header comment) */
    p->nenc += enc;
    if (enc || !c->delivered || c->too_deep)
        return 0; /* closed, or nothing opened: the part stays as it is */
    sg_buf ent;
    sg_buf_init(&ent, SG_MIME_MAX_OUT);
    int rc = sg_mime_content_entity(c->delivered, c->dlen, &ent);
    if (rc == 0)
        rc = sg_mime_to_crlf(ent.data ? ent.data : "", ent.len, out);
    if (ent.data) /* inside a decrypted body, signed content is plaintext too */
        memset(ent.data, 0, ent.len);
    sg_buf_free(&ent);
    if (rc < 0)
        return -1;
    *changed = true;
    return 0;
}

/* A part that is no multipart: peeled like a message. 0, 1 hold, -1. */
static int peel_part(walker *w, const char *ent, size_t len, sg_buf *out, bool *changed)
{
    sg_chain *c = malloc(sizeof *c);
    if (!c || sg_chain_init(c, w->req->nrcpt, NULL) < 0) {
        free(c);
        return -1;
    }
    c->embedded = true;
    int rc = sg_chain_peel(w->req, w->from, ent, len, c, w->reason, w->reasonlen);
    if (rc == 0 && (c->n > 0 || c->sealed))
        rc = take_chain(w, c, out, changed);
    sg_chain_free(c);
    free(c);
    return rc;
}

static int walk(walker *w, const char *ent, size_t len, int depth, sg_buf *out, bool *changed);

/* A multipart: each part walked; changed parts spliced in place of their bytes. */
static int walk_multipart(walker *w, const char *ent, size_t len, const sg_rawpart *parts, int n,
                          const char *boundary, int depth, sg_buf *out, bool *changed)
{
    char delim[256];
    snprintf(delim, sizeof delim, "\n--%s", boundary);
    size_t copied = 0;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        sg_buf pb;
        sg_buf_init(&pb, SG_MIME_MAX_OUT);
        bool ch = false;
        rc = walk(w, parts[i].data, parts[i].len, depth + 1, &pb, &ch);
        /* Opened content that contains this multipart's delimiter would end the part early:
         * the part then stays as it arrived. */
        if (rc == 0 && ch && !memmem(pb.data, pb.len, delim, strlen(delim)) &&
            !(pb.len >= strlen(delim) - 1 && memcmp(pb.data, delim + 1, strlen(delim) - 1) == 0)) {
            size_t at = (size_t)(parts[i].data - ent);
            if (sg_buf_append(out, ent + copied, at - copied) < 0 || sg_buf_append(out, pb.data, pb.len) < 0)
                rc = -1;
            copied = at + parts[i].len;
            *changed = true;
        }
        if (pb.data)
            memset(pb.data, 0, pb.len);
        sg_buf_free(&pb);
    }
    if (rc == 0 && *changed && sg_buf_append(out, ent + copied, len - copied) < 0)
        rc = -1;
    return rc;
}

static int walk(walker *w, const char *ent, size_t len, int depth, sg_buf *out, bool *changed)
{
    *changed = false;
    if (depth > MAX_DEPTH || ++w->visits > MAX_VISITS)
        return 0;
    sg_rawpart *parts = malloc(SG_MIME_MAX_PARTS * sizeof *parts);
    char boundary[200];
    if (!parts)
        return -1;
    int n = sg_mime_split_multipart(ent, len, parts, SG_MIME_MAX_PARTS, boundary, sizeof boundary);
    int rc = 0;
    if (n > 0)
        rc = walk_multipart(w, ent, len, parts, n, boundary, depth, out, changed);
    else if (n == 0 && depth > 0) /* the top itself was peeled by the chain already */
        rc = peel_part(w, ent, len, out, changed);
    free(parts);
    return rc;
}

int sg_parts_walk(const sg_unwrap_req *req, const char *from, const char *ent, size_t len, sg_parts *p,
                  char *reason, size_t reasonlen)
{
    memset(p, 0, sizeof *p);
    walker w = {req, from, p, 0, reason, reasonlen};
    sg_buf out;
    sg_buf_init(&out, SG_MIME_MAX_OUT);
    bool changed = false;
    int rc = walk(&w, ent, len, 0, &out, &changed);
    if (rc == 0 && changed) {
        p->out = out.data;
        p->outlen = out.len;
        memset(&out, 0, sizeof out);
    }
    if (out.data)
        memset(out.data, 0, out.len);
    sg_buf_free(&out);
    return rc;
}

void sg_parts_free(sg_parts *p)
{
    if (p->out)
        memset(p->out, 0, p->outlen);
    free(p->out);
    memset(p, 0, sizeof *p);
}
