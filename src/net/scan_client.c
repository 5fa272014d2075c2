/* scan_client.c - one conversation with clamd, rspamd or spamd in this process (scan.h): connect,
 * send, read the whole answer within a cap and a timeout. Owner: src/net.
 * SECURITY: runs in the scan helper (and in the CLI's check-config), never in cryptd. It only
 * moves bytes: what the answer means is decided by the parsers in cryptd. Envelope strings that
 * would break a header line (CR, LF, control bytes) are not passed to rspamd or spamd. */
#include "net/scan.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready until the deadline. 0 ready, -1 timeout or error. */
static int wait_fd(int fd, short ev, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = ev};
        int r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
        if (r < 0 && errno == EINTR)
            continue;
        if (r > 0)
            return 0;
        if (r < 0)
            return -1;
    }
}

static int send_all(int fd, const void *buf, size_t len, long long deadline)
{
    const char *p = buf;
    while (len) {
        if (wait_fd(fd, POLLOUT, deadline) < 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Splits "HOST:PORT" (HOST may be "[v6]"). 0 or -1. */
static int split_host(const char *s, char *host, size_t hl, char *port, size_t pl)
{
    const char *c = strrchr(s, ':');
    if (!c || c == s || !c[1] || (size_t)(c - s) >= hl || strlen(c + 1) >= pl)
        return -1;
    const char *h = s;
    size_t n = (size_t)(c - s);
    if (*h == '[' && n >= 2 && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    memcpy(host, h, n);
    host[n] = '\0';
    snprintf(port, pl, "%s", c + 1);
    return 0;
}

/* Connects to "unix:PATH", "tcp:HOST:PORT" or "http://HOST:PORT[/]". The socket, or -1. */
static int connect_to(const char *addr, long long deadline, char *err, size_t errlen)
{
    if (strncmp(addr, "unix:", 5) == 0) {
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        if (strlen(addr + 5) >= sizeof un.sun_path || !addr[5]) {
            snprintf(err, errlen, "bad socket path in %s", addr);
            return -1;
        }
        memcpy(un.sun_path, addr + 5, strlen(addr + 5) + 1);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&un, sizeof un) < 0) {
            snprintf(err, errlen, "cannot connect to %s: %s", addr, strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        return fd;
    }
    char hp[300], host[256], port[16];
    const char *rest = strncmp(addr, "tcp:", 4) == 0 ? addr + 4 : strncmp(addr, "http://", 7) == 0 ? addr + 7 : NULL;
    if (!rest || strlen(rest) >= sizeof hp) {
        snprintf(err, errlen, "bad scanner address %s", addr);
        return -1;
    }
    snprintf(hp, sizeof hp, "%s", rest);
    size_t l = strlen(hp);
    if (l && hp[l - 1] == '/')
        hp[l - 1] = '\0';
    if (split_host(hp, host, sizeof host, port, sizeof port) < 0) {
        snprintf(err, errlen, "bad scanner address %s", addr);
        return -1;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai = NULL;
    int g = getaddrinfo(host, port, &hints, &ai);
    if (g != 0) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(g));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        int r = connect(fd, a->ai_addr, a->ai_addrlen);
        if (r < 0 && errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0) {
            int e = 0;
            socklen_t el = sizeof e;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
            r = e ? -1 : 0;
            errno = e ? e : ETIMEDOUT;
        } else if (r < 0 && errno == EINPROGRESS) {
            errno = ETIMEDOUT;
        }
        if (r < 0) {
            snprintf(err, errlen, "cannot connect to %s: %s", addr, strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    return fd;
}

/* Reads until EOF, or (nul_ends) the first NUL, within the cap. 0 or -1 with err. */
static int read_answer(int fd, bool nul_ends, long long deadline, char **out, size_t *outlen, char *err,
                       size_t errlen)
{
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    if (!b)
        return -1;
    for (;;) {
        if (wait_fd(fd, POLLIN, deadline) < 0) {
            snprintf(err, errlen, "no answer from the scanner in time");
            break;
        }
        if (n == cap) {
            if (cap >= SG_SCAN_MAX_ANSWER) {
                snprintf(err, errlen, "the scanner's answer is over %u bytes", SG_SCAN_MAX_ANSWER);
                break;
            }
            char *nb = realloc(b, cap * 2 + 1);
            if (!nb)
                break;
            b = nb;
            cap *= 2;
        }
        ssize_t r = recv(fd, b + n, cap - n, MSG_DONTWAIT);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r < 0) {
            snprintf(err, errlen, "reading the scanner's answer: %s", strerror(errno));
            break;
        }
        if (r == 0 || (nul_ends && memchr(b + n, '\0', (size_t)r))) {
            n += (size_t)r;
            b[n] = '\0';
            *out = b;
            *outlen = n;
            return 0;
        }
        n += (size_t)r;
    }
    free(b);
    return -1;
}

/* A header value fit for one HTTP header line. */
static bool header_safe(const char *v)
{
    if (!v || !*v || strlen(v) > SG_SCAN_MAX_ENV)
        return false;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 32 || *p == 127)
            return false;
    return true;
}

static int rspamd_head(char *h, size_t hl, int kind, const sg_scan_env *env, size_t len)
{
    if (kind == SG_SCAN_RSPAMD_PING)
        return snprintf(h, hl, "GET /ping HTTP/1.0\r\n\r\n");
    int n = snprintf(h, hl, "POST /checkv2 HTTP/1.0\r\nContent-Length: %zu\r\n", len);
    const char *names[] = {"From", "IP", "Helo"};
    const char *vals[] = {env ? env->from : NULL, env ? env->ip : NULL, env ? env->helo : NULL};
    for (int i = 0; i < 3; i++)
        if (header_safe(vals[i]) && n > 0 && (size_t)n < hl)
            n += snprintf(h + n, hl - (size_t)n, "%s: %s\r\n", names[i], vals[i]);
    for (size_t i = 0; env && i < env->nrcpt && i < SG_SCAN_MAX_RCPT; i++)
        if (header_safe(env->rcpts[i]) && n > 0 && (size_t)n < hl)
            n += snprintf(h + n, hl - (size_t)n, "Rcpt: %s\r\n", env->rcpts[i]);
    if (n > 0 && (size_t)n < hl)
        n += snprintf(h + n, hl - (size_t)n, "\r\n");
    return n;
}

/* spamd's request (SpamAssassin's spamc protocol 1.5): SYMBOLS asks for the score and the
 * rules that hit. spamd takes no envelope: it reads the path from the message's Received
 * lines (the MTA's before the gateway are there). */
static int spamd_head(char *h, size_t hl, int kind, size_t len)
{
    if (kind == SG_SCAN_SPAMD_PING)
        return snprintf(h, hl, "PING SPAMC/1.5\r\n\r\n");
    int n = snprintf(h, hl, "SYMBOLS SPAMC/1.5\r\nContent-length: %zu\r\nUser: sealgate\r\n", len);
    if (n > 0 && (size_t)n < hl)
        n += snprintf(h + n, hl - (size_t)n, "\r\n");
    return n;
}

int sg_scan_direct(int kind, const char *addr, const sg_scan_env *env, const uint8_t *data, size_t len,
                   int timeout_ms, char **out, size_t *outlen, char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    if (len > SG_SCAN_MAX_DATA) {
        snprintf(err, errlen, "data over the scan limit");
        return -1;
    }
    long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 30000);
    int fd = connect_to(addr, deadline, err, errlen);
    if (fd < 0)
        return -1;
    int rc = -1;
    if (kind == SG_SCAN_CLAMD_PING) {
        if (send_all(fd, "zPING", 6, deadline) == 0)
            rc = read_answer(fd, true, deadline, out, outlen, err, errlen);
    } else if (kind == SG_SCAN_CLAMD) {
        /* Chunks of at most SG_SCAN_CHUNK, each with its length in network order, then a
         * zero length. clamd closes the stream early when it passes StreamMaxLength and says
         * so: a failed send is followed by reading what it answered. */
        bool sent = send_all(fd, "zINSTREAM", 10, deadline) == 0;
        for (size_t off = 0; sent && off < len; off += SG_SCAN_CHUNK) {
            size_t n = len - off < SG_SCAN_CHUNK ? len - off : SG_SCAN_CHUNK;
            uint8_t l[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
            sent = send_all(fd, l, 4, deadline) == 0 && send_all(fd, data + off, n, deadline) == 0;
        }
        static const uint8_t end[4] = {0};
        if (sent)
            sent = send_all(fd, end, 4, deadline) == 0;
        rc = read_answer(fd, true, deadline, out, outlen, err, errlen);
        if (rc < 0 && !sent)
            snprintf(err, errlen, "sending to %s: %s", addr, strerror(errno));
    } else if (kind == SG_SCAN_RSPAMD || kind == SG_SCAN_RSPAMD_PING || kind == SG_SCAN_SPAMD ||
               kind == SG_SCAN_SPAMD_PING) {
        /* Both answer and close: the answer is what comes until the end of the stream. */
        char head[8192];
        bool ping = kind == SG_SCAN_RSPAMD_PING || kind == SG_SCAN_SPAMD_PING;
        int hn = kind == SG_SCAN_RSPAMD || kind == SG_SCAN_RSPAMD_PING ? rspamd_head(head, sizeof head, kind, env, len)
                                                                         : spamd_head(head, sizeof head, kind, len);
        if (hn > 0 && (size_t)hn < sizeof head && send_all(fd, head, (size_t)hn, deadline) == 0 &&
            (ping || send_all(fd, data, len, deadline) == 0))
            rc = read_answer(fd, false, deadline, out, outlen, err, errlen);
        else
            snprintf(err, errlen, "sending to %s: %s", addr, hn > 0 ? strerror(errno) : "request too long");
    } else {
        snprintf(err, errlen, "unknown scan kind");
    }
    close(fd);
    return rc;
}
