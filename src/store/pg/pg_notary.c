/* pg_notary.c - the PostgreSQL backend's log calls (store/notary_rows.h): tables audit_log and
 * audit_checkpoints (migration 10, as SQLite's). Owner: src/store.
 * An insert that finds its index taken changes no row (ON CONFLICT DO NOTHING) and answers 1,
 * as SQLite's constraint error does: the caller's transaction decides what happens next. */
#include <stdlib.h>
#include <string.h>

#include "store/notary_rows.h"
#include "store/pg/pg_int.h"

static int rd_row(sg_store *s, const PGresult *r, int i, sg_store_log_row *row)
{
    memset(row, 0, sizeof *row);
    row->index = pg_col_i64(r, i, 0);
    pg_col_text(r, i, 1, row->queue_id, sizeof row->queue_id);
    if (pg_col_bytes(s, r, i, 2, "a log entry", &row->entry, &row->entry_len) < 0 ||
        pg_col_bytes(s, r, i, 3, "a log entry", &row->frontier, &row->frontier_len) < 0) {
        sg_store_log_free(row);
        return -1;
    }
    return 0;
}

static int log_last(sg_store *s, sg_store_log_row *row)
{
    pg_args q = {0};
    PGresult *r = pg_run(s, "SELECT idx, queue_id, entry, frontier FROM audit_log ORDER BY idx DESC LIMIT 1", &q,
                         "reading the log's last entry");
    if (!r)
        return -1;
    int rc = PQntuples(r) == 0 ? 1 : rd_row(s, r, 0, row);
    PQclear(r);
    return rc;
}

static int log_add(sg_store *s, const sg_store_log_row *row)
{
    pg_args q = {0};
    pa_i64(&q, row->index);
    pa_text(&q, row->queue_id);
    pa_bytes(&q, row->entry, row->entry_len);
    pa_bytes(&q, row->frontier, row->frontier_len);
    int64_t n = pg_cmd(s,
                       "INSERT INTO audit_log (idx, queue_id, entry, frontier) VALUES ($1,$2,$3,$4)"
                       " ON CONFLICT (idx) DO NOTHING",
                       &q, "adding a log entry");
    return n < 0 ? -1 : n == 0 ? 1 : 0;
}

static int log_range(sg_store *s, int64_t from, int64_t count, sg_store_log_row **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    pg_args q = {0};
    pa_i64(&q, from);
    pa_i64(&q, count);
    PGresult *r = pg_run(s,
                         "SELECT idx, queue_id, entry, frontier FROM audit_log"
                         " WHERE idx >= $1 AND idx < $1 + $2 ORDER BY idx",
                         &q, "reading log entries");
    if (!r)
        return -1;
    int rows_n = PQntuples(r), rc = 0;
    *rows = calloc(rows_n ? (size_t)rows_n : 1, sizeof **rows);
    if (!*rows)
        rc = sg_store_fail(s, "out of memory");
    for (int i = 0; rc == 0 && i < rows_n; i++)
        if ((rc = rd_row(s, r, i, &(*rows)[i])) == 0)
            (*n)++;
    PQclear(r);
    if (rc < 0 && *rows) {
        for (size_t i = 0; i < *n; i++)
            sg_store_log_free(&(*rows)[i]);
        free(*rows);
        *rows = NULL;
        *n = 0;
    }
    return rc;
}

static int log_find(sg_store *s, const char *queue_id, int64_t *index)
{
    pg_args q = {0};
    pa_text(&q, queue_id);
    PGresult *r = pg_run(s, "SELECT min(idx) FROM audit_log WHERE queue_id = $1 AND queue_id <> ''", &q,
                         "finding a log entry");
    if (!r)
        return -1;
    int rc = PQgetisnull(r, 0, 0) ? 1 : 0;
    if (rc == 0)
        *index = pg_col_i64(r, 0, 0);
    PQclear(r);
    return rc;
}

static int checkpoint_add(sg_store *s, const sg_store_checkpoint *c)
{
    pg_args q = {0};
    pa_i64(&q, c->size);
    pa_text(&q, c->note);
    int64_t n = pg_cmd(s, "INSERT INTO audit_checkpoints (size, note) VALUES ($1,$2) ON CONFLICT (size) DO NOTHING",
                       &q, "adding a checkpoint");
    return n < 0 ? -1 : n == 0 ? 1 : 0;
}

static int checkpoint_list(sg_store *s, sg_store_checkpoint **c, size_t *n)
{
    *c = NULL;
    *n = 0;
    pg_args q = {0};
    PGresult *r = pg_run(s, "SELECT size, note FROM audit_checkpoints ORDER BY size", &q, "listing checkpoints");
    if (!r)
        return -1;
    int rows_n = PQntuples(r);
    *c = calloc(rows_n ? (size_t)rows_n : 1, sizeof **c);
    if (!*c) {
        PQclear(r);
        return sg_store_fail(s, "out of memory");
    }
    for (int i = 0; i < rows_n; i++) {
        (*c)[i].size = pg_col_i64(r, i, 0);
        pg_col_text(r, i, 1, (*c)[i].note, sizeof (*c)[i].note);
    }
    *n = (size_t)rows_n;
    PQclear(r);
    return 0;
}

const struct sg_store_notary_ops sg_pg_notary_ops = {
    .log_last = log_last,
    .log_add = log_add,
    .log_range = log_range,
    .log_find = log_find,
    .checkpoint_add = checkpoint_add,
    .checkpoint_list = checkpoint_list,
};
