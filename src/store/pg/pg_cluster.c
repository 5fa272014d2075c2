/* pg_cluster.c - the PostgreSQL backend's cluster calls (store/cluster_rows.h): tables
 * cluster_nodes and cluster_meta (migration 12, as SQLite's) and the once-per-cluster job
 * locks, which are PostgreSQL session advisory locks: held by one connection, released by
 * the server when that connection ends, so a node that dies frees its jobs for the others.
 * Owner: src/store. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "store/cluster_rows.h"
#include "store/pg/pg_int.h"

/* The first key of every job lock (the second is the hash of the job's name): "sgjob". */
#define PG_JOB_CLASS "1936157290"

static int beat(sg_store *s, const sg_store_node *n)
{
    pg_args a = {0};
    pa_text(&a, n->name);
    pa_text(&a, n->version);
    pa_i64(&a, n->started);
    pa_i64(&a, n->heartbeat);
    pa_i64(&a, n->queue);
    pa_i64(&a, n->schema);
    return pg_cmd(s,
                  "INSERT INTO cluster_nodes (name, version, started, heartbeat, queue, schema)"
                  " VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (name) DO UPDATE SET version = excluded.version,"
                  " started = excluded.started, heartbeat = excluded.heartbeat, queue = excluded.queue,"
                  " schema = excluded.schema",
                  &a, "writing the node's heartbeat") < 0
               ? -1
               : 0;
}

static int list(sg_store *s, sg_store_node **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    PGresult *r = pg_run(s,
                         "SELECT name, version, started, heartbeat, queue, schema FROM cluster_nodes"
                         " ORDER BY name COLLATE \"C\"",
                         NULL, "reading the nodes");
    if (!r)
        return -1;
    int nt = PQntuples(r);
    *rows = nt ? calloc((size_t)nt, sizeof **rows) : NULL;
    if (nt && !*rows) {
        PQclear(r);
        return sg_store_fail(s, "out of memory reading the nodes");
    }
    for (int i = 0; i < nt; i++) {
        sg_store_node *o = &(*rows)[i];
        pg_col_text(r, i, 0, o->name, sizeof o->name);
        pg_col_text(r, i, 1, o->version, sizeof o->version);
        o->started = pg_col_i64(r, i, 2);
        o->heartbeat = pg_col_i64(r, i, 3);
        o->queue = pg_col_i64(r, i, 4);
        o->schema = pg_col_i64(r, i, 5);
    }
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}

static int meta_get(sg_store *s, const char *key, char *out, size_t outlen)
{
    pg_args a = {0};
    pa_text(&a, key);
    PGresult *r = pg_run(s, "SELECT value FROM cluster_meta WHERE key = $1", &a, "reading a shared value");
    if (!r)
        return -1;
    int found = PQntuples(r) == 1;
    if (found)
        pg_col_text(r, 0, 0, out, outlen);
    PQclear(r);
    return found ? 0 : 1;
}

static int meta_put(sg_store *s, const char *key, const char *value, int replace)
{
    pg_args a = {0};
    pa_text(&a, key);
    pa_text(&a, value);
    int64_t n = replace
                    ? pg_cmd(s,
                             "INSERT INTO cluster_meta (key, value) VALUES ($1,$2)"
                             " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                             &a, "writing a shared value")
                    : pg_cmd(s, "INSERT INTO cluster_meta (key, value) VALUES ($1,$2) ON CONFLICT DO NOTHING",
                             &a, "writing a shared value");
    return n < 0 ? -1 : n == 0 ? 1 : 0;
}

static int job_lock(sg_store *s, const char *job)
{
    pg_store *p = pg_of(s);
    if (PQstatus(p->conn) == CONNECTION_OK)
        for (int i = 0; i < p->njobs; i++)
            if (strcmp(p->jobs[i], job) == 0)
                return 1; /* taken earlier on this very connection: still ours */
    if (strlen(job) >= sizeof p->jobs[0] || p->njobs == (int)(sizeof p->jobs / sizeof p->jobs[0]))
        return sg_store_fail(s, "store: job lock %s: too long or too many", job);
    pg_args a = {0};
    pa_text(&a, job);
    PGresult *r = pg_run(s,
                         "SELECT CASE WHEN pg_try_advisory_lock(" PG_JOB_CLASS ", hashtext($1))"
                         " THEN 1::bigint ELSE 0::bigint END",
                         &a, "taking a job lock");
    if (!r)
        return -1;
    int got = PQntuples(r) == 1 && pg_col_i64(r, 0, 0) == 1;
    PQclear(r);
    if (got)
        snprintf(p->jobs[p->njobs++], sizeof p->jobs[0], "%s", job);
    return got;
}

const struct sg_store_cluster_ops sg_pg_cluster_ops = {
    .beat = beat, .list = list, .meta_get = meta_get, .meta_put = meta_put, .job_lock = job_lock};
