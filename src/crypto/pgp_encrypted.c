/* pgp_encrypted.c - does a message parse as OpenPGP encryption (pgp_packet.h)? The policy's
 * "already encrypted" rests on this: a message counts as encrypted only when its packets say
 * so, not because of its MIME dress or the first byte of its armor. Owner: src/crypto.
 * By structure alone (no keys): one or more PKESK (tag 1) or SKESK (tag 3) packets, then one
 * SEIPD (18) or AEAD (20) packet that ends the message, each with a known version and a length
 * within the data. The old SED packet (9, no integrity protection) does not count.
 * SECURITY: the input is untrusted (fuzz_mime_detect); every read is bounded by its length. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/pgp_packet.h"
#include "lib/mapview.h"

enum { T_PKESK = 1, T_SKESK = 3, T_MARKER = 10, T_SEIPD = 18, T_AEAD = 20 };

/* A packet whose length may be partial (new format: SEIPD and AEAD have tags over 15, which
 * the old format cannot express), from its header at p, all of it within len: its tag, the
 * offset of its first body octet, the offset just past it and its body length. 0, or -1.
 * Only the length octets are walked. */
static int data_packet(const uint8_t *p, size_t len, int *tag, size_t *first, size_t *end, size_t *blen)
{
    const uint8_t *body;
    if (sg_pgp_first_packet(p, len, tag, &body, blen) == 0) {
        *first = (size_t)(body - p);
        *end = *first + *blen;
        return 0;
    }
    if (len < 2 || (p[0] & 0xc0) != 0xc0)
        return -1;
    *tag = p[0] & 0x3f;
    if (p[1] < 224 || p[1] == 255 || ((size_t)1 << (p[1] & 0x1f)) < 512)
        return -1; /* not partial (sg_pgp_first_packet refused it), or a first chunk under 512 */
    *first = 2;
    size_t off = 1, total = 0;
    for (;;) { /* partial chunks, then one definite length */
        if (off >= len)
            return -1;
        uint8_t o = p[off];
        bool partial = o >= 224 && o < 255;
        size_t n;
        if (partial) {
            n = (size_t)1 << (o & 0x1f), off += 1;
        } else if (o < 192) {
            n = o, off += 1;
        } else if (o < 224) {
            if (off + 1 >= len)
                return -1;
            n = ((size_t)(o - 192) << 8) + p[off + 1] + 192, off += 2;
        } else {
            if (off + 4 >= len)
                return -1;
            n = ((size_t)p[off + 1] << 24) | ((size_t)p[off + 2] << 16) | ((size_t)p[off + 3] << 8) | p[off + 4];
            off += 5;
        }
        if (n > len - off)
            return -1;
        off += n;
        total += n;
        if (!partial)
            break;
    }
    *end = off;
    *blen = total;
    return 0;
}

/* The smallest sane bodies (RFC 9580 5.1, 5.3, 5.13; RFC 4880bis 5.16 for AEAD): version,
 * then what each version must carry. */
static bool sane_esk(int tag, const uint8_t *b, size_t n)
{
    if (n < 2)
        return false;
    if (tag == T_PKESK)
        return (b[0] == 3 && n >= 1 + 8 + 1 + 3) || (b[0] == 6 && n >= 1 + 1 + 1 + 3);
    return (b[0] == 4 && n >= 1 + 1 + 2) || ((b[0] == 5 || b[0] == 6) && n >= 1 + 1 + 1 + 1 + 2 + 12);
}

static bool sane_data(int tag, uint8_t version, size_t n)
{
    if (tag == T_SEIPD)
        return (version == 1 && n >= 1 + 8 + 2 + 22) || (version == 2 && n >= 1 + 3 + 32 + 16);
    return tag == T_AEAD && version == 1 && n >= 1 + 3 + 12 + 16;
}

int sg_pgp_is_encrypted(const uint8_t *p, size_t len)
{
    size_t off = 0, nesk = 0;
    while (off < len) {
        int tag;
        const uint8_t *body;
        size_t blen;
        if (sg_pgp_first_packet(p + off, len - off, &tag, &body, &blen) == 0 &&
            (tag == T_PKESK || tag == T_SKESK || tag == T_MARKER)) {
            if (tag != T_MARKER && !sane_esk(tag, body, blen))
                return 0;
            nesk += tag != T_MARKER;
            off = (size_t)(body - p) + blen;
            continue;
        }
        size_t first, end;
        if (nesk == 0 || data_packet(p + off, len - off, &tag, &first, &end, &blen) < 0 ||
            (tag != T_SEIPD && tag != T_AEAD) || blen == 0)
            return 0;
        /* The encrypted data ends the message: nothing after it, and its version is known. */
        return off + end == len && sane_data(tag, p[off + first], blen) ? 1 : 0;
    }
    return 0;
}

static size_t line_end(const char *t, size_t n, size_t p)
{
    const char *lf = memchr(t + p, '\n', n - p);
    return lf ? (size_t)(lf - t) + 1 : n;
}

static bool blank(const char *t, size_t a, size_t b)
{
    for (size_t i = a; i < b; i++)
        if (t[i] != ' ' && t[i] != '\t' && t[i] != '\r' && t[i] != '\n')
            return false;
    return true;
}

/* The line [a, b) is marker, trailing whitespace aside. */
static bool marker(const char *t, size_t a, size_t b, const char *m)
{
    size_t ml = strlen(m);
    return b - a >= ml && memcmp(t + a, m, ml) == 0 && blank(t, a + ml, b);
}

static int b64(char c)
{
    return c >= 'A' && c <= 'Z'   ? c - 'A'
           : c >= 'a' && c <= 'z' ? c - 'a' + 26
           : c >= '0' && c <= '9' ? c - '0' + 52
           : c == '+'             ? 62
           : c == '/'             ? 63
                                  : -1;
}

int sg_pgp_text_is_encrypted(const char *t, size_t n)
{
    size_t p = 0;
    while (p < n && blank(t, p, p + 1))
        p++;
    if (p < n && ((unsigned char)t[p] & 0x80)) /* binary OpenPGP (RFC 3156 allows it) */
        return sg_pgp_is_encrypted((const uint8_t *)t + p, n - p);
    size_t e = line_end(t, n, p);
    if (!marker(t, p, e, "-----BEGIN PGP MESSAGE-----"))
        return 0;
    for (p = e; p < n; p = e) { /* armor headers up to the empty line */
        e = line_end(t, n, p);
        if (blank(t, p, e))
            break;
    }
    uint8_t *bin = malloc(n / 4 * 3 + 3);
    if (!bin)
        return 0;
    size_t k = 0, given = 0;
    unsigned acc = 0, bits = 0;
    bool pad = false, ended = false;
    for (p = e; p < n && !ended; p = e) {
        /* A large message mapped from the spool: the pages read are given back (issue 11). */
        if (p - given >= ((size_t)1 << 20)) {
            sg_mapview_release(t + given, t + p);
            given = p;
        }
        e = line_end(t, n, p);
        if (marker(t, p, e, "-----END PGP MESSAGE-----")) {
            ended = true;
            break;
        }
        if (t[p] == '=') { /* the checksum line: the END line must follow */
            size_t f = line_end(t, n, e);
            ended = e < n && marker(t, e, f, "-----END PGP MESSAGE-----");
            break;
        }
        for (size_t i = p; i < e; i++) {
            int v = b64(t[i]);
            if (t[i] == '=') {
                pad = true;
            } else if (v >= 0 && !pad) {
                acc = (acc << 6) | (unsigned)v, bits += 6;
                if (bits >= 8) {
                    bits -= 8;
                    bin[k++] = (uint8_t)(acc >> bits);
                }
            } else if (!blank(t, i, i + 1)) {
                free(bin);
                return 0; /* not base64 (or data after the padding) */
            }
        }
    }
    int rc = ended ? sg_pgp_is_encrypted(bin, k) : 0;
    free(bin);
    return rc;
}
