/* pgp_select.c - what the keystore lookups of one outgoing message cost as the store grows.
 * Owner: bench.
 *
 *   pgp_select KEYS [ROUNDS]      KEYS stored keys (default 1000), ROUNDS lookups (20000)
 *
 * Per message cryptd asks, under the keystore mutex: the sender's signing key, the recipient's
 * encryption key and the keystore generation (signing cache). This stores KEYS Ed25519 keys of
 * other addresses plus the two that are asked for, then prints the time of one such round in
 * microseconds, so a lookup that grows with the store shows. Keys are made in a temporary
 * directory that is removed at the end. */
#include <stdio.h>
#include <stdlib.h>

#include "benchstore.h"

int main(int argc, char **argv)
{
    int keys = argc > 1 ? atoi(argv[1]) : 1000, rounds = argc > 2 ? atoi(argv[2]) : 20000;
    if (keys < 0 || rounds <= 0) {
        fprintf(stderr, "usage: pgp_select [KEYS [ROUNDS]]\n");
        return 2;
    }
    bench_store b;
    if (bench_store_open(&b, "pgpselect") < 0) {
        bench_store_close(&b);
        return 1;
    }
    sg_keystore *ks = b.ks;
    char fpr[SG_PGP_FPR_LEN + 1];
    int rc = 1;
    double t0 = bench_now();
    for (int i = 0; i < keys; i++) {
        char uid[64];
        snprintf(uid, sizeof uid, "other%d@ext%d.test", i, i % 50);
        if (sg_keystore_generate(ks, uid, "ed25519", 0, NULL, fpr) < 0)
            goto out;
    }
    if (sg_keystore_generate(ks, "alice@demo.test", "ed25519", 0, NULL, fpr) < 0 ||
        sg_keystore_generate(ks, "bob@ext.test", "ed25519", 0, NULL, fpr) < 0) {
        fprintf(stderr, "pgp_select: setup: %s\n", sg_keystore_error(ks));
        goto out;
    }
    double made = bench_now() - t0;
    int64_t gen = 0;
    t0 = bench_now();
    for (int i = 0; i < rounds; i++)
        if (sg_keystore_find_signing_key(ks, "alice@demo.test", NULL, fpr) != 0 ||
            sg_keystore_find_encryption_key(ks, "bob@ext.test", fpr) != 0 ||
            sg_keystore_generation(ks, &gen) < 0) {
            fprintf(stderr, "pgp_select: lookup failed: %s\n", sg_keystore_error(ks));
            goto out;
        }
    double dt = bench_now() - t0;
    printf("keystore lookups per message with %d stored keys: %.1f us (signing key + encryption key + "
           "generation; %d rounds; keys made in %.1f s)\n",
           keys + 2, dt / rounds * 1e6, rounds, made);
    rc = 0;
out:
    bench_store_close(&b);
    return rc;
}
