/* control_forward.c - sg_admin_call's forward function over the control socket
 * (control_forward.h). Owner: src/cryptd (issue 18). */
#include "admin/control_forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/roles.h"
#include "lib/control_client.h"

int sg_ctl_forward(sg_op_ctx *ctx, const sg_op *op, const json_t *args, json_t **result, sg_op_error *err)
{
    char path[256];
    if (sg_ctl_socket_path(ctx->cfg->base_dir, path, sizeof path) < 0)
        return sg_op_fail(err, SG_OP_UNAVAILABLE, NULL, "the control socket's path is too long");
    const char *names[SG_ROLE_COUNT];
    size_t n = 0;
    for (int i = 0; i < SG_ROLE_COUNT; i++)
        if (ctx->roles & sg_role_bit(i))
            names[n++] = sg_role_name(sg_role_bit(i));
    char *text = args ? json_dumps(args, JSON_COMPACT) : strdup("{}");
    if (!text)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "out of memory");
    sg_ctl_request req = {.op = op->name,
                          .actor = ctx->actor && *ctx->actor ? ctx->actor : "-",
                          .roles = names,
                          .nroles = n,
                          .client = ctx->client,
                          .args = text};
    sg_ctl_answer ans;
    int rc = sg_ctl_call(path, &req, &ans, SG_CTL_TIMEOUT_MS);
    free(text);
    if (rc == SG_CTL_OK) {
        json_error_t je;
        *result = json_loads(ans.result, JSON_REJECT_DUPLICATES, &je);
        sg_ctl_answer_free(&ans);
        ctx->audited_elsewhere = true;
        if (!*result)
            return sg_op_fail(err, SG_OP_INTERNAL, NULL, "cryptd's answer is not JSON: %s", je.text);
        return 0;
    }
    if (rc == SG_CTL_FAILED) {
        int code = sg_op_code_parse(ans.ecode);
        /* An error of the operation layer was audited there; busy, timeout and the like were
         * not: the front end's own event records them. */
        if (code > 0)
            ctx->audited_elsewhere = true;
        sg_op_fail(err, code > 0 ? (sg_op_code)code : SG_OP_UNAVAILABLE, *ans.efield ? ans.efield : NULL, "%s%s%s",
                   code > 0 ? "" : ans.ecode, code > 0 ? "" : ": ", ans.emsg);
        return -1;
    }
    return sg_op_fail(err, SG_OP_UNAVAILABLE, NULL, "%s%s", rc == SG_CTL_NOT_RUNNING ? "the gateway stopped: " : "",
                      ans.emsg);
}

int sg_ctl_forward_setup(sg_op_ctx *ctx, char *err, size_t errlen)
{
    char path[256];
    if (sg_ctl_socket_path(ctx->cfg->base_dir, path, sizeof path) < 0) {
        snprintf(err, errlen, "the control socket's path under %s is too long", ctx->cfg->base_dir);
        return -1;
    }
    int not_running;
    int fd = sg_ctl_connect(path, &not_running, err, errlen);
    if (fd < 0)
        return not_running ? 0 : -1;
    close(fd);
    ctx->forward = sg_ctl_forward;
    return 1;
}
