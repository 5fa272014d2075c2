/* scan_stage.c - the scanning stage (scan_stage.h). Owner: src/policy.
 * SECURITY: runs in cryptd. The verdict is built so that nothing turns an error into clean:
 * any scanner error makes the whole verdict `failed`; an infected leaf outranks every other
 * result; a leaf clamd refused for size, or ciphertext the gateway could not open, makes the
 * AV verdict `unscanned` (reported in the stamp), never clean. Leaves are decoded by GMime
 * (transfer encodings undone) so clamd sees the attachment's bytes, not base64. */
#include "policy/scan_stage.h"

#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "net/scan.h"
#include "policy/content.h"
#include "policy/msgedit.h"

typedef struct leaves {
    GPtrArray *bytes; /* GByteArray of each decoded leaf */
    GPtrArray *names; /* its file name (g_strdup) or NULL */
    GPtrArray *types; /* its declared content type, "type/subtype" (g_malloc) */
    bool encrypted;   /* a leaf is ciphertext (the gateway did not open it) */
} leaves;

static void each_leaf(GMimeObject *parent, GMimeObject *part, gpointer data)
{
    (void)parent;
    leaves *l = data;
    if (!GMIME_IS_PART(part))
        return;
    GMimeContentType *ct = g_mime_object_get_content_type(part);
    if (ct && (g_mime_content_type_is_type(ct, "application", "pgp-encrypted") ||
               g_mime_content_type_is_type(ct, "application", "pkcs7-mime") ||
               g_mime_content_type_is_type(ct, "application", "x-pkcs7-mime")))
        l->encrypted = true;
    GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(part));
    if (!w)
        return;
    GMimeStream *s = g_mime_stream_mem_new();
    g_mime_data_wrapper_write_to_stream(w, s); /* decoded: base64 / quoted-printable undone */
    /* The array is taken over: a stream that owns it frees its bytes whatever its refcount. */
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(s), FALSE);
    GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(s));
    g_ptr_array_add(l->bytes, ba);
    g_ptr_array_add(l->names, g_strdup(g_mime_part_get_filename(GMIME_PART(part))));
    g_ptr_array_add(l->types, ct ? g_mime_content_type_get_mime_type(ct) : g_strdup("application/octet-stream"));
    g_object_unref(s);
}

static void fail(sg_scan_verdict *v, const char *fmt, const char *what)
{
    if (!v->failed)
        snprintf(v->err, sizeof v->err, fmt, what);
    v->failed = true;
}

/* One clamd scan of data into v. */
static void clamd_one(const sg_config *cfg, const uint8_t *data, size_t len, sg_scan_verdict *v)
{
    if (v->failed || v->av == SG_AV_INFECTED)
        return;
    if (len > cfg->scan.max_size) {
        v->av = SG_AV_UNSCANNED;
        snprintf(v->av_what, sizeof v->av_what, "too large");
        return;
    }
    char *ans = NULL, err[256] = "", name[201];
    size_t alen = 0;
    if (sg_scan_call(SG_SCAN_CLAMD, cfg->scan.clamd, NULL, data, len, cfg->scan.timeout * 1000, &ans, &alen, err,
                     sizeof err) < 0) {
        fail(v, "clamd unavailable: %.150s", err);
        return;
    }
    int r = sg_clamd_parse(ans, alen, name, sizeof name, err, sizeof err);
    free(ans);
    if (r == SG_CLAMD_ERROR) {
        fail(v, "clamd: %.150s", err);
    } else if (r == SG_CLAMD_FOUND) {
        v->av = SG_AV_INFECTED;
        snprintf(v->av_what, sizeof v->av_what, "%s", name);
    } else if (r == SG_CLAMD_TOO_LARGE) {
        v->av = SG_AV_UNSCANNED;
        snprintf(v->av_what, sizeof v->av_what, "too large");
    } else if (v->av == SG_AV_NONE) {
        v->av = SG_AV_CLEAN;
    }
}

/* The message's MIME leaves, decoded. */
static void collect(const char *msg, size_t len, leaves *l)
{
    *l = (leaves){.bytes = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref),
                  .names = g_ptr_array_new_with_free_func(g_free),
                  .types = g_ptr_array_new_with_free_func(g_free)};
    GMimeStream *s = g_mime_stream_mem_new_with_buffer(msg, len);
    GMimeParser *p = g_mime_parser_new_with_stream(s);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
    if (m) {
        g_mime_message_foreach(m, each_leaf, l);
        if (GMIME_IS_PART(g_mime_message_get_mime_part(m))) /* a single-part message: its body */
            each_leaf(NULL, g_mime_message_get_mime_part(m), l);
        g_object_unref(m);
    }
    g_object_unref(p);
    g_object_unref(s);
    for (size_t i = 0; !l->encrypted && sg_engines[i]; i++)
        l->encrypted = sg_engines[i]->detect && sg_engines[i]->detect(msg, len) == SG_LAYER_ENCRYPTED;
}

static void leaves_free(leaves *l)
{
    g_ptr_array_unref(l->bytes);
    g_ptr_array_unref(l->names);
    g_ptr_array_unref(l->types);
}

static void clamd_all(const sg_config *cfg, const leaves *l, const char *msg, size_t len, sg_scan_verdict *v)
{
    for (guint i = 0; i < l->bytes->len; i++) {
        GByteArray *ba = g_ptr_array_index(l->bytes, i);
        clamd_one(cfg, ba->data, ba->len, v);
    }
    clamd_one(cfg, (const uint8_t *)msg, len, v); /* the whole message once */
    if (l->encrypted && v->av == SG_AV_CLEAN) {
        v->av = SG_AV_UNSCANNED;
        snprintf(v->av_what, sizeof v->av_what, "encrypted part not opened");
    }
}

/* The content facts of the leaves (content.h). 0 or -1 (memory). */
static int content_all(const leaves *l, sg_pcontent *c)
{
    void *magic = sg_pcontent_magic_open();
    int rc = 0;
    for (guint i = 0; rc == 0 && i < l->bytes->len; i++) {
        GByteArray *ba = g_ptr_array_index(l->bytes, i);
        rc = sg_pcontent_add_leaf(c, magic, g_ptr_array_index(l->names, i), g_ptr_array_index(l->types, i), ba->data,
                                  ba->len);
    }
    sg_pcontent_magic_close(magic);
    return rc;
}

/* The anti-spam scan of the whole message by rspamd or (the alternative) spamd. */
static void spam_all(const sg_config *cfg, const sg_envelope *in, const char *msg, size_t len, sg_scan_verdict *v)
{
    bool rspamd = cfg->scan.rspamd != NULL;
    const char *name = rspamd ? "rspamd" : "spamd";
    if (v->failed || len > cfg->scan.max_size)
        return; /* too large for rspamd: no spam stamp rather than a made-up score */
    const char *rc[SG_SCAN_MAX_RCPT];
    size_t n = 0;
    for (size_t i = 0; i < in->nrcpt && n < SG_SCAN_MAX_RCPT; i++)
        rc[n++] = in->rcpt[i].addr;
    sg_scan_env env = {.from = in->from, .ip = in->client, .helo = in->helo, .rcpts = rc, .nrcpt = n};
    char *ans = NULL, err[256] = "";
    size_t alen = 0;
    char what[200];
    if (sg_scan_call(rspamd ? SG_SCAN_RSPAMD : SG_SCAN_SPAMD, rspamd ? cfg->scan.rspamd : cfg->scan.spamd, &env,
                     (const uint8_t *)msg, len, cfg->scan.timeout * 1000, &ans, &alen, err, sizeof err) < 0) {
        snprintf(what, sizeof what, "%s unavailable: %.150s", name, err);
        fail(v, "%s", what);
        return;
    }
    sg_rspamd_result r;
    int x = rspamd ? sg_rspamd_parse(ans, alen, &r, err, sizeof err) : sg_spamd_parse(ans, alen, &r, err, sizeof err);
    free(ans);
    if (x < 0) {
        snprintf(what, sizeof what, "%s: %.150s", name, err);
        fail(v, "%s", what);
        return;
    }
    v->spam = true;
    v->score = r.score;
    snprintf(v->action, sizeof v->action, "%s", r.action);
    snprintf(v->symbols, sizeof v->symbols, "%s", r.symbols);
}

int sg_scan_message(const sg_config *cfg, const sg_envelope *in, const char *msg, size_t len, sg_scan_verdict *v,
                    sg_pcontent *content)
{
    memset(v, 0, sizeof *v);
    memset(content, 0, sizeof *content);
    leaves l;
    collect(msg, len, &l);
    v->parts = l.bytes->len;
    for (guint i = 0; i < l.bytes->len; i++)
        v->part_bytes += ((GByteArray *)g_ptr_array_index(l.bytes, i))->len;
    if (cfg->scan.clamd)
        clamd_all(cfg, &l, msg, len, v);
    if ((cfg->scan.rspamd || cfg->scan.spamd) && v->av != SG_AV_INFECTED)
        spam_all(cfg, in, msg, len, v);
    int rc = content_all(&l, content);
    /* What the content rules could not look at is said, never passed as clean. */
    snprintf(v->content, sizeof v->content, "%s",
             l.encrypted                  ? "unscanned (encrypted part not opened)"
             : content->archive_truncated ? "unscanned (archive not read fully)"
                                          : "clean");
    leaves_free(&l);
    return rc;
}

void sg_scan_av_text(const sg_scan_verdict *v, char *buf, size_t n)
{
    if (v->av == SG_AV_INFECTED)
        snprintf(buf, n, "infected (%s)", v->av_what);
    else if (v->av == SG_AV_UNSCANNED)
        snprintf(buf, n, "unscanned (%s)", v->av_what);
    else
        snprintf(buf, n, "clean");
}

/* msg with every scan stamp removed and fields (nf of them) added, into out. 0 or -1. */
static int restamp(const char *msg, size_t len, char fields[][800], int nf, sg_buf *out)
{
    /* Stamps the sender wrote are removed first: only the gateway's verdict is shown. Each step
     * edits the previous one's result (cur), the last step's is copied into out. */
    static const char *const names[] = {"X-Sealgate-AV", "X-Sealgate-Spam", "X-Sealgate-Content"};
    sg_buf step[2];
    sg_buf_init(&step[0], out->max);
    sg_buf_init(&step[1], out->max);
    const char *cur = msg;
    size_t curlen = len;
    int rc = 0, k = 0;
    for (int i = 0; rc == 0 && i < 3 + nf; i++, k ^= 1) {
        sg_buf *dst = &step[k];
        sg_buf_free(dst);
        sg_buf_init(dst, out->max);
        rc = i < 3 ? sg_medit_remove_header(cur, curlen, names[i], dst) : sg_medit_add_header(cur, curlen, fields[i - 3], dst);
        cur = dst->data ? dst->data : "";
        curlen = dst->len;
    }
    if (rc == 0)
        rc = sg_buf_append(out, cur, curlen);
    sg_buf_free(&step[0]);
    sg_buf_free(&step[1]);
    return rc < 0 ? -1 : 0;
}

int sg_scan_stamp(const sg_config *cfg, const sg_scan_verdict *v, const char *msg, size_t len, sg_buf *out)
{
    char fields[3][800], text[260];
    int nf = 0;
    if (cfg->scan.clamd) {
        sg_scan_av_text(v, text, sizeof text);
        snprintf(fields[nf++], sizeof fields[0], "X-Sealgate-AV: %s", text);
    }
    if ((cfg->scan.rspamd || cfg->scan.spamd) && v->spam)
        snprintf(fields[nf++], sizeof fields[0], "X-Sealgate-Spam: score=%.2f; action=%s%s%.500s", v->score, v->action,
                 v->symbols[0] ? "; symbols=" : "", v->symbols);
    snprintf(fields[nf++], sizeof fields[0], "X-Sealgate-Content: %s", v->content[0] ? v->content : "clean");
    return restamp(msg, len, fields, nf, out);
}

int sg_scan_stamp_released(const char *reason, const char *msg, size_t len, sg_buf *out)
{
    char fields[1][800];
    int n = snprintf(fields[0], sizeof fields[0], "X-Sealgate-Content: released (%.700s)", reason);
    for (int i = 0; i < n && i < (int)sizeof fields[0]; i++)
        if ((unsigned char)fields[0][i] < 32 || fields[0][i] == 127)
            fields[0][i] = ' '; /* one header line, whatever the reason holds */
    return restamp(msg, len, fields, 1, out);
}
