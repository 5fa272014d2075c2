/* fuzz_fetch_helper.c - arbitrary bytes as the fetch helper's answers, read by the parent's
 * side of the protocol (src/keys/fetch_helper.c: the reader thread that hands answers to the
 * requests waiting for them). Two requests are in flight (ids 1 and 2, 64-byte cap); the
 * input follows them on the socket, then the helper's end closes. Owner: src/keys.
 * Whatever arrives, each request ends with its own answer or a failure, within its cap. */
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/fetch_helper.h"
#include "net/fetch_int.h" /* sg_fetch_helper_request: the parent side under test */

static const int ports[] = {80};

typedef struct call {
    const char *url;
    int rc;
    size_t len;
} call;

static void *requester(void *arg)
{
    call *c = arg;
    sg_fetch_limits lim = {.timeout_ms = 1000, .max_size = 64, .ports = ports, .nports = 1};
    uint8_t *out = NULL;
    char err[128];
    c->rc = sg_fetch_helper_request(c->url, NULL, NULL, 0, &lim, &out, &c->len, err, sizeof err);
    if (c->rc == SG_FETCH_OK && (!out || c->len > 64))
        abort(); /* an answer past the request's own cap must never be handed out */
    free(out);
    return NULL;
}

/* Drains one request frame, so both requests are registered before the answers come. */
static int drain(int fd)
{
    sg_fetch_req_hdr h;
    char skip[4096];
    if (recv(fd, &h, sizeof h, MSG_WAITALL) != (ssize_t)sizeof h)
        return -1;
    size_t rest = (size_t)h.url_len + h.ctype_len + h.ca_len + h.body_len;
    return rest <= sizeof skip && recv(fd, skip, rest, MSG_WAITALL) == (ssize_t)rest ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || sg_fetch_helper_attach(sv[0]) < 0)
        abort();
    call c[2] = {{.url = "http://127.0.0.1/a"}, {.url = "http://127.0.0.1/b"}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, requester, &c[i]);
    if (drain(sv[1]) == 0 && drain(sv[1]) == 0) {
        /* Written until done or the reader stops reading (it gave the helper up). */
        size_t off = 0;
        while (off < size) {
            ssize_t n = send(sv[1], data + off, size - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                off += (size_t)n;
                continue;
            }
            struct pollfd p = {.fd = sv[1], .events = POLLOUT};
            if (poll(&p, 1, 200) <= 0 || (p.revents & (POLLERR | POLLHUP)))
                break;
        }
    }
    shutdown(sv[1], SHUT_RDWR);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    sg_fetch_helper_stop();
    close(sv[1]);
    return 0;
}
