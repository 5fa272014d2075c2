/* pgp_packet.c - OpenPGP packet encodings written or read by sealgate itself (see
 * pgp_packet.h). Owner: src/crypto. */
#include "crypto/pgp_packet.h"

#include <stdio.h>
#include <string.h>

int sg_pgp_first_packet(const uint8_t *p, size_t len, int *tag, const uint8_t **body, size_t *blen)
{
    if (len < 2 || !(p[0] & 0x80))
        return -1;
    size_t hl, bl;
    if (p[0] & 0x40) {
        *tag = p[0] & 0x3f;
        if (p[1] < 192) {
            hl = 2, bl = p[1];
        } else if (p[1] < 224 && len >= 3) {
            hl = 3, bl = ((size_t)(p[1] - 192) << 8) + p[2] + 192;
        } else if (p[1] == 255 && len >= 6) {
            hl = 6, bl = ((size_t)p[2] << 24) | ((size_t)p[3] << 16) | ((size_t)p[4] << 8) | p[5];
        } else {
            return -1; /* partial lengths never occur in key packets */
        }
    } else {
        *tag = (p[0] >> 2) & 0x0f;
        int lt = p[0] & 3;
        if (lt == 0)
            hl = 2, bl = p[1];
        else if (lt == 1 && len >= 3)
            hl = 3, bl = ((size_t)p[1] << 8) | p[2];
        else if (lt == 2 && len >= 5)
            hl = 5, bl = ((size_t)p[1] << 24) | ((size_t)p[2] << 16) | ((size_t)p[3] << 8) | p[4];
        else
            return -1;
    }
    if (bl > len - hl)
        return -1;
    *body = p + hl;
    *blen = bl;
    return 0;
}

size_t sg_pgp_put_mpi(uint8_t *out, const uint8_t *v, size_t n)
{
    while (n > 0 && *v == 0)
        v++, n--;
    size_t bits = n ? (n - 1) * 8 : 0;
    for (uint8_t top = n ? v[0] : 0; top; top >>= 1)
        bits++;
    out[0] = (uint8_t)(bits >> 8);
    out[1] = (uint8_t)bits;
    memcpy(out + 2, v, n);
    return n + 2;
}

size_t sg_pgp_put_header(uint8_t *out, int tag, size_t len)
{
    out[0] = (uint8_t)(0xC0 | tag);
    if (len < 192) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len < 8384) {
        out[1] = (uint8_t)(((len - 192) >> 8) + 192);
        out[2] = (uint8_t)((len - 192) & 0xff);
        return 3;
    }
    out[1] = 255;
    for (int i = 0; i < 4; i++)
        out[2 + i] = (uint8_t)(len >> (24 - 8 * i));
    return 6;
}

int sg_pgp_hexbytes(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

int sg_pgp_get_mpi(const uint8_t *b, size_t len, size_t *off, const uint8_t **v, size_t *n)
{
    if (*off + 2 > len)
        return -1;
    size_t bits = ((size_t)b[*off] << 8) | b[*off + 1];
    size_t bytes = (bits + 7) / 8;
    if (bytes > len - *off - 2)
        return -1;
    *v = b + *off + 2;
    *n = bytes;
    *off += 2 + bytes;
    return 0;
}

void sg_pgp_put32(uint8_t *out, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(v >> (24 - 8 * i));
}

void sg_pgp_sig_init(sg_pgp_sig *s, int type, int pkalg, int halg, uint32_t created, const uint8_t fpr[20])
{
    uint8_t *h = s->head;
    h[0] = 4, h[1] = (uint8_t)type, h[2] = (uint8_t)pkalg, h[3] = (uint8_t)halg, h[4] = 0, h[5] = 29;
    h[6] = 5, h[7] = 2; /* signature creation time */
    sg_pgp_put32(h + 8, created);
    h[12] = 22, h[13] = 33, h[14] = 4; /* issuer fingerprint, v4 */
    memcpy(h + 15, fpr, 20);
    s->trailer[0] = 4, s->trailer[1] = 0xFF;
    sg_pgp_put32(s->trailer + 2, sizeof s->head);
    s->unhashed[0] = 0, s->unhashed[1] = 10;
    s->unhashed[2] = 9, s->unhashed[3] = 16; /* issuer key ID: the fingerprint's last 8 bytes */
    memcpy(s->unhashed + 4, fpr + 12, 8);
}

size_t sg_pgp_sig_body(const sg_pgp_sig *s, const uint8_t digest[2], uint8_t *out)
{
    size_t n = 0;
    memcpy(out, s->head, sizeof s->head), n += sizeof s->head;
    memcpy(out + n, s->unhashed, sizeof s->unhashed), n += sizeof s->unhashed;
    out[n++] = digest[0], out[n++] = digest[1];
    return n;
}
