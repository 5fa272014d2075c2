/* args.c - error codes and the arguments of operations: validation against the table, the
 * conversion from strings (query strings, CLI words), typed reads for handlers, pages.
 * Owner: src/admin.
 * SECURITY: this is the parser every front end's input reaches first (fuzzed by
 * tests/fuzz/fuzz_op_args.c): it refuses what the table does not describe, never cuts a value to
 * make it fit, and counts bytes, not characters. */
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin/ops.h"

static const struct {
    const char *name;
    int http;
} codes[SG_OP_CODE_COUNT] = {
    [SG_OP_OK] = {"ok", 200},
    [SG_OP_FORBIDDEN] = {"forbidden", 403},
    [SG_OP_NOT_FOUND] = {"not_found", 404},
    [SG_OP_INVALID_ARGUMENT] = {"invalid_argument", 400},
    [SG_OP_CONFLICT] = {"conflict", 409},
    [SG_OP_UNAVAILABLE] = {"unavailable", 503},
    [SG_OP_INTERNAL] = {"internal", 500},
    [SG_OP_UNAUTHENTICATED] = {"unauthenticated", 401},
    [SG_OP_LOCKED] = {"locked", 423},
    [SG_OP_PASSWORD_CHANGE] = {"password_change_required", 403},
};

const char *sg_op_code_name(sg_op_code code)
{
    return (unsigned)code < SG_OP_CODE_COUNT ? codes[code].name : NULL;
}

int sg_op_code_parse(const char *name)
{
    for (int i = 0; i < SG_OP_CODE_COUNT; i++)
        if (strcmp(name, codes[i].name) == 0)
            return i;
    return -1;
}

int sg_op_code_http(sg_op_code code)
{
    return (unsigned)code < SG_OP_CODE_COUNT ? codes[code].http : 500;
}

int sg_op_fail(sg_op_error *err, sg_op_code code, const char *field, const char *fmt, ...)
{
    if (!err)
        return -1;
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

/* Decoded length of base64 text s (strict: length a multiple of 4, the alphabet, padding only
 * at the end), or -1. */
static long b64_decoded_len(const char *s, size_t n)
{
    if (n % 4)
        return -1;
    size_t pad = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '=') {
            if (i < n - 2 || (i == n - 2 && s[n - 1] != '='))
                return -1;
            pad++;
        } else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                     c == '/')) {
            return -1;
        }
    }
    return (long)(n / 4 * 3 - pad);
}

static const sg_op_arg *arg_of(const sg_op *op, const char *name)
{
    for (const sg_op_arg *a = op->args; a && a->name; a++)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

static int check_value(const sg_op_arg *a, const json_t *v, sg_op_error *err)
{
    size_t max = a->max_len ? a->max_len : SG_OP_ARG_MAX_DEFAULT;
    switch (a->type) {
    case SG_ARG_STRING: {
        if (!json_is_string(v))
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, a->name, "%s must be a string", a->name);
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (strlen(s) != n)
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, a->name, "%s must not contain NUL", a->name);
        if (n > max)
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, a->name, "%s is longer than %zu bytes", a->name,
                              max);
        if (a->required && n == 0)
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, a->name, "%s must not be empty", a->name);
        if (a->choices) {
            for (const char *const *c = a->choices; *c; c++)
                if (strcmp(*c, s) == 0)
                    return 0;
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, a->name,
                              "%s: '%.64s' is not one of the allowed values", a->name, s);
        }
        return 0;
    }
    case SG_ARG_INT: {
        if (!json_is_integer(v))
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, a->name, "%s must be an integer", a->name);
        json_int_t i = json_integer_value(v);
        int64_t lo = a->min, hi = a->max;
        if (lo == 0 && hi == 0)
            hi = INT64_MAX;
        if (i < lo || i > hi)
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, a->name, "%s must be between %lld and %lld",
                              a->name, (long long)lo, (long long)hi);
        return 0;
    }
    case SG_ARG_BOOL:
        if (!json_is_boolean(v))
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, a->name, "%s must be true or false", a->name);
        return 0;
    case SG_ARG_BYTES: {
        if (!json_is_string(v))
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, a->name, "%s must be a base64 string", a->name);
        long n = b64_decoded_len(json_string_value(v), json_string_length(v));
        if (n < 0)
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, a->name, "%s is not valid base64", a->name);
        if ((size_t)n > max)
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, a->name, "%s is larger than %zu bytes", a->name,
                              max);
        if (a->required && n == 0)
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, a->name, "%s must not be empty", a->name);
        return 0;
    }
    }
    return sg_op_fail(err, SG_OP_INTERNAL, a->name, "argument %s has no type", a->name);
}

int sg_op_validate(const sg_op *op, const json_t *args, sg_op_error *err)
{
    if (args && !json_is_object(args))
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, "", "the arguments must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)args, key, v)
    {
        const sg_op_arg *a = arg_of(op, key);
        if (!a)
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, key, "%s takes no argument '%.64s'", op->name,
                              key);
        if (json_is_null(v) && !a->required)
            continue; /* null: not given */
        if (check_value(a, v, err) < 0)
            return -1;
    }
    for (const sg_op_arg *a = op->args; a && a->name; a++) {
        json_t *got = args ? json_object_get(args, a->name) : NULL;
        if (a->required && (!got || json_is_null(got)))
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, a->name, "%s is required", a->name);
    }
    return 0;
}

static int parse_bool(const char *s, bool *b)
{
    static const char *const yes[] = {"true", "1", "yes", "on"}, *const no[] = {"false", "0", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *b = true, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *b = false, 0;
    }
    return -1;
}

int sg_op_args_set_bytes(json_t *args, const char *name, const uint8_t *data, size_t len)
{
    if (len > (size_t)INT_MAX / 2)
        return -1;
    char *b64 = malloc(4 * ((len + 2) / 3) + 1);
    if (!b64)
        return -1;
    int n = EVP_EncodeBlock((unsigned char *)b64, data, (int)len);
    int rc = json_object_set_new(args, name, json_stringn(b64, (size_t)n));
    free(b64);
    return rc;
}

int sg_op_args_from_strings(const sg_op *op, const char *const *names, const char *const *values, size_t n,
                            json_t **out, sg_op_error *err)
{
    json_t *args = json_object();
    *out = NULL;
    if (!args)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const sg_op_arg *a = arg_of(op, names[i]);
        json_t *v = NULL;
        if (!a) {
            json_decref(args);
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, names[i], "%s takes no argument '%.64s'", op->name,
                              names[i]);
        }
        if (a->type == SG_ARG_INT) {
            char *end;
            errno = 0;
            long long x = strtoll(values[i], &end, 10);
            if (!*values[i] || *end || errno) {
                json_decref(args);
                return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, a->name, "%s must be an integer", a->name);
            }
            v = json_integer(x);
        } else if (a->type == SG_ARG_BOOL) {
            bool b;
            if (parse_bool(values[i], &b) < 0) {
                json_decref(args);
                return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, a->name, "%s must be true or false", a->name);
            }
            v = json_boolean(b);
        } else if (a->type == SG_ARG_BYTES) {
            if (sg_op_args_set_bytes(args, a->name, (const uint8_t *)values[i], strlen(values[i])) < 0) {
                json_decref(args);
                return sg_op_fail(err, SG_OP_INTERNAL, NULL, "out of memory");
            }
            continue;
        } else {
            v = json_string(values[i]);
            if (!v) { /* jansson refuses invalid UTF-8 */
                json_decref(args);
                return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, a->name, "%s is not valid UTF-8", a->name);
            }
        }
        if (!v || json_object_set_new(args, a->name, v) < 0) {
            json_decref(args);
            return sg_op_fail(err, SG_OP_INTERNAL, NULL, "out of memory");
        }
    }
    *out = args;
    return 0;
}

const char *sg_op_arg_str(const json_t *args, const char *name)
{
    return json_string_value(json_object_get(args, name));
}

int64_t sg_op_arg_int(const json_t *args, const char *name, int64_t dflt)
{
    json_t *v = json_object_get(args, name);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

bool sg_op_arg_bool(const json_t *args, const char *name, bool dflt)
{
    json_t *v = json_object_get(args, name);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

int sg_op_arg_bytes(const json_t *args, const char *name, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    json_t *v = json_object_get(args, name);
    if (!json_is_string(v))
        return 1;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    long dec = b64_decoded_len(s, n);
    if (dec < 0 || n > INT_MAX)
        return -1;
    uint8_t *buf = malloc(n / 4 * 3 + 1);
    if (!buf)
        return -1;
    if (n && EVP_DecodeBlock(buf, (const unsigned char *)s, (int)n) < 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = (size_t)dec; /* EVP_DecodeBlock counts the padding as zero bytes */
    return 0;
}

void sg_op_page(const json_t *args, size_t *limit, size_t *offset)
{
    *limit = (size_t)sg_op_arg_int(args, "limit", SG_OP_PAGE_DEFAULT);
    *offset = (size_t)sg_op_arg_int(args, "offset", 0);
}

json_t *sg_op_list_result(json_t *items, int64_t total, size_t limit, size_t offset)
{
    if (!items)
        return NULL;
    return json_pack("{s:o, s:I, s:I, s:I}", "items", items, "total", (json_int_t)total, "limit",
                     (json_int_t)limit, "offset", (json_int_t)offset);
}

/* One item with its place, so that the sort is stable (ties keep the handler's order). */
typedef struct placed {
    json_t *item;
    size_t at;
} placed;

static int cmp_field(const void *a, const void *b, void *ctx)
{
    const char *sort = ctx;
    bool desc = sort[0] == '-';
    const char *k = desc ? sort + 1 : sort;
    const placed *x = a, *y = b;
    json_t *vx = json_object_get(x->item, k), *vy = json_object_get(y->item, k);
    int c;
    if (json_is_integer(vx) && json_is_integer(vy))
        c = json_integer_value(vx) < json_integer_value(vy) ? -1
                                                            : json_integer_value(vx) > json_integer_value(vy);
    else if (json_is_string(vx) && json_is_string(vy))
        c = strcmp(json_string_value(vx), json_string_value(vy));
    else
        c = (vx != NULL) - (vy != NULL); /* absent or null first */
    if (desc)
        c = -c;
    return c ? c : x->at < y->at ? -1 : x->at > y->at;
}

json_t *sg_op_page_of(json_t *all, const json_t *args)
{
    size_t limit, offset, n = json_array_size(all);
    sg_op_page(args, &limit, &offset);
    const char *sort = sg_op_arg_str(args, "sort");
    placed *v = n ? malloc(n * sizeof *v) : NULL;
    json_t *items = json_array();
    if (!all || !items || (n && !v)) {
        free(v);
        json_decref(items);
        json_decref(all);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = (placed){json_array_get(all, i), i};
    if (sort && *sort && n > 1)
        qsort_r(v, n, sizeof *v, cmp_field, (void *)sort);
    for (size_t i = offset; i < n && i < offset + limit; i++)
        json_array_append(items, v[i].item);
    free(v);
    json_decref(all);
    return sg_op_list_result(items, (int64_t)n, limit, offset);
}
