/* control_ops.c - cryptd's dispatcher of control requests (control_ops.h). Owner: src/cryptd.
 * The operation layer (src/admin, issue 18) is not merged into this branch yet: until it is,
 * every request is answered "unavailable" and nothing runs. */
#include "cryptd/control_ops.h"

void sg_ctl_ops_dispatch(void *ctx, const sg_ctl_peer *peer, const sg_ctl_msg *req, sg_ctl_msg *reply)
{
    (void)ctx;
    (void)peer;
    sg_ctl_reply_error(reply, req, "unavailable", "no operation layer in this build (%s)", req->op);
}
