/* totp.c - RFC 6238 TOTP and RFC 4648 base32 (totp.h). Owner: src/admin.
 * HMAC from OpenSSL, which the web role and the CLI link already.
 * SECURITY: the code given by a client is untrusted input: it must be exactly SG_TOTP_DIGITS
 * digits; the comparison with each expected code runs in constant time and every window step is
 * computed whether or not an earlier one matched. Secrets and HMAC outputs are wiped. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "admin/totp.h"
#include "lib/zbase32.h"

int sg_hotp(const uint8_t *key, size_t keylen, uint64_t counter, int digits, sg_totp_hash h, uint32_t *code)
{
    static const uint32_t pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};
    if (digits < 6 || digits > 8 || keylen == 0 || keylen > 128)
        return -1;
    const EVP_MD *md = h == SG_TOTP_SHA256 ? EVP_sha256() : h == SG_TOTP_SHA512 ? EVP_sha512() : EVP_sha1();
    uint8_t msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    for (int i = 7; i >= 0; i--, counter >>= 8)
        msg[i] = (uint8_t)(counter & 0xff);
    if (!HMAC(md, key, (int)keylen, msg, sizeof msg, mac, &maclen) || maclen < 20)
        return -1;
    /* RFC 4226 5.3: dynamic truncation from the low nibble of the last byte. */
    unsigned off = mac[maclen - 1] & 0x0f;
    uint32_t bin = ((uint32_t)(mac[off] & 0x7f) << 24) | ((uint32_t)mac[off + 1] << 16) |
                   ((uint32_t)mac[off + 2] << 8) | mac[off + 3];
    *code = bin % pow10[digits];
    OPENSSL_cleanse(mac, sizeof mac);
    return 0;
}

int64_t sg_totp_step(int64_t t)
{
    return t < 0 ? 0 : t / SG_TOTP_STEP;
}

int sg_totp_new_secret(char out[SG_TOTP_SECRET_B32 + 1])
{
    uint8_t k[SG_TOTP_SECRET_BYTES];
    if (RAND_bytes(k, sizeof k) != 1)
        return -1;
    int n = sg_base32_encode(k, sizeof k, out, SG_TOTP_SECRET_B32 + 1);
    OPENSSL_cleanse(k, sizeof k);
    return n == SG_TOTP_SECRET_B32 ? 0 : -1;
}

/* Percent-encodes s (unreserved characters as they are) at out+*o. */
static int pct(const char *s, char *out, size_t outlen, size_t *o)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int n = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~@", c)
                    ? snprintf(out + *o, outlen - *o, "%c", c)
                    : snprintf(out + *o, outlen - *o, "%%%02X", c);
        if (n < 0 || (size_t)n >= outlen - *o)
            return -1;
        *o += (size_t)n;
    }
    return 0;
}

int sg_totp_uri(const char *issuer, const char *account, const char *secret, char *out, size_t outlen)
{
    size_t o = 0;
    int n = snprintf(out, outlen, "otpauth://totp/");
    if (n < 0 || (size_t)n >= outlen)
        return -1;
    o = (size_t)n;
    if (pct(issuer, out, outlen, &o) < 0 || pct(":", out, outlen, &o) < 0 || pct(account, out, outlen, &o) < 0)
        return -1;
    n = snprintf(out + o, outlen - o, "?secret=%s&issuer=", secret);
    if (n < 0 || (size_t)n >= outlen - o)
        return -1;
    o += (size_t)n;
    if (pct(issuer, out, outlen, &o) < 0)
        return -1;
    n = snprintf(out + o, outlen - o, "&algorithm=SHA1&digits=%d&period=%d", SG_TOTP_DIGITS, SG_TOTP_STEP);
    return n < 0 || (size_t)n >= outlen - o ? -1 : 0;
}

int sg_totp_verify(const char *secret, const char *code, int64_t now, int64_t *step)
{
    uint8_t k[64];
    int klen = sg_base32_decode(secret, k, sizeof k);
    if (klen <= 0)
        return -1;
    bool ok_form = code && strlen(code) == SG_TOTP_DIGITS && strspn(code, "0123456789") == SG_TOTP_DIGITS;
    int64_t s0 = sg_totp_step(now), found = -1;
    for (int64_t s = s0 - 1; s <= s0 + 1; s++) {
        uint32_t v;
        char want[16];
        if (sg_hotp(k, (size_t)klen, (uint64_t)s, SG_TOTP_DIGITS, SG_TOTP_SHA1, &v) < 0)
            continue;
        snprintf(want, sizeof want, "%0*u", SG_TOTP_DIGITS, v);
        if (ok_form && CRYPTO_memcmp(want, code, SG_TOTP_DIGITS) == 0)
            found = s;
        OPENSSL_cleanse(want, sizeof want);
    }
    OPENSSL_cleanse(k, sizeof k);
    if (found < 0)
        return 1;
    *step = found;
    return 0;
}
