/* fuzz_fpr.c - libFuzzer target for the SHA-256 fingerprint parser (relay.tls_fingerprints).
 * Checks beyond "no crash": what parses is 64 lower-case hex digits and parses again to
 * itself. Owner: src/lib (for src/relay). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fpr.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    char *s = malloc(len + 1), out[SG_FPR_SHA256_HEX], again[SG_FPR_SHA256_HEX];
    if (!s)
        return 0;
    memcpy(s, buf, len);
    s[len] = '\0';
    if (sg_fpr_sha256_parse(s, out) == 0) {
        if (strlen(out) != 64 || strspn(out, "0123456789abcdef") != 64)
            abort();
        if (sg_fpr_sha256_parse(out, again) != 0 || strcmp(out, again) != 0)
            abort();
    }
    free(s);
    return 0;
}
