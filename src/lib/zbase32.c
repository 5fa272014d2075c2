/* zbase32.c - z-base-32 encoding (zbase32.h). Owner: src/lib.
 * Bits are taken most significant first in groups of five; a last partial group is padded
 * with zero bits on the right (as GnuPG does for the 160-bit SHA-1: 32 characters). */
#include "lib/zbase32.h"

static const char alphabet[] = "ybndrfg8ejkmcpqxot1uwisza345h769";

int sg_zbase32_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
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
