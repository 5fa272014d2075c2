/* test_author.c - src/mime/author.c: the author a reader is shown, for binding a signature:
 * exactly one From field with exactly one mailbox, no display name or comment naming another
 * address, no Sender that differs. Owner: src/mime. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mime/mime.h"

/* The header hdr (a body is added) gives address addr (NULL: none) and problem (NULL: none). */
static int author_is(const char *hdr, const char *addr, const char *problem)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%sSubject: s\r\n\r\nbody\r\n", hdr);
    sg_mime_author a;
    if (sg_mime_author_of(msg, strlen(msg), &a) < 0)
        return 0;
    int ok = (addr ? a.addr && strcmp(a.addr, addr) == 0 : !a.addr) &&
             (problem ? a.problem && strcmp(a.problem, problem) == 0 : !a.problem);
    if (!ok)
        printf("# addr=%s problem=%s\n", a.addr ? a.addr : "-", a.problem ? a.problem : "-");
    sg_mime_author_free(&a);
    return ok;
}

#define BOB "bob@example.net"

/* A signed-only message from Bob whose signed part has the fields inner; prot: it is marked
 * protected-headers="v1". */
static int signed_part_is(const char *inner, int prot, const char *problem)
{
    char msg[1024];
    snprintf(msg, sizeof msg,
             "From: Bob <bob@example.net>\r\nContent-Type: multipart/signed; protocol=\"application/"
             "pgp-signature\"; boundary=\"s\"\r\n\r\n--s\r\nContent-Type: text/plain%s\r\n%s\r\nhi\r\n"
             "--s\r\nContent-Type: application/pgp-signature\r\n\r\nsig\r\n--s--\r\n",
             prot ? "; protected-headers=\"v1\"" : "", inner);
    sg_mime_author a;
    if (sg_mime_author_of(msg, strlen(msg), &a) < 0)
        return 0;
    int ok = a.addr && strcmp(a.addr, BOB) == 0 && (problem ? a.problem && strcmp(a.problem, problem) == 0 : !a.problem);
    if (!ok)
        printf("# problem=%s\n", a.problem ? a.problem : "-");
    sg_mime_author_free(&a);
    return ok;
}

/* RFC 9788 signed-only header protection: the signed part's fields are what some clients show. */
static void test_signed_part(void)
{
    CHECK(signed_part_is("From: bob@example.net\r\nSubject: s\r\n", 1, NULL), "protected From the same: fine");
    CHECK(signed_part_is("Subject: s\r\n", 1, NULL), "protected headers without From: the outer one counts");
    CHECK(signed_part_is("From: boss@demo.test\r\n", 1, "ambiguous-from"), "protected From another address");
    CHECK(signed_part_is("From: bob@example.net\r\nFrom: boss@demo.test\r\n", 1, "ambiguous-from"),
          "two protected From fields");
    CHECK(signed_part_is("From: \"boss@demo.test\" <bob@example.net>\r\n", 1, "from-name-address"),
          "a protected display name with another address");
    CHECK(signed_part_is("Sender: m@example.com\r\n", 1, "sender-mismatch"), "a protected Sender that differs");
    CHECK(signed_part_is("From: boss@demo.test\r\n", 0, NULL), "fields of a part not marked protected are body");
}

int main(void)
{
    sg_mime_init();
    CHECK(author_is("From: Bob <bob@example.net>\r\n", BOB, NULL), "one mailbox");
    CHECK(author_is("From: bob@Example.NET\r\n", BOB, NULL), "the domain is lower-cased");
    CHECK(author_is("From: \"bob@example.net\" <bob@example.net>\r\n", BOB, NULL),
          "a display name that is the mailbox's own address");
    CHECK(author_is("From: Bob @ home <bob@example.net>\r\nSender: BOB@example.net\r\n", BOB, NULL),
          "a lone at sign in the name; a Sender with the same address");
    CHECK(author_is("From: Bob <bob@example.net>, Boss <boss@demo.test>\r\n", BOB, "ambiguous-from"),
          "two mailboxes");
    CHECK(author_is("From: Bob <bob@example.net>\r\nFrom: boss@demo.test\r\n", BOB, "ambiguous-from"),
          "two From fields");
    CHECK(author_is("From: Bob <bob@example.net>\r\nfrom : bob@example.net\r\n", BOB, "ambiguous-from"),
          "two From fields, the second in other case and with space before the colon");
    CHECK(author_is("From: team: bob@example.net;\r\n", NULL, "ambiguous-from"), "a group");
    CHECK(author_is("From: \"boss@demo.test\" <bob@example.net>\r\n", BOB, "from-name-address"),
          "another address as the display name");
    CHECK(author_is("From: =?utf-8?q?boss=40demo=2Etest?= <bob@example.net>\r\n", BOB, "from-name-address"),
          "another address in an encoded-word display name");
    CHECK(author_is("From: bob@example.net (boss@demo.test)\r\n", BOB, "from-name-address"),
          "another address in a comment");
    CHECK(author_is("From: boss\xef\xbc\xa0" "demo.test <bob@example.net>\r\n", BOB, "from-name-address"),
          "a fullwidth at sign in the display name");
    CHECK(author_is("From: Bob <bob@example.net>\r\nSender: mallory@example.com\r\n", BOB, "sender-mismatch"),
          "a Sender that differs");
    CHECK(author_is("From: Bob <bob@example.net>\r\nSender: bob@example.net\r\nSender: m@example.com\r\n", BOB,
                    "sender-mismatch"),
          "two Sender fields");
    CHECK(author_is("To: alice@demo.test\r\n", NULL, NULL), "no From: no author, no problem to report");
    CHECK(author_is("From: Bob <bob@example.net>\r\nno colon\r\n", NULL, "ambiguous-from"),
          "a header that cannot be parsed names no author");
    test_signed_part();
    char *a = sg_mime_from_address("From: B <b@X.org>, c@y\r\n\r\n", 26);
    CHECK(a && strcmp(a, "b@x.org") == 0, "sg_mime_from_address: the first mailbox, as before");
    free(a);
    return CHECK_DONE();
}
