/* test_scan.c - the content scanners' side in cryptd (src/net/scan_*.c, issue 15): the strict
 * parsers of clamd's, rspamd's and spamd's answers (garbage is an error, never clean), the scan helper's
 * protocol against a fake helper on a socketpair (an answer out of limits makes it lost, and
 * every later scan fails), and the `scan` configuration section. Owner: src/net. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "lib/config.h"
#include "net/scan.h"

#define A(s) s, sizeof s /* a C literal with its NUL, as clamd's z-commands end */

static void test_clamd(void)
{
    char name[201], err[200];
    CHECK(sg_clamd_parse(A("stream: OK"), name, sizeof name, err, sizeof err) == SG_CLAMD_CLEAN, "clamd OK: clean");
    CHECK(sg_clamd_parse(A("stream: Win.Test.EICAR_HDB-1 FOUND"), name, sizeof name, err, sizeof err) ==
                  SG_CLAMD_FOUND &&
              strcmp(name, "Win.Test.EICAR_HDB-1") == 0,
          "clamd FOUND: infected, with the signature's name (%s)", name);
    CHECK(sg_clamd_parse(A("INSTREAM size limit exceeded. ERROR"), name, sizeof name, err, sizeof err) ==
              SG_CLAMD_TOO_LARGE,
          "clamd's stream limit: too large (unscanned), not clean");
    static const struct {
        const char *a;
        size_t n;
    } bad[] = {
        {"stream: OK", 10},              /* no NUL */
        {"stream: OK\n", 12},            /* a newline, not the z-form */
        {"stream: OK\0x", 13},           /* bytes after the NUL */
        {"stream: OKAY", 13},            {"stream:  FOUND", 15}, {"stream: a b FOUND", 18},
        {"stream: lstat() failed ERROR", 29}, {"", 1}, {"OK", 3}, {"PONG", 5},
        {"stream: Eicar FOUND\0stream: OK", 31},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(sg_clamd_parse(bad[i].a, bad[i].n, name, sizeof name, err, sizeof err) == SG_CLAMD_ERROR,
              "clamd garbage %zu is an error, never clean (%s)", i, err);
    CHECK(sg_clamd_parse(NULL, 0, name, sizeof name, err, sizeof err) == SG_CLAMD_ERROR, "no answer: an error");
    CHECK(sg_clamd_parse_pong(A("PONG")) == 0 && sg_clamd_parse_pong(A("PONG!")) < 0, "PING answers");
}

static void test_rspamd(void)
{
    sg_rspamd_result r;
    char err[200];
    const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
                      "{\"score\":15.0,\"required_score\":15.0,\"action\":\"reject\","
                      "\"symbols\":{\"GTUBE\":{\"name\":\"GTUBE\",\"score\":0.0}}}";
    CHECK(sg_rspamd_parse(ok, sizeof ok - 1, &r, err, sizeof err) == 0 && r.score == 15.0 &&
              strcmp(r.action, "reject") == 0 && strcmp(r.symbols, "GTUBE") == 0,
          "rspamd: score, action, symbols (%s)", err);
    static const char *const bad[] = {
        "HTTP/1.1 500 Internal\r\n\r\n{\"score\":0,\"action\":\"no action\"}",
        "HTTP/1.1 200 OK\r\n\r\n{\"score\":\"0\",\"action\":\"no action\"}",
        "HTTP/1.1 200 OK\r\n\r\n{\"score\":0,\"action\":\"maybe\"}",
        "HTTP/1.1 200 OK\r\n\r\n{\"action\":\"no action\"}",
        "HTTP/1.1 200 OK\r\n\r\n{\"score\":0,\"action\":\"no action\",\"score\":99}",
        "HTTP/1.1 200 OK\r\n\r\n{\"score\":0,\"action\":\"no action\"",
        "HTTP/1.1 200 OK\r\n\r\n{\"score\":0,\"action\":\"no action\",\"error\":\"x\"}",
        "HTTP/1.1 200 OK\r\n\r\n[]",
        "HTTP/1.1 200 OK\r\n{\"score\":0,\"action\":\"no action\"}",
        "garbage",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(sg_rspamd_parse(bad[i], strlen(bad[i]), &r, err, sizeof err) < 0, "rspamd garbage %zu is an error (%s)",
              i, err);
    const char pong[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npong\r\n";
    CHECK(sg_rspamd_parse_pong(pong, sizeof pong - 1) == 0, "rspamd /ping answer");
}

static void test_spamd(void)
{
    sg_rspamd_result r;
    char err[200];
    const char ok[] = "SPAMD/1.1 0 EX_OK\r\nContent-length: 20\r\nSpam: True ; 1004.2 / 5.0\r\n\r\n"
                      "GTUBE,MISSING_DATE\r\n";
    CHECK(sg_spamd_parse(ok, sizeof ok - 1, &r, err, sizeof err) == 0 && r.score > 1004.1 && r.score < 1004.3 &&
              r.required == 5.0 && strcmp(r.action, "spam") == 0 && strcmp(r.symbols, "GTUBE,MISSING_DATE") == 0,
          "spamd: score, spam, symbols (%s)", err);
    const char ham[] = "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: False ; -1.5 / 5.0\r\n\r\n";
    CHECK(sg_spamd_parse(ham, sizeof ham - 1, &r, err, sizeof err) == 0 && r.score == -1.5 &&
              strcmp(r.action, "no action") == 0 && !r.symbols[0],
          "spamd: a negative score, not spam, no symbols (%s)", err);
    static const char *const bad[] = {
        "SPAMD/1.1 76 Bad header line: (EOF)\r\n",
        "SPAMD/1.1 0 EX_OK\r\nContent-length: 5\r\n\r\nGTUBE",
        "SPAMD/1.1 0 EX_OK\r\nContent-length: 5\r\nSpam: Maybe ; 1.0 / 5.0\r\n\r\nGTUBE",
        "SPAMD/1.1 0 EX_OK\r\nContent-length: 5\r\nSpam: True ; x / 5.0\r\n\r\nGTUBE",
        "SPAMD/1.1 0 EX_OK\r\nContent-length: 5\r\nSpam: True ; 1.0 / 5.0 junk\r\n\r\nGTUBE",
        "SPAMD/1.1 0 EX_OK\r\nContent-length: 9\r\nSpam: True ; 1.0 / 5.0\r\n\r\nGTUBE",
        "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1.0 / 5.0\r\n\r\nGTUBE",
        "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: True ; 1.0 / 5.0\r\nSpam: False ; 0 / 5.0\r\n\r\n",
        "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\nSpam: True ; 1.0 / 5.0\r\n",
        "SPAMD/1.5 0 PONG\r\n",
        "garbage",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(sg_spamd_parse(bad[i], strlen(bad[i]), &r, err, sizeof err) < 0, "spamd garbage %zu is an error (%s)", i,
              err);
    CHECK(sg_spamd_parse_pong("SPAMD/1.5 0 PONG\r\n", 18) == 0 && sg_spamd_parse_pong("SPAMD/1.5 0 PING\r\n", 18) < 0,
          "spamd PING answers");
}

/* The fake helper: reads one request (header, strings, data) and answers with `hdr`, `err`
 * and `ans` as given. */
typedef struct fake {
    int fd;
    sg_scan_resp_hdr hdr;
    const char *ans;
} fake;

static void *fake_helper(void *arg)
{
    fake *f = arg;
    sg_scan_req_hdr h;
    if (read(f->fd, &h, sizeof h) != (ssize_t)sizeof h)
        return NULL;
    size_t rest = h.addr_len + h.from_len + h.ip_len + h.helo_len + h.data_len;
    for (uint32_t i = 0; i < h.nrcpt; i++)
        rest += h.rcpt_len[i];
    char buf[4096];
    while (rest) {
        ssize_t n = read(f->fd, buf, rest < sizeof buf ? rest : sizeof buf);
        if (n <= 0)
            return NULL;
        rest -= (size_t)n;
    }
    if (write(f->fd, &f->hdr, sizeof f->hdr) < 0 || write(f->fd, f->ans, strlen(f->ans)) < 0)
        return NULL;
    return NULL;
}

static int call_fake(fake *f, char **out, size_t *len, char *err, size_t errlen)
{
    pthread_t t;
    pthread_create(&t, NULL, fake_helper, f);
    /* The fake always answers: a long limit, so a loaded machine (make test beside other work)
     * never makes the client give up first; a give-up would close the socket and the fake's
     * write would raise SIGPIPE, which main ignores so that it shows as a failed check. */
    int rc = sg_scan_call(SG_SCAN_CLAMD, "unix:/nonexistent", NULL, (const uint8_t *)"data", 4, 60000, out, len, err,
                          errlen);
    pthread_join(t, NULL);
    return rc;
}

static void test_helper(void)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    CHECK(sg_scan_helper_attach(sv[0]) == 0, "a fake helper stands in");
    fake f = {.fd = sv[1], .hdr = {.magic = SG_SCAN_MAGIC, .rc = 0, .ans_len = 10}, .ans = "stream: OK"};
    char *out = NULL, err[300] = "";
    size_t len = 0;
    int rc = call_fake(&f, &out, &len, err, sizeof err);
    CHECK(rc == 0 && len == 10 && memcmp(out, "stream: OK", 10) == 0, "an answer within limits reaches the caller");
    free(out);
    out = NULL;
    CHECK(!sg_scan_helper_lost(), "the helper is fine");
    f.hdr = (sg_scan_resp_hdr){.magic = SG_SCAN_MAGIC, .rc = 0, .ans_len = SG_SCAN_MAX_ANSWER + 1};
    f.ans = "";
    rc = call_fake(&f, &out, &len, err, sizeof err);
    CHECK(rc < 0 && !out && strstr(err, "scan helper failed"), "an answer over the cap: the scan fails (%s)", err);
    CHECK(sg_scan_helper_lost(), "... and the helper is lost");
    rc = sg_scan_call(SG_SCAN_CLAMD, "unix:/nonexistent", NULL, (const uint8_t *)"x", 1, 1000, &out, &len, err,
                      sizeof err);
    CHECK(rc < 0 && strstr(err, "not running"), "every later scan fails, never falls back (%s)", err);
    sg_scan_helper_stop();
    close(sv[1]);
}

static void test_config(void)
{
    char path[] = "/tmp/sg-test-scan-XXXXXX", err[512];
    int fd = mkstemp(path);
    const char *text = "scan = { clamd = \"unix:/run/clamd.sock\"; rspamd = \"http://127.0.0.1:11333\";\n"
                       "  max_size = 1048576; on_error = \"hold\"; };\n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "config written");
    close(fd);
    sg_config c;
    CHECK(sg_config_load(&c, NULL, err, sizeof err) == 0 && !c.scan.enabled, "no scan section: nothing is scanned");
    sg_config_free(&c);
    CHECK(sg_config_load(&c, path, err, sizeof err) == 0 && c.scan.enabled &&
              strcmp(c.scan.clamd, "unix:/run/clamd.sock") == 0 && c.scan.max_size == 1048576 &&
              c.scan.on_error == SG_SCAN_HOLD,
          "the scan section is read (%s)", err);
    sg_config_free(&c);
    static const char *const bad[] = {"scan = { clamd = \"/run/clamd.sock\"; };\n",
                                      "scan = { rspamd = \"127.0.0.1:11333\"; };\n",
                                      "scan = { on_error = \"pass\"; };\n", "scan = { max_size = 10; };\n",
                                      "scan = { clamav = \"unix:/x\"; };\n",
                                      "scan = { spamd = \"127.0.0.1:783\"; };\n",
                                      "scan = { rspamd = \"http://127.0.0.1:11333\"; spamd = \"tcp:127.0.0.1:783\"; };\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fd = open(path, O_WRONLY | O_TRUNC);
        CHECK(write(fd, bad[i], strlen(bad[i])) > 0, "bad config written");
        close(fd);
        CHECK(sg_config_load(&c, path, err, sizeof err) < 0 && strstr(err, "scan"), "bad scan config %zu refused (%s)",
              i, err);
        sg_config_free(&c);
    }
    unlink(path);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_clamd();
    test_rspamd();
    test_spamd();
    test_helper();
    test_config();
    return CHECK_DONE();
}
