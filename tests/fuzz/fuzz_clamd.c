/* fuzz_clamd.c - arbitrary bytes as clamd's answer to INSTREAM and PING, through the strict
 * parsers cryptd uses (src/net/scan_parse.c). Owner: src/net.
 * Whatever arrives: "clean" only for exactly "stream: OK\0", a signature name only when the
 * answer ends in " FOUND\0", never a crash or a read past the answer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *a = malloc(size ? size : 1); /* exactly size bytes: ASan sees any over-read */
    if (!a)
        return 0;
    memcpy(a, data, size);
    char name[201], err[200];
    int r = sg_clamd_parse(a, size, name, sizeof name, err, sizeof err);
    if (r == SG_CLAMD_CLEAN && !(size == 11 && memcmp(a, "stream: OK", 11) == 0))
        abort();
    if (r == SG_CLAMD_FOUND && (size < 8 || memcmp(a + size - 7, " FOUND", 7) != 0 || !name[0]))
        abort();
    if (sg_clamd_parse_pong(a, size) == 0 && !(size == 5 && memcmp(a, "PONG", 5) == 0))
        abort();
    free(a);
    return 0;
}
