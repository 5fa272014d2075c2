/* test_audit_witness.c - peers witnessing each other (src/audit/witness.h, docs/notary.md): a
 * cosignature made with a log key verifies for its witness and checkpoint and fails for another
 * checkpoint, another key, another witness name or a changed byte; the witness's judgement of a
 * peer's checkpoints built from real trees: the first one is new, a larger consistent one new,
 * the same again same, an older consistent one stale, and a fork in every shape (same size other
 * root; a larger tree that rewrote an old leaf, with its honest-looking proof; a proof altered).
 * Owner: src/audit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "audit/checkpoint.h"
#include "audit/merkle.h"
#include "audit/witness.h"
#include "check.h"

#define N 21

static sg_mhash leaves[N], other[N];
static char base[] = "/tmp/sg-test-witness-XXXXXX";

/* A signed checkpoint of the first size leaves of ls, parsed into c (note kept in note). */
static void checkpoint(const sg_mhash *ls, uint64_t size, char *note, size_t cap, sg_checkpoint *c)
{
    sg_mhash root;
    char why[200];
    sg_merkle_root(ls, size, root);
    if (sg_checkpoint_sign(base, "peer.example/sealgate-audit", size, root, note, cap, why, sizeof why) < 0 ||
        sg_checkpoint_parse(note, strlen(note), c, why, sizeof why) < 0)
        fprintf(stderr, "checkpoint: %s\n", why);
}

int main(void)
{
    if (!mkdtemp(base))
        return 1;
    char keys[sizeof base + 8];
    snprintf(keys, sizeof keys, "%s/keys", base);
    if (mkdir(keys, 0700) < 0)
        return 1;
    struct passwd *pw = getpwuid(geteuid());
    struct group *gr = getgrgid(getegid());
    CHECK(pw && gr && sg_audit_key_ensure(base, pw->pw_name, gr->gr_name) == 0, "a log key pair");
    uint8_t pub[32], pub2[32] = {7};
    CHECK(sg_audit_pubkey_load(base, pub) == 0, "its public key");
    for (int i = 0; i < N; i++) {
        char d[16];
        snprintf(d, sizeof d, "leaf %d", i);
        sg_merkle_leaf(d, strlen(d), leaves[i]);
        memcpy(other[i], leaves[i], sizeof other[i]);
    }
    sg_merkle_leaf("rewritten", 9, other[3]); /* a tree that changed its fourth entry */

    char n8[1024], n13[1024], n13b[1024], n21[1024], n21b[1024], line[256], why[200];
    sg_checkpoint c8, c13, c13b, c21, c21b;
    checkpoint(leaves, 8, n8, sizeof n8, &c8);
    checkpoint(leaves, 13, n13, sizeof n13, &c13);
    checkpoint(other, 13, n13b, sizeof n13b, &c13b);
    checkpoint(leaves, 21, n21, sizeof n21, &c21);
    checkpoint(other, 21, n21b, sizeof n21b, &c21b);

    /* cosignatures */
    uint64_t ts = 0;
    CHECK(sg_cosig_make(base, "me.example/sealgate-audit", pub, n13, &c13, 1765150000, line, sizeof line, why,
                        sizeof why) == 0, "a cosignature is made (%s)", why);
    CHECK(strncmp(line, "\xe2\x80\x94 me.example/sealgate-audit ", 29) == 0 && line[strlen(line) - 1] == '\n',
          "it is one signature line of the witness: %.*s", (int)strcspn(line, "\n"), line);
    CHECK(sg_cosig_check(line, strlen(line), "me.example/sealgate-audit", pub, n13, &c13, &ts, why, sizeof why) &&
          ts == 1765150000, "it verifies with the witness's key and gives its time");
    CHECK(!sg_cosig_check(line, strlen(line), "me.example/sealgate-audit", pub, n13b, &c13b, &ts, why, sizeof why),
          "not over another checkpoint (%s)", why);
    CHECK(!sg_cosig_check(line, strlen(line), "me.example/sealgate-audit", pub2, n13, &c13, &ts, why, sizeof why),
          "not with another key (%s)", why);
    CHECK(!sg_cosig_check(line, strlen(line), "you.example/sealgate-audit", pub, n13, &c13, &ts, why, sizeof why),
          "not for another witness (%s)", why);
    line[40] ^= 1;
    CHECK(!sg_cosig_check(line, strlen(line), "me.example/sealgate-audit", pub, n13, &c13, &ts, why, sizeof why),
          "not with a changed byte (%s)", why);

    /* judgements */
    sg_mhash proof[SG_MERKLE_MAX_PROOF];
    int pl;
    CHECK(sg_witness_judge(NULL, &c8, NULL, 0, why, sizeof why) == SG_WITNESS_NEW, "the first checkpoint is new");
    pl = sg_merkle_consistency(leaves, 13, 8, proof);
    CHECK(sg_witness_judge(&c8, &c13, proof, (size_t)pl, why, sizeof why) == SG_WITNESS_NEW,
          "8 -> 13 with its consistency proof: new (%s)", why);
    CHECK(sg_witness_judge(&c13, &c13, NULL, 0, why, sizeof why) == SG_WITNESS_SAME, "13 again: same");
    CHECK(sg_witness_judge(&c13, &c8, proof, (size_t)pl, why, sizeof why) == SG_WITNESS_STALE,
          "13 then 8 with the proof 8 -> 13: stale (%s)", why);
    CHECK(sg_witness_judge(&c13, &c13b, NULL, 0, why, sizeof why) == SG_WITNESS_FORK,
          "13 then another tree of 13: fork (%s)", why);
    pl = sg_merkle_consistency(other, 21, 13, proof);
    CHECK(sg_witness_judge(&c13, &c21b, proof, (size_t)pl, why, sizeof why) == SG_WITNESS_FORK,
          "13 then a 21 that rewrote entry 3, with its own proof: fork (%s)", why);
    pl = sg_merkle_consistency(leaves, 21, 13, proof);
    CHECK(sg_witness_judge(&c13, &c21, proof, (size_t)pl, why, sizeof why) == SG_WITNESS_NEW,
          "13 then the honest 21: new");
    proof[0][0] ^= 1;
    CHECK(sg_witness_judge(&c13, &c21, proof, (size_t)pl, why, sizeof why) == SG_WITNESS_FORK,
          "13 then 21 with an altered proof: fork");
    CHECK(sg_witness_judge(&c13, &c21, proof, 0, why, sizeof why) == SG_WITNESS_FORK, "13 then 21 with no proof: fork");

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", base);
    return CHECK_DONE();
}
