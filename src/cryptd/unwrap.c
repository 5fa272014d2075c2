/* unwrap.c - the single decrypt/verify entry point (see unwrap.h). Owner: src/cryptd (OpenPGP
 * engineer); engine-agnostic: it knows layers, never a format.
 * The message is peeled from the top: while some engine recognises the current entity as a
 * layer, the layer is peeled and the entity inside becomes the current one. A decrypted or
 * opaque-signed layer's inner entity replaces everything outside it (the whole body), so every
 * signature met on the way covers all that is finally delivered. A clear-signed layer is
 * descended into (its first part) to find layers inside, but what is delivered stays the
 * signed entity, signature and all, unless a layer inside it is opened. */
#include "cryptd/unwrap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptd/engine.h"
#include "lib/log.h"
#include "mime/mime.h"

#define MAX_LAYERS 64

const char *sg_unwrap_dec_name(int dec)
{
    static const char *const n[] = {"none", "partial", "full", "failed"};
    return dec >= 0 && dec <= SG_UNWRAP_DEC_FAILED ? n[dec] : "none";
}

/* ---- stamps ---- */

/* RFC 8601 / RFC 7281 result words for a verdict. */
static const char *ar_result(const sg_sig_verdict *v)
{
    if (v->sig == SG_SIG_VALID)
        return "pass";
    if (v->sig == SG_SIG_NONE)
        return "none";
    if (strcmp(v->reason, "from-mismatch") == 0 || strcmp(v->reason, "not-whole-message") == 0)
        return "policy"; /* a good signature that our rules do not accept here */
    if (strcmp(v->reason, "unknown-key") == 0)
        return "neutral"; /* cannot be checked: no key bound to From */
    if (strcmp(v->reason, "error") == 0)
        return "temperror";
    return "fail";
}

int sg_unwrap_stamps(const sg_unwrap_summary *s, const char *authserv_id, const char *from, char *out,
                     size_t outlen)
{
    size_t n = 0;
#define ADD(...)                                                                                                   \
    do {                                                                                                           \
        int k_ = snprintf(out + n, outlen - n, __VA_ARGS__);                                                       \
        if (k_ < 0 || (size_t)k_ >= outlen - n)                                                                    \
            return -1;                                                                                             \
        n += (size_t)k_;                                                                                           \
    } while (0)
    out[0] = '\0';
    if (!s->encrypted && !s->signed_)
        return 0;
    if (s->encrypted) {
        ADD("X-Sealgate-Decryption: %s", sg_unwrap_dec_name(s->dec));
        if (s->dec_reason[0])
            ADD("; reason=%s", s->dec_reason);
        ADD("\r\n");
    }
    const sg_sig_verdict *v = &s->sig;
    if (v->sig == SG_SIG_VALID)
        ADD("X-Sealgate-Signature: valid; signer=%s; from-match=yes\r\n", v->signer);
    else if (v->sig == SG_SIG_INVALID && v->signer[0])
        ADD("X-Sealgate-Signature: invalid; reason=%s; signer=%s\r\n", v->reason, v->signer);
    else if (v->sig == SG_SIG_INVALID)
        ADD("X-Sealgate-Signature: invalid; reason=%s\r\n", v->reason);
    else
        ADD("X-Sealgate-Signature: none\r\n");
    /* OpenPGP has no registered Authentication-Results method; x-pgp is ours (docs/openpgp.md).
     * S/MIME uses smime (RFC 7281). */
    const char *method = s->method == SG_METHOD_SMIME ? "smime" : "x-pgp";
    ADD("Authentication-Results: %s;\r\n %s=%s", authserv_id && *authserv_id ? authserv_id : "localhost", method,
        ar_result(v));
    if (v->sig == SG_SIG_INVALID)
        ADD(" (%s)", v->reason);
    if (v->signer[0])
        ADD(" (signer=%s)", v->signer);
    /* header.from only when it is a plain address (it came from the message) */
    if (from && *from && !strpbrk(from, " \t\r\n;()\"\\"))
        ADD(" header.from=%s", from);
    ADD("\r\n");
#undef ADD
    return 0;
}

/* ---- the verdict over a chain of layers ---- */

/* Valid when any layer's signature is valid (it covers everything below it, which is all that
 * is delivered); else the first invalid one; else none. method: of that verdict, or of the
 * first encrypted layer when nothing is signed. */
static void summarize(const sg_layer *l, int n, sg_unwrap_summary *s)
{
    const sg_layer *valid = NULL, *invalid = NULL, *enc = NULL;
    for (int i = 0; i < n; i++) {
        if (l[i].kind == SG_LAYER_ENCRYPTED && !enc)
            enc = &l[i];
        if (l[i].kind == SG_LAYER_SIGNED)
            s->signed_ = true;
        if (l[i].sig.sig == SG_SIG_VALID && !valid)
            valid = &l[i];
        else if (l[i].sig.sig == SG_SIG_INVALID && !invalid)
            invalid = &l[i];
    }
    const sg_layer *pick = valid ? valid : invalid ? invalid : enc;
    s->encrypted = enc != NULL;
    s->signed_ = s->signed_ || valid || invalid;
    s->sig_whole = true;
    if (pick) {
        s->method = pick->method;
        if (pick != enc || enc->sig.sig != SG_SIG_NONE)
            s->sig = pick->sig;
    }
}

/* A signature counts only for the From the reader is shown (protected headers inside the
 * decrypted entity may put another one in front). */
static void bind_from(sg_unwrap_summary *s, const char *from, const char *shown)
{
    if (s->sig.sig == SG_SIG_VALID && (!shown || !from || strcmp(shown, from) != 0)) {
        s->sig.sig = SG_SIG_INVALID;
        s->sig.from_match = false;
        snprintf(s->sig.reason, sizeof s->sig.reason, "from-mismatch");
    }
}

/* ---- peeling ---- */

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

/* An encrypted layer left beyond the limit (a signature left there is simply not counted). */
static bool encrypted_layer(const char *cur, size_t curlen)
{
    for (size_t e = 0; sg_engines[e]; e++)
        if (sg_engines[e]->detect(cur, curlen) == SG_LAYER_ENCRYPTED)
            return true;
    return false;
}

/* Most plaintext one layer may produce: 64 times the entity, at least 8 MB, at most the
 * output bound (a decompression bomb is held, never truncated). */
static size_t max_plain(size_t clen)
{
    size_t m = clen > SG_MIME_MAX_OUT / 64 ? SG_MIME_MAX_OUT : clen * 64;
    return m < (8u << 20) ? (8u << 20) : m;
}

typedef struct chain {
    sg_layer l[MAX_LAYERS];
    int n;
    const char *delivered; /* the entity that replaces the body (an inner of l[]), or NULL */
    size_t dlen;
    int ndec;       /* encrypted layers opened */
    int first_enc;  /* index of the first encrypted layer, -1 */
    int failed;     /* index of an encrypted layer that could not be opened, -1 */
    bool too_deep;  /* an encrypted layer is left beyond the limit */
    bool *can;      /* [nrcpt]: may read everything opened so far */
} chain;

static void chain_free(chain *c)
{
    for (int i = 0; i < c->n; i++)
        sg_layer_free(&c->l[i]);
    free(c->can);
}

/* Peels from the top; 0, 1 when the message must be held (reason set), -1 on error. */
static int peel_chain(const sg_unwrap_req *req, const char *from, const char *msg, size_t len, chain *c,
                      char *reason, size_t reasonlen)
{
    const char *cur = msg;
    size_t curlen = len;
    int limit = req->max_layers > 0 && req->max_layers < MAX_LAYERS ? req->max_layers : MAX_LAYERS;
    const char **sub = calloc(req->nrcpt ? req->nrcpt : 1, sizeof *sub);
    size_t *map = calloc(req->nrcpt ? req->nrcpt : 1, sizeof *map);
    int rc = -1;
    if (!sub || !map)
        goto out;
    for (;;) {
        if (c->n == limit) {
            c->too_deep = encrypted_layer(cur, curlen);
            break;
        }
        /* Only those who could read every layer so far may read the next one. */
        size_t nsub = 0;
        for (size_t i = 0; i < req->nrcpt; i++)
            if (c->can[i]) {
                map[nsub] = i;
                sub[nsub++] = req->rcpts[i];
            }
        sg_peel_req pr = {.from = from, .rcpts = sub, .nrcpt = nsub, .max_plain = max_plain(curlen), .qid = req->qid};
        sg_layer *l = &c->l[c->n];
        if (peel_any(&pr, cur, curlen, l) < 0)
            goto out;
        if (l->kind == SG_LAYER_NONE)
            break;
        c->n++;
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
    free(sub);
    free(map);
    return rc;
}

/* ---- building the outputs ---- */

/* msg with the entity in place of its body, stamped; the entity's own forged results are
 * removed like the outer ones (protected headers could carry them in). */
static int rebuild(const sg_unwrap_req *req, const char *strip, size_t slen, const char *ent, size_t elen,
                   const char *stamps, sg_buf *out)
{
    sg_buf e;
    sg_buf_init(&e, SG_MIME_MAX_OUT);
    int rc;
    if (sg_mime_strip_results(ent, elen, req->authserv_id, &e) == 0)
        rc = sg_mime_unwrap(strip, slen, e.data ? e.data : "", e.len, stamps, out);
    else
        rc = sg_mime_unwrap(strip, slen, ent, elen, stamps, out);
    if (e.data)
        memset(e.data, 0, e.len);
    sg_buf_free(&e);
    return rc;
}

static char *take(sg_buf *b, size_t *len)
{
    *len = b->len;
    char *d = b->data;
    memset(b, 0, sizeof *b);
    return d;
}

/* The reader's message and summary. */
static int build_reader(const sg_unwrap_req *req, const char *from, const char *strip, size_t slen,
                        const chain *c, sg_unwrap_result *res)
{
    sg_unwrap_summary *s = &res->reader;
    summarize(c->l, c->n, s);
    if (c->ndec > 0) {
        s->dec = SG_UNWRAP_DEC_FULL;
        if (c->failed >= 0) { /* an inner layer nobody here can open */
            s->dec = SG_UNWRAP_DEC_PARTIAL;
            snprintf(s->dec_reason, sizeof s->dec_reason, "inner-%.80s", c->l[c->failed].reason);
        } else if (c->too_deep) {
            s->dec = SG_UNWRAP_DEC_PARTIAL;
            snprintf(s->dec_reason, sizeof s->dec_reason, "too-many-layers");
        }
    }
    sg_buf b;
    sg_buf_init(&b, SG_MIME_MAX_OUT);
    /* First without stamps, to learn the From the reader is shown. */
    if (rebuild(req, strip, slen, c->delivered, c->dlen, "", &b) < 0) {
        sg_buf_free(&b);
        return -1;
    }
    char *shown = sg_mime_from_address(b.data, b.len);
    bind_from(s, from, shown);
    char stamps[2048];
    int rc = sg_unwrap_stamps(s, req->authserv_id, shown, stamps, sizeof stamps);
    free(shown);
    if (b.data)
        memset(b.data, 0, b.len);
    sg_buf_reset(&b);
    if (rc < 0 || rebuild(req, strip, slen, c->delivered, c->dlen, stamps, &b) < 0) {
        sg_buf_free(&b);
        return -1;
    }
    res->reader_msg = take(&b, &res->reader_len);
    return 0;
}

/* The others get the message as it arrived (minus forged results); their summary covers the
 * layers outside the first encryption they could not open. */
static int build_other(const sg_unwrap_req *req, const char *from, const char *strip, size_t slen,
                       const chain *c, sg_unwrap_result *res)
{
    sg_unwrap_summary *s = &res->other;
    int outside = c->first_enc >= 0 ? c->first_enc : c->n;
    summarize(c->l, outside, s);
    if (c->first_enc >= 0) {
        const sg_layer *e = &c->l[c->first_enc];
        s->encrypted = true;
        if (outside == 0)
            s->method = e->method;
        bool failed = e->dec == SG_DEC_FAILED && c->ndec == 0;
        s->dec = failed ? SG_UNWRAP_DEC_FAILED : SG_UNWRAP_DEC_NONE;
        snprintf(s->dec_reason, sizeof s->dec_reason, "%s", failed ? e->reason : "no-key");
    }
    bind_from(s, from, from);
    char stamps[2048];
    if (sg_unwrap_stamps(s, req->authserv_id, from, stamps, sizeof stamps) < 0)
        return -1;
    sg_buf b;
    sg_buf_init(&b, SG_MIME_MAX_OUT);
    if (sg_mime_restamp(strip, slen, stamps, &b) < 0) {
        sg_buf_free(&b);
        return -1;
    }
    res->other_msg = take(&b, &res->other_len);
    return 0;
}

int sg_unwrap(const sg_unwrap_req *req, const char *msg, size_t len, sg_unwrap_result *res)
{
    memset(res, 0, sizeof *res);
    chain *c = calloc(1, sizeof *c);
    res->readable = calloc(req->nrcpt ? req->nrcpt : 1, sizeof *res->readable);
    sg_buf strip;
    sg_buf_init(&strip, SG_MIME_MAX_OUT);
    char *from = NULL;
    int rc = -1;
    if (!c || !res->readable || !(c->can = calloc(req->nrcpt ? req->nrcpt : 1, sizeof *c->can)))
        goto out;
    if (sg_mime_strip_results(msg, len, req->authserv_id, &strip) < 0) {
        /* Not a usable header: nothing in it can be ours, and nothing can be peeled. */
        res->unchanged = true;
        rc = 0;
        goto out;
    }
    from = req->from ? strdup(req->from) : sg_mime_from_address(strip.data, strip.len);
    for (size_t i = 0; i < req->nrcpt; i++)
        c->can[i] = true;
    c->first_enc = c->failed = -1;
    int p = peel_chain(req, from, strip.data, strip.len, c, res->reason, sizeof res->reason);
    if (p < 0)
        goto out;
    res->layers = c->n;
    if (p == 1) {
        res->hold = true;
        sg_warn(req->qid, "event=unwrap-hold reason=\"%s\"", res->reason);
        rc = 0;
        goto out;
    }
    if (c->n == 0 && !c->too_deep && strip.len == len) {
        res->unchanged = true;
        rc = 0;
        goto out;
    }
    size_t nread = 0;
    if (c->delivered) {
        for (size_t i = 0; i < req->nrcpt; i++)
            nread += res->readable[i] = c->can[i];
        if (nread && build_reader(req, from, strip.data, strip.len, c, res) < 0)
            goto out;
    }
    if (nread < req->nrcpt && build_other(req, from, strip.data, strip.len, c, res) < 0)
        goto out;
    const sg_unwrap_summary *s = nread ? &res->reader : &res->other;
    sg_info(req->qid, "event=unwrapped layers=%d readers=%zu decryption=%s signature=%s", c->n, nread,
            s->encrypted ? sg_unwrap_dec_name(s->dec) : "-",
            s->sig.sig == SG_SIG_VALID  ? "valid"
            : s->sig.sig == SG_SIG_NONE ? "none"
                                        : s->sig.reason);
    rc = 0;
out:
    if (c)
        chain_free(c);
    free(c);
    free(from);
    sg_buf_free(&strip);
    if (rc < 0)
        sg_unwrap_result_free(res);
    return rc;
}

void sg_unwrap_result_free(sg_unwrap_result *res)
{
    if (res->reader_msg)
        memset(res->reader_msg, 0, res->reader_len);
    free(res->reader_msg);
    free(res->other_msg);
    free(res->readable);
    memset(res, 0, sizeof *res);
}
