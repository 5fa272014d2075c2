/* transform.c - the identity transform and result cleanup. Owner: src/policy. */
#include "policy/transform.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sg_transform_identity(const sg_envelope *in, const char *data, size_t len, sg_transform_result *res)
{
    memset(res, 0, sizeof *res);
    res->policy_rev = -1;
    res->out = calloc(1, sizeof *res->out);
    if (!res->out)
        return -1;
    sg_output *o = &res->out[0];
    if (sg_env_copy_without_rcpts(&o->env, in) < 0)
        goto fail;
    res->nout = 1;
    for (size_t i = 0; i < in->nrcpt; i++)
        if (sg_env_add_rcpt(&o->env, in->rcpt[i].addr, in->rcpt[i].notify, in->rcpt[i].orcpt) < 0)
            goto fail;
    o->data = data;
    o->len = len;
    res->unchanged = 1;
    return 0;
fail:
    sg_transform_result_free(res);
    return -1;
}

void sg_output_release(sg_output *o)
{
    free(o->owned);
    sg_mapview_free(o->map);
    o->owned = NULL;
    o->map = NULL;
}

void sg_transform_result_free(sg_transform_result *res)
{
    for (size_t i = 0; i < res->nout; i++) {
        sg_env_free(&res->out[i].env);
        sg_output_release(&res->out[i]);
    }
    free(res->out);
    res->out = NULL;
    res->nout = 0;
}

void sg_transform_note(char *buf, size_t cap, const char *fmt, ...)
{
    size_t n = strnlen(buf, cap);
    if (n + 2 >= cap)
        return;
    if (n)
        buf[n++] = ';';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}
