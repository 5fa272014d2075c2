/* fetch_helper.c - the revocation fetch helper process and the parent's side of its protocol
 * (see fetch_helper.h). Owner: src/net.
 * Protocol over a stream socketpair, one request at a time, native byte order (both ends are
 * the same binary): a request header (limits, lengths) then URL, content type, CA file and
 * body; a response header (status, lengths) then the error text and the body. Every length is
 * checked against a maximum on the side that reads it: the parent does not trust the helper
 * (it is the part that talks to the network) and caps the body at what it asked for.
 * Why a fork and not an exec: the role's binary and configuration are the parent's; a fork
 * taken before secrets are loaded carries nothing worth stealing, and needs no new role in
 * the master. */
#include "net/fetch_helper.h"
#include "net/fetch_int.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/privdrop.h"

#define MAGIC 0x53474631u /* "SGF1" */
#define MAX_URL 2048u
#define MAX_CTYPE 128u
#define MAX_CA 512u
#define MAX_REQ_BODY (64u * 1024)
#define MAX_ERR 512u
#define MAX_RESP (1ull << 30)

struct req_hdr {
    uint32_t magic, timeout_ms, nports, url_len, ctype_len, ca_len, body_len;
    int32_t ports[16];
    uint64_t max_size;
};

struct resp_hdr {
    uint32_t magic;
    int32_t rc;
    uint32_t err_len;
    uint64_t body_len;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int helper_fd = -1;
static pid_t helper_pid;
static int helper_dead;

/* Whole reads and writes; timeout_ms < 0: wait forever. 0 or -1. */
static int io_all(int fd, void *buf, size_t len, bool wr, int timeout_ms)
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

/* ---- the helper ---- */

static int serve_one(int fd)
{
    struct req_hdr h;
    if (io_all(fd, &h, sizeof h, false, -1) < 0)
        return -1; /* the parent closed: done */
    if (h.magic != MAGIC || h.url_len == 0 || h.url_len > MAX_URL || h.ctype_len > MAX_CTYPE ||
        h.ca_len > MAX_CA || h.body_len > MAX_REQ_BODY || h.nports > 16 || h.max_size > MAX_RESP)
        return -1;
    char url[MAX_URL + 1], ctype[MAX_CTYPE + 1], ca[MAX_CA + 1];
    static uint8_t body[MAX_REQ_BODY];
    if (io_all(fd, url, h.url_len, false, -1) < 0 || io_all(fd, ctype, h.ctype_len, false, -1) < 0 ||
        io_all(fd, ca, h.ca_len, false, -1) < 0 || io_all(fd, body, h.body_len, false, -1) < 0)
        return -1;
    url[h.url_len] = ctype[h.ctype_len] = ca[h.ca_len] = '\0';
    int ports[16];
    for (uint32_t i = 0; i < h.nports; i++)
        ports[i] = h.ports[i];
    sg_fetch_limits lim = {.timeout_ms = h.timeout_ms,
                           .max_size = (size_t)h.max_size,
                           .ports = ports,
                           .nports = (int)h.nports,
                           .ca_file = ca};
    uint8_t *out = NULL;
    size_t outlen = 0;
    char err[MAX_ERR] = "";
    int rc = sg_http_fetch_direct(url, h.ctype_len ? ctype : NULL, h.body_len ? body : NULL, h.body_len, &lim, &out,
                                  &outlen, err, sizeof err);
    struct resp_hdr r = {.magic = MAGIC, .rc = rc, .err_len = (uint32_t)strlen(err), .body_len = outlen};
    int w = io_all(fd, &r, sizeof r, true, -1) == 0 && io_all(fd, err, r.err_len, true, -1) == 0 &&
                    io_all(fd, out, outlen, true, -1) == 0
                ? 0
                : -1;
    free(out);
    return w;
}

static void helper_main(int fd, const char *user, const char *group)
{
    char err[256];
    /* Only the socket and stderr stay open: no spool, no store, no listening socket. */
    if (dup2(fd, 3) < 0)
        _exit(1);
    closefrom(4);
    signal(SIGPIPE, SIG_IGN);
    if (sg_priv_drop(user, group, err, sizeof err) < 0) {
        fprintf(stderr, "sealgate fetch helper: %s\n", err);
        _exit(1);
    }
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0); /* never outlive the parent */
    while (serve_one(3) == 0)
        ;
    _exit(0);
}

int sg_fetch_helper_start(const char *user, const char *group, char *err, size_t errlen)
{
    int sv[2];
    pthread_mutex_lock(&lock);
    if (helper_fd >= 0) {
        pthread_mutex_unlock(&lock);
        return 0;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(err, errlen, "socketpair: %s", strerror(errno));
        pthread_mutex_unlock(&lock);
        return -1;
    }
    fflush(NULL); /* no buffered output duplicated into the child */
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        pthread_mutex_unlock(&lock);
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        helper_main(sv[1], user ? user : "nobody", group ? group : "nogroup");
    }
    close(sv[1]);
    helper_fd = sv[0];
    helper_pid = pid;
    helper_dead = 0;
    pthread_mutex_unlock(&lock);
    return 0;
}

void sg_fetch_helper_stop(void)
{
    pthread_mutex_lock(&lock);
    if (helper_fd >= 0)
        close(helper_fd);
    if (helper_pid > 0)
        waitpid(helper_pid, NULL, 0);
    helper_fd = -1;
    helper_pid = 0;
    helper_dead = 0;
    pthread_mutex_unlock(&lock);
}

pid_t sg_fetch_helper_pid(void)
{
    return helper_pid;
}

int sg_fetch_helper_active(void)
{
    pthread_mutex_lock(&lock);
    int a = helper_fd >= 0 || helper_dead;
    pthread_mutex_unlock(&lock);
    return a;
}

/* ---- the parent's side ---- */

int sg_fetch_helper_request(const char *url, const char *content_type, const uint8_t *body, size_t blen,
                            const sg_fetch_limits *lim, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    size_t ul = strlen(url), cl = content_type ? strlen(content_type) : 0;
    size_t al = lim->ca_file ? strlen(lim->ca_file) : 0;
    if (ul > MAX_URL || cl > MAX_CTYPE || al > MAX_CA || blen > MAX_REQ_BODY || lim->nports > 16) {
        snprintf(err, errlen, "request over the fetch helper's limits");
        return SG_FETCH_REFUSED;
    }
    struct req_hdr h = {.magic = MAGIC,
                        .timeout_ms = (uint32_t)lim->timeout_ms,
                        .nports = (uint32_t)lim->nports,
                        .url_len = (uint32_t)ul,
                        .ctype_len = (uint32_t)cl,
                        .ca_len = (uint32_t)al,
                        .body_len = (uint32_t)blen,
                        .max_size = lim->max_size};
    for (int i = 0; i < lim->nports; i++)
        h.ports[i] = lim->ports[i];
    /* The helper's own timeout ends the transfer; ours only guards against a stuck helper. */
    int wait = (int)lim->timeout_ms + 5000;
    pthread_mutex_lock(&lock);
    int fd = helper_fd, rc = SG_FETCH_UNREACHABLE;
    struct resp_hdr r;
    uint8_t *buf = NULL;
    if (fd < 0) {
        snprintf(err, errlen, "fetch helper not running");
    } else if (io_all(fd, &h, sizeof h, true, wait) < 0 || io_all(fd, (void *)url, ul, true, wait) < 0 ||
               io_all(fd, (void *)content_type, cl, true, wait) < 0 ||
               io_all(fd, (void *)lim->ca_file, al, true, wait) < 0 || io_all(fd, (void *)body, blen, true, wait) < 0 ||
               io_all(fd, &r, sizeof r, false, wait) < 0 || r.magic != MAGIC || r.err_len >= MAX_ERR ||
               r.body_len > lim->max_size) {
        snprintf(err, errlen, "fetch helper failed (stopped)");
        close(helper_fd); /* out of step or gone: never reused, never replaced by an in-process fetch */
        helper_fd = -1;
        helper_dead = 1;
    } else {
        char e[MAX_ERR];
        buf = malloc(r.body_len ? r.body_len : 1);
        if (!buf || io_all(fd, e, r.err_len, false, wait) < 0 || io_all(fd, buf, r.body_len, false, wait) < 0) {
            snprintf(err, errlen, "fetch helper failed (stopped)");
            close(helper_fd);
            helper_fd = -1;
            helper_dead = 1;
            free(buf);
            buf = NULL;
        } else {
            e[r.err_len] = '\0';
            snprintf(err, errlen, "%s", e);
            rc = r.rc;
        }
    }
    pthread_mutex_unlock(&lock);
    if (rc == SG_FETCH_OK && buf) {
        *out = buf;
        *outlen = r.body_len;
    } else {
        free(buf);
        if (rc == SG_FETCH_OK)
            rc = SG_FETCH_UNREACHABLE;
    }
    return rc;
}
