/* dotstuff.h - SMTP DATA transparency (RFC 5321 4.5.2) as a streaming step: the message goes in
 * in pieces of any size and comes out exactly as if stuffed whole. Owner: src/smtp (the SMTP protocol shared by server and client; the relay uses it).
 * A dot is doubled at the start of every line, and a line starts after every LF and every CR
 * (not only after CRLF), so that no bare-LF or bare-CR sequence can look like an end of data to
 * a lenient receiver (SMTP smuggling). Such line ends are invalid in mail anyway; the price is
 * one extra dot for a strict receiver in an invalid message. */
#ifndef SG_DOTSTUFF_H
#define SG_DOTSTUFF_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

typedef struct sg_dotstuff {
    size_t seen;      /* bytes fed so far */
    char last, prev; /* the last two of them (last is the newest) */
} sg_dotstuff;

void sg_dotstuff_init(sg_dotstuff *s);
/* Appends in[0..n) stuffed to out (at most 2n bytes). 0, or -1 when out is full. */
int sg_dotstuff_feed(sg_dotstuff *s, const char *in, size_t n, sg_buf *out);
/* Appends the line end the data lacks (none after CRLF or for empty data, LF after a final CR,
 * else CRLF), then ".\r\n". */
int sg_dotstuff_end(const sg_dotstuff *s, sg_buf *out);

#endif
