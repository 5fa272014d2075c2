/* test_dsn.c - the DSN builder (src/relay/dsn.c): report structure, RET=HDRS vs FULL, ORCPT,
 * ENVID, the NOTIFY rules, and that peer text cannot inject header lines. Owner: src/relay. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "relay/dsn.h"

static const char MSG[] = "From: a@x.test\r\nSubject: hi\r\n\r\nbody line\r\n.dot line\r\n";

static bool headers_only, no_content;

static char *build(sg_envelope *e, const char *status, const char *diag, bool remote, bool *eb)
{
    sg_dsn_rcpt r = {.rcpt = &e->rcpt[0], .status = status, .diag = diag, .remote = remote};
    sg_dsn_opts o = {.hostname = "gw.test",
                     .remote_mta = "127.0.0.1:2525",
                     .now = 1700000000,
                     .token = "0123456789abcdef",
                     .headers_only = headers_only,
                     .no_content = no_content};
    sg_buf b;
    sg_buf_init(&b, 1 << 20);
    if (sg_dsn_build(e, &r, 1, MSG, sizeof MSG - 1, &o, &b, eb) < 0) {
        sg_buf_free(&b);
        return NULL;
    }
    return b.data;
}

static bool all_crlf(const char *s)
{
    for (const char *p = s; *p; p++)
        if (*p == '\n' && (p == s || p[-1] != '\r'))
            return false;
    return true;
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

int main(void)
{
    sg_envelope e;
    sg_env_init(&e);
    e.created = 1699990000;
    sg_env_set(&e.from, "sender@x.test");
    sg_env_add_rcpt(&e, "bob@y.test", NULL, "rfc822;bob+2Bfilter@y.test");
    bool eb;

    /* full report, RET absent */
    char *d = build(&e, "5.1.1", "550 5.1.1 no such user", true, &eb);
    CHECK(d != NULL, "builds");
    CHECK(d && all_crlf(d), "every line ends in CRLF");
    CHECK(d && strstr(d, "From: Mail Delivery System <MAILER-DAEMON@gw.test>\r\n"), "From MAILER-DAEMON");
    CHECK(d && strstr(d, "\r\nTo: <sender@x.test>\r\n"), "To the sender");
    CHECK(d && strstr(d, "\r\nAuto-Submitted: auto-replied\r\n"), "Auto-Submitted");
    CHECK(d && strstr(d, "\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"), "Date");
    CHECK(d && strstr(d, "\r\nMessage-ID: <0123456789abcdef.dsn@gw.test>\r\n"), "Message-ID");
    CHECK(d && strstr(d, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
                         "\tboundary=\"=_sealgate-dsn_0123456789abcdef_=\"\r\n"),
          "multipart/report");
    CHECK(d && count(d, "\r\n--=_sealgate-dsn_0123456789abcdef_=\r\n") == 3, "three parts");
    CHECK(d && strstr(d, "\r\n--=_sealgate-dsn_0123456789abcdef_=--\r\n"), "closing boundary");
    CHECK(d && strstr(d, "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; gw.test\r\n"
                         "Arrival-Date: Tue, 14 Nov 2023 19:26:40 +0000\r\n\r\n"
                         "Final-Recipient: rfc822; bob@y.test\r\n"
                         "Original-Recipient: rfc822; bob+filter@y.test\r\n"
                         "Action: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; 127.0.0.1:2525\r\n"
                         "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n"),
          "delivery-status fields, ORCPT decoded");
    CHECK(d && !strstr(d, "Original-Envelope-Id"), "no ENVID, no Original-Envelope-Id");
    CHECK(d && strstr(d, "Content-Type: message/rfc822\r\n\r\n"
                         "From: a@x.test\r\nSubject: hi\r\n\r\nbody line\r\n.dot line\r\n\r\n--"),
          "RET absent: whole message as message/rfc822");
    CHECK(!eb, "7-bit report");
    free(d);

    /* RET=FULL, ENVID, local failure */
    sg_env_set(&e.ret, "FULL");
    sg_env_set(&e.envid, "QQ+2B123");
    d = build(&e, "5.6.7", "SMTPUTF8 required but not offered", false, &eb);
    CHECK(d && strstr(d, "\r\nOriginal-Envelope-Id: QQ+123\r\n"), "ENVID decoded into Original-Envelope-Id");
    CHECK(d && strstr(d, "\r\nStatus: 5.6.7\r\nDiagnostic-Code: X-Sealgate; SMTPUTF8"), "local failure");
    CHECK(d && !strstr(d, "Remote-MTA"), "no Remote-MTA for a local decision");
    CHECK(d && strstr(d, "message/rfc822") && strstr(d, "body line"), "RET=FULL returns the body");
    free(d);

    /* RET=HDRS */
    sg_env_set(&e.ret, "HDRS");
    d = build(&e, "5.1.1", "550 x", true, &eb);
    CHECK(d && strstr(d,
                      "Content-Type: text/rfc822-headers\r\n\r\nFrom: a@x.test\r\nSubject: hi\r\n\r\n\r\n--"),
          "RET=HDRS returns only the header as text/rfc822-headers");
    CHECK(d && !strstr(d, "body line") && !strstr(d, "message/rfc822"), "RET=HDRS: no body");
    free(d);

    /* headers_only overrides RET=FULL (content problems, big messages) */
    sg_env_set(&e.ret, "FULL");
    headers_only = true;
    d = build(&e, "5.3.4", "552 too big", true, &eb);
    CHECK(d && strstr(d, "text/rfc822-headers") && !strstr(d, "body line"), "headers_only beats RET=FULL");
    free(d);
    headers_only = false;

    /* a decrypted original: nothing of it comes back, not even its header (protected fields) */
    no_content = true;
    d = build(&e, "5.1.1", "550 5.1.1 no such user", true, &eb);
    CHECK(d && !strstr(d, "body line") && !strstr(d, "Subject: hi") && !strstr(d, "message/rfc822") &&
              !strstr(d, "text/rfc822-headers"),
          "no_content beats RET=FULL: no part of the message returned");
    CHECK(d && strstr(d, "Status: 5.1.1\r\n") && strstr(d, "no part of it is returned") &&
              strstr(d, "\r\n--=_sealgate-dsn_0123456789abcdef_=--\r\n") &&
              count(d, "\r\n--=_sealgate-dsn_") == 3 && all_crlf(d),
          "no_content: notification and delivery report, closed multipart");
    free(d);
    no_content = false;

    /* 8-bit original: the report says so */
    sg_env_set(&e.ret, NULL);
    {
        static const char M8[] = "Subject: x\r\n\r\n\xc3\xbc\r\n";
        sg_dsn_rcpt r8 = {.rcpt = &e.rcpt[0], .status = "5.0.0", .diag = "550 x", .remote = true};
        sg_dsn_opts o8 = {.hostname = "gw.test", .remote_mta = "h", .now = 0, .token = "t"};
        sg_buf b8;
        sg_buf_init(&b8, 1 << 20);
        CHECK(sg_dsn_build(&e, &r8, 1, M8, sizeof M8 - 1, &o8, &b8, &eb) == 0 && eb &&
                  strstr(b8.data, "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n"),
              "8-bit original: 8bit transfer encoding and eightbit flag");
        sg_buf_free(&b8);
    }

    /* hostile reply text */
    d = build(&e, "5.0.0", "550 bad\r\nX-Injected: yes", true, &eb);
    CHECK(d && !strstr(d, "\r\nX-Injected") && strstr(d, "550 bad  X-Injected: yes"),
          "CR/LF in peer text cannot start a new field");
    free(d);

    /* NOTIFY rules */
    sg_rcpt r = {.addr = "a@b"};
    CHECK(sg_dsn_wanted(&r), "NOTIFY absent: DSN on failure");
    r.notify = "NEVER";
    CHECK(!sg_dsn_wanted(&r), "NOTIFY=NEVER: none");
    r.notify = "SUCCESS,DELAY";
    CHECK(!sg_dsn_wanted(&r), "NOTIFY without FAILURE: none");
    r.notify = "success,failure";
    CHECK(sg_dsn_wanted(&r), "NOTIFY with FAILURE (any case): yes");
    r.notify = "FAILURE";
    CHECK(sg_dsn_wanted(&r), "NOTIFY=FAILURE: yes");

    sg_env_free(&e);
    return CHECK_DONE();
}
