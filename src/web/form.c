/* form.c - HTML form bodies into fields (form.h). Owner: src/web. SECURITY: see form.h. */
#include "web/form.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fail(sg_form *f, char *err, size_t errlen, const char *msg)
{
    sg_form_free(f);
    snprintf(err, errlen, "%s", msg);
    return -1;
}

/* A name: 1..SG_FORM_NAME_MAX printable ASCII bytes. */
static bool good_name(const char *s, size_t n)
{
    if (n == 0 || n > SG_FORM_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    return true;
}

static char *copy(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decodes s[0..n) ('+' is a space) into a new string; its length in *out_len. NULL on a
 * broken escape or no memory. */
static char *url_decode(const char *s, size_t n, size_t *out_len)
{
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            p[o++] = ' ';
        } else if (s[i] == '%') {
            int h = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1, l = h >= 0 ? hexval((unsigned char)s[i + 2]) : -1;
            if (h < 0 || l < 0) {
                free(p);
                return NULL;
            }
            p[o++] = (char)(h * 16 + l);
            i += 2;
        } else {
            p[o++] = s[i];
        }
    }
    p[o] = '\0';
    *out_len = o;
    return p;
}

static int add(sg_form *f, char *name, char *value, size_t len, char *filename, char *type)
{
    if (f->n == SG_FORM_FIELDS || !name || !value) {
        free(name);
        free(value);
        free(filename);
        free(type);
        return -1;
    }
    f->v[f->n++] = (sg_form_field){name, value, len, filename, type};
    return 0;
}

static int parse_urlencoded(const char *body, size_t len, sg_form *f, char *err, size_t errlen)
{
    size_t i = 0;
    while (i < len) {
        const char *amp = memchr(body + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - body) : len;
        if (end > i) {
            const char *eq = memchr(body + i, '=', end - i);
            size_t nend = eq ? (size_t)(eq - body) : end, nl, vl = 0;
            char *name = url_decode(body + i, nend - i, &nl);
            char *value = eq ? url_decode(eq + 1, end - nend - 1, &vl) : copy("", 0);
            if (!name || !value || !good_name(name, nl) || strlen(name) != nl) {
                free(name);
                free(value);
                return fail(f, err, errlen, "malformed form field (a bad %-escape or field name)");
            }
            if (add(f, name, value, vl, NULL, NULL) < 0)
                return fail(f, err, errlen, "too many form fields");
        }
        i = end + 1;
    }
    return 0;
}

/* The value of parameter key in a header value like `form-data; name="a"; filename="b"` (quoted
 * or a bare token), copied; NULL when absent. *bad is set on a malformed quoted string. */
static char *param(const char *h, size_t n, const char *key, bool *bad)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < n; i++) {
        if (h[i] != ';')
            continue;
        size_t j = i + 1;
        while (j < n && (h[j] == ' ' || h[j] == '\t'))
            j++;
        if (n - j <= kl || strncasecmp(h + j, key, kl) != 0 || h[j + kl] != '=')
            continue;
        j += kl + 1;
        if (j < n && h[j] == '"') {
            const char *q = memchr(h + j + 1, '"', n - j - 1);
            if (!q) {
                *bad = true;
                return NULL;
            }
            return copy(h + j + 1, (size_t)(q - h - j - 1));
        }
        size_t e = j;
        while (e < n && h[e] != ';' && h[e] != ' ')
            e++;
        return copy(h + j, e - j);
    }
    return NULL;
}

/* One part: headers up to an empty line, then content. */
static int parse_part(const char *p, size_t n, sg_form *f, char *err, size_t errlen)
{
    const char *hend = memmem(p, n, "\r\n\r\n", 4);
    size_t hlen;
    if (n >= 2 && p[0] == '\r' && p[1] == '\n') {
        hlen = 0; /* no headers at all: a part without a name, refused below */
        hend = p - 2;
    } else if (!hend) {
        return fail(f, err, errlen, "multipart part without the end of its headers");
    } else {
        hlen = (size_t)(hend - p);
    }
    char *name = NULL, *filename = NULL, *type = NULL;
    bool bad = false, disposition = false;
    for (size_t i = 0; i < hlen;) {
        const char *eol = memmem(p + i, hlen - i, "\r\n", 2);
        size_t e = eol ? (size_t)(eol - p) : hlen;
        const char *line = p + i;
        size_t ll = e - i;
        static const char cd[] = "content-disposition:", ct[] = "content-type:";
        if (ll > sizeof cd - 1 && strncasecmp(line, cd, sizeof cd - 1) == 0) {
            const char *v = line + sizeof cd - 1;
            size_t vl = ll - (sizeof cd - 1);
            while (vl && *v == ' ')
                v++, vl--;
            if (disposition || vl < 9 || strncasecmp(v, "form-data", 9) != 0)
                bad = true;
            disposition = true;
            if (!bad) {
                name = param(v, vl, "name", &bad);
                filename = param(v, vl, "filename", &bad);
            }
        } else if (ll > sizeof ct - 1 && strncasecmp(line, ct, sizeof ct - 1) == 0 && !type) {
            const char *v = line + sizeof ct - 1;
            size_t vl = ll - (sizeof ct - 1);
            while (vl && *v == ' ')
                v++, vl--;
            type = copy(v, vl);
        }
        i = e + 2;
    }
    const char *content = hend + 4;
    size_t clen = n - (size_t)(content - p);
    if (bad || !name || !good_name(name, strlen(name))) {
        free(name);
        free(filename);
        free(type);
        return fail(f, err, errlen, "multipart part without a valid form-data name");
    }
    if (add(f, name, copy(content, clen), clen, filename, type) < 0)
        return fail(f, err, errlen, "too many form fields");
    return 0;
}

static int parse_multipart(const char *ctype, const char *body, size_t len, sg_form *f, char *err, size_t errlen)
{
    bool bad = false;
    char *b = param(ctype, strlen(ctype), "boundary", &bad);
    if (!b || bad || !*b || strlen(b) > 70) {
        free(b);
        return fail(f, err, errlen, "multipart/form-data without a valid boundary");
    }
    char delim[80];
    int dl = snprintf(delim, sizeof delim, "\r\n--%s", b);
    free(b);
    /* The first delimiter may open the body (no CRLF before it); a preamble is ignored. */
    const char *pos;
    if (len >= (size_t)dl - 2 && memcmp(body, delim + 2, (size_t)dl - 2) == 0)
        pos = body + dl - 2;
    else if ((pos = memmem(body, len, delim, (size_t)dl)))
        pos += dl;
    else
        return fail(f, err, errlen, "multipart body without its boundary");
    const char *end = body + len;
    for (;;) {
        if (end - pos >= 2 && pos[0] == '-' && pos[1] == '-')
            return 0; /* the close delimiter; an epilogue is ignored */
        while (pos < end && (*pos == ' ' || *pos == '\t'))
            pos++;
        if (end - pos < 2 || pos[0] != '\r' || pos[1] != '\n')
            return fail(f, err, errlen, "malformed multipart delimiter line");
        pos += 2;
        const char *next = memmem(pos, (size_t)(end - pos), delim, (size_t)dl);
        if (!next)
            return fail(f, err, errlen, "multipart body without its closing boundary");
        if (parse_part(pos, (size_t)(next - pos), f, err, errlen) < 0)
            return -1;
        pos = next + dl;
    }
}

static bool media_is(const char *ctype, const char *want)
{
    size_t n = strlen(want);
    return strncasecmp(ctype, want, n) == 0 && (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

int sg_form_parse(const char *content_type, const char *body, size_t len, sg_form *out, char *err, size_t errlen)
{
    out->n = 0;
    if (!content_type)
        content_type = "";
    while (*content_type == ' ')
        content_type++;
    if (media_is(content_type, "application/x-www-form-urlencoded"))
        return parse_urlencoded(body, len, out, err, errlen);
    if (media_is(content_type, "multipart/form-data"))
        return parse_multipart(content_type, body, len, out, err, errlen);
    return fail(out, err, errlen, "a form must be application/x-www-form-urlencoded or multipart/form-data");
}

const sg_form_field *sg_form_field_get(const sg_form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->v[i].name, name) == 0)
            return &f->v[i];
    return NULL;
}

const char *sg_form_get(const sg_form *f, const char *name)
{
    const sg_form_field *x = sg_form_field_get(f, name);
    return x ? x->value : NULL;
}

void sg_form_free(sg_form *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].name);
        free(f->v[i].value);
        free(f->v[i].filename);
        free(f->v[i].type);
    }
    f->n = 0;
}
