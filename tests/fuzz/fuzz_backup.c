/* fuzz_backup.c - libFuzzer target for the backup file's header and verification
 * (store/backup.h, sg_store_backup_stage): the input is written to a file and staged for a store
 * in a temp directory. Checks beyond "no crash": a refusal leaves no staged copy behind; an
 * input that stages was of the length its header announces. (The digest makes nearly every
 * mutation of the snapshot a refusal; SQLite's own parsing of database files is not fuzzed
 * here.) Owner: src/store. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/backup.h"

static char input[128], spec[128], staged[160];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char dir[] = "/tmp/sg-fuzz-backup-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    snprintf(input, sizeof input, "%s/in", dir);
    snprintf(spec, sizeof spec, "%s/store/sealgate.db", dir);
    snprintf(staged, sizeof staged, "%s.restore", spec);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    FILE *f = fopen(input, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
        abort();
    char err[512] = "";
    sg_store *st = sg_store_backup_stage(input, spec, err, sizeof err);
    if (!st) {
        if (!err[0] || access(staged, F_OK) == 0)
            abort();
        return 0;
    }
    uint64_t announced = 0;
    for (int i = 32; i < 40; i++)
        announced = announced << 8 | buf[i];
    if (len < SG_BACKUP_HEADER_LEN || announced != len - SG_BACKUP_HEADER_LEN)
        abort();
    sg_store_backup_discard(st, spec);
    return 0;
}
