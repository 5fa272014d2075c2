/* ops_int.h - helpers shared by the handler files (ops_*.c) only. Owner: src/admin. */
#ifndef SG_ADMIN_OPS_INT_H
#define SG_ADMIN_OPS_INT_H

#include <time.h>

#include "admin/ops.h"
#include "admin/roles.h"

static inline int64_t sg_op_now(const sg_op_ctx *ctx)
{
    return ctx->now ? ctx->now : (int64_t)time(NULL);
}

/* The caller may act on everyone's objects (Administrator) / see everyone's (or Auditor). */
static inline bool sg_op_is_admin(const sg_op_ctx *ctx)
{
    return (sg_roles_valid(ctx->roles) & SG_ROLE_ADMIN) != 0;
}
static inline bool sg_op_sees_all(const sg_op_ctx *ctx)
{
    return (sg_roles_valid(ctx->roles) & (SG_ROLE_ADMIN | SG_ROLE_AUDITOR)) != 0;
}

/* internal error with the store's reason; returns -1. */
int sg_op_store_fail(sg_op_ctx *ctx, sg_op_error *err);
/* roles as a JSON array of names. */
json_t *sg_op_roles_json(uint32_t roles);
/* Parses the comma-separated roles argument field: 0, or -1 with invalid_argument. */
int sg_op_roles_arg(const json_t *args, const char *field, uint32_t *roles, sg_op_error *err);
/* The effective settings by section (ops_settings.c), for check-config; NULL: out of memory. */
json_t *sg_op_settings_json(const sg_config *c);
/* *result = r, or -1 (internal) when r is NULL (out of memory). */
int sg_op_answer(json_t *r, json_t **result, sg_op_error *err);

#endif
