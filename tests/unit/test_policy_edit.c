/* test_policy_edit.c - the message edits of policy actions and the notices: exact bytes for
 * header edits and subject keywords (plain and RFC 2047), attachments into an existing
 * multipart/mixed and around a single-part body (checked by GMime parsing the result), and
 * notices that a hostile Subject cannot break. Owner: src/policy. */
#include <gmime/gmime.h>
#include <string.h>

#include "check.h"
#include "mime/mime.h"
#include "policy/msgedit.h"
#include "policy/notice.h"

static const char *const KW[] = {"[encrypt]", "[sign]", "{send_keys}"};

static void test_headers(void)
{
    static const struct {
        const char *what, *in, *want;
        int op; /* 0 add, 1 remove, 2 strip */
        const char *arg;
    } t[] = {
        {"add after the last field", "A: 1\r\nB: 2\r\n\r\nbody\r\n", "A: 1\r\nB: 2\r\nX-P: y\r\n\r\nbody\r\n", 0, "X-P: y"},
        {"add keeps LF messages LF", "A: 1\n\nbody\n", "A: 1\nX-P: y\n\nbody\n", 0, "X-P: y"},
        {"remove every folded instance", "X-Drop: a\r\n b\r\nA: 1\r\nx-drop: c\r\n\r\nbody\r\n", "A: 1\r\n\r\nbody\r\n", 1,
         "X-Drop"},
        {"remove keeps a prefix-named field", "X-Dropped: 1\r\n\r\n", "X-Dropped: 1\r\n\r\n", 1, "X-Drop"},
        {"strip a keyword and its space", "Subject: [encrypt] Offer\r\nA: 1\r\n\r\nb\r\n", "Subject: Offer\r\nA: 1\r\n\r\nb\r\n",
         2, NULL},
        {"strip any case, several words", "Subject: Offer [ENCRYPT] now {send_keys}\r\n\r\n", "Subject: Offer now\r\n\r\n", 2,
         NULL},
        {"strip a folded subject", "Subject: Offer\r\n [sign] today\r\n\r\n", "Subject: Offer today\r\n\r\n", 2, NULL},
        {"strip an encoded subject, encoded again", "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_[encrypt]?=\r\n\r\n",
         "Subject: =?UTF-8?b?R3LDvMOfZQ==?=\r\n\r\n", 2, NULL},
        {"no subject: unchanged", "A: 1\r\n\r\nb\r\n", "A: 1\r\n\r\nb\r\n", 2, NULL},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        sg_buf b;
        sg_buf_init(&b, 1 << 20);
        size_t l = strlen(t[i].in);
        int rc = t[i].op == 0   ? sg_medit_add_header(t[i].in, l, t[i].arg, &b)
                 : t[i].op == 1 ? sg_medit_remove_header(t[i].in, l, t[i].arg, &b)
                                : sg_medit_strip_words(t[i].in, l, KW, 3, &b);
        bool same = rc == 0 && b.data && strcmp(b.data, t[i].want) == 0;
        CHECK(same, "%s", t[i].what);
        if (!same)
            fprintf(stderr, "got: %s\n", b.data ? b.data : "(nothing)");
        sg_buf_free(&b);
    }
}

/* Parses out and returns the number of leaves, the last leaf's file name into name. */
static int leaves(const sg_buf *b, char *name, size_t n, char *firsttype, size_t tn)
{
    GMimeStream *s = g_mime_stream_mem_new_with_buffer(b->data, b->len);
    GMimeParser *p = g_mime_parser_new_with_stream(s);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
    int count = 0;
    if (m) {
        GMimePartIter *it = g_mime_part_iter_new(m->mime_part);
        do {
            GMimeObject *o = g_mime_part_iter_get_current(it);
            if (!GMIME_IS_PART(o))
                continue;
            if (count++ == 0) {
                char *t = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(o));
                snprintf(firsttype, tn, "%s", t);
                g_free(t);
            }
            const char *f = g_mime_part_get_filename(GMIME_PART(o));
            snprintf(name, n, "%s", f ? f : "");
        } while (g_mime_part_iter_next(it));
        g_mime_part_iter_free(it);
        g_object_unref(m);
    }
    g_object_unref(p);
    g_object_unref(s);
    return count;
}

static void test_attach(void)
{
    sg_medit_file f = {.type = "application/pgp-keys", .filename = "alice@demo.test.asc", .data = "KEY\x01", .len = 4};
    static const char single[] = "From: a@demo.test\r\nSubject: s\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n";
    static const char mixed[] = "From: a@demo.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"q\"\r\n\r\n"
                                "pre\r\n--q\r\nContent-Type: text/plain\r\n\r\nhi\r\n--q--\r\nepilogue\r\n";
    sg_buf b;
    char name[128], first[64];
    sg_buf_init(&b, 1 << 20);
    int rc = sg_medit_attach(single, sizeof single - 1, &f, 1, "0123", &b);
    CHECK(rc == 0 && leaves(&b, name, sizeof name, first, sizeof first) == 2 && strcmp(name, "alice@demo.test.asc") == 0 &&
              strcmp(first, "text/html") == 0,
          "a single part becomes multipart/mixed: the body first (its own type), then the key");
    CHECK(b.data && strstr(b.data, "\r\n\r\n<p>hi</p>\r\n") && strstr(b.data, "S0VZAQ==") && strstr(b.data, "Subject: s\r\n"),
          "the body and the header fields keep their bytes; the key is base64");
    sg_buf_reset(&b);
    rc = sg_medit_attach(mixed, sizeof mixed - 1, &f, 1, "0123", &b);
    CHECK(rc == 0 && leaves(&b, name, sizeof name, first, sizeof first) == 2 && strcmp(name, "alice@demo.test.asc") == 0,
          "into an existing multipart/mixed: one more part");
    CHECK(b.data && strncmp(b.data, mixed, strlen("From: a@demo.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
                                                  "boundary=\"q\"\r\n\r\npre\r\n--q\r\nContent-Type: text/plain\r\n\r\nhi")) == 0 &&
              strstr(b.data, "\r\n--q--\r\nepilogue\r\n"),
          "the existing parts, closing delimiter and epilogue are unchanged");
    sg_buf_free(&b);
}

static void test_notice(void)
{
    static const char orig[] = "From: x@demo.test\r\nSubject: evil\r\n\r\nBcc: injected\r\nMessage-ID: <m@x>\r\n\r\nsecret body\r\n";
    sg_notice_item items[] = {{"bob@x.example", "no key\r\nX-Injected: 1"}};
    sg_notice n = {.kind = SG_NOTICE_HELD,
                   .hostname = "gw.demo.test",
                   .to = "x@demo.test>\r\nBcc: evil@x.example",
                   .qid = "0123456789abcdef",
                   .items = items,
                   .n = 1,
                   .now = 1795000000,
                   .token = "t1"};
    sg_buf b;
    sg_buf_init(&b, 1 << 20);
    bool eight;
    int rc = sg_notice_build(&n, orig, sizeof orig - 1, &b, &eight);
    CHECK(rc == 0 && !eight, "a notice is built");
    CHECK(b.data && !strstr(b.data, "\r\nBcc:") && !strstr(b.data, "\r\nX-Injected") &&
              strstr(b.data, "To: <x@demo.test>??Bcc: evil@x.example>\r\n"),
          "control characters from addresses and reasons cannot start a field");
    CHECK(b.data && strstr(b.data, "<bob@x.example>: no key??X-Injected: 1\r\n") && !strstr(b.data, "secret body"),
          "the held recipient and reason on one line; the body is not included");
    CHECK(b.data && strstr(b.data, "Date: ") && strstr(b.data, "Message-ID: <t1.notice@gw.demo.test>") &&
              strstr(b.data, "Auto-Submitted: auto-generated"),
          "a real RFC 5322 message: Date, Message-ID, Auto-Submitted");
    sg_buf_free(&b);
}

int main(void)
{
    sg_mime_init();
    test_headers();
    test_attach();
    test_notice();
    return CHECK_DONE();
}
