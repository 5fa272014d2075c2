/* test_store_notary.c - the tamper-evident log's store calls (store/notary_rows.h) on either
 * backend (SQLite by default, PostgreSQL under SEALGATE_TEST_STORE, the store-pg suite), through
 * src/audit's append, and the tree code (src/audit/merkle.c) on what they stored: an empty log
 * answers "none", 40 appends give indexes 0..39 whose stored frontiers give MTH of every prefix,
 * an index taken already is refused with 1 (no fork), ranges and queue-id lookups, checkpoints
 * kept once per size in size order, and every inclusion and consistency proof up to 40 verifies
 * by RFC 9162's algorithms while one with a changed hash does not. Owner: src/audit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/log.h"
#include "audit/merkle.h"
#include "check.h"
#include "store/notary_rows.h"
#include "store_side.h"

#define N 40

static sg_mhash leaves[N];

static void empty(sg_store *st)
{
    sg_store_log_row r;
    sg_store_checkpoint *c;
    size_t n = 9;
    int64_t idx;
    CHECK(sg_store_log_last(st, &r) == 1, "an empty log has no last entry: 1");
    CHECK(sg_store_log_find(st, "Q1", &idx) == 1, "find in an empty log: 1");
    CHECK(sg_store_checkpoint_list(st, &c, &n) == 0 && n == 0, "no checkpoints");
    free(c);
}

static void appends(sg_store *st)
{
    int bad = 0;
    for (int i = 0; i < N; i++) {
        sg_tlog_entry e;
        char v[32];
        sg_tlog_entry_init(&e, SG_TLOG_KIND_ADMIN);
        snprintf(v, sizeof v, "%d", i);
        sg_tlog_entry_field(&e, "n", v);
        sg_merkle_leaf(e.buf, e.len, leaves[i]);
        int64_t idx = -1;
        if (sg_tlog_append(st, &e, i == 17 ? "Q17" : "", &idx) != 0 || idx != i) {
            bad++;
            fprintf(stderr, "append %d: %s\n", i, sg_tlog_error());
        }
    }
    CHECK(bad == 0, "40 appends get indexes 0..39");
    sg_store_log_row *rows;
    size_t n;
    CHECK(sg_store_log_range(st, 0, N, &rows, &n) == 0 && n == N, "the range 0..39 reads back (%s)", sg_store_error(st));
    bad = 0;
    for (size_t i = 0; i < n; i++) {
        sg_mhash want, got, fleaf;
        sg_merkle_root(leaves, i + 1, want);
        sg_merkle_frontier_root((const sg_mhash *)rows[i].frontier, rows[i].frontier_len / SG_MERKLE_HASH, got);
        sg_merkle_leaf(rows[i].entry, rows[i].entry_len, fleaf);
        if (rows[i].index != (int64_t)i || memcmp(want, got, SG_MERKLE_HASH) != 0 ||
            memcmp(fleaf, leaves[i], SG_MERKLE_HASH) != 0)
            bad++;
    }
    CHECK(bad == 0, "each stored frontier gives MTH of the prefix it ends, each entry its leaf");
    sg_store_log_row dup = rows[5];
    dup.index = 39;
    CHECK(sg_store_log_add(st, &dup) == 1, "adding index 39 again is refused with 1 (%s)", sg_store_error(st));
    for (size_t i = 0; i < n; i++)
        sg_store_log_free(&rows[i]);
    free(rows);
    CHECK(sg_store_log_range(st, 10, 5, &rows, &n) == 0 && n == 5 && rows[0].index == 10 && rows[4].index == 14,
          "range 10+5: indexes 10..14");
    for (size_t i = 0; i < n; i++)
        sg_store_log_free(&rows[i]);
    free(rows);
    int64_t idx = -1;
    CHECK(sg_store_log_find(st, "Q17", &idx) == 0 && idx == 17, "a queue id finds its entry");
    CHECK(sg_store_log_find(st, "", &idx) == 1, "the empty queue id (admin events) finds nothing");
}

static void checkpoints(sg_store *st)
{
    sg_store_checkpoint a = {.size = 20}, b = {.size = 10};
    snprintf(a.note, sizeof a.note, "note 20\n");
    snprintf(b.note, sizeof b.note, "note 10\n");
    CHECK(sg_store_checkpoint_add(st, &a) == 0 && sg_store_checkpoint_add(st, &b) == 0, "two checkpoints added");
    CHECK(sg_store_checkpoint_add(st, &a) == 1, "a second checkpoint for size 20: 1");
    sg_store_checkpoint *c;
    size_t n;
    CHECK(sg_store_checkpoint_list(st, &c, &n) == 0 && n == 2 && c[0].size == 10 && c[1].size == 20 &&
              strcmp(c[1].note, "note 20\n") == 0,
          "listed in size order, notes as written");
    free(c);
}

static void proofs(void)
{
    int bad = 0, refused = 0, total = 0;
    sg_mhash p[SG_MERKLE_MAX_PROOF], root, old;
    for (uint64_t n = 1; n <= N; n++) {
        sg_merkle_root(leaves, n, root);
        for (uint64_t m = 0; m < n; m++) {
            int len = sg_merkle_inclusion(leaves, n, m, p);
            bad += !sg_merkle_verify_inclusion(m, n, leaves[m], p, (size_t)len, root);
            if (len > 0) {
                p[len - 1][0] ^= 1;
                refused += !sg_merkle_verify_inclusion(m, n, leaves[m], p, (size_t)len, root);
                total++;
            }
            if (m == 0)
                continue;
            sg_merkle_root(leaves, m, old);
            len = sg_merkle_consistency(leaves, n, m, p);
            bad += !sg_merkle_verify_consistency(m, n, old, root, p, (size_t)len);
            if (len > 0) {
                p[0][5] ^= 0x80;
                refused += !sg_merkle_verify_consistency(m, n, old, root, p, (size_t)len);
                total++;
            }
        }
    }
    CHECK(bad == 0, "every inclusion and consistency proof up to size 40 verifies (%d bad)", bad);
    CHECK(refused == total, "each with one changed hash is refused (%d of %d)", refused, total);
}

int main(void)
{
    char dir[] = "/tmp/sg-test-store-notary-XXXXXX", path[300], err[512] = "";
    if (!mkdtemp(dir))
        return 1;
    if (side_store(dir, "notary", path, sizeof path) < 0)
        return 1;
    sg_store *st = sg_store_open(path, err, sizeof err);
    CHECK(st != NULL, "store opened (%s)", err);
    if (st) {
        empty(st);
        appends(st);
        checkpoints(st);
        proofs();
    }
    sg_store_close(st);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
