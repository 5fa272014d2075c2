/* forward.c - the web role's way to run an operation that needs cryptd (the KEK, private keys,
 * or the spool states, which this role cannot enter): cryptd's control socket,
 * <base_dir>/run/control.sock, through the operation layer's client (admin/control_forward.h).
 * Owner: src/web.
 * SECURITY: the web role never runs a SG_RUN_CRYPTD operation itself (it could not: no KEK, no
 * spool state); it forwards the call, already authorised and validated by sg_admin_call, with
 * the account and roles it authenticated; cryptd checks the permission again and writes the
 * call's audit event. A SG_RUN_SPOOL operation (status, queue.list, queue.show: reading only)
 * runs here when cryptd is not there: it then reports the states as not readable, which is
 * true, instead of failing the dashboard. */
#include <stdio.h>
#include <sys/stat.h>

#include "admin/control_forward.h"
#include "lib/control_client.h"
#include "web/web_int.h"

int sg_web_forward(sg_op_ctx *ctx, const sg_op *op, const json_t *args, json_t **result, sg_op_error *err)
{
    *result = NULL;
    char path[256];
    struct stat st;
    if (sg_ctl_socket_path(ctx->cfg->base_dir, path, sizeof path) == 0 && stat(path, &st) == 0 &&
        S_ISSOCK(st.st_mode))
        return sg_ctl_forward(ctx, op, args, result, err);
    if (op->where == SG_RUN_SPOOL && op->handler)
        return op->handler(ctx, args, result, err);
    return sg_op_fail(err, SG_OP_UNAVAILABLE, NULL,
                      "%s runs in cryptd, and cryptd's control socket (%.200s) is not there: is the gateway "
                      "running?",
                      op->name, path);
}
