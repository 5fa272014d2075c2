/* test_mime.c - src/mime: raw header and multipart views, canonicalisation before signing,
 * protected headers, outer header rewriting, PGP/MIME detection, unwrap and stamps.
 * Owner: src/mime. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mime/mime.h"
#include "mime/rawmsg.h"

static sg_buf out;

static void reset(void)
{
    sg_buf_free(&out);
    sg_buf_init(&out, SG_MIME_MAX_OUT);
}

static int has(const char *s, const char *what)
{
    return s && strstr(s, what) != NULL;
}

/* Every line ends in CRLF and no byte is 8-bit. */
static int seven_bit_crlf(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] >= 0x80)
            return 0;
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            return 0;
    }
    return 1;
}

static void test_rawmsg(void)
{
    const char m[] = "From: a@b\r\nSubject: one\r\n two\r\nX-Empty:\r\n\r\nbody\r\n";
    sg_rawmsg r;
    CHECK(sg_rawmsg_parse(m, sizeof m - 1, &r) == 0 && r.nh == 3, "rawmsg: three fields");
    CHECK(r.crlf && r.bodylen == 6 && memcmp(r.body, "body\r\n", 6) == 0,
          "rawmsg: body after the empty line");
    const sg_rawhdr *h = sg_rawmsg_find(&r, "subject");
    CHECK(h && h->rawlen == strlen("Subject: one\r\n two\r\n"), "rawmsg: folded field kept whole");
    char *v = h ? sg_rawhdr_value(h) : NULL;
    CHECK(v && strcmp(v, "one two") == 0, "rawmsg: value unfolded and trimmed (%s)", v ? v : "NULL");
    free(v);
    sg_rawmsg_free(&r);

    const char lf[] = "A: 1\nB: 2\n\nx\n";
    CHECK(sg_rawmsg_parse(lf, sizeof lf - 1, &r) == 0 && r.nh == 2 && !r.crlf && r.bodylen == 2,
          "rawmsg: LF input");
    sg_rawmsg_free(&r);
    const char bad[] = " leading continuation\r\n\r\n";
    CHECK(sg_rawmsg_parse(bad, sizeof bad - 1, &r) < 0, "rawmsg: continuation without a field is refused");
    const char nocolon[] = "not a header line\r\n\r\n";
    CHECK(sg_rawmsg_parse(nocolon, sizeof nocolon - 1, &r) < 0, "rawmsg: a line without a colon is refused");

    const char body[] =
        "preamble\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b  \r\n\r\ntwo\r\n\r\n--b--\r\nepilogue";
    sg_rawpart p[4];
    int n = sg_rawmsg_split(body, sizeof body - 1, "b", p, 4);
    CHECK(n == 2, "split: two parts (%d)", n);
    CHECK(n == 2 && p[0].len == strlen("Content-Type: text/plain\r\n\r\none") &&
              memcmp(p[0].data, "Content-Type", 12) == 0,
          "split: the CRLF before a delimiter belongs to the delimiter");
    CHECK(n == 2 && p[1].len == strlen("\r\ntwo\r\n"), "split: transport padding after a delimiter allowed");
    const char open[] = "--b\r\none\r\n";
    CHECK(sg_rawmsg_split(open, sizeof open - 1, "b", p, 4) < 0, "split: no close delimiter is an error");
    const char similar[] = "--bb\r\nx\r\n--b\r\ny\r\n--b--\r\n";
    n = sg_rawmsg_split(similar, sizeof similar - 1, "b", p, 4);
    CHECK(n == 1 && p[0].len == 1 && p[0].data[0] == 'y', "split: a longer boundary is not a delimiter");
}

static void test_canonical(void)
{
    /* 7-bit with bare LF: only line ends change. */
    const char lf[] = "Subject: x\nContent-Type: text/plain\n\nline one\nline two\n";
    reset();
    CHECK(sg_mime_canonical_entity(lf, sizeof lf - 1, &out) == 0 &&
              strcmp(out.data, "Content-Type: text/plain\r\n\r\nline one\r\nline two\r\n") == 0,
          "canonical: LF becomes CRLF, non-Content fields left out, bytes otherwise kept");

    const char u8[] = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                      "Gr\xc3\xbc\xc3\x9f"
                      "e aus dem S\xc3\xbc"
                      "den, lots of ASCII text here to prefer QP\r\n";
    reset();
    CHECK(sg_mime_canonical_entity(u8, sizeof u8 - 1, &out) == 0 && seven_bit_crlf(out.data, out.len),
          "canonical: 8-bit text becomes 7-bit");
    CHECK(has(out.data, "Content-Transfer-Encoding: quoted-printable") && has(out.data, "Gr=C3=BC=C3=9Fe"),
          "canonical: mostly-ASCII 8-bit text becomes quoted-printable");

    char bin[600];
    memcpy(bin, "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n", 78);
    for (int i = 78; i < 590; i++)
        bin[i] = (char)(i * 37 + 128);
    reset();
    CHECK(sg_mime_canonical_entity(bin, 590, &out) == 0 && seven_bit_crlf(out.data, out.len) &&
              has(out.data, "Content-Transfer-Encoding: base64"),
          "canonical: binary content becomes base64");

    char *longl = malloc(1200);
    strcpy(longl, "Content-Type: text/plain\r\n\r\n");
    size_t k = strlen(longl);
    memset(longl + k, 'a', 1100);
    memcpy(longl + k + 1100, "\r\n", 3);
    reset();
    int rc = sg_mime_canonical_entity(longl, strlen(longl), &out);
    size_t maxline = 0, cur = 0;
    for (size_t i = 0; i < out.len; i++)
        cur = out.data[i] == '\n' ? 0 : cur + 1, maxline = cur > maxline ? cur : maxline;
    CHECK(rc == 0 && maxline <= 998 && has(out.data, "quoted-printable"),
          "canonical: a line over 998 octets is re-encoded (longest now %zu)", maxline);
    free(longl);

    /* 8-bit text next to a base64 attachment: only the text part changes. */
    const char mixed[] =
        "Content-Type: multipart/mixed;\r\n boundary=\"XY\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "--XY\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Sch\xc3\xb6n\r\n--XY\r\n"
        "Content-Type: application/octet-stream;   name=\"a b\"\r\nContent-Transfer-Encoding: base64\r\n"
        "X-Odd:   spaced  \r\n\r\nAAEC\r\nAwQF\r\n--XY--\r\n";
    reset();
    CHECK(sg_mime_canonical_entity(mixed, sizeof mixed - 1, &out) == 0 && seven_bit_crlf(out.data, out.len),
          "canonical: multipart with one 8-bit leaf becomes 7-bit");
    CHECK(has(out.data,
              "Content-Type: application/octet-stream;   name=\"a b\"\r\nContent-Transfer-Encoding: "
              "base64\r\nX-Odd:   spaced  \r\n\r\nAAEC\r\nAwQF\r\n--XY--"),
          "canonical: the untouched attachment keeps its bytes (header spacing, content)");
    CHECK(has(out.data, "Content-Type: multipart/mixed;\r\n boundary=\"XY\"\r\n") &&
              !has(out.data, "Content-Transfer-Encoding: 8bit"),
          "canonical: multipart header kept raw, its stale 8bit label removed");
}

static const char msg[] = "Received: from x by y\r\n"
                          "From: Alice <alice@demo.test>\r\n"
                          "To: bob@example.net\r\n"
                          "Subject: the plan\r\n"
                          "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
                          "Message-ID: <m1@demo.test>\r\n"
                          "X-Mailer: test\r\n"
                          "MIME-Version: 1.0\r\n"
                          "Content-Type: text/plain;\r\n charset=us-ascii\r\n"
                          "\r\n"
                          "Meet at noon.\r\n";

static void test_protected(void)
{
    reset();
    CHECK(sg_mime_protected_entity(msg, sizeof msg - 1, &out) == 0, "protected: built");
    CHECK(strncmp(out.data, "Content-Type: text/plain;\r\n charset=us-ascii; protected-headers=\"v1\"\r\n",
                  70) == 0,
          "protected: Content-Type first, raw, with protected-headers=\"v1\"");
    CHECK(has(out.data, "\r\nFrom: Alice <alice@demo.test>\r\nTo: bob@example.net\r\nSubject: the plan\r\n"
                        "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <m1@demo.test>\r\n\r\n"),
          "protected: Subject, From, To, Date, Message-ID copied byte for byte");
    CHECK(!has(out.data, "Received:") && !has(out.data, "X-Mailer") && !has(out.data, "MIME-Version"),
          "protected: trace and other fields stay outside");
    CHECK(has(out.data, "\r\n\r\nMeet at noon.\r\n"), "protected: body kept");

    const char plain[] = "From: a@demo.test\r\nSubject: s\r\n\r\nhi\r\n";
    reset();
    CHECK(sg_mime_protected_entity(plain, sizeof plain - 1, &out) == 0 &&
              strncmp(out.data, "Content-Type: text/plain; charset=us-ascii; protected-headers=\"v1\"\r\n",
                      68) == 0,
          "protected: a message without Content-Type gets the MIME default made explicit");

    const char u8[] = "From: J\xc3\xb6rg <j@demo.test>\r\nSubject: Gr\xc3\xbc\xc3\x9f"
                      "e\r\n\r\nhi\r\n";
    reset();
    CHECK(sg_mime_protected_entity(u8, sizeof u8 - 1, &out) == 0 && seven_bit_crlf(out.data, out.len) &&
              has(out.data, "Subject: =?UTF-8?") && has(out.data, "<j@demo.test>"),
          "protected: raw UTF-8 fields become RFC 2047 encoded words");
}

static void test_wrap_detect(void)
{
    const char arm[] = "-----BEGIN PGP MESSAGE-----\n\nAAAA\n-----END PGP MESSAGE-----\n";
    reset();
    CHECK(sg_mime_wrap_encrypted(msg, sizeof msg - 1, arm, sizeof arm - 1, &out) == 0, "wrap: built");
    const char head[] = "Received: from x by y\r\nFrom: Alice <alice@demo.test>\r\nTo: bob@example.net\r\n"
                        "Subject: ...\r\nDate:";
    CHECK(strncmp(out.data, head, sizeof head - 1) == 0,
          "wrap: outer fields kept in order, Subject replaced by ...");
    CHECK(!has(out.data, "the plan") && !has(out.data, "text/plain") && !has(out.data, "Meet at noon"),
          "wrap: nothing of subject, content type or body outside");
    CHECK(has(out.data, "X-Mailer: test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; "
                        "protocol=\"application/pgp-encrypted\";"),
          "wrap: one MIME-Version and the multipart/encrypted type");
    CHECK(seven_bit_crlf(out.data, out.len), "wrap: output is 7-bit CRLF");

    sg_mime_pgp p;
    CHECK(sg_mime_detect(out.data, out.len, &p) == 0 && p.kind == SG_MIME_PGP_ENCRYPTED,
          "detect: our own output is PGP/MIME encrypted");
    /* cipher points into the message where it lies (issue 11), so it is compared by length. */
    static const char armored[] = "-----BEGIN PGP MESSAGE-----\r\n\r\nAAAA\r\n-----END PGP MESSAGE-----";
    CHECK(p.cipher && p.cipherlen == sizeof armored - 1 && memcmp(p.cipher, armored, p.cipherlen) == 0,
          "detect: the armored part extracted");
    sg_mime_pgp_free(&p);

    const char noversion[] =
        "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 2\r\n--b\r\n"
        "Content-Type: application/octet-stream\r\n\r\nx\r\n--b--\r\n";
    CHECK(sg_mime_detect(noversion, sizeof noversion - 1, &p) == 0 && p.kind == SG_MIME_OTHER,
          "detect: Version other than 1 is not PGP/MIME");
    const char swapped[] =
        "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n--b\r\n"
        "Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--b--\r\n";
    CHECK(sg_mime_detect(swapped, sizeof swapped - 1, &p) == 0 && p.kind == SG_MIME_OTHER,
          "detect: parts in the wrong order are not PGP/MIME");
    const char smime[] =
        "Content-Type: multipart/encrypted; protocol=\"application/pkcs7-mime\"; boundary=b\r\n\r\n"
        "--b\r\n\r\n--b--\r\n";
    CHECK(sg_mime_detect(smime, sizeof smime - 1, &p) == 0 && p.kind == SG_MIME_OTHER,
          "detect: another protocol is not PGP/MIME");
    const char three[] =
        "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--b\r\n"
        "Content-Type: application/octet-stream\r\n\r\nx\r\n--b\r\n\r\nextra\r\n--b--\r\n";
    CHECK(sg_mime_detect(three, sizeof three - 1, &p) == 0 && p.kind == SG_MIME_OTHER,
          "detect: a third part is not PGP/MIME");

    const char sig[] = "From: b@example.net\r\nContent-Type: multipart/signed; micalg=pgp-sha256;\r\n"
                       " protocol=\"application/pgp-signature\"; boundary=\"s\"\r\n\r\n"
                       "--s\r\nContent-Type: text/plain\r\n\r\nsigned text\r\n--s\r\n"
                       "Content-Type: application/pgp-signature\r\n\r\nSIG\r\n--s--\r\n";
    CHECK(sg_mime_detect(sig, sizeof sig - 1, &p) == 0 && p.kind == SG_MIME_PGP_SIGNED,
          "detect: multipart/signed");
    CHECK(p.signed_len == strlen("Content-Type: text/plain\r\n\r\nsigned text") &&
              memcmp(p.signed_data, "Content-Type: text/plain\r\n\r\nsigned text", p.signed_len) == 0 &&
              p.sig && strcmp(p.sig, "SIG") == 0,
          "detect: signed part exactly as received, signature decoded");
    sg_mime_pgp_free(&p);
    CHECK(sg_mime_detect(msg, sizeof msg - 1, &p) == 0 && p.kind == SG_MIME_OTHER,
          "detect: plain text is other");
}

static void test_unwrap(void)
{
    const char outer[] =
        "Received: r\r\nFrom: Bob <bob@example.net>\r\nSubject: ...\r\n"
        "X-Sealgate-Signature: valid; forged\r\nx-sealgate-decryption: full\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/encrypted; boundary=b\r\n\r\n--b--\r\n";
    const char ent[] = "Content-Type: text/plain; protected-headers=\"v1\"\r\nSubject: real\r\n"
                       "X-Sealgate-Signature: valid; inner forgery\r\n\r\nbody  \r\n";
    reset();
    CHECK(sg_mime_unwrap(outer, sizeof outer - 1, ent, sizeof ent - 1, "X-Sealgate-Decryption: full\r\n",
                         &out) == 0,
          "unwrap: built");
    CHECK(
        strcmp(out.data,
               "X-Sealgate-Decryption: full\r\nReceived: r\r\n"
               "MIME-Version: 1.0\r\nContent-Type: text/plain; protected-headers=\"v1\"\r\nSubject: real\r\n"
               "\r\nbody  \r\n") == 0,
        "unwrap: stamps replaced, protected Subject restored, outer From it does not protect removed, body "
        "exact");

    const char ent2[] = "Content-Type: text/plain\r\nSubject: not protected\r\n\r\nx";
    reset();
    CHECK(sg_mime_unwrap(outer, sizeof outer - 1, ent2, sizeof ent2 - 1, "", &out) == 0 &&
              has(out.data, "Subject: ...\r\n") && !has(out.data, "not protected"),
          "unwrap: without protected-headers the inner fields do not replace outer ones");

    const char bare[] = "just text, no header\r\nsecond line\r\n";
    reset();
    CHECK(sg_mime_unwrap(outer, sizeof outer - 1, bare, sizeof bare - 1, "", &out) == 0 &&
              has(out.data, "Subject: ...\r\nMIME-Version: 1.0\r\n\r\njust text, no header\r\nsecond line\r\n") &&
              !has(out.data, "Content-Type"),
          "unwrap: a decrypted text without MIME header becomes the body (MIME default type)");

    reset();
    CHECK(sg_mime_restamp(outer, sizeof outer - 1, "X-Sealgate-Signature: none\r\n", &out) == 0 &&
              strcmp(out.data, "X-Sealgate-Signature: none\r\nReceived: r\r\nFrom: Bob <bob@example.net>\r\n"
                               "Subject: ...\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; "
                               "boundary=b\r\n\r\n--b--\r\n") == 0,
          "restamp: forged stamps out (any case), ours in, everything else exact");

    char *a = sg_mime_from_address(outer, sizeof outer - 1);
    CHECK(a && strcmp(a, "bob@example.net") == 0, "from: the From address");
    free(a);
    const char up[] = "From: \"X, Y\" <Local@EXAMPLE.Net>\r\n\r\n";
    a = sg_mime_from_address(up, sizeof up - 1);
    CHECK(a && strcmp(a, "Local@example.net") == 0, "from: domain lower-cased, local part kept");
    free(a);
}

/* Decrypted entities with lines SMTP cannot carry: only those leaves are re-encoded. */
static void test_transportable(void)
{
    char longline[1200];
    memset(longline, 'q', sizeof longline - 1);
    longline[sizeof longline - 1] = '\0';
    sg_buf in;
    sg_buf_init(&in, SG_MIME_MAX_OUT);
    sg_buf_appendf(&in, "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n"
                        "Content-Transfer-Encoding: 8bit\r\n\r\ncaf\xc3\xa9\r\n--B\r\nContent-Type: text/plain\r\n\r\n%s\r\n--B--\r\n",
                   longline);
    sg_buf_reset(&out);
    int rc = sg_mime_transportable_entity(in.data, in.len, &out);
    size_t maxline = 0, cur = 0;
    for (size_t i = 0; rc == 0 && i < out.len; i++) {
        cur = out.data[i] == '\n' ? 0 : cur + 1;
        maxline = cur > maxline ? cur : maxline;
    }
    CHECK(rc == 0 && maxline <= 998 && memmem(out.data, out.len, "caf\xc3\xa9\r\n", 6) &&
              memmem(out.data, out.len, "Content-Transfer-Encoding: quoted-printable", 43),
          "transportable: the long-line leaf re-encoded, the 8-bit leaf kept as it was");
    const char short_ent[] = "Content-Type: text/plain\r\n\r\ncaf\xc3\xa9 short\r\n";
    sg_buf_reset(&out);
    CHECK(sg_mime_transportable_entity(short_ent, sizeof short_ent - 1, &out) == 0 && out.len == sizeof short_ent - 1 &&
              memcmp(out.data, short_ent, out.len) == 0,
          "transportable: an entity SMTP can carry keeps every byte");
    sg_buf_free(&in);
}

int main(void)
{
    sg_mime_init();
    sg_buf_init(&out, SG_MIME_MAX_OUT);
    test_rawmsg();
    test_canonical();
    test_protected();
    test_wrap_detect();
    test_unwrap();
    test_transportable();
    sg_buf_free(&out);
    return CHECK_DONE();
}
