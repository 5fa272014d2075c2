/* msgedit.c - header, subject and attachment edits for policy actions (msgedit.h).
 * Owner: src/policy. Works on the raw bytes (src/mime/rawmsg.h gives the field positions),
 * so nothing the action does not touch is re-encoded; GMime only parses and encodes values. */
#include "policy/msgedit.h"

#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/rawmsg.h"

/* Where the header block ends: after the last field's line end (the empty line follows). */
static size_t header_end(const char *msg, const sg_rawmsg *m)
{
    if (m->nh == 0)
        return 0;
    const sg_rawhdr *last = &m->h[m->nh - 1];
    return (size_t)(last->raw + last->rawlen - msg);
}

static const char *eol(const sg_rawmsg *m)
{
    return m->crlf || m->nh == 0 ? "\r\n" : "\n";
}

int sg_medit_add_header(const char *msg, size_t len, const char *field, sg_buf *out)
{
    sg_rawmsg m;
    if (sg_rawmsg_parse(msg, len, &m) < 0)
        return -1;
    size_t end = header_end(msg, &m);
    int rc = sg_buf_append(out, msg, end) < 0 || sg_buf_appendf(out, "%s%s", field, eol(&m)) < 0 ||
                     sg_buf_append(out, msg + end, len - end) < 0
                 ? -1
                 : 0;
    sg_rawmsg_free(&m);
    return rc;
}

/* Copies the header fields for which keep() is true, then the rest of the message. */
static int copy_fields(const char *msg, size_t len, const sg_rawmsg *m, const char *name, sg_buf *out)
{
    const char *p = msg;
    for (size_t i = 0; i < m->nh; i++) {
        const sg_rawhdr *h = &m->h[i];
        if (sg_buf_append(out, p, (size_t)(h->raw - p)) < 0) /* bytes between fields (none normally) */
            return -1;
        if (!sg_rawhdr_is(h, name) && sg_buf_append(out, h->raw, h->rawlen) < 0)
            return -1;
        p = h->raw + h->rawlen;
    }
    return sg_buf_append(out, p, len - (size_t)(p - msg));
}

int sg_medit_remove_header(const char *msg, size_t len, const char *name, sg_buf *out)
{
    sg_rawmsg m;
    if (sg_rawmsg_parse(msg, len, &m) < 0)
        return -1;
    int rc = copy_fields(msg, len, &m, name, out);
    sg_rawmsg_free(&m);
    return rc;
}

/* Removes each word from s in place, with one neighbouring space; trims the ends. */
static void strip_in(char *s, const char *const *words, size_t n)
{
    for (size_t w = 0; w < n; w++) {
        size_t wl = strlen(words[w]);
        char *hit;
        while (wl && (hit = strcasestr(s, words[w])) != NULL) {
            char *after = hit + wl;
            if (*after == ' ')
                after++;
            else if (hit > s && hit[-1] == ' ')
                hit--;
            memmove(hit, after, strlen(after) + 1);
        }
    }
    size_t l = strlen(s);
    while (l && (s[l - 1] == ' ' || s[l - 1] == '\t'))
        s[--l] = '\0';
    size_t lead = strspn(s, " \t");
    memmove(s, s + lead, l - lead + 1);
}

int sg_medit_strip_words(const char *msg, size_t len, const char *const *words, size_t nwords, sg_buf *out)
{
    sg_rawmsg m;
    if (sg_rawmsg_parse(msg, len, &m) < 0)
        return -1;
    const sg_rawhdr *subj = sg_rawmsg_find(&m, "Subject");
    char *v = subj ? sg_rawhdr_value(subj) : NULL;
    int rc = -1;
    if (!subj) {
        rc = sg_buf_append(out, msg, len);
        goto out;
    }
    if (!v)
        goto out;
    char *text = strstr(v, "=?") ? g_mime_utils_header_decode_text(NULL, v) : g_strdup(v);
    strip_in(text, words, nwords);
    bool ascii = true;
    for (const char *c = text; *c; c++)
        ascii = ascii && (unsigned char)*c < 0x80;
    char *enc = ascii && !strstr(v, "=?") ? g_strdup(text) : g_mime_utils_header_encode_text(NULL, text, "utf-8");
    g_free(text);
    /* Everything before the Subject, the new Subject, then everything after it. */
    size_t before = (size_t)(subj->raw - msg), after = before + subj->rawlen;
    rc = enc && sg_buf_append(out, msg, before) == 0 && sg_buf_appendf(out, "Subject: %s%s", enc, eol(&m)) == 0 &&
                 sg_buf_append(out, msg + after, len - after) == 0
             ? 0
             : -1;
    g_free(enc);
out:
    free(v);
    sg_rawmsg_free(&m);
    return rc;
}

static int append_b64(sg_buf *out, const char *data, size_t len)
{
    gchar *b = g_base64_encode((const guchar *)data, len);
    size_t bl = strlen(b);
    int rc = 0;
    for (size_t i = 0; i < bl && rc == 0; i += 76)
        rc = sg_buf_append(out, b + i, bl - i < 76 ? bl - i : 76) < 0 || sg_buf_append(out, "\r\n", 2) < 0 ? -1 : 0;
    g_free(b);
    return rc;
}

static int append_parts(sg_buf *out, const char *boundary, const sg_medit_file *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (sg_buf_appendf(out,
                           "\r\n--%s\r\nContent-Type: %s; name=\"%s\"\r\nContent-Disposition: attachment; "
                           "filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
                           boundary, f[i].type, f[i].filename, f[i].filename) < 0 ||
            append_b64(out, f[i].data, f[i].len) < 0)
            return -1;
    }
    return 0;
}

/* The top-level Content-Type's boundary when it is multipart/mixed (g_free'd), else NULL. */
static char *mixed_boundary(const sg_rawmsg *m)
{
    const sg_rawhdr *ct = sg_rawmsg_find(m, "Content-Type");
    char *v = ct ? sg_rawhdr_value(ct) : NULL;
    char *b = NULL;
    if (v) {
        GMimeContentType *t = g_mime_content_type_parse(NULL, v);
        if (t && g_mime_content_type_is_type(t, "multipart", "mixed")) {
            const char *p = g_mime_content_type_get_parameter(t, "boundary");
            b = p ? g_strdup(p) : NULL;
        }
        if (t)
            g_object_unref(t);
    }
    free(v);
    return b;
}

/* The closing delimiter "--b--" of the top-level body, at a line start, or NULL. */
static const char *closing(const sg_rawmsg *m, const char *b)
{
    size_t bl = strlen(b);
    const char *p = m->body, *end = m->body + m->bodylen, *found = NULL;
    while (p && p + bl + 4 <= end) {
        if ((p == m->body || p[-1] == '\n') && p[0] == '-' && p[1] == '-' && memcmp(p + 2, b, bl) == 0 &&
            p[2 + bl] == '-' && p[3 + bl] == '-')
            found = p; /* the last one wins: nested parts use other boundaries */
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : NULL;
    }
    return found;
}

int sg_medit_attach(const char *msg, size_t len, const sg_medit_file *f, size_t n, const char *token, sg_buf *out)
{
    sg_rawmsg m;
    if (sg_rawmsg_parse(msg, len, &m) < 0)
        return -1;
    int rc = -1;
    char *b = mixed_boundary(&m);
    const char *close = b ? closing(&m, b) : NULL;
    if (close) {
        /* Into the existing multipart/mixed: new parts before the closing delimiter, whose
         * preceding line end belongs to the delimiter (RFC 2046). */
        const char *cut = close;
        if (cut > m.body && cut[-1] == '\n')
            cut -= cut - 1 > m.body && cut[-2] == '\r' ? 2 : 1;
        rc = sg_buf_append(out, msg, (size_t)(cut - msg)) < 0 || append_parts(out, b, f, n) < 0 ||
                     sg_buf_append(out, cut, len - (size_t)(cut - msg)) < 0
                 ? -1
                 : 0;
    } else {
        char nb[96];
        snprintf(nb, sizeof nb, "=_sealgate_keys_%s", token ? token : "0");
        const char *p = msg;
        rc = 0;
        /* Non-Content fields stay on the message, Content-* fields go to the first part. */
        for (size_t i = 0; i < m.nh && rc == 0; i++) {
            const sg_rawhdr *h = &m.h[i];
            rc = sg_buf_append(out, p, (size_t)(h->raw - p));
            if (rc == 0 && !sg_rawhdr_is_content(h) && !sg_rawhdr_is(h, "MIME-Version"))
                rc = sg_buf_append(out, h->raw, h->rawlen);
            p = h->raw + h->rawlen;
        }
        if (rc == 0)
            rc = sg_buf_appendf(out, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n--%s\r\n",
                                nb, nb);
        bool typed = false;
        for (size_t i = 0; i < m.nh && rc == 0; i++)
            if (sg_rawhdr_is_content(&m.h[i])) {
                typed = typed || sg_rawhdr_is(&m.h[i], "Content-Type");
                rc = sg_buf_append(out, m.h[i].raw, m.h[i].rawlen);
            }
        if (rc == 0 && !typed)
            rc = sg_buf_appendf(out, "Content-Type: text/plain; charset=us-ascii\r\n");
        if (rc == 0)
            rc = sg_buf_append(out, "\r\n", 2) < 0 || sg_buf_append(out, m.body, m.bodylen) < 0 ||
                         append_parts(out, nb, f, n) < 0 || sg_buf_appendf(out, "\r\n--%s--\r\n", nb) < 0
                     ? -1
                     : 0;
    }
    g_free(b);
    sg_rawmsg_free(&m);
    return rc;
}
