/* fpr.c - SHA-256 fingerprints as text. Owner: src/lib.
 * SECURITY: parses administrator input only (the configuration); fuzzed by fuzz_fpr. A
 * fingerprint that does not parse is an error, never "match anything". */
#include "lib/fpr.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

int sg_fpr_sha256_parse(const char *in, char out[SG_FPR_SHA256_HEX])
{
    size_t len = strlen(in), n = 0;
    bool colons = len == 95; /* 32 pairs and 31 separators */
    if (len != 64 && !colons)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (colons && i % 3 == 2) {
            if (in[i] != ':')
                return -1;
            continue;
        }
        if (!isxdigit((unsigned char)in[i]))
            return -1;
        out[n++] = (char)tolower((unsigned char)in[i]);
    }
    out[n] = '\0';
    return 0;
}

void sg_fpr_hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}
