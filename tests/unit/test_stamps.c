/* test_stamps.c - src/mime/stamps.c: forged results (X-Sealgate-*, Authentication-Results in
 * our name) are removed by a line scan that works on headers no parser accepts, and nothing
 * else changes. Owner: src/mime. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "mime/mime.h"

#define ID "gw.demo.test"

/* strip(in) == want, byte for byte (lengths given: the inputs hold NUL bytes). */
static int strips_to(const char *in, size_t inlen, const char *want, size_t wantlen)
{
    sg_buf out;
    sg_buf_init(&out, SG_MIME_MAX_OUT);
    int ok = sg_mime_strip_results(in, inlen, ID, &out) == 0 && out.len == wantlen &&
             (wantlen == 0 || memcmp(out.data, want, wantlen) == 0);
    if (!ok)
        printf("# got %zu bytes\n", out.len);
    /* The copy-only-when-needed form gives the same result: a copy, or none when the input
     * is its own result. */
    sg_buf lazy;
    sg_buf_init(&lazy, SG_MIME_MAX_OUT);
    bool stripped;
    int same = sg_mime_strip_results_if_any(in, inlen, ID, &lazy, &stripped) == 0 &&
               (stripped ? lazy.len == wantlen && (wantlen == 0 || memcmp(lazy.data, want, wantlen) == 0)
                         : lazy.len == 0 && inlen == wantlen && memcmp(in, want, wantlen) == 0);
    if (!same)
        printf("# if_any: stripped %d, %zu bytes\n", stripped, lazy.len);
    sg_buf_free(&lazy);
    sg_buf_free(&out);
    return ok && same;
}
#define STRIPS(in, want) strips_to(in, sizeof in - 1, want, sizeof want - 1)

static void test_shapes(void)
{
    static const char plain[] = "From: a@example.net\r\nSubject: hi\r\n\r\nbody\r\n";
    CHECK(STRIPS(plain, plain) && !sg_mime_has_results(plain, sizeof plain - 1, ID), "no result: unchanged");
    static const char mixed[] = "x-SEALGATE-signature: valid\r\nX-Sealgate-Foo : bar\r\n"
                                "Authentication-Results: mx.example.net; dkim=pass\r\n"
                                "Authentication-Results:\r\n (c) \"GW.Demo.Test\"; smime=pass\r\n"
                                "Subject: hi\r\n\r\nX-Sealgate-Signature: body text\r\n";
    CHECK(STRIPS(mixed, "Authentication-Results: mx.example.net; dkim=pass\r\nSubject: hi\r\n\r\n"
                        "X-Sealgate-Signature: body text\r\n") &&
              sg_mime_has_results(mixed, sizeof mixed - 1, ID),
          "mixed case, space before the colon, folded and quoted authserv-id; another server's and the body kept");
    static const char nocolon[] = "From: a\r\nno colon here\r\nX-Sealgate-Signature: valid\r\n\r\nb\r\n";
    CHECK(STRIPS(nocolon, "From: a\r\nno colon here\r\n\r\nb\r\n"), "after a line without a colon");
    static const char lf[] = "From: a\nX-Sealgate-Decryption: full\n folded\nSubject: s\n\nb\n";
    CHECK(STRIPS(lf, "From: a\nSubject: s\n\nb\n"), "LF line ends, a folded stamp goes whole");
    static const char nul[] = "From: a\r\nX-Sea\0lgate-Signature: valid\r\nX-B\0: v\r\n"
                              "Authentication-Results: gw.demo\0.test; x-pgp=pass\r\n\r\nb";
    CHECK(strips_to(nul, sizeof nul - 1, "From: a\r\nX-B\0: v\r\n\r\nb", 21), "NUL bytes hide no name or authserv-id");
    static const char orphan[] = " X-Sealgate-Signature: valid\r\n\tstill orphan\r\nFrom: a\r\n"
                                 " X-Sealgate-Signature: part of From\r\n\r\n";
    CHECK(STRIPS(orphan, "\tstill orphan\r\nFrom: a\r\n X-Sealgate-Signature: part of From\r\n\r\n"),
          "continuation lines before any field stand alone; after one they are its text");
    static const char cr[] = "Subject: a\rX-Sealgate-Signature: valid\r\nTo: b\r\n\tc\r X-Sealgate-x\r\n\r\n";
    CHECK(STRIPS(cr, "To: b\r\n\tc\r X-Sealgate-x\r\n\r\n"),
          "a stamp behind a bare CR takes its field along; after CR and space it is text");
    static const char crlf[] = "Subject: a\rX-Sealgate-A: b\n\tfold\n\nX-Sealgate-B: body\n";
    CHECK(STRIPS(crlf, "\nX-Sealgate-B: body\n"), "a removal never joins a bare CR to the empty line's LF");
    static const char noname[] = "X-Sealgate-Signature valid\r\n: empty name\r\n\r\n";
    CHECK(STRIPS(noname, ": empty name\r\n\r\n"), "a stamp name without a colon is still a stamp");
    static const char crid[] = "From: a\r\nAuthentication-Results: gw.demo.test\r\rmore; x-pgp=pass\r\n"
                               "Authentication-Results: gw.demo.testmore; x-pgp=pass\r\n\r\nb";
    CHECK(STRIPS(crid, "From: a\r\nAuthentication-Results: gw.demo.testmore; x-pgp=pass\r\n\r\nb"),
          "bare CRs after our authserv-id do not hide it (a parser that keeps them reads whitespace)");
    static const char nobody[] = "From: a\r\nX-Sealgate-Signature: valid";
    CHECK(STRIPS(nobody, "From: a\r\n"), "a header without an end");
}

static void test_many(void)
{
    sg_buf in, want;
    sg_buf_init(&in, SG_MIME_MAX_OUT);
    sg_buf_init(&want, SG_MIME_MAX_OUT);
    int ok = 0;
    for (int i = 0; i < 2000; i++) {
        ok |= sg_buf_appendf(&in, "X-F%d: %d\r\n", i, i) | sg_buf_appendf(&want, "X-F%d: %d\r\n", i, i);
        if (i % 500 == 250)
            ok |= sg_buf_appendf(&in, "X-Sealgate-Signature: valid %d\r\n", i);
    }
    ok |= sg_buf_appendf(&in, "X-Long: %0*d\r\nX-Sealgate-Decryption: full\r\n\r\nbody", 100000, 7);
    ok |= sg_buf_appendf(&want, "X-Long: %0*d\r\n\r\nbody", 100000, 7);
    CHECK(ok == 0 && strips_to(in.data, in.len, want.data, want.len),
          "2000 fields and a 100000-octet line: stamps among them removed");
    sg_buf_free(&in);
    sg_buf_free(&want);
}

int main(void)
{
    test_shapes();
    test_many();
    return CHECK_DONE();
}
