/* fuzz_cosig.c - libFuzzer target for the cosignature line check (src/audit/witness.c): lines
 * come from peers (a POST to the notary endpoint, a published note) and are untrusted. The
 * input is split at its first NUL into a checkpoint note and a line; both are parsed and
 * checked against a fixed key (which fails, after every length was read). Owner: src/audit. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "audit/witness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t pub[32] = {9, 8, 7, 6, 5, 4, 3, 2, 1};
    const uint8_t *nul = memchr(data, 0, size);
    size_t nlen = nul ? (size_t)(nul - data) : size;
    const char *line = nul ? (const char *)nul + 1 : "";
    size_t llen = nul ? size - nlen - 1 : 0;
    sg_checkpoint c;
    char why[200];
    if (sg_checkpoint_parse((const char *)data, nlen, &c, why, sizeof why) < 0)
        memset(&c, 0, sizeof c);
    uint64_t ts;
    (void)sg_cosig_check(line, llen, "w.example/sealgate-audit", pub, (const char *)data, &c, &ts, why, sizeof why);
    return 0;
}
