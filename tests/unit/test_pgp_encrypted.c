/* test_pgp_encrypted.c - what counts as an OpenPGP encrypted message (crypto/pgp_packet.h,
 * pgp_encrypted.c): the packet sequences, the length forms gpg and others write (old format,
 * new format, partial lengths), and the shapes that must not count. Real gpg
 * output is checked through SMTP in tests/integration/test_failclosed.py. Owner: src/crypto. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "crypto/pgp_packet.h"

/* bin as the base64 lines of an armor (line octets per line), a checksum line when crc, then
 * the END line; into out (large enough). Its length. */
static size_t armor(const uint8_t *bin, size_t n, size_t line, int crc, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t k = 0, col = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)bin[i] << 16 | (i + 1 < n ? (unsigned)bin[i + 1] << 8 : 0) |
                     (i + 2 < n ? bin[i + 2] : 0);
        char q[4] = {a[v >> 18 & 63], a[v >> 12 & 63], i + 1 < n ? a[v >> 6 & 63] : '=',
                     i + 2 < n ? a[v & 63] : '='};
        for (int j = 0; j < 4; j++) {
            if (col >= line && q[j] != '=') { /* a line never starts with padding (a checksum) */
                out[k++] = '\r', out[k++] = '\n', col = 0;
            }
            out[k++] = q[j], col++;
        }
    }
    if (col)
        out[k++] = '\r', out[k++] = '\n';
    if (crc)
        memcpy(out + k, "=AbCd\r\n", 7), k += 7;
    memcpy(out + k, "-----END PGP MESSAGE-----\r\n", 27);
    return k + 27;
}

/* For every window from 16 octets to past the whole armor, and several line lengths: the
 * windowed walk over the armor of bin says what the whole-buffer walk says. The number of
 * disagreements. */
static int windows_agree(const uint8_t *bin, size_t n)
{
    int want = sg_pgp_is_encrypted(bin, n), bad = 0;
    static const size_t lines[] = {1, 3, 4, 7, 64, 76, 1u << 30};
    char *t = malloc(n * 6 + 200);
    for (size_t l = 0; t && l < sizeof lines / sizeof *lines; l++) {
        size_t tn = armor(bin, n, lines[l], (int)(l & 1), t);
        for (size_t win = 16; win <= n + 8; win++)
            bad += sg_pgp_armor_is_encrypted(t, tn, win) != want;
        /* the armor cut before its END line never counts */
        bad += sg_pgp_armor_is_encrypted(t, tn - 27, 16) != 0;
        t[tn / 2] = '!'; /* a character that is not base64 */
        bad += sg_pgp_armor_is_encrypted(t, tn, 16) != 0;
    }
    free(t);
    return t ? bad : -1;
}

/* A message built from pieces: a PKESK v3 (old format, 1-octet length), then the data. */
static size_t build(uint8_t *out, const uint8_t *data_hdr, size_t hl, size_t body, uint8_t version)
{
    static const uint8_t pkesk[] = {0x84, 0x0d, 3, 1, 2, 3, 4, 5, 6, 7, 8, 18, 0, 1, 0x55};
    size_t n = 0;
    memcpy(out, pkesk, sizeof pkesk), n += sizeof pkesk;
    memcpy(out + n, data_hdr, hl), n += hl;
    memset(out + n, 0xab, body), out[n] = version, n += body;
    return n;
}

int main(void)
{
    uint8_t m[4096];
    size_t n;

    static const uint8_t seipd_new[] = {0xd2, 60}; /* new format, tag 18, 60 octets */
    n = build(m, seipd_new, 2, 60, 1);
    CHECK(sg_pgp_is_encrypted(m, n) == 1, "PKESK then SEIPD v1 (new format length)");
    CHECK(sg_pgp_is_encrypted(m, n - 1) == 0, "a SEIPD cut short");
    m[n] = 0;
    CHECK(sg_pgp_is_encrypted(m, n + 1) == 0, "bytes after the SEIPD");
    n = build(m, seipd_new, 2, 60, 9);
    CHECK(sg_pgp_is_encrypted(m, n) == 0, "an unknown SEIPD version");
    CHECK(sg_pgp_is_encrypted(m + 15, n - 15) == 0, "a SEIPD without any PKESK or SKESK");

    static const uint8_t seipd_old[] = {0xa5, 0x00, 60}; /* old format tag 9 = SED, 2-octet */
    n = build(m, seipd_old, 3, 60, 1);
    CHECK(sg_pgp_is_encrypted(m, n) == 0, "SED (no integrity protection) does not count");

    /* partial: 512 octets, then 1024, then a final 100 */
    uint8_t *p = malloc(2000);
    memcpy(p, m, 15);
    size_t k = 15;
    p[k++] = 0xd2;
    p[k++] = 0xe9; /* 1 << 9 */
    memset(p + k, 0xab, 512), p[k] = 1, k += 512;
    p[k++] = 0xea; /* 1 << 10 */
    memset(p + k, 0xab, 1024), k += 1024;
    p[k++] = 100;
    memset(p + k, 0xab, 100), k += 100;
    CHECK(sg_pgp_is_encrypted(p, k) == 1, "SEIPD with partial body lengths");
    CHECK(sg_pgp_is_encrypted(p, k - 1) == 0, "partial body lengths that overrun the data");
    p[16] = 0xe1; /* a first chunk of 2 octets */
    CHECK(sg_pgp_is_encrypted(p, k) == 0, "a first partial chunk under 512 octets");
    free(p);

    /* plain text whose first octet looks like a PKESK (0x85 = old format tag 1) */
    static const char fake[] = "\x85\x01\x0cThe secret plan, in the clear. The secret plan, in the clear.";
    CHECK(sg_pgp_is_encrypted((const uint8_t *)fake, sizeof fake - 1) == 0, "text that starts like a PKESK");

    static const char armored_fake[] = "-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMVGhlIHNlY3JldCBwbGFuLCBpbiB0aGUgY2xlYXIu\r\n"
                                       "-----END PGP MESSAGE-----\r\n";
    CHECK(sg_pgp_text_is_encrypted(armored_fake, sizeof armored_fake - 1) == 0,
          "armor whose first octet looks like a PKESK");
    static const char not_b64[] = "-----BEGIN PGP MESSAGE-----\r\n\r\nThe secret plan, in the clear!\r\n"
                                  "-----END PGP MESSAGE-----\r\n";
    CHECK(sg_pgp_text_is_encrypted(not_b64, sizeof not_b64 - 1) == 0, "armor around plain text");
    CHECK(sg_pgp_text_is_encrypted("The secret plan.\r\n", 18) == 0, "plain text");

    /* The windowed dearmoring (issue 11): whatever the window and the line length, the same
     * answer as the whole buffer, for messages that count and ones that do not. */
    uint8_t *w = malloc(3000);
    k = 0;
    memcpy(w, m, 15), k = 15;     /* the PKESK */
    w[k++] = 0xd2, w[k++] = 0xe9; /* SEIPD, partial 512 */
    memset(w + k, 0xab, 512), w[k] = 1, k += 512;
    w[k++] = 0xea, memset(w + k, 0xcd, 1024), k += 1024; /* partial 1024 */
    size_t fin = k; /* the final length: 2 octets, 469 = 192 + (1 << 8) + 21 */
    w[k++] = 0xc1, w[k++] = 0x15, memset(w + k, 0xef, 469), k += 469;
    CHECK(sg_pgp_is_encrypted(w, k) == 1 && windows_agree(w, k) == 0,
          "partial lengths, a 2-octet final length: every window and line length agrees (counts)");
    CHECK(windows_agree(w, k - 1) == 0 && windows_agree(w, fin + 1) == 0 && windows_agree(w, 20) == 0,
          "the same cut short in its last chunk, at a length octet, in the header: all agree (do not count)");
    w[k] = 0x00;
    CHECK(windows_agree(w, k + 1) == 0, "a byte after the data packet: all agree (does not count)");
    w[fin + 1] = 0x16; /* the final length now overruns the data */
    CHECK(windows_agree(w, k) == 0, "a final length that overruns: all agree");
    w[fin] = 0xff, w[fin + 1] = 0, w[fin + 2] = 0, w[fin + 3] = 0x01, w[fin + 4] = 0xd5; /* 5 octets: 469 */
    memset(w + fin + 5, 0xef, 469);
    CHECK(sg_pgp_is_encrypted(w, fin + 5 + 469) == 1 && windows_agree(w, fin + 5 + 469) == 0,
          "a 5-octet final length: all agree (counts)");
    size_t d = 15; /* a definite 5-octet length over the whole body */
    w[d] = 0xd2, w[d + 1] = 0xff, w[d + 2] = 0, w[d + 3] = 0, w[d + 4] = 0x07, w[d + 5] = 0xd0;
    memset(w + d + 6, 0x11, 2000), w[d + 6] = 1;
    CHECK(sg_pgp_is_encrypted(w, d + 6 + 2000) == 1 && windows_agree(w, d + 6 + 2000) == 0,
          "one definite 5-octet length: all agree (counts)");
    CHECK(windows_agree(w, d + 6 + 1999) == 0, "the same one octet short: all agree");
    w[d + 6] = 7;
    CHECK(windows_agree(w, d + 6 + 2000) == 0, "an unknown version: all agree (does not count)");
    free(w);
    return CHECK_DONE();
}
