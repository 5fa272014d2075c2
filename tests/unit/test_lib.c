/* test_lib.c - xtext, capped buffers, CIDR matching, endpoints, configuration loading. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "lib/fsutil.h"
#include "lib/fpr.h"
#include "lib/log.h"
#include "lib/netaddr.h"
#include "lib/xtext.h"

static void test_xtext(void)
{
    char *x = sg_xtext_encode("a+b=c d\n\xc3\xa9", 10);
    CHECK(strcmp(x, "a+2Bb+3Dc+20d+0A+C3+A9") == 0, "xtext encode escapes + = space newline 8-bit: %s", x);
    size_t n;
    char *d = sg_xtext_decode(x, &n);
    CHECK(n == 10 && memcmp(d, "a+b=c d\n\xc3\xa9", 10) == 0, "xtext decode inverts encode");
    free(x);
    free(d);
    CHECK(!sg_xtext_decode("a+2", NULL) && !sg_xtext_decode("a+2b", NULL) && !sg_xtext_decode("a b", NULL) &&
              !sg_xtext_decode("a=b", NULL),
          "malformed xtext refused (short escape, lower-case hex, space, '=')");
    CHECK(sg_xtext_valid("rfc822;user+40example.org") && !sg_xtext_valid("x+zz"), "xtext validity");
}

static void test_buf(void)
{
    sg_buf b;
    sg_buf_init(&b, 10);
    CHECK(sg_buf_append(&b, "12345", 5) == 0 && sg_buf_append(&b, "67890", 5) == 0, "fills to max");
    CHECK(sg_buf_append(&b, "x", 1) < 0 && b.len == 10, "append past max refused, buffer unchanged");
    sg_buf_consume(&b, 3);
    CHECK(b.len == 7 && strcmp(b.data, "4567890") == 0, "consume drops the front");
    CHECK(sg_buf_appendf(&b, "%d", 123) == 0 && strcmp(b.data, "4567890123") == 0, "appendf");
    sg_buf_free(&b);
}

static void test_cidr(void)
{
    sg_cidr c;
    struct sockaddr_in a = {.sin_family = AF_INET};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    CHECK(sg_cidr_parse("10.0.0.0/8", &c) == 0, "parse v4 net");
    inet_pton(AF_INET, "10.200.3.4", &a.sin_addr);
    CHECK(sg_cidr_match(&c, (struct sockaddr *)&a), "10.200.3.4 in 10/8");
    inet_pton(AF_INET, "11.0.0.1", &a.sin_addr);
    CHECK(!sg_cidr_match(&c, (struct sockaddr *)&a), "11.0.0.1 not in 10/8");
    inet_pton(AF_INET6, "::ffff:10.1.2.3", &a6.sin6_addr);
    CHECK(sg_cidr_match(&c, (struct sockaddr *)&a6), "v4-mapped v6 address matches the v4 net");
    CHECK(sg_cidr_parse("192.168.1.0/23", &c) == 0, "odd prefix");
    inet_pton(AF_INET, "192.168.0.255", &a.sin_addr);
    CHECK(sg_cidr_match(&c, (struct sockaddr *)&a), "/23 covers the lower /24");
    inet_pton(AF_INET, "192.168.2.0", &a.sin_addr);
    CHECK(!sg_cidr_match(&c, (struct sockaddr *)&a), "/23 stops at its end");
    CHECK(sg_cidr_parse("::1/128", &c) == 0, "v6 host");
    inet_pton(AF_INET6, "::1", &a6.sin6_addr);
    CHECK(sg_cidr_match(&c, (struct sockaddr *)&a6), "::1 matches");
    CHECK(sg_cidr_parse("10.0.0.0/33", &c) < 0 && sg_cidr_parse("host/8", &c) < 0 &&
              sg_cidr_parse("1.2.3.4/", &c) < 0,
          "bad networks refused");
    struct sockaddr_storage ss;
    socklen_t sl;
    CHECK(sg_endpoint_parse("127.0.0.1:25", &ss, &sl) == 0 && sg_endpoint_parse("[::1]:25", &ss, &sl) == 0,
          "endpoints parse");
    CHECK(sg_endpoint_parse("127.0.0.1", &ss, &sl) < 0 && sg_endpoint_parse("[::1]25", &ss, &sl) < 0,
          "endpoints without port refused");
}

static const char *write_conf(const char *text)
{
    static char path[] = "/tmp/sg-test-conf-XXXXXX";
    strcpy(path, "/tmp/sg-test-conf-XXXXXX");
    int fd = mkstemp(path);
    if (write(fd, text, strlen(text)) < 0)
        return NULL;
    close(fd);
    return path;
}

static void test_fpr(void)
{
    char out[SG_FPR_SHA256_HEX];
    const char *hex = "68830d99b966b9624509f3fdf258797f82b05fa0847d7e60616fd255d64be81b";
    CHECK(sg_fpr_sha256_parse("68:83:0D:99:B9:66:B9:62:45:09:F3:FD:F2:58:79:7F:82:B0:5F:A0:84:7D:7E:60:61:6F:D2:"
                              "55:D6:4B:E8:1B",
                              out) == 0 &&
              strcmp(out, hex) == 0,
          "fingerprint with colons, upper case: normalised to 64 lower-case digits");
    CHECK(sg_fpr_sha256_parse(hex, out) == 0 && strcmp(out, hex) == 0, "plain fingerprint");
    CHECK(sg_fpr_sha256_parse("68830d99", out) < 0 && sg_fpr_sha256_parse("", out) < 0, "short refused");
    char bad[96];
    snprintf(bad, sizeof bad, "%s", hex);
    bad[10] = 'g';
    CHECK(sg_fpr_sha256_parse(bad, out) < 0, "non-hex refused");
    snprintf(bad, sizeof bad, "68:83:0D:99:B9:66:B9:62:45:09:F3:FD:F2:58:79:7F:82:B0:5F:A0:84:7D:7E:60:61:6F:D2:55:D6:4B;E8:1B");
    CHECK(sg_fpr_sha256_parse(bad, out) < 0, "wrong separator refused");
}

static void test_log_escape(void)
{
    CHECK(strcmp(SG_LOG_TOK("a@b.example"), "a@b.example") == 0, "a plain address is logged as it is");
    CHECK(strcmp(SG_LOG_TOK("\"x> ev=1\\\t\xc3\xa9"), "\\x22x>\\x20ev\\x3d1\\x5c\\x09\\xc3\\xa9") == 0,
          "quote, space, '=', backslash, control and non-ASCII bytes are escaped: %s", SG_LOG_TOK("\"x> ev=1\\\t\xc3\xa9"));
    CHECK(strcmp(SG_LOG_STR("no key for \"a b\""), "no key for \\x22a b\\x22") == 0,
          "inside quotes spaces stay, quotes are escaped");
    char small[16];
    sg_log_escape(small, sizeof small, "\"\"\"\"\"", 0);
    CHECK(strcmp(small, "\\x22\\x22\\x22...") == 0, "a long value is cut before an escape, marked ...: %s", small);
    CHECK(strcmp(SG_LOG_TOK(NULL), "") == 0, "NULL is empty");
}

static void test_config(void)
{
    sg_config c;
    char err[512];
    CHECK(sg_config_load(&c, NULL, err, sizeof err) == 0, "embedded defaults load");
    CHECK(strcmp(c.smtpd.listen, "127.0.0.1:10025") == 0 && c.sink.enabled &&
              sg_config_is_internal_domain(&c, "DEMO.test"),
          "defaults: loopback listener, sink on, demo.test internal (case-insensitive)");
    CHECK(c.base_dir[0] == '/' && strstr(c.spool_dir, "/run/spool"), "paths made absolute: %s", c.spool_dir);
    sg_config_free(&c);

    const char *p = write_conf("base_dir = \"/var/tmp/sgx\";\nsmtpd = { max_recipients = 5;\n"
                               "  client_networks = [\"192.0.2.0/24\"]; bare_newline = \"normalize\"; };\n"
                               "relay = { tls = \"must\"; };\n");
    CHECK(sg_config_load(&c, p, err, sizeof err) == 0, "file overrides load (%s)", err);
    CHECK(c.smtpd.max_recipients == 5 && c.smtpd.bare_newline == SG_BARE_NORMALIZE &&
              c.relay.tls == SG_TLS_VERIFY,
          "overrides applied");
    CHECK(strcmp(c.spool_dir, "/var/tmp/sgx/spool") == 0, "relative spool under base_dir");
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    CHECK(!sg_config_client_allowed(&c, (struct sockaddr *)&a), "loopback not a client network any more");
    sg_config_free(&c);
    unlink(p);

    p = write_conf("smtpd = {\n  max_recipents = 5;\n};\n");
    CHECK(sg_config_load(&c, p, err, sizeof err) < 0 && strstr(err, ":2:") && strstr(err, "max_recipents"),
          "misspelt key refused with its line: %s", err);
    sg_config_free(&c);
    unlink(p);
    p = write_conf("hostname = 5;\n");
    CHECK(sg_config_load(&c, p, err, sizeof err) < 0 && strstr(err, ":1:") && strstr(err, "string"),
          "wrong type refused: %s", err);
    sg_config_free(&c);
    unlink(p);
    p = write_conf("relay = { retry_min = 0; };\n");
    CHECK(sg_config_load(&c, p, err, sizeof err) < 0 && strstr(err, "out of range"), "range checked: %s",
          err);
    sg_config_free(&c);
    unlink(p);
    CHECK(sg_config_load(&c, NULL, err, sizeof err) == 0 && c.smtpd.max_sessions_per_ip == 50 &&
              c.cryptd.pgp_max_plaintext == 32u << 20 && c.cryptd.pgp_max_ratio == 64,
          "limits default to what an operator would choose: 50 per address, 32 MiB of OpenPGP plaintext");
    sg_config_free(&c);
    p = write_conf("cryptd = { pgp_max_plaintext = 4194304; pgp_max_ratio = 16; };\n");
    CHECK(sg_config_load(&c, p, err, sizeof err) == 0 && c.cryptd.pgp_max_plaintext == 4u << 20 &&
              c.cryptd.pgp_max_ratio == 16,
          "cryptd.pgp_max_plaintext and pgp_max_ratio are read");
    sg_config_free(&c);
    unlink(p);
    p = write_conf("cryptd = { pgp_max_plaintext = 1000; };\n");
    CHECK(sg_config_load(&c, p, err, sizeof err) < 0 && strstr(err, "out of range"),
          "a plaintext cap under 1 MiB is refused: %s", err);
    sg_config_free(&c);
    unlink(p);
    p = write_conf("smtpd = { listen = \"nowhere\"; };\n");
    CHECK(sg_config_load(&c, p, err, sizeof err) < 0 && strstr(err, "host:port"), "bad endpoint refused: %s",
          err);
    sg_config_free(&c);
    unlink(p);
    p = write_conf("smtpd = { max_errors = 3 \n");
    CHECK(sg_config_load(&c, p, err, sizeof err) < 0 && strstr(err, ":2:"), "syntax error with line: %s",
          err);
    sg_config_free(&c);
    unlink(p);
}

/* sg_read_fd on a pipe: read to its end, not sized by fstat (which says 0), and capped. */
static void test_read_fd_pipe(void)
{
    int p[2];
    CHECK(pipe(p) == 0, "pipe made");
    char big[10000];
    memset(big, 'x', sizeof big);
    CHECK(write(p[1], big, sizeof big) == (ssize_t)sizeof big, "10,000 bytes written");
    close(p[1]);
    char *out = NULL;
    size_t len = 0;
    CHECK(sg_read_fd(p[0], 1 << 20, &out, &len) == 0, "the whole buffer is returned");
    CHECK(len == sizeof big && out && out[len] == '\0' && memcmp(out, big, len) == 0,
          "a pipe is read to its end (10,000 bytes, NUL-terminated), not sized by fstat");
    free(out);
    close(p[0]);
    CHECK(pipe(p) == 0, "second pipe made");
    CHECK(write(p[1], big, sizeof big) == (ssize_t)sizeof big, "written again");
    close(p[1]);
    out = NULL;
    CHECK(sg_read_fd(p[0], 9999, &out, &len) == -1 && errno == EFBIG && out == NULL,
          "a pipe longer than the cap is refused with EFBIG");
    close(p[0]);
}

int main(void)
{
    test_read_fd_pipe();
    test_xtext();
    test_buf();
    test_cidr();
    test_fpr();
    test_config();
    test_log_escape();
    return CHECK_DONE();
}
