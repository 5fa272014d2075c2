/* control.h - cryptd's side of the control socket (docs/control.md): it listens on
 * <base_dir>/run/control.sock, admits root, its own user and the web role's user by SO_PEERCRED,
 * and runs each request through a dispatcher (cryptd gives it sg_admin_call's, control_ops.c).
 * Owner: src/cryptd (issue 18).
 *
 * SECURITY: a local Unix socket, not a network one: the directory and the socket (root and the
 * group named like the web role's user users.web, sealgate-web by default; 0750 and 0660) let
 * only root and the web role reach it, and every
 * peer is checked again by uid (anyone else is refused and logged). Frames are bounded and
 * checked (lib/control_proto.h); a bad frame closes that connection only. Requests run on
 * threads of their own, a few at a time (SG_CTL_MAX_OPS), each within a time limit, so mail
 * processing never waits for them. */
#ifndef SG_CRYPTD_CONTROL_H
#define SG_CRYPTD_CONTROL_H

#include <stdbool.h>
#include <sys/types.h>

#include "lib/config.h"
#include "lib/control_proto.h"

#define SG_CTL_MAX_CONN 16             /* connections at once; more are answered "busy" */
#define SG_CTL_MAX_OPS 2               /* operations running at once (the machine's crypto) */
#define SG_CTL_IDLE_MS 60000           /* a connection may wait this long between requests */
#define SG_CTL_OP_LIMIT_MS 120000      /* a request's time limit */

/* Who asked: the local administrator (root or cryptd's own user, who can read the KEK anyway)
 * or the web role, which states the account it acts for. */
typedef struct sg_ctl_peer {
    uid_t uid;
    pid_t pid;
    bool local_admin;
} sg_ctl_peer;

/* Runs one request; fills *reply with a RESULT or an ERROR (same id). Called on a thread of
 * its own; ctx is what sg_control_start was given. */
typedef void (*sg_ctl_dispatch_fn)(void *ctx, const sg_ctl_peer *peer, const sg_ctl_msg *req, sg_ctl_msg *reply);

/* Creates the directory and the listening socket; called before the privilege drop (so the
 * ownership can be set) and after the fetch helper was forked. The listening fd, or -1. */
int sg_control_listen(const sg_config *cfg, char *err, size_t errlen);
/* Starts the thread that accepts on lfd: 0, or -1. */
int sg_control_start(int lfd, sg_ctl_dispatch_fn fn, void *ctx);
/* Changes the time limits (tests: a request's limit and the idle wait, in ms). */
void sg_control_set_limits(int op_limit_ms, int idle_ms);
/* Stops accepting and waits (up to the op limit) for running requests to finish. */
void sg_control_stop(void);

/* Fills reply as an ERROR with code and message (for dispatchers). */
void sg_ctl_reply_error(sg_ctl_msg *reply, const sg_ctl_msg *req, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
