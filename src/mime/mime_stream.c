/* mime_stream.c - the streamed pieces of an outgoing PGP/MIME message (mime_stream.h).
 * Owner: src/mime. Memory is the header block and the caller's buffers, whatever the size of
 * the body; a body mapped from the spool gives its pages back behind the reader. */
#include "mime/mime_stream.h"

#include <string.h>

#include "lib/mapview.h"
#include "mime/mime.h"
#include "mime/mime_int.h"
#include "mime/rawmsg.h"

#define RELEASE_EVERY ((size_t)1 << 20)

int sg_entity_stream_open(sg_entity_stream *s, const char *msg, size_t len, const char *const *names,
                          size_t n)
{
    memset(s, 0, sizeof *s);
    sg_buf_init(&s->head, SG_MIME_MAX_OUT);
    sg_rawmsg m;
    if (sg_rawmsg_parse(msg, len, &m) < 0)
        return -1;
    size_t hlen = (size_t)(m.body - msg);
    s->body = m.body;
    s->blen = m.bodylen;
    /* The content fields must be 7-bit with short lines as well as the body: both are checked
     * as sg_mime_canonical_entity checks their concatenation (the empty line resets the line). */
    size_t line = 0;
    bool need = false;
    for (size_t i = 0; i < m.nh && !need; i++)
        if (sg_rawhdr_is_content(&m.h[i]))
            need = sg_mime_needs_encoding((const unsigned char *)m.h[i].raw, m.h[i].rawlen, false, &line);
    sg_rawmsg_free(&m);
    line = 0;
    for (size_t off = 0; off < s->blen && !need; off += RELEASE_EVERY) {
        size_t k = s->blen - off < RELEASE_EVERY ? s->blen - off : RELEASE_EVERY;
        need = sg_mime_needs_encoding((const unsigned char *)s->body + off, k, false, &line);
        sg_mapview_release(s->body + off, s->body + off + k);
    }
    if (need)
        return 1;
    /* The header block: the whole-message function run on the header alone (an empty body)
     * gives exactly the fields and the empty line it puts before the body. */
    int rc = names ? sg_mime_protected_entity_with(msg, hlen, names, n, &s->head)
                   : sg_mime_protected_entity(msg, hlen, &s->head);
    if (rc < 0)
        sg_buf_free(&s->head);
    return rc < 0 ? -1 : 0;
}

size_t sg_entity_stream_read(sg_entity_stream *s, char *buf, size_t cap)
{
    size_t got = 0;
    if (s->hpos < s->head.len) {
        got = s->head.len - s->hpos < cap ? s->head.len - s->hpos : cap;
        memcpy(buf, s->head.data + s->hpos, got);
        s->hpos += got;
    }
    /* The body with every bare LF made CRLF (sg_mime_append_crlf: an LF at the body's start
     * counts as bare, as it follows the header's LF). */
    while (got < cap && (s->lf_due || s->bpos < s->blen)) {
        if (s->lf_due) {
            buf[got++] = '\n';
            s->lf_due = false;
            continue;
        }
        const char *p = s->body + s->bpos;
        size_t room = cap - got, left = s->blen - s->bpos;
        size_t k = room < left ? room : left;
        const char *lf = memchr(p, '\n', k);
        size_t run = lf ? (size_t)(lf - p) : k;
        memcpy(buf + got, p, run);
        got += run;
        s->bpos += run;
        if (lf && got < cap) {
            bool bare = s->bpos == 0 || s->body[s->bpos - 1] != '\r';
            buf[got++] = bare ? '\r' : '\n';
            s->lf_due = bare;
            s->bpos++;
        }
    }
    if (s->bpos - s->given >= RELEASE_EVERY) {
        sg_mapview_release(s->body + s->given, s->body + s->bpos);
        s->given = s->bpos;
    }
    return got;
}

void sg_entity_stream_close(sg_entity_stream *s)
{
    sg_buf_free(&s->head);
    memset(s, 0, sizeof *s);
}

int sg_crlf_piece(char *prev, const char *s, size_t n, sg_buf *out)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n' && (i ? s[i - 1] : *prev) != '\r') {
            if (sg_buf_append(out, s + start, i - start) < 0 || sg_buf_append(out, "\r\n", 2) < 0)
                return -1;
            start = i + 1;
        }
    }
    if (n)
        *prev = s[n - 1];
    return sg_buf_append(out, s + start, n - start);
}

bool sg_mime_lines_fit(const char *s, size_t n)
{
    size_t line = 0;
    for (size_t off = 0; off < n; off += RELEASE_EVERY) {
        size_t k = n - off < RELEASE_EVERY ? n - off : RELEASE_EVERY;
        bool over = sg_mime_needs_encoding((const unsigned char *)s + off, k, true, &line);
        sg_mapview_release(s + off, s + off + k);
        if (over)
            return false;
    }
    return true;
}
