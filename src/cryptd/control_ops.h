/* control_ops.h - what cryptd does with a control request: runs it through the operation layer
 * (admin/ops.h, sg_admin_call) as the peer may. Owner: src/cryptd (issue 18). */
#ifndef SG_CRYPTD_CONTROL_OPS_H
#define SG_CRYPTD_CONTROL_OPS_H

#include "cryptd/control.h"
#include "lib/config.h"

typedef struct sg_ctl_ops_env {
    const sg_config *cfg;
} sg_ctl_ops_env;

/* A sg_ctl_dispatch_fn; ctx is a sg_ctl_ops_env. */
void sg_ctl_ops_dispatch(void *ctx, const sg_ctl_peer *peer, const sg_ctl_msg *req, sg_ctl_msg *reply);

#endif
