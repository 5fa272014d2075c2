/* msgedit.h - the message edits of policy actions: add or remove a header field, strip the
 * subject keywords, attach files (the sender's keys). Owner: src/policy.
 * Each takes a whole message and appends the edited message to out; everything it does not
 * edit is copied byte for byte (header fields, folding, body). Needs sg_mime_init() first. */
#ifndef SG_POLICY_MSGEDIT_H
#define SG_POLICY_MSGEDIT_H

#include <stddef.h>

#include "lib/buf.h"

/* field: "Name: value" on one line; added after the last header field. 0 or -1. */
int sg_medit_add_header(const char *msg, size_t len, const char *field, sg_buf *out);
/* Every field called name is removed. 0 or -1. */
int sg_medit_remove_header(const char *msg, size_t len, const char *name, sg_buf *out);
/* Each of the words (case-insensitive) is removed from the Subject, with the space next to it.
 * An RFC 2047 encoded Subject is decoded, edited and encoded again. 0 or -1. */
int sg_medit_strip_words(const char *msg, size_t len, const char *const *words, size_t nwords, sg_buf *out);

typedef struct sg_medit_file {
    const char *type;     /* "application/pgp-keys" */
    const char *filename; /* "alice@demo.test.asc" */
    const char *data;
    size_t len;
} sg_medit_file;

/* Attaches files (base64): into a top-level multipart/mixed, else the message becomes a
 * multipart/mixed whose first part is the original body with its Content-* fields.
 * boundary_token makes the new boundary unique (the queue id). 0 or -1. */
int sg_medit_attach(const char *msg, size_t len, const sg_medit_file *f, size_t n, const char *boundary_token,
                    sg_buf *out);

#endif
