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

/* One body length's octets at p (avail of them there): the length, the octets it took, and
 * whether it is a partial one (RFC 9580 4.2.1). 0, or -1 when they are cut. */
static int length_octets(const uint8_t *p, size_t avail, size_t *n, size_t *used, bool *partial)
{
    uint8_t o = p[0];
    *partial = o >= 224 && o < 255;
    if (*partial || o < 192) {
        *n = *partial ? (size_t)1 << (o & 0x1f) : o;
        *used = 1;
    } else if (o < 224) {
        if (avail < 2)
            return -1;
        *n = ((size_t)(o - 192) << 8) + p[1] + 192;
        *used = 2;
    } else {
        if (avail < 5)
            return -1;
        *n = ((size_t)p[1] << 24) | ((size_t)p[2] << 16) | ((size_t)p[3] << 8) | p[4];
        *used = 5;
    }
    return 0;
}

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
        size_t n, used;
        bool partial;
        if (off >= len || length_octets(p + off, len - off, &n, &used, &partial) < 0)
            return -1;
        off += used;
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

/* ---- armored text, dearmored in pieces (issue 11) ----
 * A large message's armor is never decoded whole: the packets are walked through a window of
 * the decoded bytes that moves forward (the walk only ever reads forward: ESK packets, the data
 * packet's header and version, its length octets). The result is sg_pgp_is_encrypted's over
 * the whole dearmored data, except that an ESK or marker packet longer than the window does
 * not count (real ones are under 2 KiB; the window is 64 KiB). */

#define WINDOW ((size_t)64 << 10)
#define GIVE_BACK ((size_t)1 << 20)

static const char END[] = "-----END PGP MESSAGE-----";

/* The armor's base64 lines, decoded on demand: the rules of RFC 9580 6.2 as sealgate reads
 * them (any line that starts with '=' is the checksum and the END line must follow it; a
 * character that is neither base64 nor whitespace, or data after the padding, ends it bad). */
typedef struct dearmor {
    const char *t;
    size_t n, p, e; /* the text; the next character; the end of its line (in_line) */
    size_t given;   /* mapped pages before this were given back */
    unsigned acc, bits;
    bool pad, in_line, done, ended; /* ended: the END line came, and nothing was bad before it */
} dearmor;

/* Up to cap decoded bytes into out; 0 when nothing is left (done). */
static size_t dearmor_read(dearmor *d, uint8_t *out, size_t cap)
{
    size_t k = 0;
    while (k < cap && !d->done) {
        if (!d->in_line) {
            if (d->p >= d->n) {
                d->done = true; /* no END line */
                break;
            }
            if (d->p - d->given >= GIVE_BACK) { /* a large message mapped from the spool */
                sg_mapview_release(d->t + d->given, d->t + d->p);
                d->given = d->p;
            }
            d->e = line_end(d->t, d->n, d->p);
            if (marker(d->t, d->p, d->e, END)) {
                d->done = d->ended = true;
                break;
            }
            if (d->t[d->p] == '=') { /* the checksum line: the END line must follow */
                size_t f = line_end(d->t, d->n, d->e);
                d->ended = d->e < d->n && marker(d->t, d->e, f, END);
                d->done = true;
                break;
            }
            d->in_line = true;
        }
        for (; d->p < d->e && k < cap; d->p++) {
            char c = d->t[d->p];
            int v = b64(c);
            if (c == '=') {
                d->pad = true;
            } else if (v >= 0 && !d->pad) {
                d->acc = (d->acc << 6) | (unsigned)v, d->bits += 6;
                if (d->bits >= 8) {
                    d->bits -= 8;
                    out[k++] = (uint8_t)(d->acc >> d->bits);
                }
            } else if (!blank(d->t, d->p, d->p + 1)) {
                d->done = true; /* not base64 (or data after the padding) */
                return k;
            }
        }
        if (d->p == d->e)
            d->in_line = false;
    }
    return k;
}

/* The decoded bytes [base, base + len) in buf (cap bytes). */
typedef struct window {
    dearmor d;
    uint8_t *buf;
    size_t cap, base, len;
} window;

/* Moves the window to start at off (never backwards) and fills it. The bytes from off on
 * (*avail of them: fewer than cap only when the data ends there); false when the data ends
 * before off. */
static bool win_at(window *w, size_t off, const uint8_t **p, size_t *avail)
{
    size_t have = w->base + w->len;
    if (off < have) {
        memmove(w->buf, w->buf + (off - w->base), have - off);
        w->len = have - off;
    } else {
        for (size_t skip = off - have, k; skip; skip -= k)
            if (!(k = dearmor_read(&w->d, w->buf, skip < w->cap ? skip : w->cap))) {
                w->base = off, w->len = 0;
                *p = w->buf, *avail = 0;
                return false;
            }
        w->len = 0;
    }
    w->base = off;
    for (size_t k; w->len < w->cap && (k = dearmor_read(&w->d, w->buf + w->len, w->cap - w->len));)
        w->len += k;
    *p = w->buf;
    *avail = w->len;
    return true;
}

/* The length of all the decoded data (reading what is left); 0 unless it ended well. */
static size_t win_total(window *w)
{
    size_t total = w->base + w->len;
    for (size_t k; (k = dearmor_read(&w->d, w->buf, w->cap));)
        total += k;
    return w->d.ended ? total : 0;
}

/* The data packet at off when it does not fit in the window: sg_pgp_is_encrypted's rules
 * (data_packet, then "ends the message", a known version) read forward through w. */
static int data_streamed(window *w, size_t off)
{
    const uint8_t *p;
    size_t avail;
    win_at(w, off, &p, &avail);
    if (avail < 2 || (p[0] & 0xc0) != 0xc0)
        return 0;
    int tag = p[0] & 0x3f;
    if (tag != T_SEIPD && tag != T_AEAD)
        return 0;
    size_t end, blen, first;
    int version;
    if (p[1] < 224 || p[1] == 255) { /* one definite length: the whole body must be there */
        first = p[1] < 192 ? 2 : p[1] < 224 ? 3 : 6;
        if (avail < first)
            return 0;
        blen = first == 2   ? p[1]
               : first == 3 ? ((size_t)(p[1] - 192) << 8) + p[2] + 192
                            : ((size_t)p[2] << 24) | ((size_t)p[3] << 16) | ((size_t)p[4] << 8) | p[5];
        version = avail > first ? p[first] : -1;
        end = off + first + blen;
    } else { /* partial chunks, then one definite length (data_packet) */
        if (((size_t)1 << (p[1] & 0x1f)) < 512)
            return 0;
        version = avail > 2 ? p[2] : -1;
        size_t at = off + 1;
        blen = 0;
        for (;;) {
            size_t n, used;
            bool partial;
            if (!win_at(w, at, &p, &avail) || avail < 1 || length_octets(p, avail, &n, &used, &partial) < 0)
                return 0;
            at += used;
            if (!win_at(w, at + n, &p, &avail))
                return 0; /* the chunk overruns the data */
            at += n;
            blen += n;
            if (!partial)
                break;
        }
        end = at;
    }
    if (version < 0 || blen == 0)
        return 0;
    return end == win_total(w) && sane_data(tag, (uint8_t)version, blen) ? 1 : 0;
}

int sg_pgp_armor_is_encrypted(const char *t, size_t n, size_t win)
{
    window w = {.d = {.t = t, .n = n}, .cap = win};
    if (win < 16 || !(w.buf = malloc(win)))
        return 0;
    const uint8_t *p;
    size_t avail, off = 0, nesk = 0;
    int rc = 0;
    win_at(&w, 0, &p, &avail);
    if (avail < win) { /* all of it fits: the whole-buffer walk */
        rc = w.d.ended ? sg_pgp_is_encrypted(p, avail) : 0;
        goto out;
    }
    for (;;) { /* ESK and marker packets, each within the window */
        int tag;
        const uint8_t *body;
        size_t blen;
        win_at(&w, off, &p, &avail);
        if (avail == 0)
            goto out; /* nothing but ESKs */
        if (sg_pgp_first_packet(p, avail, &tag, &body, &blen) != 0 ||
            (tag != T_PKESK && tag != T_SKESK && tag != T_MARKER))
            break;
        if (tag != T_MARKER && !sane_esk(tag, body, blen))
            goto out;
        nesk += tag != T_MARKER;
        off += (size_t)(body - p) + blen;
    }
    rc = nesk ? data_streamed(&w, off) : 0;
out:
    if (w.d.p > w.d.given)
        sg_mapview_release(t + w.d.given, t + w.d.p);
    free(w.buf);
    return rc;
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
    return sg_pgp_armor_is_encrypted(t + e, n - e, WINDOW);
}
