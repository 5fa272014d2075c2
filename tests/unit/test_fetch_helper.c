/* test_fetch_helper.c - the parent's side of the fetch-helper protocol against a fake helper
 * on a socketpair (sg_fetch_helper_attach): several requests in flight at once, answers out of
 * order each reaching its own request, and a helper that breaks the protocol or goes away
 * failing every waiting request and being reported lost. Owner: src/keys. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "net/fetch_helper.h"
#include "net/fetch_int.h" /* sg_fetch_helper_request: the parent side under test */

#define N 3

static const int ports[] = {80};

typedef struct call {
    char url[64];
    int rc;
    char body[64];
    char err[128];
} call;

static void *requester(void *arg)
{
    call *c = arg;
    sg_fetch_limits lim = {.timeout_ms = 2000, .max_size = 64, .ports = ports, .nports = 1};
    uint8_t *out = NULL;
    size_t len = 0;
    c->rc = sg_fetch_helper_request(c->url, NULL, NULL, 0, &lim, &out, &len, c->err, sizeof c->err);
    if (c->rc == SG_FETCH_OK && len < sizeof c->body) {
        memcpy(c->body, out, len);
        c->body[len] = '\0';
    }
    free(out);
    return NULL;
}

/* One request frame from the parent: its id and URL (the other parts are skipped). */
static int read_req(int fd, uint64_t *id, char *url, size_t ulen)
{
    sg_fetch_req_hdr h;
    if (recv(fd, &h, sizeof h, MSG_WAITALL) != (ssize_t)sizeof h || h.url_len >= ulen ||
        recv(fd, url, h.url_len, MSG_WAITALL) != (ssize_t)h.url_len)
        return -1;
    url[h.url_len] = '\0';
    char skip[1024];
    size_t rest = h.ctype_len + h.ca_len + h.body_len;
    if (rest > sizeof skip || (rest && recv(fd, skip, rest, MSG_WAITALL) != (ssize_t)rest))
        return -1;
    *id = h.id;
    return 0;
}

static void answer(int fd, uint64_t id, int rc, const char *body, uint64_t claimed_len)
{
    sg_fetch_resp_hdr r = {.magic = SG_FETCH_MAGIC, .rc = rc, .id = id, .body_len = claimed_len};
    send(fd, &r, sizeof r, MSG_NOSIGNAL);
    send(fd, body, strlen(body), MSG_NOSIGNAL);
}

static void start_calls(pthread_t *t, call *c, int n)
{
    for (int i = 0; i < n; i++) {
        snprintf(c[i].url, sizeof c[i].url, "http://127.0.0.1/crl-%d", i);
        pthread_create(&t[i], NULL, requester, &c[i]);
    }
}

/* A fresh fake helper with one request read from it: 1 when that worked. */
static int one_request(int sv[2], pthread_t *t, call *c, uint64_t *id)
{
    char url[64];
    memset(c, 0, sizeof *c);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || sg_fetch_helper_attach(sv[0]) < 0)
        return 0;
    start_calls(t, c, 1);
    return read_req(sv[1], id, url, sizeof url) == 0;
}

int main(void)
{
    int sv[2];
    pthread_t t[N];
    call c[N];
    uint64_t ids[N];
    char urls[N][64];

    /* Out of order: three requests in flight, answered last first; each gets its own body. */
    memset(c, 0, sizeof c);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 && sg_fetch_helper_attach(sv[0]) == 0, "attach");
    start_calls(t, c, N);
    int got = 0;
    for (int i = 0; i < N; i++)
        got += read_req(sv[1], &ids[i], urls[i], sizeof urls[i]) == 0;
    CHECK(got == N, "all %d requests reach the helper before any is answered", N);
    for (int i = N - 1; i >= 0; i--)
        answer(sv[1], ids[i], SG_FETCH_OK, urls[i], strlen(urls[i]));
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    int own = 0;
    for (int i = 0; i < N; i++)
        own += c[i].rc == SG_FETCH_OK && strcmp(c[i].body, c[i].url) == 0;
    CHECK(own == N, "answers in reverse order: every request gets the answer to its own URL");
    CHECK(!sg_fetch_helper_lost(), "the helper is still usable");

    /* An answer over the request's own cap (64 bytes): the helper is broken, all fail. */
    memset(c, 0, sizeof c);
    start_calls(t, c, 2);
    got = read_req(sv[1], &ids[0], urls[0], sizeof urls[0]) == 0 && read_req(sv[1], &ids[1], urls[1], sizeof urls[1]) == 0;
    answer(sv[1], ids[0], SG_FETCH_OK, "x", 1u << 20);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK(got && c[0].rc == SG_FETCH_UNREACHABLE && c[1].rc == SG_FETCH_UNREACHABLE &&
              strstr(c[0].err, "fetch helper failed"),
          "a body over the request's cap fails every waiting request (%s)", c[0].err);
    CHECK(sg_fetch_helper_lost(), "and the helper is lost");
    call late = {.url = "http://127.0.0.1/late"};
    requester(&late);
    CHECK(late.rc == SG_FETCH_UNREACHABLE, "a lost helper is never asked again: %s", late.err);
    sg_fetch_helper_stop();
    close(sv[1]);

    /* An id nobody asked for is a protocol violation too. */
    got = one_request(sv, t, c, &ids[0]);
    answer(sv[1], ids[0] + 7, SG_FETCH_OK, "x", 1);
    pthread_join(t[0], NULL);
    CHECK(got && c[0].rc == SG_FETCH_UNREACHABLE && sg_fetch_helper_lost(), "an unknown id loses the helper");
    sg_fetch_helper_stop();
    close(sv[1]);

    /* The helper goes away while a request waits: it fails at once, and the loss is seen. */
    got = one_request(sv, t, c, &ids[0]);
    close(sv[1]);
    pthread_join(t[0], NULL);
    CHECK(got && c[0].rc == SG_FETCH_UNREACHABLE && sg_fetch_helper_lost(), "a helper that closes its end is lost");
    sg_fetch_helper_stop();

    /* The real helper process: killed, it is noticed without any request (waitpid). */
    char err[128];
    CHECK(sg_fetch_helper_start(NULL, NULL, err, sizeof err) == 0 && !sg_fetch_helper_lost(), "real helper started");
    pid_t pid = sg_fetch_helper_pid();
    kill(pid, SIGKILL);
    int lost = 0;
    for (int i = 0; i < 200 && !(lost = sg_fetch_helper_lost()); i++)
        usleep(10000);
    CHECK(lost, "a killed helper is reported lost");
    sg_fetch_helper_stop();
    return CHECK_DONE();
}
