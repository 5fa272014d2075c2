/* rawmsg.c - header fields and multipart boundaries located in the original bytes (see
 * rawmsg.h). Owner: src/mime. Input is untrusted: every scan is bounded by len, and counts are
 * capped by SG_MIME_MAX_HEADERS / SG_MIME_MAX_PARTS. */
#include "mime/rawmsg.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/mapview.h"

/* A scan over a body mapped from the spool gives back the pages behind it at this step, so a
 * large message costs the scan a window, not its size (lib/mapview.h; no effect on a buffer). */
#define RELEASE_EVERY ((size_t)1 << 20)

/* End of the line that starts at p: the index just after its LF, or end. */
static size_t line_end(const char *d, size_t p, size_t len)
{
    const char *lf = memchr(d + p, '\n', len - p);
    return lf ? (size_t)(lf - d) + 1 : len;
}

static bool blank_line(const char *d, size_t p, size_t len)
{
    return (p < len && d[p] == '\n') || (p + 1 < len && d[p] == '\r' && d[p + 1] == '\n');
}

int sg_rawmsg_parse(const char *d, size_t len, sg_rawmsg *m)
{
    memset(m, 0, sizeof *m);
    size_t cap = 0, p = 0;
    while (p < len) {
        if (blank_line(d, p, len)) {
            p += d[p] == '\r' ? 2 : 1;
            break;
        }
        if (d[p] == ' ' || d[p] == '\t')
            goto bad; /* a continuation without a field before it */
        size_t name_end = p;
        while (name_end < len && d[name_end] != ':' && d[name_end] > 32 && d[name_end] < 127)
            name_end++;
        size_t colon = name_end;
        while (colon < len && (d[colon] == ' ' || d[colon] == '\t'))
            colon++; /* obsolete syntax: whitespace before the colon */
        if (name_end == p || colon >= len || d[colon] != ':')
            goto bad;
        size_t e = line_end(d, p, len);
        while (e < len && (d[e] == ' ' || d[e] == '\t'))
            e = line_end(d, e, len); /* folded continuation lines */
        if (m->nh == cap) {
            if (cap >= SG_MIME_MAX_HEADERS)
                goto bad;
            cap = cap ? cap * 2 : 16;
            sg_rawhdr *nh = realloc(m->h, cap * sizeof *nh);
            if (!nh)
                goto bad;
            m->h = nh;
        }
        sg_rawhdr *h = &m->h[m->nh++];
        h->name = d + p;
        h->namelen = name_end - p;
        h->raw = d + p;
        h->rawlen = e - p;
        h->value = d + colon + 1;
        size_t vend = e;
        if (vend > colon + 1 && d[vend - 1] == '\n')
            vend--;
        if (vend > colon + 1 && d[vend - 1] == '\r')
            vend--;
        h->valuelen = vend - (colon + 1);
        if (m->nh == 1)
            m->crlf = e >= 2 && d[e - 1] == '\n' && d[e - 2] == '\r';
        p = e;
    }
    if (m->nh == 0)
        m->crlf = true;
    m->body = d + p;
    m->bodylen = len - p;
    return 0;
bad:
    sg_rawmsg_free(m);
    return -1;
}

void sg_rawmsg_free(sg_rawmsg *m)
{
    free(m->h);
    memset(m, 0, sizeof *m);
}

bool sg_rawhdr_is(const sg_rawhdr *h, const char *name)
{
    return strlen(name) == h->namelen && strncasecmp(h->name, name, h->namelen) == 0;
}

bool sg_rawhdr_is_content(const sg_rawhdr *h)
{
    return h->namelen >= 8 && strncasecmp(h->name, "Content-", 8) == 0;
}

const sg_rawhdr *sg_rawmsg_find(const sg_rawmsg *m, const char *name)
{
    for (size_t i = 0; i < m->nh; i++)
        if (sg_rawhdr_is(&m->h[i], name))
            return &m->h[i];
    return NULL;
}

char *sg_rawhdr_value(const sg_rawhdr *h)
{
    char *v = malloc(h->valuelen + 1);
    if (!v)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < h->valuelen; i++)
        if (h->value[i] != '\r' && h->value[i] != '\n')
            v[n++] = h->value[i];
    size_t s = 0;
    while (s < n && isspace((unsigned char)v[s]))
        s++;
    while (n > s && isspace((unsigned char)v[n - 1]))
        n--;
    memmove(v, v + s, n - s);
    v[n - s] = '\0';
    return v;
}

/* The line at p is "--boundary" or "--boundary--", then optional whitespace (RFC 2046
 * transport padding). Returns 1 for a delimiter, 2 for the close delimiter, 0 otherwise. */
static int delimiter(const char *d, size_t p, size_t e, const char *b, size_t blen)
{
    if (e - p < blen + 2 || d[p] != '-' || d[p + 1] != '-' || memcmp(d + p + 2, b, blen) != 0)
        return 0;
    size_t q = p + 2 + blen;
    int kind = 1;
    if (q + 1 < e && d[q] == '-' && d[q + 1] == '-') {
        kind = 2;
        q += 2;
    }
    while (q < e && (d[q] == ' ' || d[q] == '\t' || d[q] == '\r' || d[q] == '\n'))
        q++;
    return q == e ? kind : 0;
}

int sg_rawmsg_split(const char *d, size_t len, const char *boundary, sg_rawpart *parts, size_t max)
{
    size_t blen = strlen(boundary);
    if (blen == 0 || blen > 70)
        return -1; /* RFC 2046: 1 to 70 characters */
    int n = 0;
    const char *start = NULL; /* the current part's first byte */
    size_t given = 0;         /* what was handed back to a mapped file's pages (issue 11) */
    for (size_t p = 0; p < len;) {
        if (p - given >= RELEASE_EVERY) {
            sg_mapview_release(d + given, d + p);
            given = p;
        }
        size_t e = line_end(d, p, len);
        int k = delimiter(d, p, e, boundary, blen);
        if (k) {
            if (start) {
                if ((size_t)n >= max)
                    return -1;
                /* The line end before the delimiter belongs to the delimiter. */
                size_t end = p;
                if (end > (size_t)(start - d) && d[end - 1] == '\n')
                    end--;
                if (end > (size_t)(start - d) && d[end - 1] == '\r')
                    end--;
                parts[n].data = start;
                parts[n].len = end - (size_t)(start - d);
                n++;
            }
            if (k == 2)
                return start || n ? n : -1;
            start = d + e;
        }
        p = e;
    }
    return -1;
}
