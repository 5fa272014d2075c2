/* fuzz_relay_client.c - libFuzzer target for the relay's SMTP client: the fuzzer plays the next
 * hop. Its bytes are everything the "server" says (greeting, EHLO reply, replies to the
 * transaction); the client runs the session start and one pipelined or plain transaction over a
 * socketpair. Reply parsing, multi-line joining, EHLO keyword and SIZE parsing, enhanced status
 * codes and per-recipient settlement all see hostile input. Owner: src/relay. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/config.h"
#include "relay/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    int sv[2];
    if (len > 60000 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return 0;
    /* The whole script is in the client's receive buffer before it starts; EOF after it. */
    if (write(sv[1], buf, len) != (ssize_t)len) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    shutdown(sv[1], SHUT_WR);
    sg_client_opts o = {.next_hop = "fuzz:25",
                        .helo = "fuzz.test",
                        .tls_mode = SG_TLS_NONE,
                        .connect_timeout = 1,
                        .command_timeout = 1};
    sg_client c;
    sg_client_init(&c, &o);
    c.fd = sv[0];
    sg_reply why;
    if (sg_client_session_start(&c, &why) == 0) {
        const char *rcpt[] = {"<a@demo.test>", "<b@demo.test> NOTIFY=FAILURE"};
        sg_reply rr[2];
        static const char msg[] = "Subject: x\r\n\r\n.dot\r\nbody\r\n";
        sg_client_transaction(&c, "<s@example.org>", rcpt, 2, msg, sizeof msg - 1, false, rr);
        for (int i = 0; i < 2; i++)
            if (rr[i].code < 0 || rr[i].code > 999 || strlen(rr[i].text) >= sizeof rr[i].text)
                abort();
    }
    sg_client_close(&c);
    sg_client_free(&c);
    close(sv[1]);
    return 0;
}
