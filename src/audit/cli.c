/* cli.c - `sealgate audit verify|proof|consistency|export|checkpoint` (docs/audit.md). Owner:
 * src/audit (issue 14). `audit list` stays in the operation table (src/admin/ops_audit.c).
 * SECURITY: verify, proof, consistency and export need only the store and the public key;
 * checkpoint signs, so it needs the private key (root or the cryptd user). Output is the
 * log's own data: hashes in hex, notes as stored. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit/checkpoint.h"
#include "audit/cli.h"
#include "audit/log.h"
#include "cli/cli_store.h"
#include "lib/fsutil.h"
#include "store/notary_rows.h"

static const char *const verbs[] = {"verify", "proof", "consistency", "export", "checkpoint", "witness"};

bool sg_audit_cli_serves(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[0], "audit") != 0)
        return false;
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strcmp(argv[1], verbs[i]) == 0)
            return true;
    return false;
}

static void hex(FILE *o, const char *label, const sg_mhash h)
{
    fprintf(o, "%s", label);
    for (int i = 0; i < SG_MERKLE_HASH; i++)
        fprintf(o, "%02x", h[i]);
    fputc('\n', o);
}

static int number(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (!*s || *end || errno || s[0] == '-')
        return -1;
    *v = x;
    return 0;
}

/* The log's leaves, or an error printed (2: damaged, run verify). */
static int leaves_or_fail(sg_store *st, sg_mhash **leaves, uint64_t *n)
{
    int64_t bad;
    char why[512];
    if (sg_tlog_leaves(st, leaves, n, &bad, why, sizeof why) < 0) {
        fprintf(stderr, "sealgate: %s\n", sg_store_error(st));
        return 1;
    }
    if (bad >= 0) {
        fprintf(stderr, "sealgate: the log is damaged at index %lld (%s): run sealgate audit verify\n",
                (long long)bad, why);
        free(*leaves);
        return 1;
    }
    return 0;
}

static int cmd_proof(sg_store *st, int argc, char **argv)
{
    if (argc != 3 && !(argc == 5 && strcmp(argv[3], "--size") == 0)) {
        fprintf(stderr, "usage: sealgate audit proof QUEUE-ID|INDEX [--size N]\n");
        return 2;
    }
    sg_mhash *leaves;
    uint64_t n, index, size;
    if (leaves_or_fail(st, &leaves, &n))
        return 1;
    int64_t found;
    int rc = 1;
    if (number(argv[2], &index) < 0) {
        int f = sg_store_log_find(st, argv[2], &found);
        if (f != 0) {
            fprintf(stderr, "sealgate: %s\n", f < 0 ? sg_store_error(st) : "no log entry for that queue id");
            goto out;
        }
        index = (uint64_t)found;
    }
    size = n;
    if (argc == 5 && (number(argv[4], &size) < 0 || size > n)) {
        fprintf(stderr, "sealgate: --size: at most %llu\n", (unsigned long long)n);
        goto out;
    }
    if (index >= size) {
        fprintf(stderr, "sealgate: index %llu is not in a tree of size %llu\n", (unsigned long long)index,
                (unsigned long long)size);
        goto out;
    }
    sg_mhash proof[SG_MERKLE_MAX_PROOF], root;
    int len = sg_merkle_inclusion(leaves, size, index, proof);
    sg_merkle_root(leaves, size, root);
    printf("index %llu\nsize %llu\n", (unsigned long long)index, (unsigned long long)size);
    hex(stdout, "leaf ", leaves[index]);
    hex(stdout, "root ", root);
    for (int i = 0; i < len; i++)
        hex(stdout, "path ", proof[i]);
    rc = 0;
out:
    free(leaves);
    return rc;
}

static int cmd_consistency(sg_store *st, int argc, char **argv)
{
    uint64_t m, size, n;
    if (argc != 4 || number(argv[2], &m) < 0 || number(argv[3], &size) < 0) {
        fprintf(stderr, "usage: sealgate audit consistency OLD-SIZE NEW-SIZE\n");
        return 2;
    }
    sg_mhash *leaves;
    if (leaves_or_fail(st, &leaves, &n))
        return 1;
    int rc = 1;
    if (m == 0 || m > size || size > n) {
        fprintf(stderr, "sealgate: need 0 < OLD <= NEW <= %llu\n", (unsigned long long)n);
        goto out;
    }
    sg_mhash proof[SG_MERKLE_MAX_PROOF], r1, r2;
    int len = sg_merkle_consistency(leaves, size, m, proof);
    sg_merkle_root(leaves, m, r1);
    sg_merkle_root(leaves, size, r2);
    printf("old %llu\nnew %llu\n", (unsigned long long)m, (unsigned long long)size);
    hex(stdout, "old-root ", r1);
    hex(stdout, "new-root ", r2);
    for (int i = 0; i < len; i++)
        hex(stdout, "proof ", proof[i]);
    rc = 0;
out:
    free(leaves);
    return rc;
}

static int write_all(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wbe");
    if (!f)
        return -1;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int cmd_export(const sg_config *cfg, sg_store *st, int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: sealgate audit export DIR\n");
        return 2;
    }
    const char *dir = argv[2];
    char path[4096];
    snprintf(path, sizeof path, "%s/checkpoints", dir);
    if (sg_mkdirs(path, 0755) < 0) {
        fprintf(stderr, "sealgate: cannot create %s: %s\n", path, strerror(errno));
        return 1;
    }
    uint8_t pub[32];
    if (sg_audit_pubkey_load(cfg->base_dir, pub) < 0) {
        fprintf(stderr, "sealgate: cannot read the log's public key in %s/keys\n", cfg->base_dir);
        return 1;
    }
    char priv[4096], pubpath[4096];
    sg_audit_key_paths(cfg->base_dir, priv, sizeof priv, pubpath, sizeof pubpath);
    FILE *pf = fopen(pubpath, "re");
    char line[128] = "";
    if (!pf || !fgets(line, sizeof line, pf)) {
        if (pf)
            fclose(pf);
        fprintf(stderr, "sealgate: cannot read %s\n", pubpath);
        return 1;
    }
    fclose(pf);
    snprintf(path, sizeof path, "%s/key.pub", dir);
    if (write_all(path, line, strlen(line)) < 0)
        goto fail;
    /* entries: every row as a 4-byte big-endian length and the entry's bytes, in index order,
     * exactly as stored (an export of a damaged log shows the damage to the auditor). */
    snprintf(path, sizeof path, "%s/entries", dir);
    FILE *ef = fopen(path, "wbe");
    if (!ef)
        goto fail;
    int64_t from = 0;
    uint64_t count = 0;
    for (;;) {
        sg_store_log_row *rows;
        size_t got;
        if (sg_store_log_range(st, from, 4096, &rows, &got) < 0) {
            fclose(ef);
            fprintf(stderr, "sealgate: %s\n", sg_store_error(st));
            return 1;
        }
        for (size_t i = 0; i < got; i++) {
            uint8_t l[4] = {(uint8_t)(rows[i].entry_len >> 24), (uint8_t)(rows[i].entry_len >> 16),
                            (uint8_t)(rows[i].entry_len >> 8), (uint8_t)rows[i].entry_len};
            fwrite(l, 1, 4, ef);
            fwrite(rows[i].entry, 1, rows[i].entry_len, ef);
            from = rows[i].index + 1;
            sg_store_log_free(&rows[i]);
        }
        free(rows);
        count += got;
        if (got < 4096)
            break;
    }
    if (fclose(ef) != 0)
        goto fail;
    sg_store_checkpoint *cps;
    size_t ncp;
    if (sg_store_checkpoint_list(st, &cps, &ncp) < 0) {
        fprintf(stderr, "sealgate: %s\n", sg_store_error(st));
        return 1;
    }
    for (size_t i = 0; i < ncp; i++) {
        snprintf(path, sizeof path, "%s/checkpoints/%lld", dir, (long long)cps[i].size);
        if (write_all(path, cps[i].note, strlen(cps[i].note)) < 0) {
            free(cps);
            goto fail;
        }
    }
    free(cps);
    printf("exported %llu entries and %zu checkpoints to %s\n", (unsigned long long)count, ncp, dir);
    return 0;
fail:
    fprintf(stderr, "sealgate: cannot write %s: %s\n", path, strerror(errno));
    return 1;
}

int sg_audit_cli(const sg_config *cfg, int argc, char **argv)
{
    sg_store *st = sg_cli_store_open(cfg);
    if (!st)
        return 1;
    int rc;
    const char *verb = argv[1];
    if (strcmp(verb, "verify") == 0) {
        uint8_t pub[32];
        if (argc != 2) {
            fprintf(stderr, "usage: sealgate audit verify\n");
            rc = 2;
        } else if (sg_audit_pubkey_load(cfg->base_dir, pub) < 0) {
            fprintf(stderr, "sealgate: cannot read the log's public key in %s/keys (run sealgate prepare)\n",
                    cfg->base_dir);
            rc = 1;
        } else {
            rc = sg_tlog_verify(st, pub, stdout);
            if (rc < 0)
                fprintf(stderr, "sealgate: %s\n", sg_store_error(st));
            rc = rc == 0 ? 0 : 1;
        }
    } else if (strcmp(verb, "proof") == 0) {
        rc = cmd_proof(st, argc, argv);
    } else if (strcmp(verb, "consistency") == 0) {
        rc = cmd_consistency(st, argc, argv);
    } else if (strcmp(verb, "export") == 0) {
        rc = cmd_export(cfg, st, argc, argv);
    } else if (strcmp(verb, "witness") == 0) {
        rc = sg_audit_witness_cmd(cfg, st, argc, argv); /* peer_cli.c */
    } else {
        char why[256];
        int made = sg_tlog_checkpoint(st, cfg, 1, NULL, why, sizeof why);
        if (made < 0)
            fprintf(stderr, "sealgate: checkpoint: %s\n", why);
        else
            printf("%s\n", made ? "checkpoint signed" : "the last checkpoint covers the log already");
        rc = made < 0 ? 1 : 0;
    }
    sg_store_close(st);
    return rc;
}
