/* xtext.c - RFC 3461 section 4 xtext. Owner: src/lib. */
#include "lib/xtext.h"

#include <stdlib.h>
#include <string.h>

static int xchar_plain(unsigned char c)
{
    return c >= 33 && c <= 126 && c != '+' && c != '=';
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *sg_xtext_encode(const char *in, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (xchar_plain(c)) {
            *o++ = (char)c;
        } else {
            *o++ = '+';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

char *sg_xtext_decode(const char *in, size_t *outlen)
{
    size_t len = strlen(in);
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '+') {
            int hi = i + 1 < len ? hexval((unsigned char)in[i + 1]) : -1;
            int lo = i + 2 < len ? hexval((unsigned char)in[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (xchar_plain(c)) {
            out[o++] = (char)c;
        } else {
            free(out);
            return NULL;
        }
    }
    out[o] = '\0';
    if (outlen)
        *outlen = o;
    return out;
}

int sg_xtext_valid(const char *s)
{
    size_t n;
    char *d = sg_xtext_decode(s, &n);
    if (!d)
        return 0;
    free(d);
    return 1;
}
