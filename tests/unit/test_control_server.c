/* test_control_server.c - cryptd's control socket server (cryptd/control.h) with a dispatcher
 * of its own: answers on one connection in turn, at most SG_CTL_MAX_OPS operations at once
 * under load from several clients, a bad frame closing only its own connection, an operation
 * over the time limit answered "timeout" while its slot stays taken until it ends, and a stop
 * that waits for running operations. Owner: src/cryptd (issue 18). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "cryptd/control.h"
#include "lib/control_client.h"

static atomic_int running, max_running, finished;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* "echo" answers its args; "sleep" holds a slot for args' milliseconds first. */
static void dispatch(void *ctx, const sg_ctl_peer *peer, const sg_ctl_msg *req, sg_ctl_msg *reply)
{
    (void)ctx;
    int now = atomic_fetch_add(&running, 1) + 1;
    int seen = atomic_load(&max_running);
    while (now > seen && !atomic_compare_exchange_weak(&max_running, &seen, now))
        ;
    if (!strcmp(req->op, "sleep"))
        sleep_ms(atoi(req->args));
    if (!strcmp(req->op, "echo") || !strcmp(req->op, "sleep"))
        *reply = (sg_ctl_msg){.type = SG_CTL_RESULT, .result = strdup(peer->local_admin ? req->args : "web")};
    else
        sg_ctl_reply_error(reply, req, "not_found", "no %s", req->op);
    atomic_fetch_sub(&running, 1);
    atomic_fetch_add(&finished, 1);
}

static char sock[256];

static int call(int fd, const char *op, const char *args, sg_ctl_answer *a)
{
    sg_ctl_request r = {.op = op, .actor = "tester", .args = args};
    return fd >= 0 ? sg_ctl_call_fd(fd, &r, a, 10000) : sg_ctl_call(sock, &r, a, 10000);
}

static atomic_int ok_answers;
static void *sleeper(void *arg)
{
    (void)arg;
    sg_ctl_answer a;
    if (call(-1, "sleep", "150", &a) == SG_CTL_OK && !strcmp(a.result, "150"))
        atomic_fetch_add(&ok_answers, 1);
    sg_ctl_answer_free(&a);
    return NULL;
}

int main(void)
{
    char dir[] = "/tmp/sg-ctl-XXXXXX", err[256] = "";
    CHECK(mkdtemp(dir) != NULL, "a base directory");
    sg_config cfg = {.base_dir = dir};
    int lfd = sg_control_listen(&cfg, err, sizeof err);
    CHECK(lfd >= 0, "listens (%s)", err);
    sg_control_set_limits(1000, 2000);
    CHECK(sg_control_start(lfd, dispatch, NULL) == 0, "serves");
    sg_ctl_socket_path(dir, sock, sizeof sock);

    int nr;
    int fd = sg_ctl_connect(sock, &nr, err, sizeof err);
    CHECK(fd >= 0, "connects as this process's own user (%s)", err);
    sg_ctl_answer a;
    CHECK(call(fd, "echo", "{\"n\":1}", &a) == SG_CTL_OK && !strcmp(a.result, "{\"n\":1}"),
          "a request is answered with its result (the own user is the local administrator)");
    sg_ctl_answer_free(&a);
    CHECK(call(fd, "nothing", "{}", &a) == SG_CTL_FAILED && !strcmp(a.ecode, "not_found"),
          "the next request on the same connection gets the dispatcher's error");
    CHECK(call(fd, "echo", "[2]", &a) == SG_CTL_OK && !strcmp(a.result, "[2]"), "and the connection goes on");
    sg_ctl_answer_free(&a);

    /* A bad frame on another connection closes that one only. */
    int bad = sg_ctl_connect(sock, &nr, err, sizeof err);
    CHECK(write(bad, "XXXXXXXXXXXXXXXXXXXX", 20) == 20, "garbage is sent on a second connection");
    char b;
    ssize_t r = read(bad, &b, 1); /* closed with our bytes unread: a reset is a close too */
    CHECK(r == 0 || (r < 0 && errno == ECONNRESET), "that connection is closed");
    close(bad);
    CHECK(call(fd, "echo", "3", &a) == SG_CTL_OK && !strcmp(a.result, "3"), "the first one still works");
    sg_ctl_answer_free(&a);

    /* Six clients at once: all answered, never more than SG_CTL_MAX_OPS running together. */
    atomic_store(&max_running, 0);
    pthread_t t[6];
    for (int i = 0; i < 6; i++)
        pthread_create(&t[i], NULL, sleeper, NULL);
    for (int i = 0; i < 6; i++)
        pthread_join(t[i], NULL);
    CHECK(atomic_load(&ok_answers) == 6, "six concurrent requests are all answered (%d)", atomic_load(&ok_answers));
    CHECK(atomic_load(&max_running) == SG_CTL_MAX_OPS, "at most %d ran at once (%d)", SG_CTL_MAX_OPS,
          atomic_load(&max_running));

    /* Over the time limit (1 s here): answered "timeout", the connection closed. */
    int before = atomic_load(&finished);
    CHECK(call(fd, "sleep", "1500", &a) == SG_CTL_FAILED && !strcmp(a.ecode, "timeout"),
          "an operation over the limit is answered timeout (%s: %s)", a.ecode, a.emsg);
    CHECK(call(fd, "echo", "4", &a) == SG_CTL_BROKEN, "and its connection is closed");
    close(fd);
    CHECK(atomic_load(&finished) == before, "the operation itself was not cut off");
    CHECK(call(-1, "sleep", "0", &a) == SG_CTL_OK, "another request runs meanwhile (a slot was free)");
    sg_ctl_answer_free(&a);

    /* Too many connections: the next is answered "busy" (id 0, before any request), which the
     * client reports as that error, not as a broken stream. */
    int idle[SG_CTL_MAX_CONN];
    for (int i = 0; i < SG_CTL_MAX_CONN; i++)
        idle[i] = sg_ctl_connect(sock, &nr, err, sizeof err);
    int rb = call(-1, "echo", "6", &a);
    CHECK(rb == SG_CTL_FAILED && !strcmp(a.ecode, "busy"), "connection %d is answered busy (%d %s)",
          SG_CTL_MAX_CONN + 1, rb, a.ecode);
    sg_ctl_answer_free(&a);
    for (int i = 0; i < SG_CTL_MAX_CONN; i++)
        close(idle[i]);

    /* Stop waits for the operation still running. */
    sg_control_stop();
    CHECK(atomic_load(&finished) == before + 2 && atomic_load(&running) == 0,
          "stop returns after the running operation finished");
    CHECK(call(-1, "echo", "5", &a) == SG_CTL_NOT_RUNNING || call(-1, "echo", "5", &a) == SG_CTL_BROKEN,
          "after the stop nothing answers");
    unlink(sock);
    char run[300];
    snprintf(run, sizeof run, "%s/run", dir);
    rmdir(run);
    rmdir(dir);
    return CHECK_DONE();
}
