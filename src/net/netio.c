/* netio.c - whole reads and writes on a socket, and the helper processes' fork and state
 * (netio.h). Owner: src/net. */
#include "net/netio.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/privdrop.h"

int sg_net_io_all(int fd, void *buf, size_t len, bool wr, int timeout_ms)
{
    uint8_t *p = buf;
    while (len) {
        if (timeout_ms >= 0) {
            struct pollfd pf = {.fd = fd, .events = wr ? POLLOUT : POLLIN};
            int r = poll(&pf, 1, timeout_ms);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return -1;
        }
        ssize_t n = wr ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void helper_main(const char *name, int fd, const char *user, const char *group, void (*serve)(int))
{
    char err[256];
    /* Only the socket and stderr stay open: no spool, no store, no listening socket. */
    if (dup2(fd, 3) < 0)
        _exit(1);
    closefrom(4);
    signal(SIGPIPE, SIG_IGN);
    if (sg_priv_drop(user, group, err, sizeof err) < 0) {
        fprintf(stderr, "sealgate %s: %s\n", name, err);
        _exit(1);
    }
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0); /* never outlive the parent */
    serve(3);
    _exit(0); /* ends the requests still running: their answers have no one to go to */
}

pid_t sg_net_helper_fork(const char *name, const char *user, const char *group, void (*serve)(int), int *fd,
                         char *err, size_t errlen)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(err, errlen, "socketpair: %s", strerror(errno));
        return -1;
    }
    fflush(NULL); /* no buffered output duplicated into the child */
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        helper_main(name, sv[1], user && *user ? user : "nobody", group && *group ? group : "nogroup", serve);
    }
    close(sv[1]);
    *fd = sv[0];
    return pid;
}

int sg_net_helper_start(sg_net_helper *h, const char *user, const char *group, void (*serve)(int), char *err,
                        size_t errlen)
{
    pthread_mutex_lock(&h->lock);
    int rc = 0;
    if (h->fd < 0) {
        int fd;
        pid_t pid = sg_net_helper_fork(h->name, user, group, serve, &fd, err, errlen);
        if (pid < 0) {
            rc = -1;
        } else {
            h->fd = fd;
            h->pid = pid;
            h->dead = false;
        }
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}

int sg_net_helper_attach(sg_net_helper *h, int fd)
{
    pthread_mutex_lock(&h->lock);
    int rc = h->fd >= 0 ? -1 : 0;
    if (rc == 0) {
        h->fd = fd;
        h->pid = 0;
        h->dead = false;
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
}

pid_t sg_net_helper_pid(sg_net_helper *h)
{
    pthread_mutex_lock(&h->lock);
    pid_t pid = h->pid > 0 ? h->pid : 0;
    pthread_mutex_unlock(&h->lock);
    return pid;
}

bool sg_net_helper_exited_locked(sg_net_helper *h)
{
    if (h->pid > 0 && waitpid(h->pid, NULL, WNOHANG) == h->pid) {
        h->pid = -1; /* reaped: close must not wait for it */
        return true;
    }
    return false;
}

void sg_net_helper_lose_locked(sg_net_helper *h)
{
    if (h->fd >= 0 && !h->dead)
        shutdown(h->fd, SHUT_RDWR);
    h->dead = true;
}

void sg_net_helper_close_locked(sg_net_helper *h)
{
    if (h->fd >= 0)
        close(h->fd);
    if (h->pid > 0)
        waitpid(h->pid, NULL, 0);
    h->fd = -1;
    h->pid = 0;
    h->dead = false;
}
