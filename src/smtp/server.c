/* server.c - SMTP server connections: accept with session limits, timeouts, shutdown, and the
 * lifetime of sessions. The protocol itself is in session.c. Owner: src/smtp.
 * Timeouts are checked by one timer per server (once a second) instead of one timer per
 * session, so 1,000 idle sessions cost one bufferevent and one small struct each. */
#include <errno.h>
#include <grp.h>
#include <sys/stat.h>
#include <signal.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "smtp/session_int.h"

/* How long a closing session may take to get its last reply out (stalled TLS handshake, a peer
 * that does not read). */
#define CLOSE_GRACE_MS 10000

long long sg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Refuses a connection over a limit without allocating a session: one write, then close. */
static void refuse(sg_smtp_server *srv, int fd, const char *ip, const char *why)
{
    char msg[300];
    int n = snprintf(msg, sizeof msg, "421 4.7.0 %s Error: too many connections\r\n", srv->cfg->hostname);
    ssize_t w = send(fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)w;
    close(fd);
    sg_info(NULL, "event=refuse reason=%s client=%s", why, ip);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    (void)l;
    sg_smtp_server *srv = arg;
    const sg_config *cfg = srv->cfg;
    char ip[64];
    sg_sockaddr_ntop(sa, ip, sizeof ip);
    if (srv->stopping) {
        close(fd);
        return;
    }
    if (srv->nsessions >= cfg->smtpd.max_sessions)
        return refuse(srv, fd, ip, "max_sessions");
    int same = 0;
    for (sg_session *o = srv->head; o; o = o->next)
        if (!o->dead && strcmp(o->ip, ip) == 0)
            same++;
    if (same >= cfg->smtpd.max_sessions_per_ip)
        return refuse(srv, fd, ip, "max_sessions_per_ip");

    sg_session *s = calloc(1, sizeof *s);
    if (!s) {
        close(fd);
        return;
    }
    s->srv = srv;
    s->fd = fd;
    memcpy(&s->sa, sa, (size_t)salen < sizeof s->sa ? (size_t)salen : sizeof s->sa);
    snprintf(s->ip, sizeof s->ip, "%s", ip);
    s->relay_ok = sg_config_client_allowed(cfg, sa);
    s->start = s->last = sg_now_ms();
    evutil_make_socket_nonblocking(fd);
    /* No BEV_OPT_CLOSE_ON_FREE: STARTTLS replaces the bufferevent but keeps the socket. */
    s->bev = bufferevent_socket_new(srv->base, fd, 0);
    if (!s->bev) {
        close(fd);
        free(s);
        return;
    }
    s->next = srv->head;
    if (srv->head)
        srv->head->prev = s;
    srv->head = s;
    srv->nsessions++;
    bufferevent_setcb(s->bev, sg_session_readcb, sg_session_writecb, sg_session_eventcb, s);
    /* Bounded input: a client cannot make us buffer more than this between our reads. */
    bufferevent_setwatermark(s->bev, EV_READ, 0, 256 * 1024);
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
    sg_info(NULL, "event=connect client=%s relay=%s", ip, s->relay_ok ? "yes" : "no");
    sg_session_greet(s);
}

void sg_session_close(sg_session *s)
{
    if (!s->bev) {
        sg_session_free(s);
        return;
    }
    if (!s->closing)
        s->closing_at = sg_now_ms();
    s->closing = true;
    bufferevent_disable(s->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
        sg_session_free(s);
    /* else sg_session_writecb frees it when the last reply is written */
}

void sg_session_free(sg_session *s)
{
    if (s->bev) {
        bufferevent_free(s->bev);
        s->bev = NULL;
    }
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    if (s->commit_pending) {
        /* The backend still holds our transaction; the done callback finishes the free. */
        s->dead = true;
        return;
    }
    sg_session_reset_txn(s);
    sg_smtp_server *srv = s->srv;
    if (s->prev)
        s->prev->next = s->next;
    else
        srv->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    srv->nsessions--;
    sg_info(NULL, "event=disconnect client=%s", s->ip);
    free(s->helo);
    free(s->bdat_reply);
    free(s);
    if (srv->stopping && srv->nsessions == 0)
        event_base_loopexit(srv->base, NULL);
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sg_smtp_server *srv = arg;
    const sg_config *cfg = srv->cfg;
    long long now = sg_now_ms();
    sg_session *next;
    for (sg_session *s = srv->head; s; s = next) {
        next = s->next;
        if (s->closing && !s->dead && now - s->closing_at >= CLOSE_GRACE_MS) {
            sg_session_free(s); /* the last reply could not be delivered: give up */
            continue;
        }
        if (s->dead || s->closing || s->commit_pending)
            continue;
        bool total = now - s->start >= cfg->smtpd.session_timeout * 1000LL;
        bool idle = now - s->last >= cfg->smtpd.idle_timeout * 1000LL;
        if (!total && !idle)
            continue;
        sg_info(s->txn ? s->txn->env.id : NULL, "event=timeout kind=%s client=%s", total ? "session" : "idle",
                s->ip);
        sg_session_reset_txn(s);
        if (s->state == SS_TLS_WAIT)
            sg_session_free(s);
        else
            sg_reply_close(s, "421 4.4.2 %s Error: timeout exceeded", cfg->hostname);
    }
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sg_smtp_server *srv = arg;
    if (srv->lst)
        evconnlistener_enable(srv->lst);
}

/* accept() failed, typically EMFILE: the socket stays readable, so without a pause the loop
 * would spin on it. Stop accepting for a second; existing sessions go on. */
static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    sg_smtp_server *srv = arg;
    int err = EVUTIL_SOCKET_ERROR();
    sg_warn(NULL, "event=accept-failed error=\"%s\" action=pause", evutil_socket_error_to_string(err));
    evconnlistener_disable(l);
    struct timeval one = {1, 0};
    event_add(srv->resume, &one);
}

sg_smtp_server *sg_smtp_server_new(struct event_base *base, const sg_config *cfg, int listen_fd, SSL_CTX *tls,
                                   const sg_smtp_backend *be)
{
    sg_smtp_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return NULL;
    srv->base = base;
    srv->cfg = cfg;
    srv->tls = tls;
    srv->be = be;
    srv->lst = evconnlistener_new(base, accept_cb, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
                                  listen_fd);
    srv->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, srv);
    srv->resume = evtimer_new(base, resume_cb, srv);
    struct timeval one = {1, 0};
    if (!srv->lst || !srv->sweep || !srv->resume || event_add(srv->sweep, &one) < 0) {
        sg_smtp_server_free(srv);
        return NULL;
    }
    evconnlistener_set_error_cb(srv->lst, accept_error_cb);
    return srv;
}

void sg_smtp_server_shutdown(sg_smtp_server *srv)
{
    if (srv->stopping)
        return;
    srv->stopping = true;
    if (srv->lst) {
        evconnlistener_free(srv->lst);
        srv->lst = NULL;
    }
    sg_session *next;
    for (sg_session *s = srv->head; s; s = next) {
        next = s->next;
        if (s->dead || s->closing)
            continue;
        if (s->commit_pending) {
            s->stop_after_commit = true; /* answer the message first, then say goodbye */
            continue;
        }
        sg_session_reset_txn(s); /* unacknowledged: simply discarded */
        if (s->state == SS_TLS_WAIT)
            sg_session_free(s);
        else
            sg_reply_close(s, "421 4.3.2 %s Service shutting down", srv->cfg->hostname);
    }
    if (srv->nsessions == 0)
        event_base_loopexit(srv->base, NULL);
}

void sg_smtp_server_free(sg_smtp_server *srv)
{
    if (!srv)
        return;
    while (srv->head) {
        sg_session *s = srv->head;
        s->commit_pending = false; /* the loop is gone: nobody will call back any more */
        sg_session_free(s);
    }
    if (srv->lst)
        evconnlistener_free(srv->lst);
    if (srv->sweep)
        event_free(srv->sweep);
    if (srv->resume)
        event_free(srv->resume);
    free(srv);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    sg_info(NULL, "event=signal signal=%d action=shutdown", (int)sig);
    sg_smtp_server_shutdown(arg);
}

int sg_smtp_serve(struct event_base *base, const sg_config *cfg, int listen_fd, SSL_CTX *tls,
                  const sg_smtp_backend *be)
{
    signal(SIGPIPE, SIG_IGN);
    sg_smtp_server *srv = sg_smtp_server_new(base, cfg, listen_fd, tls, be);
    if (!srv) {
        sg_error(NULL, "event=start-failed reason=server");
        return -1;
    }
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
    struct event *ev[3] = {0};
    for (int i = 0; i < 3; i++) {
        ev[i] = evsignal_new(base, sigs[i], signal_cb, srv);
        if (ev[i])
            event_add(ev[i], NULL);
    }
    event_base_dispatch(base);
    for (int i = 0; i < 3; i++)
        if (ev[i])
            event_free(ev[i]);
    sg_smtp_server_free(srv);
    return 0;
}

int sg_smtp_listen(const char *endpoint, int listen_fd)
{
    if (listen_fd >= 0)
        return listen_fd;
    int fd = sg_listen_tcp(endpoint, 1024);
    if (fd < 0)
        sg_error(NULL, "event=listen-failed listen=%s error=\"%s\"", endpoint, strerror(errno));
    else
        sg_info(NULL, "event=listening listen=%s", endpoint);
    return fd;
}

int sg_smtp_group_access(const char *dir, const char *group, bool writable)
{
    if (geteuid() != 0)
        return 0;
    struct group *gr = getgrnam(group);
    struct stat st;
    if (!gr) {
        errno = ENOENT;
        return -1;
    }
    if (stat(dir, &st) < 0 || chown(dir, (uid_t)-1, gr->gr_gid) < 0)
        return -1;
    return chmod(dir, (st.st_mode & 07777) | (writable ? 0070 : 0050));
}
