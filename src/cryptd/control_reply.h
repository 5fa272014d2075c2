/* control_reply.h - the reply portal's operations in cryptd (issue 12, docs/control.md "The
 * reply portal's operations"): reply.check and reply.submit, which need the KEK (the Reply
 * link's HMAC key) and the spool (the answer enters incoming/), neither of which the web role
 * has. Owner: src/cryptd. */
#ifndef SG_CRYPTD_CONTROL_REPLY_H
#define SG_CRYPTD_CONTROL_REPLY_H

#include "cryptd/control.h"
#include "lib/config.h"

/* Whether op is one of the reply portal's ("reply.*"): those go to sg_ctl_reply_dispatch. */
int sg_ctl_is_reply_op(const char *op);
/* Answers req (a reply.* request) into reply; writes its audit event. */
void sg_ctl_reply_dispatch(const sg_config *cfg, const sg_ctl_peer *peer, const sg_ctl_msg *req, sg_ctl_msg *reply);

#endif
