/* fetch_helper.c - the revocation fetch helper process and the parent's side of its protocol
 * (see fetch_helper.h). Owner: src/net.
 * Protocol over a stream socketpair (fetch_helper.h): requests and answers carry an id, the
 * helper runs up to SG_FETCH_HELPER_POOL of them at once in threads and answers in any order,
 * and in the parent one reader thread hands each answer to the request it names, so a slow
 * server delays only the requests that wait for it. Every length is checked against a maximum
 * on the side that reads it: the parent does not trust the helper (it is the part that talks
 * to the network) and caps the body at what that request asked for; an answer that fits no
 * request makes the helper lost (every request fails, it is never asked again).
 * Why a fork and not an exec: the role's binary and configuration are the parent's; a fork
 * taken before secrets are loaded carries nothing worth stealing, and needs no new role in
 * the master. */
#include "net/fetch_helper.h"
#include "net/fetch_int.h"

#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/privdrop.h"
#include "net/ldap_search.h"
#include "net/netio.h"

#define MAX_URL 2048u
#define MAX_CTYPE 128u
#define MAX_CA 512u
#define MAX_CONNECT 2560u
#define MAX_REQ_BODY (64u * 1024)
#define MAX_ERR SG_FETCH_MAX_ERR
#define MAX_RESP (1ull << 30)

/* The parent's state. helper.lock guards the helper and everything below; wlock keeps one
 * request's bytes together on the socket (never held while waiting for an answer). */
typedef struct waiter {
    uint64_t id;
    size_t max;     /* the body cap this request asked for */
    bool done;
    int rc;
    char err[MAX_ERR];
    uint8_t *body;
    size_t len;
    struct waiter *next;
} waiter;
static sg_net_helper helper = SG_NET_HELPER_INIT("fetch helper");
static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t answered = PTHREAD_COND_INITIALIZER;
static bool reader_on;
static pthread_t reader;
static uint64_t next_id;
static waiter *waiting;


/* ---- the helper ---- */

typedef struct job {
    sg_fetch_req_hdr h;
    char url[MAX_URL + 1], ctype[MAX_CTYPE + 1], ca[MAX_CA + 1], connect[MAX_CONNECT + 1];
    uint8_t body[MAX_REQ_BODY];
} job;

/* The hand-over from the reading thread to the pool: one job at a time, so at most POOL
 * requests run and one waits; the rest stay unread in the socket (the parent's writes then
 * block, bounded by its timeout). */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *next;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL};
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER; /* one answer at a time */

/* One request from the parent; NULL when it closed or sent something out of limits. */
static job *read_job(int fd)
{
    job *j = malloc(sizeof *j);
    if (!j)
        return NULL;
    sg_fetch_req_hdr *h = &j->h;
    if (sg_net_io_all(fd, h, sizeof *h, false, -1) < 0 || h->magic != SG_FETCH_MAGIC || h->url_len == 0 ||
        h->url_len > MAX_URL || h->ctype_len > MAX_CTYPE || h->ca_len > MAX_CA || h->body_len > MAX_REQ_BODY ||
        h->nports > 16 || h->max_size > MAX_RESP || sg_net_io_all(fd, j->url, h->url_len, false, -1) < 0 ||
        sg_net_io_all(fd, j->ctype, h->ctype_len, false, -1) < 0 || sg_net_io_all(fd, j->ca, h->ca_len, false, -1) < 0 ||
        sg_net_io_all(fd, j->body, h->body_len, false, -1) < 0 || h->connect_len > MAX_CONNECT ||
        sg_net_io_all(fd, j->connect, h->connect_len, false, -1) < 0) {
        free(j);
        return NULL;
    }
    j->url[h->url_len] = j->ctype[h->ctype_len] = j->ca[h->ca_len] = j->connect[h->connect_len] = '\0';
    return j;
}

static void run_job(int fd, job *j)
{
    int ports[16];
    for (uint32_t i = 0; i < j->h.nports; i++)
        ports[i] = j->h.ports[i];
    sg_fetch_limits lim = {.timeout_ms = j->h.timeout_ms,
                           .max_size = (size_t)j->h.max_size,
                           .ports = ports,
                           .nports = (int)j->h.nports,
                           .ca_file = j->ca,
                           .flags = j->h.flags,
                           .connect_to = j->h.connect_len ? j->connect : NULL};
    uint8_t *out = NULL;
    size_t outlen = 0;
    char err[MAX_ERR] = "";
    int rc = j->h.flags & SG_FETCH_F_LDAP
                 ? sg_ldap_search_direct(j->url, j->body, j->h.body_len, lim.timeout_ms, lim.max_size, j->ca, &out,
                                         &outlen, err, sizeof err)
                 : sg_http_fetch_direct(j->url, j->h.ctype_len ? j->ctype : NULL, j->h.body_len ? j->body : NULL,
                                        j->h.body_len, &lim, &out, &outlen, err, sizeof err);
    if (j->h.flags & SG_FETCH_F_LDAP)
        explicit_bzero(j->body, j->h.body_len); /* the bind password */
    sg_fetch_resp_hdr r = {
        .magic = SG_FETCH_MAGIC, .rc = rc, .err_len = (uint32_t)strlen(err), .id = j->h.id, .body_len = outlen};
    pthread_mutex_lock(&out_mu);
    int w = sg_net_io_all(fd, &r, sizeof r, true, -1) == 0 && sg_net_io_all(fd, err, r.err_len, true, -1) == 0 &&
                    sg_net_io_all(fd, out, outlen, true, -1) == 0
                ? 0
                : -1;
    pthread_mutex_unlock(&out_mu);
    free(out);
    if (w < 0)
        _exit(0); /* the parent is gone */
}

static void *pool_worker(void *arg)
{
    int fd = (int)(intptr_t)arg;
    for (;;) {
        pthread_mutex_lock(&pool.mu);
        while (!pool.next)
            pthread_cond_wait(&pool.cv, &pool.mu);
        job *j = pool.next;
        pool.next = NULL;
        pthread_cond_broadcast(&pool.cv);
        pthread_mutex_unlock(&pool.mu);
        run_job(fd, j);
        free(j);
    }
    return NULL;
}

/* Reads requests and hands them to the pool until the parent closes its end. */
static void serve(int fd)
{
    for (int i = 0; i < SG_FETCH_HELPER_POOL; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, pool_worker, (void *)(intptr_t)fd) != 0)
            _exit(1);
        pthread_detach(t);
    }
    job *j;
    while ((j = read_job(fd))) {
        pthread_mutex_lock(&pool.mu);
        while (pool.next)
            pthread_cond_wait(&pool.cv, &pool.mu);
        pool.next = j;
        pthread_cond_broadcast(&pool.cv);
        pthread_mutex_unlock(&pool.mu);
    }
}

int sg_fetch_helper_start(const char *user, const char *group, char *err, size_t errlen)
{
    return sg_net_helper_start(&helper, user, group, serve, err, errlen);
}

int sg_fetch_helper_attach(int fd)
{
    int rc = sg_net_helper_attach(&helper, fd);
    pthread_mutex_lock(&helper.lock);
    if (rc == 0)
        next_id = 0;
    pthread_mutex_unlock(&helper.lock);
    return rc;
}

/* The helper is no longer usable: every waiting request fails, none is sent again. */
static void lost_locked(void)
{
    sg_net_helper_lose_locked(&helper);
    for (waiter *w = waiting; w; w = w->next)
        if (!w->done) {
            w->done = true;
            w->rc = SG_FETCH_UNREACHABLE;
            snprintf(w->err, sizeof w->err, "fetch helper failed (stopped)");
        }
    pthread_cond_broadcast(&answered);
}

void sg_fetch_helper_stop(void)
{
    pthread_mutex_lock(&helper.lock);
    if (helper.fd >= 0)
        shutdown(helper.fd, SHUT_RDWR); /* the reader's recv returns, the helper sees EOF */
    bool join = reader_on;
    reader_on = false;
    pthread_mutex_unlock(&helper.lock);
    if (join)
        pthread_join(reader, NULL);
    pthread_mutex_lock(&helper.lock);
    sg_net_helper_close_locked(&helper);
    pthread_mutex_unlock(&helper.lock);
}

pid_t sg_fetch_helper_pid(void)
{
    return sg_net_helper_pid(&helper);
}

int sg_fetch_helper_active(void)
{
    pthread_mutex_lock(&helper.lock);
    int a = helper.fd >= 0 || helper.dead;
    pthread_mutex_unlock(&helper.lock);
    return a;
}

int sg_fetch_helper_lost(void)
{
    pthread_mutex_lock(&helper.lock);
    if (sg_net_helper_exited_locked(&helper))
        lost_locked();
    int lost = helper.dead;
    pthread_mutex_unlock(&helper.lock);
    return lost;
}

/* ---- the parent's side ---- */

static waiter *find_locked(uint64_t id)
{
    for (waiter *w = waiting; w; w = w->next)
        if (w->id == id && !w->done)
            return w;
    return NULL;
}

/* Reads the helper's answers and hands each to the request it names. Anything that does not
 * fit (an id nobody waits for, lengths over the request's own caps, a short read) means the
 * helper is broken or gone: every request fails, the helper is not used again. */
static void *reader_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    for (;;) {
        sg_fetch_resp_hdr r;
        if (sg_net_io_all(fd, &r, sizeof r, false, -1) < 0)
            break;
        pthread_mutex_lock(&helper.lock);
        waiter *w = find_locked(r.id);
        size_t max = w ? w->max : 0;
        pthread_mutex_unlock(&helper.lock);
        if (!w || r.magic != SG_FETCH_MAGIC || r.err_len >= MAX_ERR || r.body_len > max)
            break;
        char e[MAX_ERR];
        uint8_t *buf = malloc(r.body_len ? r.body_len : 1);
        if (!buf || sg_net_io_all(fd, e, r.err_len, false, -1) < 0 || sg_net_io_all(fd, buf, r.body_len, false, -1) < 0) {
            free(buf);
            break;
        }
        e[r.err_len] = '\0';
        pthread_mutex_lock(&helper.lock);
        if ((w = find_locked(r.id))) {
            w->done = true;
            w->rc = r.rc;
            snprintf(w->err, sizeof w->err, "%s", e);
            w->body = buf;
            w->len = r.body_len;
            pthread_cond_broadcast(&answered);
        } else {
            free(buf);
        }
        pthread_mutex_unlock(&helper.lock);
    }
    pthread_mutex_lock(&helper.lock);
    lost_locked();
    pthread_mutex_unlock(&helper.lock);
    return NULL;
}

/* Started by the first request (after the caller's privilege drop and no_new_privs, which a
 * thread inherits), with every signal blocked: signals are the role's main thread's. */
static int reader_start_locked(void)
{
    if (reader_on)
        return 0;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&reader, NULL, reader_main, (void *)(intptr_t)helper.fd);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -1;
    reader_on = true;
    return 0;
}

static void unlink_locked(waiter *me)
{
    for (waiter **p = &waiting; *p; p = &(*p)->next)
        if (*p == me) {
            *p = me->next;
            break;
        }
}

int sg_fetch_helper_request(const char *url, const char *content_type, const uint8_t *body, size_t blen,
                            const sg_fetch_limits *lim, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    size_t ul = strlen(url), cl = content_type ? strlen(content_type) : 0;
    size_t al = lim->ca_file ? strlen(lim->ca_file) : 0, tl = lim->connect_to ? strlen(lim->connect_to) : 0;
    if (ul > MAX_URL || cl > MAX_CTYPE || al > MAX_CA || blen > MAX_REQ_BODY || lim->nports > 16 ||
        tl > MAX_CONNECT) {
        snprintf(err, errlen, "request over the fetch helper's limits");
        return SG_FETCH_REFUSED;
    }
    sg_fetch_req_hdr h = {.magic = SG_FETCH_MAGIC,
                          .timeout_ms = (uint32_t)lim->timeout_ms,
                          .nports = (uint32_t)lim->nports,
                          .url_len = (uint32_t)ul,
                          .ctype_len = (uint32_t)cl,
                          .ca_len = (uint32_t)al,
                          .body_len = (uint32_t)blen,
                          .flags = lim->flags,
                          .connect_len = (uint32_t)tl,
                          .max_size = lim->max_size};
    for (int i = 0; i < lim->nports; i++)
        h.ports[i] = lim->ports[i];
    waiter me = {.max = lim->max_size};
    /* The helper's own timeout ends the transfer; ours only guards against a stuck helper,
     * and counts from now: a request may first wait for a free place in the pool. */
    long guard = lim->timeout_ms * (1 + (long)SG_FETCH_HELPER_POOL) + 5000;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += guard / 1000;
    until.tv_nsec += (guard % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&helper.lock);
    int fd = helper.fd;
    if (fd < 0 || helper.dead || reader_start_locked() < 0) {
        pthread_mutex_unlock(&helper.lock);
        snprintf(err, errlen, "fetch helper not running");
        return SG_FETCH_UNREACHABLE;
    }
    me.id = ++next_id;
    h.id = me.id;
    me.next = waiting;
    waiting = &me;
    pthread_mutex_unlock(&helper.lock);

    pthread_mutex_lock(&wlock);
    int wait_ms = (int)(guard > INT32_MAX ? INT32_MAX : guard);
    int sent = sg_net_io_all(fd, &h, sizeof h, true, wait_ms) == 0 && sg_net_io_all(fd, (void *)url, ul, true, wait_ms) == 0 &&
               sg_net_io_all(fd, (void *)content_type, cl, true, wait_ms) == 0 &&
               sg_net_io_all(fd, (void *)lim->ca_file, al, true, wait_ms) == 0 &&
               sg_net_io_all(fd, (void *)body, blen, true, wait_ms) == 0 &&
               sg_net_io_all(fd, (void *)lim->connect_to, tl, true, wait_ms) == 0;
    pthread_mutex_unlock(&wlock);

    pthread_mutex_lock(&helper.lock);
    if (!sent)
        lost_locked(); /* out of step or gone: never reused, never replaced by an in-process fetch */
    while (!me.done)
        if (pthread_cond_clockwait(&answered, &helper.lock, CLOCK_MONOTONIC, &until) == ETIMEDOUT && !me.done)
            lost_locked(); /* no answer within every timeout: a stuck helper */
    unlink_locked(&me);
    pthread_mutex_unlock(&helper.lock);
    snprintf(err, errlen, "%s", me.err);
    if (me.rc == SG_FETCH_OK && me.body) {
        *out = me.body;
        *outlen = me.len;
        return SG_FETCH_OK;
    }
    free(me.body);
    return me.rc == SG_FETCH_OK ? SG_FETCH_UNREACHABLE : me.rc;
}
