/* control_client.c - connecting to cryptd's control socket and one request/answer exchange
 * (control_client.h). Owner: src/cryptd (issue 18).
 *
 * SECURITY: reads cryptd's answers with the same bounded decoder cryptd uses on requests. */
#include "lib/control_client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int sg_ctl_socket_path(const char *base_dir, char *out, size_t n)
{
    size_t max = sizeof(((struct sockaddr_un *)0)->sun_path);
    int w = snprintf(out, n, "%s/run/control.sock", base_dir);
    return w < 0 || (size_t)w >= n || (size_t)w >= max ? -1 : 0;
}

int sg_ctl_connect(const char *path, int *not_running, char *err, size_t errlen)
{
    *not_running = 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "socket path too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        /* No socket file, or one nobody listens on (a cryptd that died): the gateway does not
         * run. Anything else (EACCES above all) is an error the caller must not work around. */
        *not_running = e == ENOENT || e == ECONNREFUSED;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -1;
    }
    return fd;
}

static int broken(sg_ctl_answer *ans, const char *why)
{
    snprintf(ans->ecode, sizeof ans->ecode, "transport");
    snprintf(ans->emsg, sizeof ans->emsg, "control socket: %s", why);
    return SG_CTL_BROKEN;
}

int sg_ctl_call_fd(int fd, const sg_ctl_request *req, sg_ctl_answer *ans, int timeout_ms)
{
    static unsigned next_id;
    memset(ans, 0, sizeof *ans);
    sg_ctl_msg m = {.type = SG_CTL_REQUEST, .id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED)};
    char err[256];
    if (snprintf(m.op, sizeof m.op, "%s", req->op) >= (int)sizeof m.op ||
        snprintf(m.actor, sizeof m.actor, "%s", req->actor) >= (int)sizeof m.actor ||
        snprintf(m.client, sizeof m.client, "%s", req->client ? req->client : "") >= (int)sizeof m.client ||
        req->nroles > SG_CTL_ROLES_MAX)
        return broken(ans, "a request field is too long");
    for (size_t i = 0; i < req->nroles; i++)
        if (snprintf(m.roles[i], sizeof m.roles[i], "%s", req->roles[i]) >= (int)sizeof m.roles[i])
            return broken(ans, "a role name is too long");
    m.nroles = req->nroles;
    m.args = (char *)(req->args ? req->args : "{}");
    /* A write that fails may be cryptd refusing the connection (id 0, below) and closing before
     * it read the request: the refusal can still be read, and says more than EPIPE. */
    bool wrote = sg_ctl_write(fd, &m, timeout_ms, err, sizeof err) == 0;
    sg_ctl_msg a;
    char rerr[256];
    int r = sg_ctl_read(fd, &a, wrote ? timeout_ms : 1000, rerr, sizeof rerr);
    if (!wrote && (r != 0 || a.type != SG_CTL_ERROR || a.id != 0)) {
        if (r == 0)
            sg_ctl_msg_free(&a);
        return broken(ans, err);
    }
    if (wrote && r < 0)
        snprintf(err, sizeof err, "%s", rerr);
    if (r != 0)
        return broken(ans, r == 1 ? "cryptd closed the connection without an answer" : err);
    /* Id 0 is cryptd's answer about the connection (refused peer, busy) before any request. */
    if (a.id != m.id && !(a.type == SG_CTL_ERROR && a.id == 0)) {
        sg_ctl_msg_free(&a);
        return broken(ans, "answer to another request");
    }
    if (a.type == SG_CTL_RESULT) {
        ans->result = a.result;
        a.result = NULL;
        sg_ctl_msg_free(&a);
        return SG_CTL_OK;
    }
    if (a.type != SG_CTL_ERROR) {
        sg_ctl_msg_free(&a);
        return broken(ans, "a request where an answer belongs");
    }
    snprintf(ans->ecode, sizeof ans->ecode, "%s", a.ecode);
    snprintf(ans->emsg, sizeof ans->emsg, "%s", a.emsg);
    snprintf(ans->efield, sizeof ans->efield, "%s", a.efield);
    sg_ctl_msg_free(&a);
    return SG_CTL_FAILED;
}

int sg_ctl_call(const char *path, const sg_ctl_request *req, sg_ctl_answer *ans, int timeout_ms)
{
    char err[256];
    int not_running;
    memset(ans, 0, sizeof *ans);
    int fd = sg_ctl_connect(path, &not_running, err, sizeof err);
    if (fd < 0) {
        broken(ans, err);
        return not_running ? SG_CTL_NOT_RUNNING : SG_CTL_BROKEN;
    }
    int rc = sg_ctl_call_fd(fd, req, ans, timeout_ms);
    close(fd);
    return rc;
}

void sg_ctl_answer_free(sg_ctl_answer *ans)
{
    free(ans->result);
    ans->result = NULL;
}
