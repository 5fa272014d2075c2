/* sqlite_jobs.c - the SQLite backend's job calls (store/job_rows.h): table jobs (migration 12).
 * Owner: src/store. Progress writes come every few hundred items of a job: cached statements. */
#include <stdlib.h>
#include <string.h>

#include "store/job_rows.h"
#include "store/sqlite/sqlite_int.h"

#define COLS "id, op, actor, state, done, total, started, updated, finished, cancel, result"

static void rd_job(sqlite3_stmt *st, sg_store_job *j)
{
    memset(j, 0, sizeof *j);
    sq_col_text(st, 0, j->id, sizeof j->id);
    sq_col_text(st, 1, j->op, sizeof j->op);
    sq_col_text(st, 2, j->actor, sizeof j->actor);
    sq_col_text(st, 3, j->state, sizeof j->state);
    j->done = sqlite3_column_int64(st, 4);
    j->total = sqlite3_column_int64(st, 5);
    j->started = sqlite3_column_int64(st, 6);
    j->updated = sqlite3_column_int64(st, 7);
    j->finished = sqlite3_column_int64(st, 8);
    j->cancel = sqlite3_column_int64(st, 9) != 0;
    sq_col_text(st, 10, j->result, sizeof j->result);
}

/* Steps a write and gives st back: 0, 1 when no row changed, -1. */
static int write_changed(sg_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    rc = rc == SQLITE_DONE ? (sqlite3_changes(sq_of(s)->db) ? 0 : 1) : rc == SQLITE_CONSTRAINT ? 1 : sq_fail(s, what);
    sq_done(s, st);
    return rc;
}

static int add(sg_store *s, const sg_store_job *j)
{
    sqlite3_stmt *st = sq_stmt(s, "INSERT INTO jobs (" COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, j->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, j->op, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, j->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, j->state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, j->done);
    sqlite3_bind_int64(st, 6, j->total);
    sqlite3_bind_int64(st, 7, j->started);
    sqlite3_bind_int64(st, 8, j->updated);
    sqlite3_bind_int64(st, 9, j->finished);
    sqlite3_bind_int64(st, 10, j->cancel);
    sqlite3_bind_text(st, 11, j->result, -1, SQLITE_STATIC);
    return write_changed(s, st, "adding a job");
}

static int get(sg_store *s, const char *id, sg_store_job *j)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT " COLS " FROM jobs WHERE id = ?");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        rd_job(st, j);
    rc = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : sq_fail(s, "reading a job");
    sq_done(s, st);
    return rc;
}

static int list(sg_store *s, size_t limit, size_t offset, sg_store_job **j, size_t *n, int64_t *total)
{
    *j = NULL;
    *n = 0;
    *total = 0;
    sqlite3_stmt *st = sq_stmt(s, "SELECT count(*) FROM jobs");
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *total = sqlite3_column_int64(st, 0);
    rc = rc == SQLITE_ROW ? 0 : sq_fail(s, "counting jobs");
    sq_done(s, st);
    if (rc < 0 || !(st = sq_stmt(s, "SELECT " COLS " FROM jobs ORDER BY started DESC, id DESC LIMIT ? OFFSET ?")))
        return -1;
    sqlite3_bind_int64(st, 1, (int64_t)limit);
    sqlite3_bind_int64(st, 2, (int64_t)offset);
    if (limit && !(*j = calloc(limit, sizeof **j))) {
        sq_done(s, st);
        return sg_store_fail(s, "out of memory");
    }
    while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
        rd_job(st, &(*j)[(*n)++]);
    rc = rc == SQLITE_DONE || rc == SQLITE_ROW || rc == 0 ? 0 : sq_fail(s, "listing jobs");
    sq_done(s, st);
    if (rc < 0) {
        free(*j);
        *j = NULL;
        *n = 0;
    }
    return rc;
}

static int progress(sg_store *s, const char *id, int64_t done, int64_t total, int64_t now, bool *cancel)
{
    sqlite3_stmt *st = sq_stmt(s, "UPDATE jobs SET state = 'running', done = ?, total = ?, updated = ?"
                                  " WHERE id = ? AND state IN ('queued', 'running') RETURNING cancel");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, done);
    sqlite3_bind_int64(st, 2, total);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_text(st, 4, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *cancel = rc == SQLITE_ROW && sqlite3_column_int64(st, 0) != 0;
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sq_fail(s, "writing a job's progress");
    else
        rc = rc == SQLITE_DONE ? 1 : sq_fail(s, "writing a job's progress");
    sq_done(s, st);
    return rc;
}

static int finish(sg_store *s, const char *id, const char *state, int64_t done, int64_t now, const char *result)
{
    sqlite3_stmt *st = sq_stmt(s, "UPDATE jobs SET state = ?, done = ?, updated = ?, finished = ?, result = ?"
                                  " WHERE id = ? AND state IN ('queued', 'running')");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, done);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_text(st, 5, result, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, id, -1, SQLITE_STATIC);
    return write_changed(s, st, "finishing a job");
}

static int cancel(sg_store *s, const char *id)
{
    sqlite3_stmt *st = sq_stmt(s, "UPDATE jobs SET cancel = 1 WHERE id = ? AND state IN ('queued', 'running')");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    return write_changed(s, st, "cancelling a job");
}

const struct sg_store_job_ops sg_sqlite_job_ops = {
    .add = add, .get = get, .list = list, .progress = progress, .finish = finish, .cancel = cancel};
