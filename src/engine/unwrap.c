/* unwrap.c - the single decrypt/verify entry point (see unwrap.h). Owner: src/engine (OpenPGP
 * engineer); engine-agnostic: it knows layers, never a format.
 * The message is peeled from the top: while some engine recognises the current entity as a
 * layer, the layer is peeled and the entity inside becomes the current one. A decrypted or
 * opaque-signed layer's inner entity replaces everything outside it (the whole body), so every
 * signature met on the way covers all that is finally delivered. A clear-signed layer is
 * descended into (its first part) to find layers inside, but what is delivered stays the
 * signed entity, signature and all, unless a layer inside it is opened. */
#include "engine/unwrap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/unwrap_int.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/mapview.h"
#include "mime/mime.h"
#include "mime/mime_stream.h"
#include "mime/rawmsg.h"

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
    if (strcmp(v->reason, "from-mismatch") == 0 || strcmp(v->reason, "not-whole-message") == 0 ||
        strcmp(v->reason, "ambiguous-from") == 0 || strcmp(v->reason, "from-name-address") == 0 ||
        strcmp(v->reason, "sender-mismatch") == 0)
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
        if (s->unprotected)
            ADD("; unprotected-headers");
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

/* ---- the verdict ---- */

/* A good signature over less than the whole message is reported, but does not count. */
static void not_whole(sg_sig_verdict *v)
{
    if (v->sig == SG_SIG_VALID) {
        v->sig = SG_SIG_INVALID;
        snprintf(v->reason, sizeof v->reason, "not-whole-message");
    }
}

/* Over the first n layers of a chain: valid when any layer's signature is valid (it covers
 * everything below it, which is all that is delivered) unless that layer was partial; else
 * the first invalid one; else none. method: of that verdict, or of the first encrypted layer
 * when nothing is signed. */
static void summarize(const sg_layer *l, int n, sg_unwrap_summary *s)
{
    const sg_layer *valid = NULL, *invalid = NULL, *enc = NULL;
    for (int i = 0; i < n; i++) {
        if (l[i].kind == SG_LAYER_ENCRYPTED && !enc)
            enc = &l[i];
        if (l[i].kind == SG_LAYER_SIGNED)
            s->signed_ = true;
        if (l[i].sig.sig == SG_SIG_VALID && !l[i].partial && !valid)
            valid = &l[i];
        else if (l[i].sig.sig != SG_SIG_NONE && !invalid)
            invalid = &l[i];
    }
    const sg_layer *pick = valid ? valid : invalid ? invalid : enc;
    s->encrypted = enc != NULL;
    s->signed_ = s->signed_ || valid || invalid;
    s->sig_whole = valid != NULL;
    if (pick) {
        s->method = pick->method;
        if (pick != enc || enc->sig.sig != SG_SIG_NONE)
            s->sig = pick->sig;
        if (pick->partial)
            not_whole(&s->sig);
    }
}

/* Adds what the walk through the parts found: its encrypted parts stayed closed. */
static void add_parts(sg_unwrap_summary *s, const sg_parts *p)
{
    if (p->nenc) {
        if (!s->encrypted)
            s->method = p->method;
        if (!s->encrypted || s->dec == SG_UNWRAP_DEC_NONE) {
            s->dec = SG_UNWRAP_DEC_NONE;
            snprintf(s->dec_reason, sizeof s->dec_reason, "embedded-ciphertext");
        } else if (s->dec == SG_UNWRAP_DEC_FULL) {
            s->dec = SG_UNWRAP_DEC_PARTIAL; /* the whole body opened, a part inside it did not */
            snprintf(s->dec_reason, sizeof s->dec_reason, "embedded-ciphertext");
        }
        s->encrypted = true;
        s->embedded = true;
    }
    if (p->sig.sig != SG_SIG_NONE && s->sig.sig != SG_SIG_VALID) {
        s->signed_ = true;
        if (s->sig.sig == SG_SIG_NONE || p->sig.sig == SG_SIG_VALID) {
            s->sig = p->sig;
            s->method = p->method;
            not_whole(&s->sig);
        }
        s->sig_whole = false;
    }
}

/* A signature counts only for the From the reader is shown (protected headers inside the
 * decrypted entity may put another one in front), and only when that header names exactly
 * one author (sg_mime_author_of: the same rule for every engine). */
static void bind_from(sg_unwrap_summary *s, const char *from, const sg_mime_author *shown)
{
    const char *why = shown->problem;
    if (!why && (!shown->addr || !from || strcmp(shown->addr, from) != 0))
        why = "from-mismatch";
    if (s->sig.sig == SG_SIG_VALID && why) {
        s->sig.sig = SG_SIG_INVALID;
        s->sig.from_match = false;
        snprintf(s->sig.reason, sizeof s->sig.reason, "%s", why);
    }
}

/* The From for Authentication-Results' header.from: only one the reader is unambiguously shown. */
static const char *shown_from(const sg_mime_author *a)
{
    return a->problem ? NULL : a->addr;
}

/* ---- building the outputs ---- */

/* msg with the entity in place of its body, stamped; the entity's own forged results are
 * removed like the outer ones (protected headers could carry them in). */
static int rebuild(const sg_unwrap_req *req, const char *strip, size_t slen, const char *ent, size_t elen,
                   const char *stamps, sg_buf *out)
{
    sg_buf e, t;
    sg_buf_init(&e, SG_MIME_MAX_OUT);
    sg_buf_init(&t, SG_MIME_MAX_OUT);
    /* Decrypted text may have lines SMTP cannot carry (over 998 octets): those leaves are
     * re-encoded, everything else keeps its bytes. */
    if (sg_mime_transportable_entity(ent, elen, &t) == 0) {
        ent = t.data ? t.data : "";
        elen = t.len;
    }
    int rc;
    if (sg_mime_strip_results(ent, elen, req->authserv_id, &e) == 0)
        rc = sg_mime_unwrap(strip, slen, e.data ? e.data : "", e.len, stamps, out);
    else
        rc = sg_mime_unwrap(strip, slen, ent, elen, stamps, out);
    if (e.data)
        memset(e.data, 0, e.len);
    if (t.data)
        memset(t.data, 0, t.len);
    sg_buf_free(&e);
    sg_buf_free(&t);
    return rc;
}

static char *take(sg_buf *b, size_t *len)
{
    *len = b->len;
    char *d = b->data;
    memset(b, 0, sizeof *b);
    return d;
}

/* What unwrap found: the chain from the top and the walk below it. */
typedef struct found {
    sg_chain c;
    sg_parts p;
    bool walked;
    const char *ent; /* what replaces the body for readers, or NULL */
    size_t elen;
} found;

/* A decrypted entity at least this large that lies in a file (the engine decrypted into one)
 * gives a reader message written to a file as well (issue 11). */
#define STREAM_MIN ((size_t)1 << 20)

/* The reader's message for a large entity in a mapped file, the same bytes rebuild() makes:
 * the outer header and the entity's header (forged results removed from both, stamped) are
 * built in memory, then the entity's body is copied from the mapping into an unnamed file in
 * req->tmpdir in pieces. 0, 1 when it must be built in memory (lines SMTP cannot carry, not
 * a MIME entity, no file), -1. s: the summary, its verdict bound to the From shown here. */
static int build_reader_file(const sg_unwrap_req *req, const char *from, const char *strip, size_t slen,
                             const found *f, sg_unwrap_summary *s, sg_unwrap_result *res)
{
    sg_rawmsg e;
    if (!sg_mime_lines_fit(f->ent, f->elen) || sg_rawmsg_parse(f->ent, f->elen, &e) < 0)
        return 1;
    const char *body = e.body;
    size_t blen = e.bodylen, hlen = (size_t)(e.body - f->ent);
    sg_rawmsg_free(&e);
    sg_buf eh, b;
    sg_buf_init(&eh, SG_MIME_MAX_OUT);
    sg_buf_init(&b, SG_MIME_MAX_OUT);
    sg_mime_author shown = {0};
    char stamps[2048];
    int rc = -1, fd = -1;
    /* The entity's header alone, then what rebuild() puts before the body: the body is
     * appended unchanged (sg_mime_unwrap). First without stamps, to learn the From shown. */
    if (sg_mime_strip_results(f->ent, hlen, req->authserv_id, &eh) < 0 ||
        sg_mime_unwrap(strip, slen, eh.data ? eh.data : "", eh.len, "", &b) < 0 ||
        sg_mime_author_of(b.data, b.len, &shown) < 0)
        goto out;
    bind_from(s, from, &shown);
    sg_buf_reset(&b);
    if (sg_unwrap_stamps(s, req->authserv_id, shown_from(&shown), stamps, sizeof stamps) < 0 ||
        sg_mime_unwrap(strip, slen, eh.data ? eh.data : "", eh.len, stamps, &b) < 0)
        goto out;
    if ((fd = sg_tmpfile(req->tmpdir)) < 0) {
        rc = 1;
        goto out;
    }
    if (sg_write_all(fd, b.data, b.len) < 0 || sg_mapview_write(fd, body, blen) < 0)
        goto out;
    res->reader_map = sg_mapview_new(fd); /* closes fd, also on failure */
    fd = -1;
    if (!res->reader_map)
        goto out;
    res->reader_msg = (char *)res->reader_map->base;
    res->reader_len = res->reader_map->len;
    rc = 0;
out:
    if (fd >= 0) {
        if (ftruncate(fd, 0) < 0)
            sg_warn(req->qid, "event=unwrap-tmp-truncate-failed");
        close(fd);
    }
    sg_mime_author_free(&shown);
    sg_buf_free(&eh);
    sg_buf_free(&b);
    return rc;
}

/* The reader's message and summary. */
static int build_reader(const sg_unwrap_req *req, const char *from, const char *strip, size_t slen,
                        const found *f, sg_unwrap_result *res)
{
    const sg_chain *c = &f->c;
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
        /* Without protected headers nothing says which reply fields the encrypting sender
         * wrote: the outer ones came with the wrapper (docs/openpgp.md). */
        s->unprotected = !sg_mime_has_protected_headers(f->ent, f->elen);
    }
    if (f->walked)
        add_parts(s, &f->p);
    off_t off;
    if (req->tmpdir && f->ent && f->elen >= STREAM_MIN && sg_mapview_fd(f->ent, f->elen, &off) >= 0) {
        sg_unwrap_summary keep = *s;
        int x = build_reader_file(req, from, strip, slen, f, s, res);
        if (x <= 0)
            return x;
        *s = keep; /* built in memory after all: bound again below */
    }
    sg_buf b;
    sg_buf_init(&b, SG_MIME_MAX_OUT);
    /* First without stamps, to learn the From the reader is shown. */
    if (rebuild(req, strip, slen, f->ent, f->elen, "", &b) < 0) {
        sg_buf_free(&b);
        return -1;
    }
    sg_mime_author shown;
    if (sg_mime_author_of(b.data, b.len, &shown) < 0) {
        sg_buf_free(&b);
        return -1;
    }
    bind_from(s, from, &shown);
    char stamps[2048];
    int rc = sg_unwrap_stamps(s, req->authserv_id, shown_from(&shown), stamps, sizeof stamps);
    sg_mime_author_free(&shown);
    if (b.data)
        memset(b.data, 0, b.len);
    sg_buf_reset(&b);
    if (rc < 0 || rebuild(req, strip, slen, f->ent, f->elen, stamps, &b) < 0) {
        sg_buf_free(&b);
        return -1;
    }
    res->reader_msg = take(&b, &res->reader_len);
    return 0;
}

/* The others get the message as it arrived (minus forged results); their summary covers the
 * layers outside the first encryption they could not open. */
static int build_other(const sg_unwrap_req *req, const char *from, const char *strip, size_t slen,
                       const found *f, sg_unwrap_result *res)
{
    const sg_chain *c = &f->c;
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
        s->embedded = e->partial; /* armored blocks inside other text: never opened */
        snprintf(s->dec_reason, sizeof s->dec_reason, "%s",
                 failed        ? e->reason
                 : s->embedded ? "embedded-ciphertext"
                               : "no-key");
    } else if (f->walked) {
        add_parts(s, &f->p); /* parts below the top: visible to everyone, opened for none */
    }
    sg_mime_author shown;
    if (sg_mime_author_of(strip, slen, &shown) < 0)
        return -1;
    bind_from(s, from, &shown);
    char stamps[2048];
    int rc = sg_unwrap_stamps(s, req->authserv_id, shown_from(&shown), stamps, sizeof stamps);
    sg_mime_author_free(&shown);
    if (rc < 0)
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

/* Peels from the top, then walks the parts of where peeling stopped. 0, 1 hold, -1. */
static int find(const sg_unwrap_req *req, const char *from, const char *msg, size_t len, found *f,
                sg_unwrap_result *res)
{
    int p = sg_chain_peel(req, from, msg, len, &f->c, res->reason, sizeof res->reason);
    if (p != 0)
        return p;
    f->ent = f->c.delivered;
    f->elen = f->c.dlen;
    /* Below the top: parts of the innermost entity, unless an encrypted layer stayed closed
     * (nothing inside it can be seen), the limit was reached, or the layer was partial (a text
     * part: nothing below it). */
    if (f->c.failed >= 0 || f->c.too_deep || f->c.partial)
        return 0;
    p = sg_parts_walk(req, from, f->c.cur, f->c.curlen, &f->p, res->reason, sizeof res->reason);
    if (p != 0)
        return p;
    f->walked = true;
    if (f->p.out) { /* opened signed parts in place: that entity replaces the body */
        f->ent = f->p.out;
        f->elen = f->p.outlen;
    }
    return 0;
}

static bool found_anything(const found *f)
{
    return f->c.n > 0 || f->c.too_deep || (f->walked && (f->p.nenc || f->p.sig.sig != SG_SIG_NONE));
}

int sg_unwrap(const sg_unwrap_req *req, const char *msg, size_t len, sg_unwrap_result *res)
{
    memset(res, 0, sizeof *res);
    found *f = calloc(1, sizeof *f);
    res->readable = calloc(req->nrcpt ? req->nrcpt : 1, sizeof *res->readable);
    sg_buf strip;
    sg_buf_init(&strip, SG_MIME_MAX_OUT);
    char *from = NULL;
    int rc = -1;
    if (!f || !res->readable || sg_chain_init(&f->c, req->nrcpt, NULL) < 0)
        goto out;
    /* The message minus forged results: the input itself when it has none, so that a large
     * message is not copied (issue 11); a copy without them otherwise. */
    bool stripped;
    if (sg_mime_strip_results_if_any(msg, len, req->authserv_id, &strip, &stripped) < 0)
        goto out; /* out of memory or too large: the caller holds */
    const char *sm = stripped ? (strip.data ? strip.data : "") : msg;
    size_t sl = stripped ? strip.len : len;
    from = req->from ? strdup(req->from) : sg_mime_from_address(sm, sl);
    int p = find(req, from, sm, sl, f, res);
    if (p < 0)
        goto out;
    res->layers = f->c.n;
    if (p == 1) {
        res->hold = true;
        sg_warn(req->qid, "event=unwrap-hold reason=\"%s\"", SG_LOG_STR(res->reason));
        rc = 0;
        goto out;
    }
    if (!found_anything(f)) {
        /* Nothing to stamp: the message minus forged results, even when its header is one
         * nothing else here can parse. */
        if (sl == len)
            res->unchanged = true;
        else
            res->other_msg = take(&strip, &res->other_len);
        rc = 0;
        goto out;
    }
    size_t nread = 0;
    if (f->ent) {
        for (size_t i = 0; i < req->nrcpt; i++)
            nread += res->readable[i] = f->c.can[i];
        if (nread && build_reader(req, from, sm, sl, f, res) < 0)
            goto out;
    }
    if (nread < req->nrcpt && build_other(req, from, sm, sl, f, res) < 0)
        goto out;
    const sg_unwrap_summary *s = nread ? &res->reader : &res->other;
    sg_info(req->qid, "event=unwrapped layers=%d parts=%d readers=%zu decryption=%s signature=%s streamed=%s",
            f->c.n, f->walked ? f->p.nenc : 0, nread, s->encrypted ? sg_unwrap_dec_name(s->dec) : "-",
            SG_LOG_TOK(s->sig.sig == SG_SIG_VALID  ? "valid"
                       : s->sig.sig == SG_SIG_NONE ? "none"
                                                   : s->sig.reason), /* a reason may quote the signer */
            res->reader_map ? "yes" : "no");
    rc = 0;
out:
    if (f) {
        sg_chain_free(&f->c);
        sg_parts_free(&f->p);
    }
    free(f);
    free(from);
    sg_buf_free(&strip);
    if (rc < 0)
        sg_unwrap_result_free(res);
    return rc;
}

void sg_unwrap_result_free(sg_unwrap_result *res)
{
    if (res->reader_map) {
        sg_mapview_free(res->reader_map); /* reader_msg points into it */
    } else {
        if (res->reader_msg)
            memset(res->reader_msg, 0, res->reader_len);
        free(res->reader_msg);
    }
    free(res->other_msg);
    free(res->readable);
    memset(res, 0, sizeof *res);
}
