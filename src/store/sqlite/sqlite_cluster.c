/* sqlite_cluster.c - the SQLite backend's cluster calls (store/cluster_rows.h): tables
 * cluster_nodes and cluster_meta (migration 12). Owner: src/store. A SQLite store serves one
 * node, so a job lock is always this node's. */
#include <stdlib.h>
#include <string.h>

#include "store/cluster_rows.h"
#include "store/sqlite/sqlite_int.h"

static int beat(sg_store *s, const sg_store_node *n)
{
    sqlite3_stmt *st = sq_stmt(s, "INSERT OR REPLACE INTO cluster_nodes (name, version, started, heartbeat,"
                                  " queue, schema) VALUES (?,?,?,?,?,?)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, n->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, n->version, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, n->started);
    sqlite3_bind_int64(st, 4, n->heartbeat);
    sqlite3_bind_int64(st, 5, n->queue);
    sqlite3_bind_int64(st, 6, n->schema);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sq_fail(s, "writing the node's heartbeat");
    sq_done(s, st);
    return rc;
}

static int list(sg_store *s, sg_store_node **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    sqlite3_stmt *st = sq_stmt(s, "SELECT name, version, started, heartbeat, queue, schema FROM cluster_nodes"
                                  " ORDER BY name");
    if (!st)
        return -1;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            sg_store_node *g = realloc(*rows, (cap = cap ? cap * 2 : 8) * sizeof *g);
            if (!g) {
                rc = SQLITE_NOMEM;
                break;
            }
            *rows = g;
        }
        sg_store_node *r = &(*rows)[(*n)++];
        sq_col_text(st, 0, r->name, sizeof r->name);
        sq_col_text(st, 1, r->version, sizeof r->version);
        r->started = sqlite3_column_int64(st, 2);
        r->heartbeat = sqlite3_column_int64(st, 3);
        r->queue = sqlite3_column_int64(st, 4);
        r->schema = sqlite3_column_int64(st, 5);
    }
    int out = rc == SQLITE_DONE ? 0 : sq_fail(s, "reading the nodes");
    sq_done(s, st);
    if (out < 0) {
        free(*rows);
        *rows = NULL;
        *n = 0;
    }
    return out;
}

static int meta_get(sg_store *s, const char *key, char *out, size_t outlen)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT value FROM cluster_meta WHERE key = ?");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    int res = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : sq_fail(s, "reading a shared value");
    if (res == 0)
        sq_col_text(st, 0, out, outlen);
    sq_done(s, st);
    return res;
}

static int meta_put(sg_store *s, const char *key, const char *value, int replace)
{
    sqlite3_stmt *st = sq_stmt(s, replace ? "INSERT OR REPLACE INTO cluster_meta (key, value) VALUES (?,?)"
                                          : "INSERT OR IGNORE INTO cluster_meta (key, value) VALUES (?,?)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sq_fail(s, "writing a shared value");
    if (rc == 0 && !replace && sqlite3_changes(sq_of(s)->db) == 0)
        rc = 1;
    sq_done(s, st);
    return rc;
}

static int job_lock(sg_store *s, const char *job)
{
    (void)s;
    (void)job;
    return 1;
}

const struct sg_store_cluster_ops sg_sqlite_cluster_ops = {
    .beat = beat, .list = list, .meta_get = meta_get, .meta_put = meta_put, .job_lock = job_lock};
