/* sqlite_notary.c - the SQLite backend's log calls (store/notary_rows.h): tables audit_log and
 * audit_checkpoints (migration 10). Owner: src/store. */
#include <stdlib.h>
#include <string.h>

#include "store/notary_rows.h"
#include "store/sqlite/sqlite_int.h"

/* A malloc'd copy of blob column i (possibly empty): 0 or -1. */
static int blob(sg_store *s, sqlite3_stmt *st, int i, uint8_t **out, size_t *len)
{
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    const void *p = sqlite3_column_blob(st, i);
    *out = malloc(n ? n : 1);
    if (!*out)
        return sg_store_fail(s, "out of memory");
    if (n)
        memcpy(*out, p, n);
    *len = n;
    return 0;
}

static int rd_row(sg_store *s, sqlite3_stmt *st, sg_store_log_row *r)
{
    memset(r, 0, sizeof *r);
    r->index = sqlite3_column_int64(st, 0);
    sq_col_text(st, 1, r->queue_id, sizeof r->queue_id);
    if (blob(s, st, 2, &r->entry, &r->entry_len) < 0 || blob(s, st, 3, &r->frontier, &r->frontier_len) < 0) {
        sg_store_log_free(r);
        return -1;
    }
    return 0;
}

static int log_last(sg_store *s, sg_store_log_row *row)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT idx, queue_id, entry, frontier FROM audit_log ORDER BY idx DESC LIMIT 1");
    if (!st)
        return -1;
    int step = sqlite3_step(st), rc;
    if (step == SQLITE_ROW)
        rc = rd_row(s, st, row);
    else
        rc = step == SQLITE_DONE ? 1 : sq_fail(s, "reading the log's last entry");
    sq_done(s, st);
    return rc;
}

static int log_add(sg_store *s, const sg_store_log_row *row)
{
    sqlite3_stmt *st =
        sq_stmt(s, "INSERT INTO audit_log (idx, queue_id, entry, frontier) VALUES (?,?,?,?)");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, row->index);
    sqlite3_bind_text(st, 2, row->queue_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, row->entry, (int)row->entry_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, row->frontier, (int)row->frontier_len, SQLITE_STATIC);
    int step = sqlite3_step(st);
    int rc = step == SQLITE_DONE ? 0 : step == SQLITE_CONSTRAINT ? 1 : sq_fail(s, "adding a log entry");
    sq_done(s, st);
    return rc;
}

static int log_range(sg_store *s, int64_t from, int64_t count, sg_store_log_row **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    sqlite3_stmt *st = sq_stmt(s, "SELECT idx, queue_id, entry, frontier FROM audit_log"
                                  " WHERE idx >= ?1 AND idx < ?1 + ?2 ORDER BY idx");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, count);
    size_t cap = 0;
    int rc = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            sg_store_log_row *nv = realloc(*rows, cap * sizeof *nv);
            if (!nv) {
                rc = sg_store_fail(s, "out of memory");
                break;
            }
            *rows = nv;
        }
        if ((rc = rd_row(s, st, &(*rows)[*n])) < 0)
            break;
        (*n)++;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = sq_fail(s, "reading log entries");
    sq_done(s, st);
    if (rc < 0) {
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
    sqlite3_stmt *st = sq_stmt(s, "SELECT min(idx) FROM audit_log WHERE queue_id = ? AND queue_id <> ''");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, queue_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : sq_fail(s, "finding a log entry");
    if (rc == 0) {
        if (sqlite3_column_type(st, 0) == SQLITE_NULL)
            rc = 1;
        else
            *index = sqlite3_column_int64(st, 0);
    }
    sq_done(s, st);
    return rc;
}

static int checkpoint_add(sg_store *s, const sg_store_checkpoint *c)
{
    sqlite3_stmt *st = sq_stmt(s, "INSERT INTO audit_checkpoints (size, note) VALUES (?,?)");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, c->size);
    sqlite3_bind_text(st, 2, c->note, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    int rc = step == SQLITE_DONE ? 0 : step == SQLITE_CONSTRAINT ? 1 : sq_fail(s, "adding a checkpoint");
    sq_done(s, st);
    return rc;
}

static int checkpoint_list(sg_store *s, sg_store_checkpoint **c, size_t *n)
{
    *c = NULL;
    *n = 0;
    sqlite3_stmt *st = sq_stmt(s, "SELECT size, note FROM audit_checkpoints ORDER BY size");
    if (!st)
        return -1;
    size_t cap = 0;
    int rc = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            sg_store_checkpoint *nv = realloc(*c, cap * sizeof *nv);
            if (!nv) {
                rc = sg_store_fail(s, "out of memory");
                break;
            }
            *c = nv;
        }
        (*c)[*n].size = sqlite3_column_int64(st, 0);
        sq_col_text(st, 1, (*c)[*n].note, sizeof (*c)[*n].note);
        (*n)++;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = sq_fail(s, "listing checkpoints");
    sq_done(s, st);
    if (rc < 0) {
        free(*c);
        *c = NULL;
        *n = 0;
    }
    return rc;
}

const struct sg_store_notary_ops sg_sqlite_notary_ops = {
    .log_last = log_last,
    .log_add = log_add,
    .log_range = log_range,
    .log_find = log_find,
    .checkpoint_add = checkpoint_add,
    .checkpoint_list = checkpoint_list,
};
