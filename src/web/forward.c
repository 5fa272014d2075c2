/* forward.c - the web role's way to run an operation that needs cryptd (the KEK, private keys,
 * or spool states only cryptd moves): the control socket. Owner: src/web.
 * SECURITY: the web role never runs such an operation itself (it could not: no KEK, no spool
 * state); it forwards the call, already authorised and validated by sg_admin_call, and writes
 * the audit event itself. */
#include <stdio.h>

#include "web/web_int.h"

int sg_web_forward(sg_op_ctx *ctx, const sg_op *op, const json_t *args, json_t **result, sg_op_error *err)
{
    (void)ctx;
    (void)args;
    *result = NULL;
    return sg_op_fail(err, SG_OP_UNAVAILABLE, NULL,
                      "%s runs in cryptd, and cryptd's control socket is not there: is the gateway running?",
                      op->name);
}
