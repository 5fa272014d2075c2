/* test_mime_stream.c - the streamed pieces of an outgoing PGP/MIME message (src/mime/
 * mime_stream.c, issue 11) against the whole-message functions they replace for large
 * messages: the inner entity read in pieces of every size from 1 byte up equals
 * sg_mime_protected_entity_with for CRLF, LF, mixed and bare-CR inputs (so every split falls on
 * every byte, CR and LF), and for a 3 MiB body of bare-LF and CRLF lines read in pieces of
 * 64 KiB - 8 to 64 KiB + 8 and of 1 MiB (each read ends on some LF, CR, or the CR the filter
 * adds); an entity that needs re-encoding (8-bit, NUL, a long line, in the body or a
 * content field) is refused with 1, never streamed differently; the line-end filter over two
 * pieces split at every position, and over 1-byte pieces, equals sg_mime_append_crlf; the head
 * and tail around the armored data equal sg_mime_wrap_encrypted_with; for S/MIME, base64 lines
 * of bytes given in pieces (every split in two, 1-byte pieces, pieces across the 57-byte line
 * groups) equal the p7m entity's whole-buffer lines, and the signed entity's head, content and
 * tail equal sg_mime_smime_signed_entity; the streamed entity with the default fields equals
 * sg_mime_protected_entity. Owner: src/mime. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mime/mime.h"
#include "mime/mime_int.h"
#include "mime/mime_stream.h"
#include "mime/smime.h"

static const char *const NAMES[] = {"From", "To", "Cc", "Date", "Message-ID"};
#define NNAMES (sizeof NAMES / sizeof NAMES[0])

/* The entity read through the stream in pieces of cap bytes equals the whole-message one. */
static int same_entity(const char *msg, size_t len, size_t cap)
{
    sg_buf want, got;
    sg_buf_init(&want, SG_MIME_MAX_OUT);
    sg_buf_init(&got, SG_MIME_MAX_OUT);
    sg_entity_stream s;
    int ok = sg_mime_protected_entity_with(msg, len, NAMES, NNAMES, &want) == 0 &&
             sg_entity_stream_open(&s, msg, len, NAMES, NNAMES) == 0;
    if (ok) {
        char *buf = malloc(cap);
        size_t n;
        while ((n = sg_entity_stream_read(&s, buf, cap)) > 0)
            sg_buf_append(&got, buf, n);
        free(buf);
        sg_entity_stream_close(&s);
        ok = got.len == want.len && memcmp(got.data, want.data, got.len) == 0;
    }
    sg_buf_free(&want);
    sg_buf_free(&got);
    return ok;
}

static const char *const SMALL[] = {
    "From: a@demo.test\r\nTo: b@ext.test\r\nSubject: s\r\nContent-Type: text/plain\r\n\r\nline\r\nline2\r\n",
    "From: a@demo.test\nTo: b@ext.test\nSubject: s\nContent-Type: text/plain\n\nline\nline2\n",
    "From: a@demo.test\r\nSubject: s\r\n\r\n\nstarts with LF\nmixed\r\nends\n\n",
    "From: a@demo.test\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
    "boundary=x\r\n\r\n"
    "--x\r\nContent-Type: text/plain\r\n\r\nbare CR\rhere\r\r\n--x--\r\n",
    "From: a@demo.test\r\nSubject: no body\r\n\r\n",
    "Subject: CR at the end\r\n\r\nx\r",
};

static void entities(void)
{
    for (size_t i = 0; i < sizeof SMALL / sizeof SMALL[0]; i++) {
        int all = 1;
        size_t len = strlen(SMALL[i]);
        for (size_t cap = 1; cap <= len + 2; cap++)
            all &= same_entity(SMALL[i], len, cap);
        CHECK(all, "entity %zu read in pieces of every size from 1 to %zu bytes equals the whole-message one",
              i, len + 2);
    }
    /* 3 MiB of lines of 511 octets and a bare LF, then of 75 and CRLF. */
    const char head[] =
        "From: a@demo.test\r\nTo: b@ext.test\r\nSubject: big\r\nContent-Type: text/plain\r\n\r\n";
    size_t hl = strlen(head), body = 3u << 20, len = hl + body;
    char *m = malloc(len);
    memcpy(m, head, hl);
    for (size_t i = 0; i < body; i++) {
        size_t at = hl + i;
        m[at] = (char)('a' + i % 26);
        if ((i + 1) % 512 == 0)
            m[at] = '\n';
        if (i > (2u << 20) && i % 77 == 75)
            m[at] = '\r';
        if (i > (2u << 20) && i % 77 == 76)
            m[at] = '\n';
    }
    int all = same_entity(m, len, 1u << 20);
    for (size_t cap = (64u << 10) - 8; cap <= (64u << 10) + 8; cap++)
        all &= same_entity(m, len, cap);
    CHECK(all, "a 3 MiB entity read in pieces of 64 KiB +- 8 and of 1 MiB equals the whole-message one");
    free(m);
}

static void refused(void)
{
    static const char *const bad[] = {
        "Subject: 8-bit\r\nContent-Type: text/plain\r\n\r\nGr\xc3\xbc\xc3\x9f"
        "e\r\n",
        "Subject: s\r\nContent-Type: text/plain; name=\"\xc3\xa4.txt\"\r\n\r\nascii\r\n",
    };
    sg_entity_stream s;
    for (size_t i = 0; i < 2; i++)
        CHECK(sg_entity_stream_open(&s, bad[i], strlen(bad[i]), NAMES, NNAMES) == 1,
              "8-bit in the %s: not streamed (1)", i ? "content fields" : "body");
    char nul[] = "Subject: s\r\n\r\nNUL:\0:\r\n";
    CHECK(sg_entity_stream_open(&s, nul, sizeof nul - 1, NAMES, NNAMES) == 1,
          "NUL in the body: not streamed");
    size_t len = 2000;
    char *m = malloc(len);
    memcpy(m, "Subject: s\r\n\r\n", 14);
    memset(m + 14, 'x', len - 14);
    CHECK(sg_entity_stream_open(&s, m, len, NAMES, NNAMES) == 1, "a line over 998 octets: not streamed");
    memset(m + 14 + 998, '\n', 1);
    CHECK(sg_entity_stream_open(&s, m, len, NAMES, NNAMES) == 0, "lines of 998 octets: streamed");
    sg_entity_stream_close(&s);
    free(m);
}

static int crlf_same(const char *t, size_t n, size_t cut, size_t piece)
{
    sg_buf want, got;
    sg_buf_init(&want, SG_MIME_MAX_OUT);
    sg_buf_init(&got, SG_MIME_MAX_OUT);
    sg_mime_append_crlf(&want, t, n);
    char prev = 0;
    if (piece) {
        for (size_t i = 0; i < n; i += piece)
            sg_crlf_piece(&prev, t + i, n - i < piece ? n - i : piece, &got);
    } else {
        sg_crlf_piece(&prev, t, cut, &got);
        sg_crlf_piece(&prev, t + cut, n - cut, &got);
    }
    int ok = got.len == want.len && (!got.len || memcmp(got.data, want.data, got.len) == 0);
    sg_buf_free(&want);
    sg_buf_free(&got);
    return ok;
}

static void crlf(void)
{
    static const char *const texts[] = {
        "-----BEGIN PGP MESSAGE-----\n\nwcFMA\nabc\n=XyZ1\n-----END PGP MESSAGE-----\n",
        "a\r\nb\nc\r\rd\n\n\r\n", "\n\n\r\r\n\r", ""};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        size_t n = strlen(texts[i]);
        int all = crlf_same(texts[i], n, 0, 1) && crlf_same(texts[i], n, 0, 3);
        for (size_t cut = 0; cut <= n; cut++)
            all &= crlf_same(texts[i], n, cut, 0);
        CHECK(all, "line-end filter on text %zu: every split in two and 1-byte pieces equal the whole", i);
    }
}

static void wrapper(void)
{
    const char msg[] =
        "From: a@demo.test\r\nTo: b@ext.test\r\nSubject: secret\r\nContent-Type: text/plain\r\n\r\nx\r\n";
    const char arm[] = "-----BEGIN PGP MESSAGE-----\n\nwcFMA\n-----END PGP MESSAGE-----";
    for (int k = 0; k < 2; k++) {
        size_t alen = strlen(arm) - (size_t)k; /* with and without a last line end */
        sg_buf whole, parts;
        sg_buf_init(&whole, SG_MIME_MAX_OUT);
        sg_buf_init(&parts, SG_MIME_MAX_OUT);
        int ok = sg_mime_wrap_encrypted_with(msg, sizeof msg - 1, arm, alen, "...", &whole) == 0;
        sg_buf_append(&whole, "", 1);
        const char *b = ok ? strstr(whole.data, "boundary=\"") : NULL;
        char boundary[64] = "";
        if (b)
            sscanf(b + 10, "%63[^\"]", boundary);
        char prev = 0;
        ok = ok && *boundary && sg_mime_encrypted_head(msg, sizeof msg - 1, "...", boundary, &parts) == 0 &&
             sg_crlf_piece(&prev, arm, alen, &parts) == 0 &&
             sg_mime_encrypted_tail(prev, boundary, &parts) == 0 && parts.len == whole.len - 1 &&
             memcmp(parts.data, whole.data, parts.len) == 0;
        CHECK(ok,
              "head, filtered armor and tail equal sg_mime_wrap_encrypted_with (armor %s a last line end)",
              k ? "without" : "with");
        sg_buf_free(&whole);
        sg_buf_free(&parts);
    }
}

/* The base64 body of a p7m entity made whole, against the same bytes in pieces. */
static int b64_same(const unsigned char *d, size_t n, size_t cut, size_t piece)
{
    sg_buf whole, parts;
    sg_buf_init(&whole, SG_MIME_MAX_OUT);
    sg_buf_init(&parts, SG_MIME_MAX_OUT);
    sg_mime_smime_p7m_entity("enveloped-data", d, n, &whole);
    sg_mime_smime_p7m_head("enveloped-data", &parts);
    sg_b64 b = {0};
    if (piece) {
        for (size_t i = 0; i < n; i += piece)
            sg_b64_piece(&b, d + i, n - i < piece ? n - i : piece, &parts);
    } else {
        sg_b64_piece(&b, d, cut, &parts);
        sg_b64_piece(&b, d + cut, n - cut, &parts);
    }
    sg_b64_end(&b, &parts);
    int ok = whole.len == parts.len && memcmp(whole.data, parts.data, whole.len) == 0;
    sg_buf_free(&whole);
    sg_buf_free(&parts);
    return ok;
}

static void smime(void)
{
    unsigned char d[400];
    for (size_t i = 0; i < sizeof d; i++)
        d[i] = (unsigned char)(i * 151 + 7);
    int all = 1;
    for (size_t n = 0; n <= 3 * 57 + 2; n++)
        for (size_t cut = 0; cut <= n; cut++)
            all &= b64_same(d, n, cut, 0);
    for (size_t piece = 1; piece <= 120; piece++)
        all &= b64_same(d, sizeof d, 0, piece);
    CHECK(all,
          "base64 lines of bytes in pieces (every split of 0..173 bytes, pieces of 1..120) equal the whole");

    const char content[] = "Content-Type: text/plain\r\n\r\nsigned\r\n";
    const unsigned char sig[] = {0x30, 0x82, 0x01, 0x02, 0xaa};
    sg_buf whole, parts;
    sg_buf_init(&whole, SG_MIME_MAX_OUT);
    sg_buf_init(&parts, SG_MIME_MAX_OUT);
    int ok =
        sg_mime_smime_signed_entity(content, sizeof content - 1, sig, sizeof sig, "sha-256", &whole) == 0;
    sg_buf_append(&whole, "", 1);
    const char *bp = ok ? strstr(whole.data, "boundary=\"") : NULL;
    char boundary[64] = "";
    if (bp)
        sscanf(bp + 10, "%63[^\"]", boundary);
    ok = ok && *boundary && sg_mime_smime_signed_head("sha-256", boundary, &parts) == 0 &&
         sg_buf_append(&parts, content, sizeof content - 1) == 0 &&
         sg_mime_smime_signed_tail(boundary, sig, sizeof sig, &parts) == 0 && parts.len == whole.len - 1 &&
         memcmp(parts.data, whole.data, parts.len) == 0;
    CHECK(ok, "signed entity: head, content and tail equal sg_mime_smime_signed_entity");
    sg_buf_free(&whole);
    sg_buf_free(&parts);

    /* The default protected fields (S/MIME's inner entity). */
    const char *msg = SMALL[0];
    size_t len = strlen(msg);
    sg_buf want, got;
    sg_buf_init(&want, SG_MIME_MAX_OUT);
    sg_buf_init(&got, SG_MIME_MAX_OUT);
    sg_entity_stream s;
    ok = sg_mime_protected_entity(msg, len, &want) == 0 && sg_entity_stream_open(&s, msg, len, NULL, 0) == 0;
    if (ok) {
        char buf[7];
        size_t n;
        while ((n = sg_entity_stream_read(&s, buf, sizeof buf)) > 0)
            sg_buf_append(&got, buf, n);
        sg_entity_stream_close(&s);
    }
    CHECK(ok && got.len == want.len && memcmp(got.data, want.data, got.len) == 0,
          "the streamed entity with the default fields equals sg_mime_protected_entity");
    sg_buf_free(&want);
    sg_buf_free(&got);
}

int main(void)
{
    sg_mime_init();
    smime();
    entities();
    refused();
    crlf();
    wrapper();
    return CHECK_DONE();
}
