/* pg_metrics.c - the PostgreSQL backend's metrics calls (store/metrics_rows.h): table
 * metrics_minute (migration 10, as SQLite's). Owner: src/store. With PostgreSQL every node's
 * cryptd adds to the same rows, so the figures are the cluster's. */
#include <stdlib.h>
#include <string.h>

#include "store/metrics_rows.h"
#include "store/pg/pg_int.h"

#define COLS                                                                                                 \
    "msgs_in, msgs_out, encrypted, signed, decrypted, verified, held, bounced, deferred,"                    \
    " latency_ms_sum, latency_count"

static int add(sg_store *s, const sg_store_metrics *m)
{
    pg_args a = {0};
    pa_i64(&a, m->minute);
    for (int i = 0; i < SG_M__COUNT; i++)
        pa_i64(&a, m->v[i]);
    return pg_cmd(s,
                  "INSERT INTO metrics_minute (minute, " COLS
                  ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)"
                  " ON CONFLICT (minute) DO UPDATE SET msgs_in = metrics_minute.msgs_in + excluded.msgs_in,"
                  " msgs_out = metrics_minute.msgs_out + excluded.msgs_out,"
                  " encrypted = metrics_minute.encrypted + excluded.encrypted,"
                  " signed = metrics_minute.signed + excluded.signed,"
                  " decrypted = metrics_minute.decrypted + excluded.decrypted,"
                  " verified = metrics_minute.verified + excluded.verified,"
                  " held = metrics_minute.held + excluded.held, bounced = metrics_minute.bounced + "
                  "excluded.bounced,"
                  " deferred = metrics_minute.deferred + excluded.deferred,"
                  " latency_ms_sum = metrics_minute.latency_ms_sum + excluded.latency_ms_sum,"
                  " latency_count = metrics_minute.latency_count + excluded.latency_count",
                  &a, "adding to the metrics") < 0
               ? -1
               : 0;
}

static int list(sg_store *s, int64_t since, sg_store_metrics **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    pg_args a = {0};
    pa_i64(&a, since);
    PGresult *r = pg_run(s, "SELECT minute, " COLS " FROM metrics_minute WHERE minute >= $1 ORDER BY minute",
                         &a, "reading the metrics");
    if (!r)
        return -1;
    int nt = PQntuples(r);
    *rows = nt ? calloc((size_t)nt, sizeof **rows) : NULL;
    if (nt && !*rows) {
        PQclear(r);
        return sg_store_fail(s, "out of memory reading the metrics");
    }
    for (int i = 0; i < nt; i++) {
        (*rows)[i].minute = pg_col_i64(r, i, 0);
        for (int k = 0; k < SG_M__COUNT; k++)
            (*rows)[i].v[k] = pg_col_i64(r, i, k + 1);
    }
    *n = (size_t)nt;
    PQclear(r);
    return 0;
}

static int prune(sg_store *s, int64_t before)
{
    pg_args a = {0};
    pa_i64(&a, before);
    return pg_cmd(s, "DELETE FROM metrics_minute WHERE minute < $1 AND minute <> 0", &a,
                  "pruning the metrics") < 0
               ? -1
               : 0;
}

const struct sg_store_metrics_ops sg_pg_metrics_ops = {.add = add, .list = list, .prune = prune};
