/* ops_audit.c - audit.list: the audit events, newest first, filtered by actor, operation,
 * target, result and time, paged by offset or by cursor (before = the last id of the previous page). Owner:
 * src/admin. */
#include <stdlib.h>

#include "admin/ops_handlers.h"
#include "admin/ops_int.h"
#include "store/admin_rows.h"

int sg_op_audit_list(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    size_t limit, offset;
    sg_op_page(args, &limit, &offset);
    sg_store_audit_filter f = {.actor = sg_op_arg_str(args, "actor"),
                               .op = sg_op_arg_str(args, "operation"),
                               .target = sg_op_arg_str(args, "target"),
                               .result = sg_op_arg_str(args, "result"),
                               .since = sg_op_arg_int(args, "since", 0),
                               .until = sg_op_arg_int(args, "until", 0),
                               .before_id = sg_op_arg_int(args, "before", 0),
                               .limit = limit,
                               .offset = offset};
    sg_store_audit *e;
    size_t n;
    int64_t total;
    if (sg_store_audit_count(ctx->store, &f, &total) < 0 || sg_store_audit_list(ctx->store, &f, &e, &n) < 0)
        return sg_op_store_fail(ctx, err);
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++)
        json_array_append_new(items, json_pack("{s:I, s:I, s:s, s:o, s:s, s:s, s:s, s:s, s:s}", "id",
                                               (json_int_t)e[i].id, "time", (json_int_t)e[i].time, "actor",
                                               e[i].actor, "roles", sg_op_roles_json(e[i].roles), "operation",
                                               e[i].op, "target", e[i].target, "result", e[i].result,
                                               "client", e[i].client, "detail", e[i].detail));
    json_t *r = sg_op_list_result(items, total, limit, offset);
    if (r && n == limit)
        json_object_set_new(r, "next_before", json_integer(e[n - 1].id));
    free(e);
    return sg_op_answer(r, result, err);
}
