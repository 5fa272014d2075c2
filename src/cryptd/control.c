/* control.c - cryptd's control socket server (control.h, docs/control.md): the listening socket,
 * the peer check, one thread per connection, and each request on a thread of its own within
 * the concurrency bound and time limit. Owner: src/cryptd (issue 18).
 *
 * SECURITY: see control.h. The socket is made before the privilege drop so that its group can be
 * the web role's; the directory is opened with O_NOFOLLOW, so a link planted there cannot move
 * the chown elsewhere. Refused peers and bad frames are logged with the peer's uid and pid. */
#include "cryptd/control.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/control_client.h"
#include "lib/log.h"

static struct {
    int lfd, stop_pipe[2];
    pthread_t accept_tid;
    uid_t web_uid;
    bool have_web;
    uid_t own_uid;
    sg_ctl_dispatch_fn fn;
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t changed; /* a connection or a job ended */
    int conns[SG_CTL_MAX_CONN];
    int nconn, njobs;
    sem_t ops;
    bool started;
    int op_limit_ms, idle_ms;
} S = {.lfd = -1,
       .stop_pipe = {-1, -1},
       .mu = PTHREAD_MUTEX_INITIALIZER,
       .op_limit_ms = SG_CTL_OP_LIMIT_MS,
       .idle_ms = SG_CTL_IDLE_MS};

void sg_control_set_limits(int op_limit_ms, int idle_ms)
{
    S.op_limit_ms = op_limit_ms;
    S.idle_ms = idle_ms;
}

void sg_ctl_reply_error(sg_ctl_msg *reply, const sg_ctl_msg *req, const char *code, const char *fmt, ...)
{
    memset(reply, 0, sizeof *reply);
    reply->type = SG_CTL_ERROR;
    reply->id = req ? req->id : 0;
    snprintf(reply->ecode, sizeof reply->ecode, "%s", code);
    char msg[SG_CTL_ERRMSG_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    reply->emsg = strdup(msg); /* NULL under memory pressure: the encoder then sends "" */
}

/* The directory and the socket in it; as root, group gid may enter and connect. */
static int make_socket(const char *dir, const char *path, bool root, bool web, gid_t gid, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
        return -1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    /* As root: root and the web group may enter, nobody else. As non-root everything is the
     * caller's, who is the only local user the socket then serves. A chown that changes
     * nothing needs no CAP_CHOWN, so it is left out then. */
    if (dfd < 0 || fstat(dfd, &st) < 0 || (root && (st.st_uid != 0 || st.st_gid != gid) && fchown(dfd, 0, gid) < 0) ||
        fchmod(dfd, root && web ? 0750 : 0700) < 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return -1;
    }
    close(dfd);
    if (unlink(path) < 0 && errno != ENOENT) { /* a stale socket of an earlier cryptd */
        snprintf(err, errlen, "unlink %s: %s", path, strerror(errno));
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, strlen(path) + 1); /* fits: sg_ctl_socket_path checked it */
    /* Still one thread here: the umask makes the socket 0600 from its first instant. */
    mode_t old = umask(0177);
    int b = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (b < 0 || (root && (stat(path, &st) < 0 || (st.st_gid != gid && chown(path, 0, gid) < 0))) ||
        chmod(path, root && web ? 0660 : 0600) < 0 || listen(fd, SG_CTL_MAX_CONN) < 0) {
        snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int sg_control_listen(const sg_config *cfg, char *err, size_t errlen)
{
    char path[PATH_MAX], dir[PATH_MAX];
    if (sg_ctl_socket_path(cfg->base_dir, path, sizeof path) < 0 ||
        snprintf(dir, sizeof dir, "%s/run", cfg->base_dir) >= (int)sizeof dir) {
        snprintf(err, errlen, "control socket path under %s too long for a Unix socket", cfg->base_dir);
        return -1;
    }
    bool root = geteuid() == 0;
    /* The web role's user (users.web) and its own group of the same name, of which that user
     * alone is a member (scripts/deps.sh, debian/sealgate.sysusers): one name for both. */
    const char *web = cfg->users.web && *cfg->users.web ? cfg->users.web : NULL; /* none: root's alone */
    struct group *g = web ? getgrnam(web) : NULL;
    gid_t gid = g ? g->gr_gid : 0;
    struct passwd *pw = web ? getpwnam(web) : NULL;
    S.have_web = pw != NULL;
    S.web_uid = pw ? pw->pw_uid : (uid_t)-1;
    /* As root, made with the web group as effective group: a new directory and the socket have
     * that group from their first instant, without CAP_CHOWN, which the unit does not give
     * (CAP_SETGID it does: debian/sealgate.service). */
    gid_t egid = getegid();
    bool as_web = root && g && setegid(gid) == 0;
    int fd = make_socket(dir, path, root, g != NULL, gid, err, errlen);
    if (as_web && setegid(egid) < 0)
        sg_fatal("cannot return to group %ld after making the control socket: %s", (long)egid, strerror(errno));
    return fd;
}

typedef struct job {
    sg_ctl_peer peer;
    sg_ctl_msg req, reply;
    pthread_cond_t done_cv;
    bool done, abandoned;
} job;

static void job_free(job *j)
{
    sg_ctl_msg_free(&j->req);
    sg_ctl_msg_free(&j->reply);
    pthread_cond_destroy(&j->done_cv);
    free(j);
}

static void *job_main(void *arg)
{
    job *j = arg;
    S.fn(S.ctx, &j->peer, &j->req, &j->reply);
    j->reply.id = j->req.id;
    pthread_mutex_lock(&S.mu);
    j->done = true;
    bool gone = j->abandoned;
    if (!gone)
        pthread_cond_signal(&j->done_cv);
    S.njobs--;
    pthread_cond_broadcast(&S.changed);
    pthread_mutex_unlock(&S.mu);
    if (gone) /* its connection answered "timeout" long ago */
        job_free(j);
    sem_post(&S.ops);
    return NULL;
}

static void deadline_in(struct timespec *ts, clockid_t clk, long ms)
{
    clock_gettime(clk, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L)
        ts->tv_sec++, ts->tv_nsec -= 1000000000L;
}

/* Runs req (taken over) on a thread of its own; fills *reply. False when the time limit passed:
 * the op may still finish, the connection is closed. */
static bool run_job(const sg_ctl_peer *peer, sg_ctl_msg *req, sg_ctl_msg *reply)
{
    struct timespec mono;
    deadline_in(&mono, CLOCK_MONOTONIC, S.op_limit_ms); /* a step of the wall clock changes nothing */
    int s;
    while ((s = sem_clockwait(&S.ops, CLOCK_MONOTONIC, &mono)) < 0 && errno == EINTR)
        ;
    if (s < 0) {
        sg_ctl_reply_error(reply, req, "busy", "%d operations are running; try again later", SG_CTL_MAX_OPS);
        sg_ctl_msg_free(req);
        return true;
    }
    job *j = calloc(1, sizeof *j);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (j)
        pthread_cond_init(&j->done_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_t tid;
    if (j) {
        j->peer = *peer;
        j->req = *req;
        memset(req, 0, sizeof *req); /* the job owns it now */
        pthread_mutex_lock(&S.mu);
        S.njobs++;
        pthread_mutex_unlock(&S.mu);
    }
    if (!j || pthread_create(&tid, &at, job_main, j) != 0) {
        pthread_attr_destroy(&at);
        sg_ctl_reply_error(reply, j ? &j->req : req, "internal", "cannot start the operation");
        if (j) {
            pthread_mutex_lock(&S.mu);
            S.njobs--;
            pthread_mutex_unlock(&S.mu);
            job_free(j);
        }
        sg_ctl_msg_free(req);
        sem_post(&S.ops);
        return true;
    }
    pthread_attr_destroy(&at);
    pthread_mutex_lock(&S.mu);
    while (!j->done && pthread_cond_timedwait(&j->done_cv, &S.mu, &mono) != ETIMEDOUT)
        ;
    bool done = j->done;
    if (done) {
        *reply = j->reply;
        memset(&j->reply, 0, sizeof j->reply);
    } else {
        j->abandoned = true; /* job_main frees it */
        sg_ctl_reply_error(reply, &j->req, "timeout",
                           "%s did not finish within %d s; it may still complete (see the audit events)",
                           j->req.op, S.op_limit_ms / 1000);
    }
    pthread_mutex_unlock(&S.mu);
    if (done)
        job_free(j);
    return done;
}

typedef struct conn {
    int fd;
    sg_ctl_peer peer;
} conn;

static void *conn_main(void *arg)
{
    conn c = *(conn *)arg;
    free(arg);
    char err[256];
    for (;;) {
        sg_ctl_msg req, reply;
        int r = sg_ctl_read(c.fd, &req, S.idle_ms, err, sizeof err);
        if (r == 1)
            break;
        if (r < 0 || req.type != SG_CTL_REQUEST) {
            if (r == 0)
                sg_ctl_msg_free(&req);
            /* After a bad frame the stream cannot be trusted to be in step: close it. */
            sg_warn(NULL, "event=control-bad-frame uid=%u pid=%d error=\"%s\" action=closed", (unsigned)c.peer.uid,
                    (int)c.peer.pid, r < 0 ? SG_LOG_STR(err) : "an answer where a request belongs");
            break;
        }
        bool in_time = run_job(&c.peer, &req, &reply);
        int w = sg_ctl_write(c.fd, &reply, 10000, err, sizeof err);
        sg_ctl_msg_free(&reply);
        if (w < 0 || !in_time)
            break;
    }
    /* Out of the list before the close: sg_control_stop must never shut down a number that
     * was closed here and reused by another descriptor meanwhile. */
    pthread_mutex_lock(&S.mu);
    for (int i = 0; i < S.nconn; i++)
        if (S.conns[i] == c.fd) {
            S.conns[i] = S.conns[--S.nconn];
            break;
        }
    close(c.fd);
    pthread_cond_broadcast(&S.changed);
    pthread_mutex_unlock(&S.mu);
    return NULL;
}

static void refuse(int fd, const char *code, const char *msg)
{
    sg_ctl_msg e;
    sg_ctl_reply_error(&e, NULL, code, "%s", msg);
    char err[64];
    sg_ctl_write(fd, &e, 1000, err, sizeof err);
    sg_ctl_msg_free(&e);
    /* What the peer sent already is read away without waiting: closing with it unread would
     * reset the connection, and the peer could lose the answer. */
    char junk[4096];
    while (recv(fd, junk, sizeof junk, MSG_DONTWAIT) > 0)
        ;
    close(fd);
}

static void accept_one(void)
{
    int fd = accept4(S.lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    struct ucred cr;
    socklen_t cl = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0) {
        close(fd);
        return;
    }
    bool admin = cr.uid == 0 || cr.uid == S.own_uid;
    if (!admin && !(S.have_web && cr.uid == S.web_uid)) {
        /* Only a process in the socket's group gets this far; log it, tell it nothing more. */
        sg_warn(NULL, "event=control-refused uid=%u pid=%d reason=\"uid not allowed\"", (unsigned)cr.uid, (int)cr.pid);
        refuse(fd, "forbidden", "this user may not use the control socket");
        return;
    }
    pthread_mutex_lock(&S.mu);
    bool full = S.nconn >= SG_CTL_MAX_CONN;
    if (!full)
        S.conns[S.nconn++] = fd;
    pthread_mutex_unlock(&S.mu);
    if (full) {
        sg_warn(NULL, "event=control-busy uid=%u pid=%d connections=%d", (unsigned)cr.uid, (int)cr.pid,
                SG_CTL_MAX_CONN);
        refuse(fd, "busy", "too many control connections; try again later");
        return;
    }
    conn *c = malloc(sizeof *c);
    pthread_t tid;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (c)
        *c = (conn){.fd = fd, .peer = {.uid = cr.uid, .pid = cr.pid, .local_admin = admin}};
    if (!c || pthread_create(&tid, &at, conn_main, c) != 0) {
        free(c);
        pthread_mutex_lock(&S.mu);
        for (int i = 0; i < S.nconn; i++)
            if (S.conns[i] == fd)
                S.conns[i] = S.conns[--S.nconn];
        close(fd);
        pthread_mutex_unlock(&S.mu);
    }
    pthread_attr_destroy(&at);
}

static void *accept_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = S.lfd, .events = POLLIN}, {.fd = S.stop_pipe[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (p[0].revents & POLLIN)
            accept_one();
    }
    return NULL;
}

int sg_control_start(int lfd, sg_ctl_dispatch_fn fn, void *ctx)
{
    S.lfd = lfd;
    S.fn = fn;
    S.ctx = ctx;
    S.own_uid = geteuid(); /* after the drop: cryptd's user */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&S.changed, &ca);
    pthread_condattr_destroy(&ca);
    if (sem_init(&S.ops, 0, SG_CTL_MAX_OPS) < 0 || pipe2(S.stop_pipe, O_CLOEXEC) < 0 ||
        pthread_create(&S.accept_tid, NULL, accept_main, NULL) != 0)
        return -1;
    S.started = true;
    return 0;
}

void sg_control_stop(void)
{
    if (!S.started)
        return;
    if (write(S.stop_pipe[1], "x", 1) < 0)
        sg_error(NULL, "event=control-stop-failed error=\"%s\"", strerror(errno));
    pthread_join(S.accept_tid, NULL);
    close(S.lfd);
    struct timespec dl;
    deadline_in(&dl, CLOCK_MONOTONIC, S.op_limit_ms);
    pthread_mutex_lock(&S.mu);
    /* Idle connections end now (their read sees the end of the stream); running operations are
     * waited for, so none is cut off while it writes the store. */
    for (int i = 0; i < S.nconn; i++)
        shutdown(S.conns[i], SHUT_RD);
    while ((S.nconn || S.njobs) && pthread_cond_timedwait(&S.changed, &S.mu, &dl) != ETIMEDOUT)
        ;
    if (S.nconn || S.njobs)
        sg_warn(NULL, "event=control-stop-timeout connections=%d operations=%d", S.nconn, S.njobs);
    pthread_mutex_unlock(&S.mu);
    S.started = false;
}
