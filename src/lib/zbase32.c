/* zbase32.c - z-base-32 and RFC 4648 base32 (zbase32.h). Owner: src/lib.
 * Bits are taken most significant first in groups of five; a last partial group is padded
 * with zero bits on the right (as GnuPG does for the 160-bit SHA-1: 32 characters). */
#include <string.h>

#include "lib/zbase32.h"

static const char alphabet[] = "ybndrfg8ejkmcpqxot1uwisza345h769";
static const char rfc4648[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static int encode(const char *alphabet, const uint8_t *in, size_t len, char *out, size_t outlen)
{
    size_t need = SG_ZBASE32_LEN(len);
    if (outlen < need + 1)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = alphabet[(acc >> bits) & 31];
        }
    }
    if (bits > 0)
        out[o++] = alphabet[(acc << (5 - bits)) & 31];
    out[o] = '\0';
    return (int)o;
}

int sg_zbase32_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
    return encode(alphabet, in, len, out, outlen);
}

int sg_base32_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
    return encode(rfc4648, in, len, out, outlen);
}

int sg_base32_decode(const char *in, uint8_t *out, size_t outlen)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; *in; in++) {
        char c = *in;
        if (c == '=' || c == ' ')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        const char *p = strchr(rfc4648, c);
        if (!p)
            return -1;
        acc = (acc << 5) | (uint32_t)(p - rfc4648);
        bits += 5;
        if (bits >= 8) {
            if (o >= outlen)
                return -1;
            bits -= 8;
            out[o++] = (uint8_t)((acc >> bits) & 0xff);
        }
    }
    return (int)o;
}
