/* fuzz_pgp_keys.c - libFuzzer target for the keystore import path: arbitrary bytes (armored or
 * binary, keys or standalone signatures) go through sg_keystore_import into an in-memory store,
 * and whatever was stored is listed, looked up for encryption and exported again. Keys arrive
 * from anywhere (mail attachments, WKD, key servers), so this parser faces the internet.
 * Owner: src/keys. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_kek.h"
#include "keys/keystore.h"

static void ignore(void *ctx, const sg_import_result *r)
{
    (void)ctx;
    /* Touch every field so ASan sees any dangling pointer in a report. */
    if (r->fpr && strlen(r->fpr) != SG_PGP_FPR_LEN)
        abort();
    if (r->uid)
        (void)strlen(r->uid);
    if (r->reason)
        (void)strlen(r->reason);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    /* An exact-size heap copy so ASan catches any read past the end. */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return 0;
    memcpy(copy, buf, len);
    char err[256];
    sg_store *st = sg_store_open(":memory:", err, sizeof err);
    if (!st)
        abort();
    sg_keystore *ks = sg_keystore_open(st, kek_path, 0);
    sg_keystore_import(ks, copy, len, ignore, NULL);
    sg_pgp_key *keys;
    size_t n;
    if (sg_keystore_list(ks, NULL, &keys, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            uint8_t *out;
            size_t olen;
            char fpr[SG_PGP_FPR_LEN + 1];
            if (sg_keystore_export(ks, keys[i].fpr, false, true, &out, &olen) == 0)
                free(out);
            for (size_t u = 0; u < keys[i].nuids; u++)
                if (keys[i].uids[u].addr)
                    sg_keystore_find_encryption_key(ks, keys[i].uids[u].addr, fpr);
        }
        sg_keystore_free_list(keys, n);
    }
    sg_keystore_close(ks);
    sg_store_close(st);
    free(copy);
    return 0;
}
