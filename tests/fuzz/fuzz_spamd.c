/* fuzz_spamd.c - arbitrary bytes as spamd's answer to SYMBOLS and PING, through the strict
 * parsers cryptd uses (src/net/scan_parse.c). Owner: src/net.
 * Whatever arrives: a result only from a "SPAMD/1.x 0 EX_OK" answer with a finite score and
 * one of the two actions; never a crash or a read past the answer. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *a = malloc(size ? size : 1);
    if (!a)
        return 0;
    memcpy(a, data, size);
    sg_rspamd_result r;
    char err[200];
    if (sg_spamd_parse(a, size, &r, err, sizeof err) == 0) {
        if (size < 14 || memcmp(a, "SPAMD/1.", 8) != 0 || !isfinite(r.score) || !isfinite(r.required) ||
            (strcmp(r.action, "spam") != 0 && strcmp(r.action, "no action") != 0) ||
            strlen(r.symbols) >= sizeof r.symbols)
            abort();
    }
    (void)sg_spamd_parse_pong(a, size);
    free(a);
    return 0;
}
