/* cli_adopt.c - `sealgate queue adopt DIR`: this node takes over the spool of a node that died
 * (its disk mounted here, or a copy of its spool directory), docs/cluster.md "A node dies".
 * Owner: src/cli.
 * Each message of DIR's incoming/, active/, hold/, outgoing/, deferred/ and dsn/ is checked
 * (sg_queue_read: a malformed file is reported and left), written into this node's spool
 * (incoming/ for what was not processed yet, outgoing/ for processed outputs, so the relay
 * sends them now, hold/ stays held, dsn/ goes to cryptd) with the owner that state's role needs,
 * and removed from DIR. Exactly once across the cluster, even when the same spool (or two
 * copies of it) is adopted twice, on one node or on two: the queue id is claimed in the shared
 * store first (cluster_meta "adopted/ID": "pending NODE", then "done NODE"); an id already done,
 * or pending on another node, is skipped. A crash between the claim and "done" leaves it pending
 * on this node: running adopt again here finishes it.
 * SECURITY: run as root; DIR is untrusted input: only names sealgate makes are taken (no path
 * in a name), every file is parsed in full before it enters this spool. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli_store.h"
#include "queue/queue.h"
#include "roles.h"
#include "store/cluster_rows.h"

typedef struct counts {
    size_t adopted, already, bad, failed;
} counts;

/* Claims id for this node: 1 go on, 0 skip (adopted already, or by another node), -1 error. */
static int claim(sg_store *st, const char *key, const char *node)
{
    char mine[300], have[300];
    snprintf(mine, sizeof mine, "pending %s", node);
    int rc = sg_store_meta_add(st, key, mine);
    if (rc == 0)
        return 1;
    if (rc < 0 || sg_store_meta_get(st, key, have, sizeof have) != 0)
        return -1;
    return strcmp(have, mine) == 0; /* our own claim, left by a crash: finish it */
}

/* One message: 0 adopted, 1 skipped (adopted before), 2 malformed (left), -1 failed. */
static int adopt_one(sg_store *st, sg_queue *src, sg_queue *dst, int from, int to, const char *name,
                     const char *node)
{
    char key[SG_QID_MAX + 16], done[300], err[256] = "";
    snprintf(key, sizeof key, "adopted/%s", name);
    sg_envelope e;
    char *file = NULL;
    const char *data;
    size_t len;
    int rc = sg_queue_read(src, from, name, &e, &file, &data, &len, err, sizeof err);
    if (rc == -2) {
        fprintf(stderr, "sealgate: %s/%s: %s (left where it is)\n", sg_qstate_name(from), name, err);
        return 2;
    }
    if (rc < 0)
        return -1;
    int c = claim(st, key, node), out = -1;
    if (c < 0)
        fprintf(stderr, "sealgate: %s: %s\n", name, sg_store_error(st));
    if (c <= 0) {
        out = c == 0 ? 1 : -1;
        goto end;
    }
    /* Into tmp/ first, given the owner of the state it goes to, then renamed: the role that
     * takes it never sees a file it cannot read. A name already in this spool is not replaced. */
    struct stat dir;
    if (sg_queue_find(dst, name) < 0) {
        if (sg_queue_write(dst, SG_Q_TMP, name, &e, data, len) < 0 || fstat(dst->dirfd[to], &dir) < 0 ||
            fchownat(dst->dirfd[SG_Q_TMP], name, dir.st_uid, dir.st_gid, 0) < 0 ||
            sg_queue_move(dst, name, SG_Q_TMP, to) < 0) {
            fprintf(stderr, "sealgate: %s: cannot write it into %s/: %s\n", name, sg_qstate_name(to),
                    strerror(errno));
            unlinkat(dst->dirfd[SG_Q_TMP], name, 0);
            goto end;
        }
    }
    snprintf(done, sizeof done, "done %s", node);
    if (sg_store_meta_set(st, key, done) < 0) {
        fprintf(stderr, "sealgate: %s: adopted, but not marked done: %s (run adopt again)\n", name,
                sg_store_error(st));
        goto end;
    }
    out = 0;
end:
    if (out == 0 || out == 1)
        sg_queue_remove(src, from, name); /* a read-only copy stays as it is: nothing depends on it */
    sg_env_free(&e);
    free(file);
    return out;
}

int sg_cli_queue_adopt(const sg_config *cfg, int argc, char **argv)
{
    if (argc != 1) {
        fputs("usage: sealgate queue adopt DIR   (the spool directory of a node that died)\n", stderr);
        return 2;
    }
    static const int map[][2] = {{SG_Q_INCOMING, SG_Q_INCOMING}, {SG_Q_ACTIVE, SG_Q_INCOMING},
                                 {SG_Q_HOLD, SG_Q_HOLD},         {SG_Q_OUTGOING, SG_Q_OUTGOING},
                                 {SG_Q_DEFERRED, SG_Q_OUTGOING}, {SG_Q_DSN, SG_Q_DSN}};
    sg_queue src, dst;
    if (sg_queue_open(&src, argv[0], "adopt", false) < 0) {
        fprintf(stderr, "sealgate: cannot open the spool %s: %s\n", argv[0], strerror(errno));
        return 1;
    }
    if (sg_queue_open(&dst, cfg->spool_dir, "adopt", false) < 0) {
        fprintf(stderr, "sealgate: cannot open this node's spool %s: %s\n", cfg->spool_dir, strerror(errno));
        sg_queue_close(&src);
        return 1;
    }
    sg_store *st = sg_cli_store_open(cfg);
    const char *node = cfg->hostname && *cfg->hostname ? cfg->hostname : "localhost";
    counts n = {0};
    for (size_t s = 0; st && s < sizeof map / sizeof map[0]; s++) {
        char **names;
        size_t k;
        if (src.dirfd[map[s][0]] < 0 || sg_queue_list(&src, map[s][0], &names, &k) < 0)
            continue;
        for (size_t i = 0; i < k; i++) {
            if (!sg_queue_name_valid(names[i]))
                continue;
            int rc = adopt_one(st, &src, &dst, map[s][0], map[s][1], names[i], node);
            if (rc == 0)
                n.adopted++;
            else if (rc == 1)
                n.already++;
            else if (rc == 2)
                n.bad++;
            else
                n.failed++;
        }
        sg_queue_names_free(names, k);
    }
    if (st)
        printf(
            "adopted %zu messages from %s (%zu adopted before, skipped; %zu malformed, left; %zu failed)\n",
            n.adopted, argv[0], n.already, n.bad, n.failed);
    sg_store_close(st);
    sg_queue_close(&src);
    sg_queue_close(&dst);
    return !st || n.failed ? 1 : 0;
}
