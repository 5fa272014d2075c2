/* pdf_reply.c - the reply portal's request arguments (pdf_reply.h). Owner: src/engine/pdf.
 * SECURITY: parses what the web role sends (untrusted); see pdf_reply.h. Sizes are checked on
 * the JSON strings before any copy or decode; base64 is decoded strictly (no whitespace, the
 * padding only at the end). */
#include "engine/pdf/pdf_reply.h"

#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

static int fail(char *field, size_t fieldlen, const char *f, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static int fail(char *field, size_t fieldlen, const char *f, char *err, size_t errlen, const char *fmt, ...)
{
    if (field && fieldlen)
        snprintf(field, fieldlen, "%s", f);
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Valid UTF-8 without NUL; control characters but tab, CR and LF refused when !multiline. */
static int utf8_ok(const char *s, size_t len, int multiline)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        unsigned c = p[i];
        size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (!n || n > len - i || (n == 2 && c < 0xc2) || c > 0xf4)
            return 0;
        for (size_t k = 1; k < n; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
        if (n == 3 && ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] >= 0xa0)))
            return 0; /* overlong, surrogates */
        if (n == 4 && ((c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] >= 0x90)))
            return 0;
        if (n == 1 && (c == 0 || c == 0x7f || (c < 0x20 && !(multiline && (c == '\t' || c == '\r' || c == '\n')))))
            return 0;
        i += n;
    }
    return 1;
}

int sg_pdf_reply_is_pdf(const char *type, const unsigned char *data, size_t len)
{
    if (type) {
        size_t n = strcspn(type, "; \t");
        if ((n == 15 && strncasecmp(type, "application/pdf", 15) == 0) ||
            (n == 17 && strncasecmp(type, "application/x-pdf", 17) == 0))
            return 1;
    }
    /* Readers accept the header anywhere in the first 1024 bytes. */
    size_t scan = len < 1024 ? len : 1024;
    for (size_t i = 0; i + 4 <= scan; i++)
        if (memcmp(data + i, "%PDF", 4) == 0)
            return 1;
    return 0;
}

static int b64_decode(const char *s, size_t len, unsigned char **out, size_t *outlen)
{
    if (len % 4)
        return -1;
    size_t pad = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '=') {
            if (i < len - 2)
                return -1;
            pad++;
        } else if (pad || !(isalnum(c) || c == '+' || c == '/'))
            return -1;
    }
    unsigned char *b = malloc(len / 4 * 3 + 1);
    if (!b)
        return -1;
    int n = len ? EVP_DecodeBlock(b, (const unsigned char *)s, (int)len) : 0;
    if (n < 0 || (size_t)n < pad) {
        free(b);
        return -1;
    }
    *out = b;
    *outlen = (size_t)n - pad;
    return 0;
}

static int type_ok(const char *t)
{
    /* "type/subtype" of RFC 2045 token characters, one slash. */
    const char *slash = strchr(t, '/');
    if (!slash || slash == t || !slash[1] || strchr(slash + 1, '/'))
        return 0;
    for (const char *p = t; *p; p++)
        if (*p != '/' && !(isalnum((unsigned char)*p) || strchr("!#$&^_.+-", *p)))
            return 0;
    return 1;
}

static int name_ok(const char *s, size_t len)
{
    if (!len || !utf8_ok(s, len, 0) || strpbrk(s, "/\\\"") || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    return 1;
}

static int parse_file(json_t *o, sg_pdf_reply_file *f, size_t *total, char *field, size_t fieldlen, char *err,
                      size_t errlen)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (strcmp(k, "name") && strcmp(k, "type") && strcmp(k, "data"))
            return fail(field, fieldlen, "attachments", err, errlen, "unknown field in an attachment");
    }
    json_t *name = json_object_get(o, "name"), *type = json_object_get(o, "type"), *data = json_object_get(o, "data");
    if (!json_is_string(name) || json_string_length(name) > SG_PDF_REPLY_NAME_MAX ||
        !name_ok(json_string_value(name), json_string_length(name)))
        return fail(field, fieldlen, "attachments", err, errlen, "an attachment's name is missing or not allowed");
    if (!json_is_string(type) || json_string_length(type) > SG_PDF_REPLY_TYPE_MAX ||
        strlen(json_string_value(type)) != json_string_length(type) || !type_ok(json_string_value(type)))
        return fail(field, fieldlen, "attachments", err, errlen, "an attachment's type is not type/subtype");
    if (!json_is_string(data) || json_string_length(data) / 4 * 3 > SG_PDF_REPLY_BYTES_MAX - *total + 3)
        return fail(field, fieldlen, "attachments", err, errlen, "the attachments are over %u bytes",
                    SG_PDF_REPLY_BYTES_MAX);
    snprintf(f->name, sizeof f->name, "%s", json_string_value(name));
    snprintf(f->type, sizeof f->type, "%s", json_string_value(type));
    for (char *p = f->type; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (b64_decode(json_string_value(data), json_string_length(data), &f->data, &f->len) < 0)
        return fail(field, fieldlen, "attachments", err, errlen, "an attachment's data is not base64");
    if (f->len > SG_PDF_REPLY_BYTES_MAX - *total)
        return fail(field, fieldlen, "attachments", err, errlen, "the attachments are over %u bytes",
                    SG_PDF_REPLY_BYTES_MAX);
    *total += f->len;
    if (sg_pdf_reply_is_pdf(f->type, f->data, f->len))
        return fail(field, fieldlen, "attachments", err, errlen, "PDF files are not accepted");
    return 0;
}

int sg_pdf_reply_parse(const char *op, const char *json, sg_pdf_reply_req *r, char *field, size_t fieldlen,
                       char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    int submit = op && !strcmp(op, "reply.submit");
    if (!op || (!submit && strcmp(op, "reply.check")))
        return fail(field, fieldlen, "", err, errlen, "not a reply operation");
    json_error_t je;
    json_t *o = json ? json_loads(json, JSON_REJECT_DUPLICATES, &je) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        return fail(field, fieldlen, "", err, errlen, "the arguments are not a JSON object");
    }
    int rc = -1;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (strcmp(k, "token") && !(submit && (!strcmp(k, "text") || !strcmp(k, "attachments")))) {
            fail(field, fieldlen, "", err, errlen, "unknown argument");
            goto out;
        }
    }
    json_t *tok = json_object_get(o, "token");
    if (!json_is_string(tok) || !json_string_length(tok) || json_string_length(tok) > SG_PDF_LINK_MAX ||
        !utf8_ok(json_string_value(tok), json_string_length(tok), 0)) {
        fail(field, fieldlen, "token", err, errlen, "a token of 1 to %d printable bytes is needed", SG_PDF_LINK_MAX);
        goto out;
    }
    snprintf(r->token, sizeof r->token, "%s", json_string_value(tok));
    if (submit) {
        json_t *text = json_object_get(o, "text"), *files = json_object_get(o, "attachments");
        if (!json_is_string(text) || json_string_length(text) > SG_PDF_REPLY_TEXT_MAX ||
            !utf8_ok(json_string_value(text), json_string_length(text), 1)) {
            fail(field, fieldlen, "text", err, errlen, "a text of at most %u bytes of UTF-8 is needed",
                 SG_PDF_REPLY_TEXT_MAX);
            goto out;
        }
        if (files && (!json_is_array(files) || json_array_size(files) > SG_PDF_REPLY_FILES_MAX)) {
            fail(field, fieldlen, "attachments", err, errlen, "at most %d attachments", SG_PDF_REPLY_FILES_MAX);
            goto out;
        }
        if (!(r->text = strdup(json_string_value(text)))) {
            fail(field, fieldlen, "", err, errlen, "out of memory");
            goto out;
        }
        size_t total = 0;
        for (size_t i = 0; files && i < json_array_size(files); i++) {
            json_t *f = json_array_get(files, i);
            if (!json_is_object(f)) {
                fail(field, fieldlen, "attachments", err, errlen, "an attachment is not an object");
                goto out;
            }
            r->nfiles++;
            if (parse_file(f, &r->files[i], &total, field, fieldlen, err, errlen) < 0)
                goto out;
        }
    }
    rc = 0;
out:
    json_decref(o);
    if (rc < 0)
        sg_pdf_reply_free(r);
    return rc;
}

void sg_pdf_reply_free(sg_pdf_reply_req *r)
{
    free(r->text);
    for (size_t i = 0; i < r->nfiles; i++)
        free(r->files[i].data);
    memset(r, 0, sizeof *r);
}
