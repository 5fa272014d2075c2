/* fuzz_smtp_datareader.c - libFuzzer target for the DATA state machine. Owner: src/smtp.
 * The first byte picks the mode and a split size; the rest is fed once whole and once in
 * pieces (with small output windows). Invariants checked beyond "no crash": both feeds agree
 * (a packet boundary can never change what is stored or where DATA ends); stored line ends are
 * always CRLF; and in reject mode the output is exactly the consumed input minus one leading
 * "." per line and the final ".\r\n" (nothing altered, nothing hidden past the end). Chunk mode
 * (BDAT text, picked by another bit) is checked the same way, and in reject mode its output is
 * exactly its input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/datareader.h"

typedef struct run {
    int status;
    size_t consumed;
    char *out;
    size_t outlen;
} run;

static run feed(const uint8_t *in, size_t len, bool normalize, bool chunked, size_t step)
{
    run r = {0};
    size_t cap = len * 5 + 64;
    r.out = malloc(cap);
    if (!r.out)
        abort();
    sg_datareader dr;
    if (chunked)
        sg_dr_init_chunked(&dr, normalize, 998);
    else
        sg_dr_init(&dr, normalize, 998);
    size_t pos = 0;
    /* small output windows as well, to exercise the "output full" path */
    size_t window = step ? SG_DR_OUT_SLACK + step : cap;
    while (pos < len && dr.status == SG_DR_MORE) {
        size_t n = step ? (len - pos < step ? len - pos : step) : len - pos;
        size_t lim = r.outlen + window < cap ? r.outlen + window : cap;
        pos += sg_dr_feed(&dr, (const char *)in + pos, n, r.out, lim, &r.outlen);
    }
    if (chunked && pos == len)
        sg_dr_finish(&dr, r.out, &r.outlen);
    r.status = dr.status;
    r.consumed = pos;
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool normalize = data[0] & 1;
    bool chunked = data[0] & 0x80;
    size_t step = (data[0] >> 1) % 16 + 1;
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    run a = feed(in, len, normalize, chunked, 0);
    run b = feed(in, len, normalize, chunked, step);
    if (chunked && a.status == SG_DR_END && (a.consumed != len || (!normalize && (a.outlen != len || memcmp(a.out, in, len)))))
        abort(); /* the whole message is read; reject mode stores it unchanged */
    if (a.status != b.status || a.outlen != b.outlen || memcmp(a.out, b.out, a.outlen) != 0 ||
        (a.status != SG_DR_MORE && a.consumed != b.consumed))
        abort();
    /* Output lines always end in CRLF; no bare CR or LF is ever stored. */
    for (size_t i = 0; i < a.outlen; i++) {
        if (a.out[i] == '\n' && (i == 0 || a.out[i - 1] != '\r'))
            abort();
        if (a.out[i] == '\r' && (i + 1 < a.outlen ? a.out[i + 1] != '\n' : a.status == SG_DR_END))
            abort();
    }
    if (!normalize && !chunked && a.status == SG_DR_END) {
        /* Reject mode accepted clean CRLF text: unstuffing the consumed input line by line
         * (drop one leading "." per line) without the final ".\r\n" must give the output. */
        char *un = malloc(a.consumed + 1);
        if (!un || a.consumed < 3 || memcmp(in + a.consumed - 3, ".\r\n", 3) != 0)
            abort();
        size_t n = 0;
        bool bol = true;
        for (size_t i = 0; i < a.consumed - 3; i++) {
            if (!(bol && in[i] == '.'))
                un[n++] = (char)in[i];
            bol = in[i] == '\n';
        }
        if (n != a.outlen || memcmp(un, a.out, n) != 0)
            abort();
        free(un);
    }
    free(a.out);
    free(b.out);
    return 0;
}
