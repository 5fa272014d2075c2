/* dispatch.c - sg_admin_call, the one entry point of every operation, and the look-ups of the
 * table by name, CLI words and REST route. Owner: src/admin.
 * SECURITY: the order is fixed: permission before the arguments are even looked at (a denied
 * caller learns nothing about them and nothing runs), validation before the handler, and one
 * audit event for every call, whatever its outcome (an unknown operation's name is recorded as
 * given, cut to the field). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/audit.h"
#include "admin/ops.h"
#include "admin/roles.h"
#include "lib/log.h"

const sg_op *sg_op_find(const char *name)
{
    for (size_t i = 0; i < sg_ops_count; i++)
        if (strcmp(sg_ops[i].name, name) == 0)
            return &sg_ops[i];
    return NULL;
}

const sg_op *sg_op_find_cli(const char *const *words, size_t n, size_t *used)
{
    const sg_op *best = NULL;
    size_t best_n = 0;
    for (size_t i = 0; i < sg_ops_count; i++) {
        const sg_op *op = &sg_ops[i];
        size_t k = 0;
        while (k < 4 && op->cli[k] && k < n && strcmp(op->cli[k], words[k]) == 0)
            k++;
        if (k > 0 && (k == 4 || !op->cli[k]) && k > best_n) {
            best = op;
            best_n = k;
        }
    }
    if (used)
        *used = best_n;
    return best;
}

/* Whether path matches template tpl; sets the {name} segments in path_args (may be NULL). */
static bool route_match(const char *tpl, const char *path, json_t *path_args)
{
    while (*tpl && *path) {
        if (*tpl == '{') {
            const char *close = strchr(tpl, '}');
            size_t seg = strcspn(path, "/");
            if (!close || seg == 0)
                return false;
            if (path_args) {
                char name[64];
                snprintf(name, sizeof name, "%.*s", (int)(close - tpl - 1), tpl + 1);
                json_object_set_new(path_args, name, json_stringn(path, seg));
            }
            tpl = close + 1;
            path += seg;
            continue;
        }
        if (*tpl++ != *path++)
            return false;
    }
    return !*tpl && !*path;
}

const sg_op *sg_op_find_route(const char *method, const char *path, json_t *path_args, bool *path_known)
{
    if (path_known)
        *path_known = false;
    for (size_t i = 0; i < sg_ops_count; i++) {
        const sg_op *op = &sg_ops[i];
        if (!op->path || !route_match(op->path, path, NULL))
            continue;
        if (strcmp(op->method, method) != 0) {
            if (path_known)
                *path_known = true;
            continue;
        }
        if (path_args)
            route_match(op->path, path, path_args);
        return op;
    }
    return NULL;
}

bool sg_op_allowed(const sg_op *op, uint32_t roles)
{
    roles = sg_roles_valid(roles);
    if (roles & SG_ROLE_ADMIN)
        return true;
    if (op->read_only && (roles & SG_ROLE_AUDITOR))
        return true;
    return (roles & op->roles) != 0;
}

void sg_op_set_target(sg_op_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->target, sizeof ctx->target, fmt, ap);
    va_end(ap);
}

void sg_op_set_detail(sg_op_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->detail, sizeof ctx->detail, fmt, ap);
    va_end(ap);
}

/* Runs op (allowed, validated) here or through ctx->forward. */
static int run(sg_op_ctx *ctx, const sg_op *op, const json_t *args, json_t **result, sg_op_error *err)
{
    if (op->where == SG_RUN_LOCAL && ctx->via != SG_VIA_CLI)
        return sg_op_fail(err, SG_OP_FORBIDDEN, NULL, "%s is only available in the CLI on the gateway itself",
                          op->name);
    if (op->where == SG_RUN_CRYPTD && !ctx->in_cryptd && ctx->forward)
        return ctx->forward(ctx, op, args, result, err);
    /* The web role can enter no spool state: what reads them is asked of cryptd. */
    if (op->where == SG_RUN_SPOOL && !ctx->in_cryptd && ctx->forward && ctx->via != SG_VIA_CLI)
        return ctx->forward(ctx, op, args, result, err);
    if (!op->handler)
        return sg_op_fail(err, SG_OP_UNAVAILABLE, NULL, "%s is not available in this process", op->name);
    return op->handler(ctx, args, result, err);
}

int sg_admin_call(sg_op_ctx *ctx, const char *name, const json_t *args, json_t **result, sg_op_error *err)
{
    *result = NULL;
    memset(err, 0, sizeof *err);
    ctx->target[0] = ctx->detail[0] = '\0';
    const sg_op *op = sg_op_find(name);
    int rc;
    if (!op) {
        rc = sg_op_fail(err, SG_OP_NOT_FOUND, NULL, "no operation '%.64s'", name);
    } else if (ctx->must_change && strcmp(op->name, "account.password") != 0) {
        rc = sg_op_fail(err, SG_OP_PASSWORD_CHANGE, NULL,
                        "the password of %s is a one-time password: set a new one first (account.password)",
                        ctx->actor ? ctx->actor : "this account");
    } else if (!sg_op_allowed(op, ctx->roles)) {
        rc = sg_op_fail(err, SG_OP_FORBIDDEN, NULL, "%s is not allowed for %s", op->name,
                        ctx->actor ? ctx->actor : "this caller");
    } else if ((rc = sg_op_validate(op, args, err)) == 0) {
        /* The target is named in the event once the arguments are known to be what the table
         * says (a denied caller's arguments are not recorded: they may be anything). */
        const char *t = op->target ? sg_op_arg_str(args, op->target) : NULL;
        json_t *tv = op->target ? json_object_get(args, op->target) : NULL;
        if (t)
            sg_op_set_target(ctx, "%s", t);
        else if (json_is_integer(tv))
            sg_op_set_target(ctx, "%lld", (long long)json_integer_value(tv));
        rc = run(ctx, op, args, result, err);
        if (rc == 0 && !*result && !(*result = json_object()))
            rc = sg_op_fail(err, SG_OP_INTERNAL, NULL, "out of memory");
        if (rc < 0 && err->code == SG_OP_OK) /* a handler that forgot to say why */
            sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s failed", op->name);
        if (rc < 0) {
            json_decref(*result);
            *result = NULL;
        }
    }
    if (!ctx->audited_elsewhere) {
        /* A failed write is logged in full by sg_audit_event_write; the call's answer stands
         * (the operation took effect: an error would make the caller repeat it). */
        sg_audit_event_write(ctx->store,
                             &(sg_audit_rec){.time = ctx->now,
                                             .actor = ctx->actor ? ctx->actor : "-",
                                             .roles = ctx->roles,
                                             .op = !op         ? name
                                                   : op->audit ? op->audit
                                                               : op->name,
                                             .target = ctx->target,
                                             .result = rc == 0 ? "ok" : sg_op_code_name(err->code),
                                             .client = ctx->client ? ctx->client : "local",
                                             .detail = rc == 0 ? ctx->detail : err->message},
                             NULL);
    }
    return rc;
}
