/* rawmsg.h - byte-exact views of an RFC 5322 message: the header fields as they arrived
 * (folding and line ends kept) and the parts of a multipart body between its boundaries.
 * Owner: src/mime. Nothing here allocates copies of the message; every view points into the
 * caller's buffer, so a field or part that is passed on unchanged keeps its original bytes.
 * GMime parses values (Content-Type parameters); this file only finds where things are. */
#ifndef SG_RAWMSG_H
#define SG_RAWMSG_H

#include <stdbool.h>
#include <stddef.h>

/* Limits of the design's "never traded away" list: headers per entity, parts per multipart. */
#define SG_MIME_MAX_HEADERS 512
#define SG_MIME_MAX_PARTS 256

typedef struct sg_rawhdr {
    const char *name; /* field name, not NUL-terminated */
    size_t namelen;
    const char *raw; /* the whole field: name, colon, value, folded lines, its line end */
    size_t rawlen;
    const char *value; /* after the colon, up to (not including) the final line end */
    size_t valuelen;
} sg_rawhdr;

typedef struct sg_rawmsg {
    sg_rawhdr *h;
    size_t nh;
    const char *body; /* after the empty line that ends the header (or the end of input) */
    size_t bodylen;
    bool crlf; /* the header's first line ends in CRLF (the line end to use for added fields) */
} sg_rawmsg;

/* Splits data into header fields and body. Returns 0, or -1 when the header block is malformed
 * beyond use (too many fields, a line that is not a field nor a continuation) or on ENOMEM. */
int sg_rawmsg_parse(const char *data, size_t len, sg_rawmsg *m);
void sg_rawmsg_free(sg_rawmsg *m);
/* Case-insensitive comparison of a field's name. */
bool sg_rawhdr_is(const sg_rawhdr *h, const char *name);
/* The name starts with "Content-" (case-insensitive): the field describes the body. */
bool sg_rawhdr_is_content(const sg_rawhdr *h);
/* The first field named name, or NULL. */
const sg_rawhdr *sg_rawmsg_find(const sg_rawmsg *m, const char *name);
/* A malloc'd, NUL-terminated copy of the field's value with folding undone (CR/LF removed) and
 * outer whitespace trimmed; NULL on ENOMEM. */
char *sg_rawhdr_value(const sg_rawhdr *h);

typedef struct sg_rawpart {
    const char *data; /* the part's bytes: its header, empty line, body (without the CRLF
                       * that precedes the next delimiter, which belongs to the delimiter) */
    size_t len;
} sg_rawpart;

/* Finds the body parts of a multipart body with this boundary (RFC 2046 5.1.1). Returns the
 * number of parts (at most max), or -1 when there is no closing delimiter or more parts than
 * max. Preamble and epilogue are skipped. */
int sg_rawmsg_split(const char *body, size_t len, const char *boundary, sg_rawpart *parts, size_t max);

#endif
