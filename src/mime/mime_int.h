/* mime_int.h - helpers shared by the files of src/mime only. Owner: src/mime. */
#ifndef SG_MIME_INT_H
#define SG_MIME_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

/* Appends s with every bare LF turned into CRLF (existing CRLF kept). 0 or -1. */
int sg_mime_append_crlf(sg_buf *out, const char *s, size_t n);

/* True when s holds a line longer than 998 octets, or (unless long_only) an 8-bit octet or
 * NUL; *line is the length of the line in progress, carried from one piece to the next. */
bool sg_mime_needs_encoding(const unsigned char *s, size_t n, bool long_only, size_t *line);

/* The entity's Content-Type carries protected-headers="v1" (its fields stand for the outer
 * ones). */
struct sg_rawmsg;
bool sg_mime_entity_protected(const struct sg_rawmsg *e);



#endif
