/* test_dotstuff.c - the streaming dot-stuffing (src/smtp/dotstuff.c) and the client's
 * transaction from a piecewise reader (sg_client_transaction_from): whatever the pieces, the
 * bytes on the wire equal those of the whole-message algorithm the relay used before (kept
 * here as the reference), for every split of short inputs and for messages whose size crosses
 * each of the client's 64 KiB read boundaries with a dot, CR or LF on the boundary; a reader
 * that fails mid-message ends the session without the terminator. Owner: src/relay. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "lib/config.h"
#include "relay/client.h"
#include "smtp/dotstuff.h"

#define CHUNK (64u << 10) /* client.c's DATA_CHUNK */

/* The whole-buffer algorithm (before issue 11): a dot doubled after every LF and every bare
 * CR, then the missing line end and ".\r\n". */
static void reference(const char *d, size_t len, sg_buf *out)
{
    bool bol = true;
    for (size_t i = 0; i < len; i++) {
        if (bol && d[i] == '.')
            sg_buf_append(out, ".", 1);
        sg_buf_append(out, d + i, 1);
        bol = d[i] == '\n' || (d[i] == '\r' && (i + 1 == len || d[i + 1] != '\n'));
    }
    const char *tail = len == 0 || (len >= 2 && d[len - 2] == '\r' && d[len - 1] == '\n') ? ""
                       : d[len - 1] == '\r'                                               ? "\n"
                                                                                          : "\r\n";
    sg_buf_appendf(out, "%s.\r\n", tail);
}

/* Stuffs d in pieces cut at the offsets in cuts[] (ascending). */
static int stuffed_equal(const char *d, size_t len, const size_t *cuts, size_t ncuts)
{
    sg_buf a, b;
    sg_buf_init(&a, 4 * len + 16);
    sg_buf_init(&b, 4 * len + 16);
    reference(d, len, &a);
    sg_dotstuff s;
    sg_dotstuff_init(&s);
    size_t from = 0;
    int rc = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        rc |= sg_dotstuff_feed(&s, d + from, to - from, &b);
        from = to;
    }
    rc |= sg_dotstuff_end(&s, &b);
    int eq = rc == 0 && a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
    sg_buf_free(&a);
    sg_buf_free(&b);
    return eq;
}

typedef struct peer {
    int fd;
    sg_buf got;
} peer;

static void *drain(void *arg)
{
    peer *p = arg;
    char buf[1 << 16];
    ssize_t r;
    while ((r = read(p->fd, buf, sizeof buf)) > 0)
        sg_buf_append(&p->got, buf, (size_t)r);
    return NULL;
}

typedef struct src {
    const char *d;
    size_t fail_at; /* reads at or beyond this offset fail; SIZE_MAX: never */
} src;

static int read_src(void *ctx, size_t off, char *buf, size_t n)
{
    const src *s = ctx;
    if (off + n > s->fail_at) {
        errno = EIO;
        return -1;
    }
    memcpy(buf, s->d + off, n);
    return 0;
}

static sg_client_opts opts = {.next_hop = "hop.test:25",
                              .helo = "gw.test",
                              .tls_mode = SG_TLS_NONE,
                              .connect_timeout = 2,
                              .command_timeout = 5};

/* One pipelined transaction of d through the client; the peer's received bytes in *wire. */
static int transact(const char *d, size_t len, size_t fail_at, sg_buf *wire, sg_reply *rr)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return -1;
    sg_client c;
    sg_client_init(&c, &opts);
    c.fd = sv[0];
    c.ext = SG_EXT_PIPELINING;
    const char *replies = "250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n";
    if (write(sv[1], replies, strlen(replies)) != (ssize_t)strlen(replies))
        return -1;
    peer p = {.fd = sv[1]};
    sg_buf_init(&p.got, 8 * len + 4096);
    pthread_t t;
    pthread_create(&t, NULL, drain, &p);
    src s = {d, fail_at};
    sg_client_data cd = {.read = read_src, .ctx = &s, .len = len};
    const char *rcpt[] = {"<r@y.test>"};
    sg_client_transaction_from(&c, "<a@x.test>", rcpt, 1, &cd, false, rr);
    sg_client_close(&c); /* the peer sees the end */
    pthread_join(t, NULL);
    close(sv[1]);
    sg_client_free(&c);
    *wire = p.got;
    return 0;
}

static const char HEAD[] = "MAIL FROM:<a@x.test>\r\nRCPT TO:<r@y.test>\r\nDATA\r\n";

int main(void)
{
    /* every string of up to 6 bytes over {., CR, LF, a}, cut at every offset and byte by byte */
    static const char alpha[] = ".\r\na";
    int all = 1, bytewise = 1;
    char d[8];
    for (size_t len = 0; len <= 6; len++) {
        size_t total = 1;
        for (size_t i = 0; i < len; i++)
            total *= 4;
        for (size_t v = 0; v < total; v++) {
            size_t x = v;
            for (size_t i = 0; i < len; i++, x /= 4)
                d[i] = alpha[x % 4];
            for (size_t cut = 0; cut <= len; cut++)
                all &= stuffed_equal(d, len, &cut, 1);
            size_t cuts[8];
            for (size_t i = 0; i < len; i++)
                cuts[i] = i;
            bytewise &= stuffed_equal(d, len, cuts, len);
        }
    }
    CHECK(all, "short inputs: every split into two pieces stuffs as the whole message");
    CHECK(bytewise, "short inputs: one byte at a time stuffs as the whole message");

    /* sizes around each of the first three read boundaries, each with a line-start dot, a
     * bare CR and a CRLF straddling the boundary, through the client over a socketpair */
    static const char *edge[] = {"\r\n.", "\r.", "\n.", ".\r\n", "\r\n"};
    int wire_ok = 1, n = 0;
    for (unsigned k = 1; k <= 3; k++)
        for (int delta = -2; delta <= 2; delta++)
            for (size_t e = 0; e < sizeof edge / sizeof *edge; e++) {
                size_t len = k * CHUNK + (size_t)(long)delta, el = strlen(edge[e]);
                char *m = malloc(len);
                for (size_t i = 0; i < len; i++)
                    m[i] = i % 77 == 75 ? '\r' : i % 77 == 76 ? '\n' : i % 77 == 0 ? '.' : 'x';
                for (unsigned b = 1; b <= k; b++) { /* the edge sequence across each boundary */
                    size_t at = b * CHUNK - el / 2;
                    if (at + el <= len)
                        memcpy(m + at, edge[e], el);
                }
                sg_buf want, wire;
                sg_buf_init(&want, 4 * len);
                sg_buf_append(&want, HEAD, strlen(HEAD));
                reference(m, len, &want);
                sg_reply rr[1];
                transact(m, len, (size_t)-1, &wire, rr);
                int ok = wire.len == want.len && memcmp(wire.data, want.data, want.len) == 0 && rr[0].code == 250;
                wire_ok &= ok;
                n++;
                sg_buf_free(&want);
                sg_buf_free(&wire);
                free(m);
            }
    CHECK(wire_ok, "%d messages of 64 KiB x k + (-2..2) bytes: the wire carries the reference stuffing", n);

    /* a reader that fails at the second piece: no terminator, a local temporary failure */
    size_t len = 3 * CHUNK;
    char *m = malloc(len);
    memset(m, 'y', len);
    sg_buf wire;
    sg_reply rr[1];
    transact(m, len, CHUNK + 1, &wire, rr);
    int cut = wire.len < strlen(HEAD) + len && !memmem(wire.data ? wire.data : "", wire.len, "\r\n.\r\n", 5);
    CHECK(cut, "failed read: the hop never sees the end of data (%zu bytes sent)", wire.len);
    CHECK(rr[0].code == 451 && strcmp(rr[0].status, "4.3.0") == 0 && rr[0].local,
          "failed read: local 451 4.3.0 (%s)", rr[0].text);
    sg_buf_free(&wire);
    free(m);
    return CHECK_DONE();
}
