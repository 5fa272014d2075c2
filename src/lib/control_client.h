/* control_client.h - the front ends' side of the control socket (docs/control.md): the CLI and
 * the web role ask the running cryptd to run an operation of the table (admin/ops.h) and read
 * its answer. Owner: src/cryptd (issue 18).
 *
 * SECURITY: the socket is reachable only by root, the cryptd user and the web role's group
 * (cryptd checks the peer's uid with SO_PEERCRED as well); what the client states as actor and
 * roles is believed only from the web role, whose job is to authenticate the account (a root
 * or cryptd-user peer acts as the local administrator whatever it states). */
#ifndef SG_CONTROL_CLIENT_H
#define SG_CONTROL_CLIENT_H

#include <stddef.h>

#include "lib/control_proto.h"

/* Besides root, the socket's group may connect: the group named like the web role's user
 * (cfg->users.web, whose own group it is: scripts/deps.sh), set by cryptd (cryptd/control.h). */
#define SG_CTL_TIMEOUT_MS 120000 /* a request's time limit as the client waits for it */

/* <base_dir>/run/control.sock into out: 0, or -1 when it does not fit (sockaddr_un holds 108
 * bytes). */
int sg_ctl_socket_path(const char *base_dir, char *out, size_t n);

/* The outcome of a call. */
enum {
    SG_CTL_OK = 0,           /* the op ran: *result is its JSON */
    SG_CTL_FAILED = 1,       /* cryptd answered with an error: ecode and emsg say which */
    SG_CTL_NOT_RUNNING = 2,  /* nothing listens (no socket, or connection refused): work locally */
    SG_CTL_BROKEN = -1,      /* anything else (permission, protocol, timeout): never "work locally" */
};

typedef struct sg_ctl_request {
    const char *op;
    const char *actor;
    const char *const *roles; /* nroles names */
    size_t nroles;
    const char *client; /* NULL or "" when local */
    const char *args;   /* JSON text, NULL for {} */
} sg_ctl_request;

typedef struct sg_ctl_answer {
    char *result; /* SG_CTL_OK: JSON text (free) */
    char ecode[SG_CTL_NAME_MAX + 1]; /* SG_CTL_FAILED: stable code; SG_CTL_BROKEN: "transport" */
    char emsg[SG_CTL_ERRMSG_MAX + 1];
    char efield[SG_CTL_NAME_MAX + 1]; /* SG_CTL_FAILED: the argument at fault, or "" */
} sg_ctl_answer;

/* Connects to the socket: an fd, or -1 with *not_running set when nothing listens there. */
int sg_ctl_connect(const char *path, int *not_running, char *err, size_t errlen);
/* One request on an open connection (several may follow on it, one at a time). */
int sg_ctl_call_fd(int fd, const sg_ctl_request *req, sg_ctl_answer *ans, int timeout_ms);
/* Connects, asks, closes. */
int sg_ctl_call(const char *path, const sg_ctl_request *req, sg_ctl_answer *ans, int timeout_ms);
void sg_ctl_answer_free(sg_ctl_answer *ans);

#endif
