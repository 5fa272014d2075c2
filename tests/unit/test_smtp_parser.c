/* test_smtp_parser.c - unit tests of the SMTP command and parameter parser (src/smtp/parser.c).
 * Owner: src/smtp. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "smtp/parser.h"

static int verb(const char *line, const char **arg)
{
    return sg_smtp_parse_verb(line, strlen(line), arg);
}

static void test_verbs(void)
{
    const char *arg;
    CHECK(verb("EHLO host.example", &arg) == SG_CMD_EHLO && strcmp(arg, "host.example") == 0,
          "EHLO with argument");
    CHECK(verb("ehlo  x", &arg) == SG_CMD_EHLO && strcmp(arg, "x") == 0,
          "verb is case-insensitive, extra spaces skipped");
    CHECK(verb("QUIT", &arg) == SG_CMD_QUIT && *arg == '\0', "QUIT without argument");
    CHECK(verb("STARTTLS", &arg) == SG_CMD_STARTTLS, "STARTTLS");
    CHECK(verb("BDAT 10 LAST", &arg) == SG_CMD_BDAT && strcmp(arg, "10 LAST") == 0, "BDAT");
    CHECK(verb("QUITX", &arg) == SG_CMD_UNKNOWN, "prefix of a verb is not the verb");
    CHECK(verb("", &arg) == SG_CMD_NONE, "empty line");
    CHECK(verb("MAIL FROM:<a@b>", &arg) == SG_CMD_MAIL && strcmp(arg, "FROM:<a@b>") == 0, "MAIL argument");
}

static void test_mail(void)
{
    sg_mail_args a;
    char r[SG_SMTP_REPLY_MAX];
    CHECK(sg_smtp_parse_mail("FROM:<a@b.example>", &a, r) == 0 && strcmp(a.addr, "a@b.example") == 0 &&
              !a.has_size,
          "plain MAIL FROM");
    sg_mail_args_free(&a);
    CHECK(sg_smtp_parse_mail("FROM:<>", &a, r) == 0 && strcmp(a.addr, "") == 0, "null sender");
    sg_mail_args_free(&a);
    CHECK(sg_smtp_parse_mail("from: <a@b>", &a, r) == 0, "lenient: space after colon, lower case");
    sg_mail_args_free(&a);
    CHECK(sg_smtp_parse_mail("FROM:<@relay.example:a@b>", &a, r) == 0 && strcmp(a.addr, "a@b") == 0,
          "source route dropped");
    sg_mail_args_free(&a);
    CHECK(sg_smtp_parse_mail("FROM:<\"x y>\"@b>", &a, r) == 0 && strcmp(a.addr, "\"x y>\"@b") == 0,
          "quoted local part with space and >");
    sg_mail_args_free(&a);
    CHECK(sg_smtp_parse_mail("FROM:<a@b> SIZE=123 BODY=8bitmime SMTPUTF8 RET=hdrs ENVID=x+2By", &a, r) == 0 &&
              a.has_size && a.size == 123 && strcmp(a.body, "8BITMIME") == 0 && a.smtputf8 &&
              strcmp(a.ret, "HDRS") == 0 && strcmp(a.envid, "x+2By") == 0,
          "all MAIL parameters");
    sg_mail_args_free(&a);
    CHECK(sg_smtp_parse_mail("FROM:<jörg@b>", &a, r) == 0 && a.addr_utf8, "UTF-8 address flagged");
    sg_mail_args_free(&a);
    CHECK(sg_smtp_parse_mail("FROM:<a@b> FOO", &a, r) < 0 &&
              strncmp(r, "555 5.5.4 Unsupported option: FOO", 33) == 0,
          "unknown parameter: 555");
    CHECK(sg_smtp_parse_mail("FROM:<a@b> SIZE=1 SIZE=2", &a, r) < 0 && strncmp(r, "501", 3) == 0,
          "duplicate parameter");
    CHECK(sg_smtp_parse_mail("FROM:<a@b> SIZE=99999999999999999999999", &a, r) < 0, "SIZE overflow");
    CHECK(sg_smtp_parse_mail("FROM:<a@b> SIZE=-1", &a, r) < 0, "negative SIZE");
    CHECK(sg_smtp_parse_mail("FROM:<a@b> BODY=BINARY", &a, r) < 0, "unknown BODY");
    CHECK(sg_smtp_parse_mail("FROM:<a@b> ENVID=a+zz", &a, r) < 0, "ENVID must be xtext");
    CHECK(sg_smtp_parse_mail("FROM:<a@b> SMTPUTF8=1", &a, r) < 0, "SMTPUTF8 takes no value");
    CHECK(sg_smtp_parse_mail("FROM:<a@b>x", &a, r) < 0, "junk after path");
    CHECK(sg_smtp_parse_mail("FROM:<a b@c>", &a, r) < 0, "space in address");
    CHECK(sg_smtp_parse_mail("FROM:<a@b", &a, r) < 0, "unterminated path");
    CHECK(sg_smtp_parse_mail("FROM:<a..b@c>", &a, r) < 0, "double dot in local part");
    CHECK(sg_smtp_parse_mail("FROM:<a\x01@c>", &a, r) < 0, "control byte in address");
    CHECK(sg_smtp_parse_mail("FROM:<postmaster>", &a, r) < 0, "MAIL needs a domain");
    CHECK(sg_smtp_parse_mail("TO:<a@b>", &a, r) < 0 && strncmp(r, "501 5.5.4", 9) == 0,
          "MAIL TO: is a syntax error");
}

static void test_rcpt(void)
{
    sg_rcpt_args a;
    char r[SG_SMTP_REPLY_MAX];
    CHECK(sg_smtp_parse_rcpt("TO:<b@c> NOTIFY=SUCCESS,failure,DELAY ORCPT=rfc822;b+40c", &a, r) == 0 &&
              strcmp(a.notify, "SUCCESS,failure,DELAY") == 0 && strcmp(a.orcpt, "rfc822;b+40c") == 0,
          "NOTIFY and ORCPT kept as received");
    sg_rcpt_args_free(&a);
    CHECK(sg_smtp_parse_rcpt("TO:<Postmaster>", &a, r) == 0, "<postmaster> without domain");
    sg_rcpt_args_free(&a);
    CHECK(sg_smtp_parse_rcpt("TO:<b@[192.0.2.1]>", &a, r) == 0, "address literal");
    sg_rcpt_args_free(&a);
    CHECK(sg_smtp_parse_rcpt("TO:<b@c> NOTIFY=NEVER", &a, r) == 0, "NOTIFY=NEVER");
    sg_rcpt_args_free(&a);
    CHECK(sg_smtp_parse_rcpt("TO:<b@c> NOTIFY=NEVER,DELAY", &a, r) < 0, "NEVER is exclusive");
    CHECK(sg_smtp_parse_rcpt("TO:<b@c> NOTIFY=DELAY,DELAY", &a, r) < 0, "repeat in NOTIFY");
    CHECK(sg_smtp_parse_rcpt("TO:<b@c> NOTIFY=", &a, r) < 0, "empty NOTIFY");
    CHECK(sg_smtp_parse_rcpt("TO:<b@c> NOTIFY=SUCCESS,", &a, r) < 0, "trailing comma in NOTIFY");
    CHECK(sg_smtp_parse_rcpt("TO:<b@c> ORCPT=;x", &a, r) < 0, "ORCPT without type");
    CHECK(sg_smtp_parse_rcpt("TO:<b@c> ORCPT=rfc822;", &a, r) < 0, "ORCPT without address");
    CHECK(sg_smtp_parse_rcpt("TO:<b@c> ORCPT=rfc822;a+4", &a, r) < 0, "ORCPT bad xtext");
    CHECK(sg_smtp_parse_rcpt("TO:<>", &a, r) < 0, "null recipient");
    CHECK(sg_smtp_parse_rcpt("TO:<b@c> SIZE=1", &a, r) < 0 && strncmp(r, "555", 3) == 0,
          "MAIL parameter on RCPT");
    CHECK(strcmp(sg_smtp_addr_domain("a@b.example"), "b.example") == 0, "domain");
    CHECK(strcmp(sg_smtp_addr_domain("\"x@evil\"@good"), "good") == 0, "domain after quoted @");
    CHECK(sg_smtp_addr_domain("postmaster") == NULL, "no domain");
    CHECK(sg_smtp_addr_routed("u%other.net@demo.test") && sg_smtp_addr_routed("other.net!u@demo.test") &&
              sg_smtp_addr_routed("\"u@other.net\"@demo.test") && sg_smtp_addr_routed("\"u\\@other.net\"@demo.test"),
          "routing operators in the local part, quoted or not");
    CHECK(!sg_smtp_addr_routed("u@demo.test") && !sg_smtp_addr_routed("\"first last\"@demo.test") &&
              !sg_smtp_addr_routed("postmaster") && !sg_smtp_addr_routed("u+tag@[192.0.2.1]"),
          "plain local parts are not routed");
}

static void test_bdat(void)
{
    unsigned long long n;
    bool last;
    char r[SG_SMTP_REPLY_MAX];
    CHECK(sg_smtp_parse_bdat("100", &n, &last, r) == 0 && n == 100 && !last, "BDAT size");
    CHECK(sg_smtp_parse_bdat("0 LAST", &n, &last, r) == 0 && n == 0 && last, "BDAT 0 LAST");
    CHECK(sg_smtp_parse_bdat("5 last", &n, &last, r) == 0 && last, "LAST case-insensitive");
    CHECK(sg_smtp_parse_bdat("", &n, &last, r) < 0, "missing size");
    CHECK(sg_smtp_parse_bdat("5 LASTX", &n, &last, r) < 0, "junk after LAST");
    CHECK(sg_smtp_parse_bdat("-5", &n, &last, r) < 0, "negative size");
    CHECK(sg_smtp_parse_bdat("99999999999999999999999", &n, &last, r) < 0, "size overflow");
}

int main(void)
{
    test_verbs();
    test_mail();
    test_rcpt();
    test_bdat();
    return CHECK_DONE();
}
