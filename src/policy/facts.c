/* facts.c - builds the condition facts of one message (facts.h). Owner: src/policy.
 * Header fields come from the raw bytes (src/mime/rawmsg.c) so a condition sees what arrived;
 * the Subject is decoded (RFC 2047) so keywords typed by a user in any client are found;
 * attachments are the leaf parts GMime finds with a file name or an attachment disposition.
 * "Already encrypted / signed" is each engine's detect(), by structure only. */
#include "policy/facts.h"

#include <ctype.h>
#include <gmime/gmime.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "lib/mapview.h"
#include "mime/mime.h"

typedef struct walk {
    sg_pfacts_holder *h;
    bool nomem;
} walk;

static char *lower_dup(const char *s)
{
    char *d = strdup(s ? s : "");
    for (char *p = d; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

static void each_part(GMimeObject *parent, GMimeObject *part, gpointer data)
{
    (void)parent;
    walk *w = data;
    sg_pfacts_holder *h = w->h;
    if (!GMIME_IS_PART(part) || h->f.nattach >= SG_PFACTS_MAX_ATTACH)
        return;
    const char *name = g_mime_part_get_filename(GMIME_PART(part));
    const char *disp = g_mime_object_get_disposition(part);
    if (!name && !(disp && g_ascii_strcasecmp(disp, "attachment") == 0))
        return;
    char *type = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(part));
    sg_pattach *a = &h->a[h->f.nattach];
    char *n = name ? strdup(name) : NULL, *t = lower_dup(type);
    g_free(type);
    char **v = realloc(h->vals, (h->nvals + 2) * sizeof *v);
    if (!v || (name && !n) || !t) {
        free(n);
        free(t);
        if (v)
            h->vals = v;
        w->nomem = true;
        return;
    }
    h->vals = v;
    if (n)
        h->vals[h->nvals++] = n;
    h->vals[h->nvals++] = t;
    a->name = n;
    a->type = t;
    h->f.nattach++;
}

/* The decoded Subject and the attachments, through GMime. */
static int parse_mime(sg_pfacts_holder *h, const char *msg, size_t len)
{
    if (len > G_MAXUINT)
        return -1; /* GByteArray's length is a guint; smtpd's size limit is far below */
    /* The stream reads the caller's bytes in place instead of copying them (with_buffer
     * would copy the whole message, issue 11): the array wraps msg, the stream does not own
     * it, and only the wrapper is freed at the end. The parser only reads from it. */
    /* A message mapped from the spool file (lib/mapview.h) is parsed through read() on the
     * file instead: the parser walks every byte to find the boundaries, and pages read that
     * way stay in the page cache, not in this process's resident set (issue 11). */
    off_t off;
    int fd = sg_mapview_fd(msg, len, &off);
    GByteArray *ba = NULL;
    GMimeStream *s;
    if (fd >= 0) {
        s = g_mime_stream_fs_new_with_bounds(fd, off, off + (gint64)len);
        g_mime_stream_fs_set_owner(GMIME_STREAM_FS(s), FALSE); /* the caller's descriptor */
    } else {
        ba = g_byte_array_new_take((guint8 *)(uintptr_t)msg, len);
        s = g_mime_stream_mem_new_with_byte_array(ba);
        g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(s), FALSE);
    }
    GMimeParser *p = g_mime_parser_new_with_stream(s);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
    int rc = 0;
    if (m) {
        const char *subj = g_mime_message_get_subject(m);
        if (subj && !(h->subject = strdup(subj)))
            rc = -1;
        walk w = {.h = h};
        g_mime_message_foreach(m, each_part, &w);
        if (w.nomem)
            rc = -1;
        g_object_unref(m);
    }
    g_object_unref(p);
    g_object_unref(s);
    if (ba)
        g_byte_array_free(ba, FALSE); /* the wrapper only: msg stays the caller's */
    return rc;
}

int sg_pfacts_from_message(sg_pfacts_holder *h, const char *env_from, const char *msg, size_t len)
{
    memset(h, 0, sizeof *h);
    h->f.env_from = env_from ? env_from : "";
    h->f.size = len;
    h->a = calloc(SG_PFACTS_MAX_ATTACH, sizeof *h->a);
    if (!h->a)
        return -1;
    h->f.attach = h->a;
    if (sg_rawmsg_parse(msg, len, &h->raw) == 0 && h->raw.nh) {
        h->h = calloc(h->raw.nh, sizeof *h->h);
        h->vals = calloc(h->raw.nh * 2 + 2, sizeof *h->vals);
        if (!h->h || !h->vals)
            return -1;
        for (size_t i = 0; i < h->raw.nh; i++) {
            char *name = strndup(h->raw.h[i].name, h->raw.h[i].namelen), *val = sg_rawhdr_value(&h->raw.h[i]);
            if (name)
                h->vals[h->nvals++] = name;
            if (val)
                h->vals[h->nvals++] = val;
            if (!name || !val)
                return -1;
            h->h[i].name = name;
            h->h[i].value = val;
        }
        h->f.headers = h->h;
        h->f.nheaders = h->raw.nh;
    }
    if (parse_mime(h, msg, len) < 0)
        return -1;
    h->f.subject = h->subject;
    h->from = sg_mime_from_address(msg, len);
    h->f.from = h->from;
    for (size_t i = 0; sg_engines[i]; i++) {
        int k = sg_engines[i]->detect ? sg_engines[i]->detect(msg, len) : SG_LAYER_NONE;
        if (k == SG_LAYER_ENCRYPTED && !h->f.encrypted) {
            h->f.encrypted = true;
            h->f.enc_method = sg_engines[i]->method;
        }
        if (k == SG_LAYER_SIGNED)
            h->f.is_signed = true;
    }
    return 0;
}

void sg_pfacts_free(sg_pfacts_holder *h)
{
    for (size_t i = 0; i < h->nvals; i++)
        free(h->vals[i]);
    free(h->vals);
    free(h->h);
    free(h->a);
    free(h->from);
    free(h->subject);
    sg_rawmsg_free(&h->raw);
    memset(h, 0, sizeof *h);
}
