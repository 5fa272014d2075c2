/* fuzz_kek.h - fixture shared by the fuzz targets that need a keystore or certstore: a fresh
 * key-encryption key in a temp directory, made once per fuzzer process. Owner: tests. */
#ifndef SG_FUZZ_KEK_H
#define SG_FUZZ_KEK_H

#include <stdio.h>
#include <stdlib.h>

#include "crypto/kek.h"

static char kek_path[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char dir[] = "/tmp/sg-fuzz-kek-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    snprintf(kek_path, sizeof kek_path, "%s/keys/kek", dir);
    if (sg_kek_create(kek_path) < 0)
        abort();
    return 0;
}

#endif
