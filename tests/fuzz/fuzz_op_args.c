/* fuzz_op_args.c - libFuzzer target for the operation layer's argument decoding and
 * validation (src/admin/args.c, dispatch.c): JSON text as a front end would hand it in, the
 * same input as name=value lines (query strings, CLI words), and as a REST path. Checks beyond
 * "no crash": what validates holds only the table's arguments, every required one, within
 * their lengths, with bytes that decode to at most their maximum, and validates again after a
 * round trip through JSON text; path arguments of a matched route never contain '/'.
 * Owner: src/admin. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin/ops.h"

static void check_valid(const sg_op *op, const json_t *args)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)args, key, v)
    {
        const sg_op_arg *a = op->args;
        while (a->name && strcmp(a->name, key) != 0)
            a++;
        if (!a->name)
            abort(); /* an argument the table does not have */
        size_t max = a->max_len ? a->max_len : SG_OP_ARG_MAX_DEFAULT;
        if (a->type == SG_ARG_STRING && json_is_string(v) && json_string_length(v) > max)
            abort();
        if (a->type == SG_ARG_BYTES && json_is_string(v)) {
            uint8_t *out;
            size_t len;
            if (sg_op_arg_bytes(args, key, &out, &len) != 0 || len > max)
                abort();
            free(out);
        }
    }
    for (const sg_op_arg *a = op->args; a->name; a++)
        if (a->required && !json_object_get(args, a->name))
            abort();
    char *text = json_dumps(args, JSON_COMPACT);
    json_t *again = text ? json_loads(text, 0, NULL) : NULL;
    sg_op_error err;
    if (text && (!again || sg_op_validate(op, again, &err) != 0))
        abort();
    json_decref(again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    if (len < 1)
        return 0;
    const sg_op *op = &sg_ops[buf[0] % sg_ops_count];
    const char *data = (const char *)buf + 1;
    size_t n = len - 1;
    sg_op_error err;

    json_t *args = json_loadb(data, n, JSON_REJECT_DUPLICATES, NULL);
    if (args && sg_op_validate(op, args, &err) == 0)
        check_valid(op, args);
    json_decref(args);

    /* name=value lines */
    char *copy = malloc(n + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, n);
    copy[n] = '\0';
    const char *names[16], *values[16];
    size_t k = 0;
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line && k < 16;
         line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        names[k] = line;
        values[k++] = eq + 1;
    }
    json_t *from = NULL;
    if (sg_op_args_from_strings(op, names, values, k, &from, &err) == 0 &&
        sg_op_validate(op, from, &err) == 0)
        check_valid(op, from);
    json_decref(from);
    free(copy);

    /* a REST path */
    char *path = malloc(n + 1);
    if (!path)
        return 0;
    memcpy(path, data, n);
    path[n] = '\0';
    json_t *pa = json_object();
    bool known;
    const sg_op *hit = sg_op_find_route(op->method, path, pa, &known);
    const char *key;
    json_t *v;
    json_object_foreach(pa, key, v) if (hit && strchr(json_string_value(v), '/')) abort();
    json_decref(pa);
    free(path);
    return 0;
}
