/* unwrap_parts.c - layers below the top of a message: the parts of its multiparts (e.g. a
 * mailing list's multipart/mixed around a multipart/encrypted and a footer, or a text part
 * with an armored block), peeled through the engines like the top (unwrap_int.h).
 * Owner: src/cryptd (OpenPGP engineer); engine-agnostic.
 *
 * SECURITY (EFAIL): an opened part replaces exactly its own part, bytes around it unchanged,
 * and only when no part of the message is rendered as markup (text/html, SVG, ...): there an
 * attacker's part could wrap the plaintext and send it away (direct exfiltration), so such a
 * message keeps its ciphertext closed ("unsafe-mime-structure"). A decrypted part never
 * carries header fields into the message (only its Content-* fields are kept), and never
 * counts as a signature over the whole message. Missing integrity protection anywhere holds
 * the message, as at the top. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptd/unwrap_int.h"
#include "mime/mime.h"

#define MAX_DEPTH 32
#define MAX_VISITS 1024 /* parts looked at in one message */

typedef struct walker {
    const sg_unwrap_req *req;
    const char *from;
    sg_parts *p;
    bool markup;
    int visits;
    char *reason;
    size_t reasonlen;
} walker;

static void keep_sig(sg_sig_verdict *keep, const sg_sig_verdict *v)
{
    if (v->sig == SG_SIG_VALID ? keep->sig != SG_SIG_VALID : (v->sig == SG_SIG_INVALID && keep->sig == SG_SIG_NONE))
        *keep = *v;
}

/* Records what a part's chain found; its opened entity (Content-* fields and body only) goes
 * to out when it may replace the part. */
static int take_chain(walker *w, const sg_chain *c, sg_buf *out, bool *changed)
{
    sg_parts *p = w->p;
    if (!p->nenc && p->sig.sig == SG_SIG_NONE)
        p->method = c->l[0].method;
    for (int i = 0; i < c->n; i++)
        keep_sig(&p->sig, &c->l[i].sig);
    bool enc = c->first_enc >= 0;
    p->nenc += enc;
    if (c->failed >= 0 && !p->fail_reason[0]) {
        p->fail_dec = c->l[c->failed].dec;
        snprintf(p->fail_reason, sizeof p->fail_reason, "%s", c->l[c->failed].reason);
    }
    if (!c->delivered || c->failed >= 0 || c->too_deep)
        return 0; /* nothing opened, or something inside it stayed closed: the part stays as it is */
    if (enc && w->markup) {
        p->nunsafe++;
        return 0;
    }
    sg_buf ent;
    sg_buf_init(&ent, SG_MIME_MAX_OUT);
    int rc = sg_mime_content_entity(c->delivered, c->dlen, &ent);
    if (rc == 0)
        rc = sg_mime_to_crlf(ent.data ? ent.data : "", ent.len, out);
    if (ent.data)
        memset(ent.data, 0, ent.len);
    sg_buf_free(&ent);
    if (rc < 0)
        return -1;
    if (enc) {
        p->ndec++;
        for (size_t i = 0; i < w->req->nrcpt; i++)
            p->can[i] = p->can[i] && c->can[i];
    }
    *changed = true;
    return 0;
}

/* A part that is no multipart: peeled like a message. 0, 1 hold, -1. */
static int peel_part(walker *w, const char *ent, size_t len, sg_buf *out, bool *changed)
{
    sg_chain *c = malloc(sizeof *c);
    if (!c || sg_chain_init(c, w->req->nrcpt, w->p->can) < 0) {
        free(c);
        return -1;
    }
    int rc = sg_chain_peel(w->req, w->from, ent, len, c, w->reason, w->reasonlen);
    if (rc == 0 && c->n > 0)
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
        /* Opened text that contains this multipart's delimiter would end the part early. */
        if (rc == 0 && ch && !memmem(pb.data, pb.len, delim, strlen(delim)) &&
            !(pb.len >= strlen(delim) - 1 && memcmp(pb.data, delim + 1, strlen(delim) - 1) == 0)) {
            size_t at = (size_t)(parts[i].data - ent);
            if (sg_buf_append(out, ent + copied, at - copied) < 0 || sg_buf_append(out, pb.data, pb.len) < 0)
                rc = -1;
            copied = at + parts[i].len;
            *changed = true;
        } else if (rc == 0 && ch) {
            w->p->ndec -= w->p->ndec > 0; /* counted as opened, but it cannot be put in place */
            w->p->nunsafe++;
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

int sg_parts_walk(const sg_unwrap_req *req, const char *from, const char *ent, size_t len, const bool *can,
                  sg_parts *p, char *reason, size_t reasonlen)
{
    memset(p, 0, sizeof *p);
    if (!(p->can = calloc(req->nrcpt ? req->nrcpt : 1, sizeof *p->can)))
        return -1;
    for (size_t i = 0; i < req->nrcpt; i++)
        p->can[i] = can[i];
    walker w = {req, from, p, sg_mime_has_markup(ent, len), 0, reason, reasonlen};
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
    free(p->can);
    memset(p, 0, sizeof *p);
}
