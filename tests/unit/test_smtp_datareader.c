/* test_smtp_datareader.c - unit tests of the DATA state machine (src/smtp/datareader.c):
 * unstuffing, the end-of-data rule, bare CR/LF in both modes, line length, and that feeding
 * byte by byte gives the same result as feeding at once; chunk mode (BDAT text). Owner: src/smtp. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "smtp/datareader.h"

typedef struct result {
    int status;
    char out[4096];
    size_t outlen;
    size_t consumed;
    bool too_long;
} result;

/* Feeds in with the given step size (0: all at once). */
static result run(const char *in, size_t len, bool normalize, size_t step)
{
    result r = {0};
    sg_datareader dr;
    sg_dr_init(&dr, normalize, 998);
    size_t pos = 0;
    while (pos < len && dr.status == SG_DR_MORE) {
        size_t n = step ? (len - pos < step ? len - pos : step) : len - pos;
        pos += sg_dr_feed(&dr, in + pos, n, r.out, sizeof r.out, &r.outlen);
    }
    r.status = dr.status;
    r.consumed = pos;
    r.too_long = dr.line_too_long;
    return r;
}

#define S(x) x, sizeof(x) - 1

static bool same(result a, result b)
{
    return a.status == b.status && a.outlen == b.outlen && memcmp(a.out, b.out, a.outlen) == 0 &&
           a.consumed == b.consumed;
}

static void expect(const char *name, const char *in, size_t len, bool normalize, int status, const char *out,
                   size_t outlen)
{
    result r = run(in, len, normalize, 0);
    CHECK(r.status == status &&
              (status != SG_DR_END || (r.outlen == outlen && memcmp(r.out, out, outlen) == 0)),
          "%s", name);
    CHECK(same(r, run(in, len, normalize, 1)) && same(r, run(in, len, normalize, 3)),
          "%s (byte by byte gives the same)", name);
}

/* Chunk mode (BDAT text): in is split into chunks at the given offsets, then finished. */
static result chunks(const char *in, size_t len, bool normalize, size_t cut)
{
    result r = {0};
    sg_datareader dr;
    sg_dr_init_chunked(&dr, normalize, 998);
    r.consumed = sg_dr_feed(&dr, in, cut, r.out, sizeof r.out, &r.outlen);
    if (dr.status == SG_DR_MORE)
        r.consumed += sg_dr_feed(&dr, in + cut, len - cut, r.out, sizeof r.out, &r.outlen);
    sg_dr_finish(&dr, r.out, &r.outlen);
    r.status = dr.status;
    return r;
}

static void test_chunked(void)
{
    result r = chunks(S(".a\r\n.\r\nb\r\n"), false, 4);
    CHECK(r.status == SG_DR_END && r.outlen == 10 && memcmp(r.out, ".a\r\n.\r\nb\r\n", 10) == 0,
          "chunk mode: dots are content, '.' CRLF does not end it");
    r = chunks(S("a\r\nb"), false, 2);
    CHECK(r.status == SG_DR_END && r.outlen == 4, "chunk mode: a CRLF split across chunks is one line end");
    CHECK(chunks(S("a\nb\r\n"), false, 3).status == SG_DR_BARE_LF, "chunk mode: bare LF refused");
    CHECK(chunks(S("a\rb\r\n"), false, 2).status == SG_DR_BARE_CR, "chunk mode: bare CR refused");
    CHECK(chunks(S("a\r\nb\r"), false, 6).status == SG_DR_BARE_CR, "chunk mode: a CR ending the message is bare");
    r = chunks(S("a\nb\rc\r"), true, 3);
    CHECK(r.status == SG_DR_END && r.outlen == 9 && memcmp(r.out, "a\r\nb\r\nc\r\n", 9) == 0,
          "chunk mode, normalize: bare LF and CR, the last one too, become CRLF");
}

int main(void)
{
    test_chunked();
    expect("simple message", S("a\r\nb\r\n.\r\n"), false, SG_DR_END, S("a\r\nb\r\n"));
    expect("empty message", S(".\r\n"), false, SG_DR_END, S(""));
    expect("dot unstuffing", S("..a\r\n...\r\n.\r\n"), false, SG_DR_END, S(".a\r\n..\r\n"));
    expect("dot inside line kept", S("a.b\r\n.\r\n"), false, SG_DR_END, S("a.b\r\n"));
    expect("empty lines kept", S("\r\n\r\n.\r\n"), false, SG_DR_END, S("\r\n\r\n"));
    expect("bare LF rejected", S("a\nb\r\n.\r\n"), false, SG_DR_BARE_LF, NULL, 0);
    expect("bare CR rejected", S("a\rb\r\n.\r\n"), false, SG_DR_BARE_CR, NULL, 0);
    expect("\\n.\\n rejected", S("a\n.\n"), false, SG_DR_BARE_LF, NULL, 0);
    expect("\\r\\n.\\n rejected", S("a\r\n.\nb\r\n.\r\n"), false, SG_DR_BARE_LF, NULL, 0);
    expect("\\r.\\r rejected", S("a\r.\r"), false, SG_DR_BARE_CR, NULL, 0);
    expect(".\\r then other byte rejected", S(".\rx\r\n.\r\n"), false, SG_DR_BARE_CR, NULL, 0);
    expect("normalize: bare LF stored as CRLF", S("a\nb\r\n.\r\n"), true, SG_DR_END, S("a\r\nb\r\n"));
    expect("normalize: bare CR stored as CRLF", S("a\rb\r\n.\r\n"), true, SG_DR_END, S("a\r\nb\r\n"));
    expect("normalize: \\n.\\n is content", S("a\n.\nb\r\n.\r\n"), true, SG_DR_END, S("a\r\n.\r\nb\r\n"));
    expect("normalize: \\r\\n.\\n is content", S("a\r\n.\nb\r\n.\r\n"), true, SG_DR_END,
           S("a\r\n.\r\nb\r\n"));
    expect("normalize: \\n.\\r\\n is content", S("a\n.\r\nb\r\n.\r\n"), true, SG_DR_END,
           S("a\r\n.\r\nb\r\n"));
    expect("normalize: \\r.\\r is content", S("a\r.\rb\r\n.\r\n"), true, SG_DR_END, S("a\r\n.\r\nb\r\n"));
    expect("normalize: \\r.\\r\\n is content", S("a\r.\r\nb\r\n.\r\n"), true, SG_DR_END,
           S("a\r\n.\r\nb\r\n"));

    /* bytes after the end are not consumed: they are the next commands */
    result r = run(S("x\r\n.\r\nQUIT\r\n"), false, 0);
    CHECK(r.status == SG_DR_END && r.consumed == 6, "stops right after CRLF.CRLF");

    /* incomplete end sequence waits for more */
    r = run(S("x\r\n.\r"), false, 0);
    CHECK(r.status == SG_DR_MORE && r.consumed == 5, "partial end: more needed");

    /* line length: 998 ok, 999 flagged, counted on the raw line */
    char big[1200];
    memset(big, 'x', sizeof big);
    memcpy(big + 998, "\r\n.\r\n", 5);
    r = run(big, 1003, false, 0);
    CHECK(r.status == SG_DR_END && !r.too_long, "998-byte line allowed");
    memset(big, 'x', sizeof big);
    memcpy(big + 999, "\r\n.\r\n", 5);
    r = run(big, 1004, false, 0);
    CHECK(r.status == SG_DR_END && r.too_long, "999-byte line flagged, end still found");

    /* a small output buffer is respected */
    sg_datareader dr;
    sg_dr_init(&dr, false, 998);
    char out[SG_DR_OUT_SLACK + 2];
    size_t olen = 0, used = sg_dr_feed(&dr, "abcdefghijkl\r\n.\r\n", 18, out, sizeof out, &olen);
    CHECK(used < 18 && olen <= sizeof out && dr.status == SG_DR_MORE, "stops when output is full");
    return CHECK_DONE();
}
