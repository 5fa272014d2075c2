/* cli_control.c - sg_cli_remote (cli_control.h). Owner: src/cli (issue 18, control socket).
 * SECURITY: the CLI acts as the local administrator (root, or the user the gateway runs as);
 * cryptd decides that from the socket peer's uid, not from what is sent. The call goes through
 * sg_admin_call like every front end's; cryptd writes its audit event. */
#include "cli/cli_control.h"

#include <stdio.h>
#include <unistd.h>

#include "admin/control_forward.h"
#include "admin/ops.h"
#include "cli/cli_ops.h"

static bool remote_audited;

bool sg_cli_remote_audited(void)
{
    return remote_audited;
}

int sg_cli_remote(const sg_config *cfg, const char *op, json_t *args, json_t **result)
{
    sg_op_ctx ctx;
    sg_cli_op_ctx(cfg, NULL, &ctx);
    char err[256];
    int r = sg_ctl_forward_setup(&ctx, err, sizeof err);
    if (r <= 0) {
        json_decref(args);
        if (r == 0)
            return SG_CLI_LOCAL;
        fprintf(stderr, "sealgate: the gateway runs but its control socket cannot be used: %s\n", err);
        return 1;
    }
    sg_op_error e;
    /* The store for the event this side writes when the socket fails (cryptd writes it
     * otherwise); without one it goes to the log (audit.h). */
    ctx.store = sg_store_open_auth(cfg->store_path, cfg->store_password_file, err, sizeof err);
    r = sg_admin_call(&ctx, op, args, result, &e);
    remote_audited = true;
    if (ctx.store)
        sg_store_close(ctx.store);
    json_decref(args);
    if (r < 0) {
        fprintf(stderr, "sealgate: %s%s%s (%s, in the running gateway)\n", *e.field ? e.field : "",
                *e.field ? ": " : "", e.message, sg_op_code_name(e.code));
        return 1;
    }
    return 0;
}

int sg_cli_remote_fpr(const sg_config *cfg, const char *op, json_t *args)
{
    json_t *res = NULL;
    int r = sg_cli_remote(cfg, op, args, &res);
    if (r == 0) {
        const char *fpr = json_string_value(json_object_get(res, "fpr"));
        if (fpr)
            printf("%s\n", fpr);
        else
            r = 1, fprintf(stderr, "sealgate: cryptd answered no fingerprint\n");
    }
    json_decref(res);
    return r;
}
