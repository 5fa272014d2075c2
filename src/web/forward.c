/* forward.c - the web role's way to run an operation that needs cryptd (the KEK, private keys,
 * or spool states only cryptd moves): cryptd's control socket, <base_dir>/run/control.sock.
 * Owner: src/web.
 * SECURITY: the web role never runs such an operation itself (it could not: no KEK, no spool
 * state); it forwards the call, already authorised and validated by sg_admin_call.
 * The control socket's client (src/lib/control_client.h) comes with issue 18's control-socket
 * branch; until it is merged here every such operation answers 503 unavailable, saying why. */
#include <stdio.h>
#include <sys/stat.h>

#include "web/web_int.h"

int sg_web_forward(sg_op_ctx *ctx, const sg_op *op, const json_t *args, json_t **result, sg_op_error *err)
{
    (void)args;
    *result = NULL;
    char path[4200];
    snprintf(path, sizeof path, "%s/run/control.sock", ctx->cfg->base_dir);
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
        return sg_op_fail(err, SG_OP_UNAVAILABLE, NULL,
                          "%s runs in cryptd, and cryptd's control socket (%.200s) is not there: is the gateway "
                          "running?",
                          op->name, path);
    return sg_op_fail(err, SG_OP_UNAVAILABLE, NULL,
                      "%s runs in cryptd, and this web role cannot use cryptd's control socket yet", op->name);
}
