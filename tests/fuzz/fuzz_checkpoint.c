/* fuzz_checkpoint.c - libFuzzer target for the C2SP checkpoint note parser and its signature
 * check (src/audit/checkpoint.c): notes come from the store or an export and are untrusted.
 * Owner: src/audit. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "audit/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sg_checkpoint c;
    char why[200];
    /* A fixed public key: the verify path runs on every parsed note (and fails). */
    static const uint8_t pub[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
    if (sg_checkpoint_parse((const char *)data, size, &c, why, sizeof why) == 0) {
        if (c.body_len > size || !memchr(c.origin, '\0', sizeof c.origin))
            __builtin_trap();
        (void)sg_checkpoint_verify((const char *)data, size, pub, &c, why, sizeof why);
    }
    return 0;
}
