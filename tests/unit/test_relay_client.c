/* test_relay_client.c - the relay's SMTP client (src/relay/client.c) against a scripted peer on
 * a socketpair: the exact bytes of a pipelined and a non-pipelined transaction, dot-stuffing
 * (also after a bare LF, against SMTP smuggling), reply parsing (multi-line, enhanced status
 * codes), per-recipient outcomes, BDAT, and a peer that hangs up. Owner: src/relay. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "lib/config.h"
#include "relay/client.h"

static sg_client_opts opts = {.next_hop = "hop.test:25",
                              .helo = "gw.test",
                              .tls_mode = SG_TLS_NONE,
                              .connect_timeout = 2,
                              .command_timeout = 2};

/* A client connected to a peer that has already "said" replies. Returns the peer's fd. */
static int setup(sg_client *c, unsigned ext, const char *replies)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return -1;
    static int inited;
    if (inited++)
        sg_client_free(c); /* the previous case's buffers */
    sg_client_init(c, &opts);
    c->fd = sv[0];
    c->ext = ext;
    if (write(sv[1], replies, strlen(replies)) != (ssize_t)strlen(replies))
        return -1;
    return sv[1];
}

/* Everything the client wrote (the client side must be closed or idle). */
static char *drain(int peer, size_t *len)
{
    static char buf[1 << 16];
    shutdown(peer, SHUT_WR);
    size_t n = 0;
    ssize_t r;
    struct timeval tv = {.tv_sec = 1};
    setsockopt(peer, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (n < sizeof buf - 1 && (r = read(peer, buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    *len = n;
    return buf;
}

int main(void)
{
    sg_client c;
    sg_reply rr[3];
    size_t len;
    const char *rcpt[] = {"<x@y.test> NOTIFY=FAILURE", "<z@y.test>", "<w@y.test>"};

    /* pipelined: MAIL, RCPTs and DATA in one go; one recipient refused */
    int peer = setup(&c, SG_EXT_PIPELINING,
                     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550-5.1.1 no such\r\n550 5.1.1 user here\r\n"
                     "250 Ok\r\n354 go\r\n250 2.0.0 queued as X\r\n");
    static const char data[] = "Subject: s\r\n\r\n.dot\r\nbare\n.\r\nMAIL FROM:<evil>\r\ncr\r.\r\nend";
    int rc = sg_client_transaction(&c, "<a@x.test> SIZE=10", rcpt, 3, data, sizeof data - 1, false, rr);
    CHECK(rc == 0, "pipelined transaction completes, connection kept");
    sg_client_close(&c);
    char *out = drain(peer, &len);
    CHECK(strcmp(out,
                 "MAIL FROM:<a@x.test> SIZE=10\r\nRCPT TO:<x@y.test> NOTIFY=FAILURE\r\n"
                 "RCPT TO:<z@y.test>\r\nRCPT TO:<w@y.test>\r\nDATA\r\n"
                 "Subject: s\r\n\r\n..dot\r\nbare\n..\r\nMAIL FROM:<evil>\r\ncr\r..\r\nend\r\n.\r\n") == 0,
          "exact bytes: pipelined commands, dot-stuffing (also after bare LF and bare CR), CRLF added");
    CHECK(rr[0].code == 250 && strcmp(rr[0].status, "2.0.0") == 0 &&
              strcmp(rr[0].text, "250 2.0.0 queued as X") == 0,
          "accepted recipient gets the final reply");
    CHECK(rr[1].code == 550 && strcmp(rr[1].status, "5.1.1") == 0 &&
              strcmp(rr[1].text, "550 5.1.1 no such 5.1.1 user here") == 0 && !rr[1].local,
          "refused recipient keeps its multi-line RCPT reply");
    CHECK(rr[2].code == 250, "third recipient delivered");
    close(peer);

    /* not pipelined: one command per reply; nobody accepted -> no DATA, RSET */
    peer = setup(&c, 0, "250 Ok\r\n450 4.2.0 busy\r\n250 2.0.0 reset\r\n");
    rc = sg_client_transaction(&c, "<a@x.test>", rcpt + 1, 1, data, sizeof data - 1, false, rr);
    CHECK(rc == 0 && rr[0].code == 450 && strcmp(rr[0].status, "4.2.0") == 0, "450 at RCPT is the outcome");
    sg_client_close(&c);
    out = drain(peer, &len);
    CHECK(strcmp(out, "MAIL FROM:<a@x.test>\r\nRCPT TO:<z@y.test>\r\nRSET\r\n") == 0,
          "no DATA without an accepted recipient; RSET after");
    close(peer);

    /* MAIL refused: every recipient gets that reply */
    peer = setup(&c, 0, "553 5.1.8 bad sender\r\n250 Ok\r\n");
    rc = sg_client_transaction(&c, "<a@x.test>", rcpt, 2, data, sizeof data - 1, false, rr);
    CHECK(rc == 0 && rr[0].code == 553 && rr[1].code == 553 && strcmp(rr[1].status, "5.1.8") == 0,
          "MAIL refusal applies to all recipients");
    sg_client_close(&c);
    close(peer);

    /* BDAT: the bytes as they are, no stuffing, no terminator */
    peer = setup(&c, SG_EXT_PIPELINING | SG_EXT_CHUNKING | SG_EXT_BINARYMIME,
                 "250 Ok\r\n250 Ok\r\n250 2.0.0 got it\r\n");
    static const char bin[] = "A\r\n.\r\n\0\xff";
    rc = sg_client_transaction(&c, "<a@x.test> BODY=BINARYMIME", rcpt + 1, 1, bin, sizeof bin - 1, true, rr);
    sg_client_close(&c);
    out = drain(peer, &len);
    static const char want[] = "MAIL FROM:<a@x.test> BODY=BINARYMIME\r\nRCPT TO:<z@y.test>\r\nBDAT 8 LAST\r\n"
                               "A\r\n.\r\n\0\xff";
    CHECK(rc == 0 && rr[0].code == 250 && len == sizeof want - 1 && memcmp(out, want, len) == 0,
          "BDAT sends the exact bytes with LAST");
    close(peer);

    /* peer hangs up after RCPT: accepted recipients become temporary failures */
    peer = setup(&c, 0, "250 Ok\r\n250 Ok\r\n");
    shutdown(peer, SHUT_WR);
    rc = sg_client_transaction(&c, "<a@x.test>", rcpt + 1, 1, data, sizeof data - 1, false, rr);
    CHECK(rc == -1 && c.fd == -1 && rr[0].code == 451 && rr[0].local && strstr(rr[0].text, "after DATA"),
          "connection lost: 451 local, connection closed (%s)", rr[0].text);
    close(peer);

    /* malformed reply is a protocol failure, not a success */
    peer = setup(&c, 0, "2x0 what\r\n");
    rc = sg_client_transaction(&c, "<a@x.test>", rcpt + 1, 1, data, sizeof data - 1, false, rr);
    CHECK(rc == -1 && rr[0].code == 451, "malformed reply: temporary failure");
    close(peer);

    /* empty data: just the terminator */
    peer = setup(&c, 0, "250 Ok\r\n250 Ok\r\n354 go\r\n250 Ok\r\n");
    rc = sg_client_transaction(&c, "<>", rcpt + 1, 1, "", 0, false, rr);
    sg_client_close(&c);
    out = drain(peer, &len);
    CHECK(rc == 0 && strcmp(out, "MAIL FROM:<>\r\nRCPT TO:<z@y.test>\r\nDATA\r\n.\r\n") == 0, "empty data");
    close(peer);
    sg_client_free(&c);
    return CHECK_DONE();
}
