/* xtext.h - RFC 3461 xtext encoding. Used for DSN ENVID/ORCPT values and for every value in the
 * queue envelope, so that no envelope value can contain a newline or '='. Owner: src/lib. */
#ifndef SG_XTEXT_H
#define SG_XTEXT_H

#include <stddef.h>

/* Encodes len bytes; returns a malloc'd NUL-terminated string, NULL on allocation failure. */
char *sg_xtext_encode(const char *in, size_t len);
/* Decodes a NUL-terminated xtext string into a malloc'd string; *outlen gets the length.
 * Returns NULL on malformed input ("+" not followed by two upper-case hex digits, or a
 * character outside the xtext range). */
char *sg_xtext_decode(const char *in, size_t *outlen);
/* True when s is valid xtext (RFC 3461 section 4). */
int sg_xtext_valid(const char *s);

#endif
