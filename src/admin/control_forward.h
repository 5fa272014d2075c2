/* control_forward.h - the operation layer's forward function over cryptd's control socket: a
 * front end that is not cryptd (the CLI, the web role) sets it as ctx->forward, and every
 * SG_RUN_CRYPTD operation it calls through sg_admin_call then runs in cryptd
 * (docs/control.md). Owner: src/cryptd (issue 18).
 *
 * SECURITY: what is sent is the operation's name, the caller's account, roles and client address
 * and the validated arguments; what comes back is the result JSON or an error. cryptd checks the
 * permission again (it believes the stated roles only from the web role's uid) and writes the
 * call's audit event; the front end then writes none (ctx->audited_elsewhere), so a call makes
 * exactly one event however it travels, and a web role that is taken over cannot run a secret
 * operation without one. */
#ifndef SG_ADMIN_CONTROL_FORWARD_H
#define SG_ADMIN_CONTROL_FORWARD_H

#include "admin/ops.h"

/* A sg_op_forward_fn: runs op in cryptd. When cryptd answered (result or an error of the
 * operation layer) it sets ctx->audited_elsewhere; a transport failure is "unavailable" and
 * the caller's own sg_admin_call writes the event. */
int sg_ctl_forward(sg_op_ctx *ctx, const sg_op *op, const json_t *args, json_t **result, sg_op_error *err);

/* For the CLI: whether the gateway runs (its control socket answers). 1: it does, and
 * ctx->forward is set to sg_ctl_forward; 0: nothing listens, ctx->forward stays NULL and
 * SG_RUN_CRYPTD operations run in this process (on the store, with the KEK, as root);
 * -1: the socket is there but cannot be used (e.g. permission), reason in err. */
int sg_ctl_forward_setup(sg_op_ctx *ctx, char *err, size_t errlen);

#endif
