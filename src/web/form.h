/* form.h - decoding of HTML form bodies: application/x-www-form-urlencoded and
 * multipart/form-data (file uploads). Owner: src/web.
 * SECURITY: the input is an untrusted request body (at most web.max_body bytes). Every field is
 * copied out with its length; names are at most SG_FORM_NAME_MAX bytes of printable ASCII; at
 * most SG_FORM_FIELDS fields; a malformed body is an error (answered 400), never a partial form.
 * Fuzzed by tests/fuzz/fuzz_web_form.c. */
#ifndef SG_WEB_FORM_H
#define SG_WEB_FORM_H

#include <stddef.h>

#define SG_FORM_FIELDS 256
#define SG_FORM_NAME_MAX 128

typedef struct sg_form_field {
    char *name;
    char *value;    /* NUL-terminated copy; may contain NUL bytes in an uploaded file: see len */
    size_t len;
    char *filename; /* multipart file parts only, else NULL */
    char *type;     /* the part's Content-Type (multipart), else NULL */
} sg_form_field;

typedef struct sg_form {
    sg_form_field v[SG_FORM_FIELDS];
    size_t n;
} sg_form;

/* Decodes body by content_type (its media type and, for multipart, boundary parameter).
 * 0, or -1 with a message for the client in err (and an empty form). */
int sg_form_parse(const char *content_type, const char *body, size_t len, sg_form *out, char *err, size_t errlen);
/* The first field called name (its value), or NULL. */
const char *sg_form_get(const sg_form *f, const char *name);
const sg_form_field *sg_form_field_get(const sg_form *f, const char *name);
void sg_form_free(sg_form *f);

#endif
