/* fuzz_rspamd.c - arbitrary bytes as rspamd's HTTP answer to /checkv2 and /ping, through the
 * strict parsers cryptd uses (src/net/scan_parse.c, jansson for the JSON). Owner: src/net.
 * Whatever arrives: a result only from an HTTP 200 with a known action and a finite score;
 * never a crash or a read past the answer. */
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
    if (sg_rspamd_parse(a, size, &r, err, sizeof err) == 0) {
        if (size < 12 || memcmp(a, "HTTP/1.", 7) != 0 || !isfinite(r.score) || !r.action[0] ||
            strlen(r.symbols) >= sizeof r.symbols)
            abort();
    }
    (void)sg_rspamd_parse_pong(a, size);
    free(a);
    return 0;
}
