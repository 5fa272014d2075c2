/* fuzz_zbase32.c - libFuzzer target for z-base-32 (lib/zbase32.h) and the WKD hash built on it
 * (keys/discover.h). Checks beyond "no crash": the output has exactly SG_ZBASE32_LEN characters,
 * all from the alphabet; a WKD hash is always 32 of them. Owner: src/lib (for src/keys). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keys/discover.h"
#include "lib/zbase32.h"

static const char alphabet[] = "ybndrfg8ejkmcpqxot1uwisza345h769";

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    size_t need = SG_ZBASE32_LEN(len) + 1;
    char *out = malloc(need), *local = malloc(len + 1), hash[33];
    if (!out || !local)
        abort();
    int n = sg_zbase32_encode(buf, len, out, need);
    if (n < 0 || (size_t)n != need - 1 || strlen(out) != (size_t)n || strspn(out, alphabet) != (size_t)n)
        abort();
    if (len && sg_zbase32_encode(buf, len, out, need - 1) != -1)
        abort(); /* one byte short must be refused, never written past */
    memcpy(local, buf, len);
    local[len] = '\0';
    if (sg_wkd_hash(local, hash) == 0 && (strlen(hash) != 32 || strspn(hash, alphabet) != 32))
        abort();
    free(out);
    free(local);
    return 0;
}
