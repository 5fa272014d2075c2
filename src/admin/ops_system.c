/* ops_system.c - the gateway as a whole: version (and, in step 2 of issue 18, status and
 * check-config). Owner: src/admin. */
#include "admin/ops_handlers.h"
#include "admin/ops_int.h"

int sg_op_version(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    (void)ctx;
    (void)args;
    return sg_op_answer(json_pack("{s:s}", "version", SG_VERSION), result, err);
}
