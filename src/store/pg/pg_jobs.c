/* pg_jobs.c - the PostgreSQL backend's job calls (store/job_rows.h): table jobs (migration 12,
 * as SQLite's). Owner: src/store. With PostgreSQL a job one node runs is seen, and can be
 * cancelled, from every node. */
#include <stdlib.h>
#include <string.h>

#include "store/job_rows.h"
#include "store/pg/pg_int.h"

#define COLS "id, op, actor, state, done, total, started, updated, finished, cancel, result"

static void rd_job(const PGresult *r, int i, sg_store_job *j)
{
    memset(j, 0, sizeof *j);
    pg_col_text(r, i, 0, j->id, sizeof j->id);
    pg_col_text(r, i, 1, j->op, sizeof j->op);
    pg_col_text(r, i, 2, j->actor, sizeof j->actor);
    pg_col_text(r, i, 3, j->state, sizeof j->state);
    j->done = pg_col_i64(r, i, 4);
    j->total = pg_col_i64(r, i, 5);
    j->started = pg_col_i64(r, i, 6);
    j->updated = pg_col_i64(r, i, 7);
    j->finished = pg_col_i64(r, i, 8);
    j->cancel = pg_col_i64(r, i, 9) != 0;
    pg_col_text(r, i, 10, j->result, sizeof j->result);
}

static int changed(int64_t n)
{
    return n < 0 ? -1 : n == 0 ? 1 : 0;
}

static int add(sg_store *s, const sg_store_job *j)
{
    pg_args a = {0};
    pa_text(&a, j->id);
    pa_text(&a, j->op);
    pa_text(&a, j->actor);
    pa_text(&a, j->state);
    pa_i64(&a, j->done);
    pa_i64(&a, j->total);
    pa_i64(&a, j->started);
    pa_i64(&a, j->updated);
    pa_i64(&a, j->finished);
    pa_i64(&a, j->cancel);
    pa_text(&a, j->result);
    return changed(pg_cmd(s, "INSERT INTO jobs (" COLS ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"
                             " ON CONFLICT (id) DO NOTHING",
                          &a, "adding a job"));
}

static int get(sg_store *s, const char *id, sg_store_job *j)
{
    pg_args a = {0};
    pa_text(&a, id);
    PGresult *r = pg_run(s, "SELECT " COLS " FROM jobs WHERE id = $1", &a, "reading a job");
    if (!r)
        return -1;
    int rc = PQntuples(r) ? 0 : 1;
    if (rc == 0)
        rd_job(r, 0, j);
    PQclear(r);
    return rc;
}

static int list(sg_store *s, size_t limit, size_t offset, sg_store_job **j, size_t *n, int64_t *total)
{
    *j = NULL;
    *n = 0;
    pg_args a = {0};
    pa_i64(&a, (int64_t)limit);
    pa_i64(&a, (int64_t)offset);
    /* The count rides on every row (a window over the whole table, before LIMIT). */
    PGresult *r = pg_run(s,
                         "SELECT " COLS ", count(*) OVER () FROM jobs ORDER BY started DESC,"
                         " id COLLATE \"C\" DESC LIMIT $1 OFFSET $2",
                         &a, "listing jobs");
    if (!r)
        return -1;
    int nt = PQntuples(r);
    if (nt && !(*j = calloc((size_t)nt, sizeof **j))) {
        PQclear(r);
        return sg_store_fail(s, "out of memory");
    }
    for (int i = 0; i < nt; i++)
        rd_job(r, i, &(*j)[i]);
    *n = (size_t)nt;
    *total = nt ? pg_col_i64(r, 0, 11) : 0;
    PQclear(r);
    if (nt == 0 && offset > 0) { /* a page past the end: the total still counts */
        PGresult *c = pg_run(s, "SELECT count(*) FROM jobs", &(pg_args){0}, "counting jobs");
        if (!c)
            return -1;
        *total = pg_col_i64(c, 0, 0);
        PQclear(c);
    }
    return 0;
}

static int progress(sg_store *s, const char *id, int64_t done, int64_t total, int64_t now, bool *cancel)
{
    pg_args a = {0};
    pa_i64(&a, done);
    pa_i64(&a, total);
    pa_i64(&a, now);
    pa_text(&a, id);
    PGresult *r = pg_run(s,
                         "UPDATE jobs SET state = 'running', done = $1, total = $2, updated = $3"
                         " WHERE id = $4 AND state IN ('queued', 'running') RETURNING cancel",
                         &a, "writing a job's progress");
    if (!r)
        return -1;
    int rc = PQntuples(r) ? 0 : 1;
    *cancel = rc == 0 && pg_col_i64(r, 0, 0) != 0;
    PQclear(r);
    return rc;
}

static int finish(sg_store *s, const char *id, const char *state, int64_t done, int64_t now, const char *result)
{
    pg_args a = {0};
    pa_text(&a, state);
    pa_i64(&a, done);
    pa_i64(&a, now);
    pa_text(&a, result);
    pa_text(&a, id);
    return changed(pg_cmd(s,
                          "UPDATE jobs SET state = $1, done = $2, updated = $3, finished = $3, result = $4"
                          " WHERE id = $5 AND state IN ('queued', 'running')",
                          &a, "finishing a job"));
}

static int cancel(sg_store *s, const char *id)
{
    pg_args a = {0};
    pa_text(&a, id);
    return changed(pg_cmd(s, "UPDATE jobs SET cancel = 1 WHERE id = $1 AND state IN ('queued', 'running')", &a,
                          "cancelling a job"));
}

const struct sg_store_job_ops sg_pg_job_ops = {
    .add = add, .get = get, .list = list, .progress = progress, .finish = finish, .cancel = cancel};
