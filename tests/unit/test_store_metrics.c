/* test_store_metrics.c - the store's metrics calls (store/metrics_rows.h) on either backend
 * (SQLite by default, PostgreSQL under SEALGATE_TEST_STORE, the store-pg suite): adds to one
 * minute sum up, rows come back oldest first from `since` on, pruning deletes old minutes but
 * never the totals row (minute 0), and a table dropped by another connection is an error, never
 * "no figures". Owner: src/store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "store/metrics_rows.h"
#include "store_side.h"

#define T0 1700000040 /* a minute's start */

static sg_store_metrics row(int64_t minute, int64_t in, int64_t held, int64_t ms)
{
    sg_store_metrics m = {.minute = minute};
    m.v[SG_M_IN] = in;
    m.v[SG_M_HELD] = held;
    m.v[SG_M_LATENCY_MS_SUM] = ms;
    m.v[SG_M_LATENCY_COUNT] = in;
    return m;
}

static void sums(sg_store *st)
{
    sg_store_metrics a = row(T0, 3, 1, 40), b = row(T0, 2, 0, 10), c = row(T0 + 60, 1, 0, 5),
                     t = row(0, 6, 1, 55);
    CHECK(sg_store_metrics_add(st, &a) == 0 && sg_store_metrics_add(st, &b) == 0 &&
              sg_store_metrics_add(st, &c) == 0 && sg_store_metrics_add(st, &t) == 0,
          "four adds (%s)", sg_store_error(st));
    sg_store_metrics *r = NULL;
    size_t n = 0;
    CHECK(sg_store_metrics_list(st, T0, &r, &n) == 0 && n == 2, "since T0: two minutes (%zu)", n);
    CHECK(n == 2 && r[0].minute == T0 && r[0].v[SG_M_IN] == 5 && r[0].v[SG_M_HELD] == 1 &&
              r[0].v[SG_M_LATENCY_MS_SUM] == 50 && r[0].v[SG_M_LATENCY_COUNT] == 5 && r[0].v[SG_M_OUT] == 0 &&
              r[1].minute == T0 + 60 && r[1].v[SG_M_IN] == 1,
          "two adds to one minute sum up; oldest first");
    free(r);
    CHECK(sg_store_metrics_list(st, 0, &r, &n) == 0 && n == 3 && r[0].minute == 0 && r[0].v[SG_M_IN] == 6,
          "since 0: the totals row first");
    free(r);
    CHECK(sg_store_metrics_prune(st, T0 + 60) == 0, "prune before T0+60 (%s)", sg_store_error(st));
    CHECK(sg_store_metrics_list(st, 0, &r, &n) == 0 && n == 2 && r[0].minute == 0 && r[1].minute == T0 + 60,
          "pruning deleted the old minute and kept the totals row (%zu rows)", n);
    free(r);
}

static void broken(sg_store *st, const char *path)
{
    CHECK(side_once(path, "DROP TABLE metrics_minute;") == 0, "another connection drops metrics_minute");
    sg_store_metrics *r = NULL, a = row(T0, 1, 0, 1);
    size_t n = 7;
    CHECK(sg_store_metrics_list(st, 0, &r, &n) == -1 && r == NULL && n == 0 &&
              strstr(sg_store_error(st), SIDE_NO_TABLE),
          "list: an error, not 'no figures' (%s)", sg_store_error(st));
    CHECK(sg_store_metrics_add(st, &a) == -1, "add: an error");
    CHECK(sg_store_metrics_prune(st, T0) == -1, "prune: an error");
}

int main(void)
{
    char dir[] = "/tmp/sg-test-store-metrics-XXXXXX", path[300], err[512] = "";
    if (!mkdtemp(dir))
        return 1;
    if (side_store(dir, "metrics", path, sizeof path) < 0)
        return 1;
    sg_store *st = sg_store_open(path, err, sizeof err);
    CHECK(st != NULL, "store opened (%s)", err);
    if (st && side_open(path)) {
        sums(st);
        broken(st, path);
    }
    side_close();
    sg_store_close(st);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
