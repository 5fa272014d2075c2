/* test_store_jobs.c - the store's job calls (store/job_rows.h) on either backend (SQLite by
 * default, PostgreSQL under SEALGATE_TEST_STORE, the store-pg suite): a job added is read back
 * whole, an id added twice is 1, progress moves counts and reads the cancel flag, a cancel
 * reaches only a live job, finish ends it once, lists come newest first in pages with the total,
 * and a table dropped by another connection is an error, never "no such job". Owner: src/store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "store/job_rows.h"
#include "store_side.h"

static sg_store_job job(const char *id, int64_t started)
{
    sg_store_job j = {.started = started, .updated = started};
    snprintf(j.id, sizeof j.id, "%s", id);
    snprintf(j.op, sizeof j.op, "key.import-bulk");
    snprintf(j.actor, sizeof j.actor, "alice");
    snprintf(j.state, sizeof j.state, "running");
    return j;
}

static void rows(sg_store *st)
{
    sg_store_job a = job("00000000000000a1", 1000), b = job("00000000000000b2", 2000), r;
    CHECK(sg_store_job_add(st, &a) == 0 && sg_store_job_add(st, &b) == 0, "two jobs added (%s)",
          sg_store_error(st));
    CHECK(sg_store_job_add(st, &a) == 1, "the same id again: 1");
    CHECK(sg_store_job_get(st, "00000000000000a1", &r) == 0 && !strcmp(r.op, "key.import-bulk") &&
              !strcmp(r.actor, "alice") && !strcmp(r.state, "running") && r.started == 1000 && !r.cancel &&
              r.finished == 0,
          "read back whole");
    CHECK(sg_store_job_get(st, "ffffffffffffffff", &r) == 1, "an unknown id: 1");
    bool cancel = true;
    CHECK(sg_store_job_progress(st, a.id, 40, 100, 1010, &cancel) == 0 && !cancel, "progress, no cancel yet");
    CHECK(sg_store_job_get(st, a.id, &r) == 0 && r.done == 40 && r.total == 100 && r.updated == 1010,
          "progress moved the counts");
    CHECK(sg_store_job_cancel(st, a.id) == 0, "cancel a running job");
    CHECK(sg_store_job_progress(st, a.id, 41, 100, 1011, &cancel) == 0 && cancel,
          "the next progress write reads the cancel");
    CHECK(sg_store_job_finish(st, a.id, "cancelled", 41, 1012, "finished 41 of 100") == 0, "finish");
    CHECK(sg_store_job_get(st, a.id, &r) == 0 && !strcmp(r.state, "cancelled") && r.done == 41 &&
              r.finished == 1012 && !strcmp(r.result, "finished 41 of 100"),
          "the ended row: state, count, time and result");
    CHECK(sg_store_job_finish(st, a.id, "done", 100, 1013, "x") == 1, "an ended job does not end again");
    CHECK(sg_store_job_cancel(st, a.id) == 1 && sg_store_job_cancel(st, "ffffffffffffffff") == 1,
          "cancel of an ended or unknown job: 1");
    CHECK(sg_store_job_progress(st, a.id, 50, 100, 1014, &cancel) == 1, "progress of an ended job: 1");

    sg_store_job *l = NULL;
    size_t n = 0;
    int64_t total = 0;
    CHECK(sg_store_job_list(st, 10, 0, &l, &n, &total) == 0 && n == 2 && total == 2 &&
              !strcmp(l[0].id, b.id) && !strcmp(l[1].id, a.id),
          "list: newest first, with the total");
    free(l);
    CHECK(sg_store_job_list(st, 1, 1, &l, &n, &total) == 0 && n == 1 && total == 2 && !strcmp(l[0].id, a.id),
          "a page of one from offset 1");
    free(l);
    CHECK(sg_store_job_list(st, 5, 7, &l, &n, &total) == 0 && n == 0 && total == 2,
          "a page past the end: none, the total still counts (%lld)", (long long)total);
    free(l);
}

static void broken(sg_store *st, const char *path)
{
    CHECK(side_once(path, "DROP TABLE jobs;") == 0, "another connection drops jobs");
    sg_store_job r, a = job("00000000000000c3", 3000), *l = NULL;
    size_t n = 7;
    int64_t total;
    bool cancel;
    CHECK(sg_store_job_get(st, "00000000000000b2", &r) == -1 && strstr(sg_store_error(st), SIDE_NO_TABLE),
          "get: an error, not 'no such job' (%s)", sg_store_error(st));
    CHECK(sg_store_job_list(st, 10, 0, &l, &n, &total) == -1 && l == NULL && n == 0, "list: an error");
    CHECK(sg_store_job_add(st, &a) == -1 && sg_store_job_cancel(st, a.id) == -1 &&
              sg_store_job_progress(st, a.id, 1, 2, 3, &cancel) == -1 &&
              sg_store_job_finish(st, a.id, "done", 1, 3, "") == -1,
          "add, cancel, progress, finish: errors");
}

int main(void)
{
    char dir[] = "/tmp/sg-test-store-jobs-XXXXXX", path[300], err[512] = "";
    if (!mkdtemp(dir))
        return 1;
    if (side_store(dir, "jobs", path, sizeof path) < 0)
        return 1;
    sg_store *st = sg_store_open(path, err, sizeof err);
    CHECK(st != NULL, "store opened (%s)", err);
    if (st && side_open(path)) {
        rows(st);
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
