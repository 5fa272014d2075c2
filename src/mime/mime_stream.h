/* mime_stream.h - the PGP/MIME pieces of a large outgoing message made as streams (issue 11):
 * the inner entity to encrypt read in pieces from the (mapped) message, a line-end filter for
 * text written in pieces, and the outer multipart/encrypted before and after the armored data.
 * Owner: src/mime. The bytes are those of the whole-message functions of mime.h
 * (sg_mime_protected_entity_with, sg_mime_append_crlf, sg_mime_wrap_encrypted_with), which
 * tests/unit/test_mime_stream.c checks for every split; only what needs no re-encoding is made
 * this way (an 8-bit leaf or a line over 998 octets still goes through GMime in memory). */
#ifndef SG_MIME_STREAM_H
#define SG_MIME_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

typedef struct sg_entity_stream {
    sg_buf head;      /* the protected header block and its empty line */
    size_t hpos;      /* how much of head was read */
    const char *body; /* the message's body (points into the caller's bytes) */
    size_t blen, bpos;
    size_t given; /* body bytes whose mapped pages were given back (lib/mapview.h) */
    bool lf_due;  /* a bare LF became CR: its LF is still to be read */
} sg_entity_stream;

/* Prepares the inner entity of msg (protected-headers="v1", the fields in names[n] copied, CRLF
 * line ends) as sg_mime_protected_entity_with would make it (names NULL: the default fields,
 * as sg_mime_protected_entity). 0 ready, 1 when the entity needs
 * re-encoding (8-bit, NUL, or a line over 998 octets: use the whole-message function), -1 on
 * a malformed header or ENOMEM. Reading checks the whole body once, giving pages back. */
int sg_entity_stream_open(sg_entity_stream *s, const char *msg, size_t len, const char *const *names,
                          size_t n);
/* Up to cap bytes of the entity into buf; the number read, 0 at the end. */
size_t sg_entity_stream_read(sg_entity_stream *s, char *buf, size_t cap);
void sg_entity_stream_close(sg_entity_stream *s);

/* Text written in pieces with every bare LF made CRLF, as sg_mime_append_crlf does for the
 * whole text: *prev carries the last byte of the previous piece (start with 0). */
int sg_crlf_piece(char *prev, const char *s, size_t n, sg_buf *out);

/* No line of s[0, n) is longer than SMTP allows (998 octets): the entity can be delivered as
 * it is, without sg_mime_transportable_entity re-encoding. Reads in pieces, giving mapped
 * pages back behind it (a large decrypted entity, issue 11). */
bool sg_mime_lines_fit(const char *s, size_t n);

/* The outgoing message of sg_mime_wrap_encrypted_with, before the armored data (head) and
 * after it (tail; last is the armored data's last byte, 0 when it was empty). boundary from
 * sg_mime_new_boundary. 0 or -1. */
int sg_mime_encrypted_head(const char *msg, size_t len, const char *subject, const char *boundary,
                           sg_buf *out);
int sg_mime_encrypted_tail(char last, const char *boundary, sg_buf *out);

#endif
