/* pdf_link.c - the Reply link's token: made by the pdf engine, checked by cryptd for the reply
 * portal (pdf_link.h). Owner: src/engine/pdf.
 * SECURITY: see pdf_link.h. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/kek.h"
#include "engine/pdf/pdf_link.h"

static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int enc(const uint8_t *p, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        size_t chars = n - i >= 3 ? 4 : n - i + 1;
        for (size_t k = 0; k < chars; k++) {
            if (o + 1 >= outlen)
                return -1;
            out[o++] = b64u[(v >> (18 - 6 * k)) & 63];
        }
    }
    out[o] = '\0';
    return (int)o;
}

/* base64url without padding; -1 on any other character or an impossible length. */
static int dec(const char *s, size_t n, uint8_t *out, size_t outlen)
{
    if (n % 4 == 1)
        return -1;
    size_t o = 0;
    uint32_t v = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *c = memchr(b64u, s[i], 64);
        if (!c || !s[i])
            return -1;
        v = v << 6 | (uint32_t)(c - b64u);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outlen)
                return -1;
            out[o++] = (uint8_t)(v >> bits);
        }
    }
    if (bits && (v & ((1u << bits) - 1)))
        return -1; /* non-canonical trailing bits: one token, one spelling */
    return (int)o;
}

int sg_pdf_link_key(const char *kek_path, uint8_t key[SG_PDF_LINK_KEY_LEN])
{
    sg_kek kek;
    if (sg_kek_load(kek_path, &kek) < 0)
        return -1;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    size_t len = SG_PDF_LINK_KEY_LEN;
    static const char info[] = "sealgate pdf reply link v1";
    int ok = c && EVP_PKEY_derive_init(c) > 0 && EVP_PKEY_CTX_set_hkdf_md(c, EVP_sha256()) > 0 &&
             EVP_PKEY_CTX_set1_hkdf_key(c, kek.key, SG_KEK_LEN) > 0 &&
             EVP_PKEY_CTX_add1_hkdf_info(c, (const unsigned char *)info, sizeof info - 1) > 0 &&
             EVP_PKEY_derive(c, key, &len) > 0 && len == SG_PDF_LINK_KEY_LEN;
    EVP_PKEY_CTX_free(c);
    sg_kek_wipe(&kek);
    return ok ? 0 : -1;
}

static int mac(const uint8_t key[SG_PDF_LINK_KEY_LEN], const char *s, size_t n, uint8_t out[32])
{
    unsigned int len = 0;
    return HMAC(EVP_sha256(), key, SG_PDF_LINK_KEY_LEN, (const unsigned char *)s, n, out, &len) && len == 32 ? 0
                                                                                                          : -1;
}

static int clean(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return -1;
    return 0;
}

int sg_pdf_link_make(const uint8_t key[SG_PDF_LINK_KEY_LEN], const sg_pdf_link *l, char *out, size_t outlen)
{
    char payload[1000];
    if (clean(l->sender) < 0 || clean(l->rcpt) < 0 || clean(l->msgid) < 0)
        return -1;
    int n = snprintf(payload, sizeof payload, "%lld\n%s\n%s\n%s", (long long)l->expires, l->sender, l->rcpt,
                     l->msgid);
    if (n < 0 || (size_t)n >= sizeof payload || outlen < 3)
        return -1;
    memcpy(out, "1.", 2);
    int e = enc((const uint8_t *)payload, (size_t)n, out + 2, outlen - 2);
    uint8_t m[32];
    size_t used = 2 + (size_t)(e < 0 ? 0 : e);
    if (e < 0 || used + 2 >= outlen || mac(key, out, used, m) < 0)
        return -1;
    out[used] = '.';
    return enc(m, sizeof m, out + used + 1, outlen - used - 1) < 0 ? -1 : 0;
}

int sg_pdf_link_check(const uint8_t key[SG_PDF_LINK_KEY_LEN], const char *token, int64_t now, sg_pdf_link *out)
{
    memset(out, 0, sizeof *out);
    size_t n = token ? strnlen(token, SG_PDF_LINK_MAX + 1) : 0;
    if (n > SG_PDF_LINK_MAX || n < 4 || memcmp(token, "1.", 2) != 0)
        return -1;
    const char *dot = memchr(token + 2, '.', n - 2);
    if (!dot)
        return -1;
    uint8_t want[32], got[33];
    if (mac(key, token, (size_t)(dot - token), want) < 0 ||
        dec(dot + 1, n - (size_t)(dot + 1 - token), got, sizeof got) != 32 || CRYPTO_memcmp(want, got, 32) != 0)
        return -1;
    /* Authentic: the payload is ours, still parsed as strictly as if it were not. */
    char payload[1001];
    int pl = dec(token + 2, (size_t)(dot - token - 2), (uint8_t *)payload, sizeof payload - 1);
    if (pl < 0)
        return -1;
    payload[pl] = '\0';
    if (memchr(payload, '\0', (size_t)pl))
        return -1;
    char *f[4], *p = payload;
    for (int i = 0; i < 4; i++) {
        char *nl = i < 3 ? strchr(p, '\n') : NULL;
        if (i < 3 && !nl)
            return -1;
        if (nl)
            *nl = '\0';
        f[i] = p;
        p = nl ? nl + 1 : p;
    }
    char *end = NULL;
    long long exp = strtoll(f[0], &end, 10);
    if (!*f[0] || *end || exp <= 0 || strchr(f[3], '\n') || strlen(f[1]) >= sizeof out->sender ||
        strlen(f[2]) >= sizeof out->rcpt || strlen(f[3]) >= sizeof out->msgid || clean(f[3]) < 0)
        return -1;
    out->expires = exp;
    snprintf(out->sender, sizeof out->sender, "%s", f[1]);
    snprintf(out->rcpt, sizeof out->rcpt, "%s", f[2]);
    snprintf(out->msgid, sizeof out->msgid, "%s", f[3]);
    return now > exp ? 1 : 0;
}
