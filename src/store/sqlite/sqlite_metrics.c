/* sqlite_metrics.c - the SQLite backend's metrics calls (store/metrics_rows.h): table
 * metrics_minute (migration 10). Owner: src/store. */
#include <stdlib.h>
#include <string.h>

#include "store/metrics_rows.h"
#include "store/sqlite/sqlite_int.h"

#define COLS                                                                                                 \
    "msgs_in, msgs_out, encrypted, signed, decrypted, verified, held, bounced, deferred,"                    \
    " latency_ms_sum, latency_count"

static int add(sg_store *s, const sg_store_metrics *m)
{
    sqlite3_stmt *st =
        sq_stmt(s, "INSERT INTO metrics_minute (minute, " COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
                   " ON CONFLICT (minute) DO UPDATE SET msgs_in = msgs_in + excluded.msgs_in,"
                   " msgs_out = msgs_out + excluded.msgs_out, encrypted = encrypted + excluded.encrypted,"
                   " signed = signed + excluded.signed, decrypted = decrypted + excluded.decrypted,"
                   " verified = verified + excluded.verified, held = held + excluded.held,"
                   " bounced = bounced + excluded.bounced, deferred = deferred + excluded.deferred,"
                   " latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum,"
                   " latency_count = latency_count + excluded.latency_count");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, m->minute);
    for (int i = 0; i < SG_M__COUNT; i++)
        sqlite3_bind_int64(st, i + 2, m->v[i]);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sq_fail(s, "adding to the metrics");
    sq_done(s, st);
    return rc;
}

static int list(sg_store *s, int64_t since, sg_store_metrics **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    sqlite3_stmt *st =
        sq_stmt(s, "SELECT minute, " COLS " FROM metrics_minute WHERE minute >= ? ORDER BY minute");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, since);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            sg_store_metrics *g = realloc(*rows, (cap = cap ? cap * 2 : 64) * sizeof *g);
            if (!g) {
                rc = SQLITE_NOMEM;
                break;
            }
            *rows = g;
        }
        sg_store_metrics *m = &(*rows)[(*n)++];
        m->minute = sqlite3_column_int64(st, 0);
        for (int i = 0; i < SG_M__COUNT; i++)
            m->v[i] = sqlite3_column_int64(st, i + 1);
    }
    int out = rc == SQLITE_DONE ? 0 : sq_fail(s, "reading the metrics");
    sq_done(s, st);
    if (out < 0) {
        free(*rows);
        *rows = NULL;
        *n = 0;
    }
    return out;
}

static int prune(sg_store *s, int64_t before)
{
    sqlite3_stmt *st = sq_stmt(s, "DELETE FROM metrics_minute WHERE minute < ? AND minute <> 0");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, before);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sq_fail(s, "pruning the metrics");
    sq_done(s, st);
    return rc;
}

const struct sg_store_metrics_ops sg_sqlite_metrics_ops = {.add = add, .list = list, .prune = prune};
