/* jobs.c - the runner's side of a long operation (jobs.h) and the bulk key import it runs.
 * Owner: src/admin. */
#include "admin/jobs.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/auth.h"
#include "admin/auth_int.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *sg_job_count(char buf[32], int64_t n)
{
    char d[24];
    int len = snprintf(d, sizeof d, "%lld", (long long)(n < 0 ? -n : n));
    size_t o = 0;
    if (n < 0)
        buf[o++] = '-';
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = d[i];
    }
    buf[o] = '\0';
    return buf;
}

int64_t sg_job_estimate(int64_t started, int64_t now, int64_t done, int64_t total)
{
    if (done <= 0 || total <= 0 || done > total || now < started)
        return -1;
    /* The rate so far; a second's resolution is enough for minutes of work. */
    return (now - started) * (total - done) / done;
}

int sg_job_begin(sg_job *j, sg_store *st, const char *op, const char *actor)
{
    memset(j, 0, sizeof *j);
    j->st = st;
    if (sg_auth_random_hex(j->row.id, SG_JOB_ID_LEN / 2) < 0)
        return -1;
    snprintf(j->row.op, sizeof j->row.op, "%s", op);
    snprintf(j->row.actor, sizeof j->row.actor, "%s", actor ? actor : "-");
    snprintf(j->row.state, sizeof j->row.state, "running");
    j->row.started = j->row.updated = (int64_t)time(NULL);
    return sg_store_job_add(st, &j->row) == 0 ? 0 : -1;
}

bool sg_job_step(sg_job *j, size_t done, size_t total)
{
    int64_t ms = mono_ms();
    j->row.done = (int64_t)done;
    j->row.total = (int64_t)total;
    if (ms - j->written_ms >= 250 || done == total) {
        bool cancel = false;
        j->written_ms = ms;
        j->row.updated = (int64_t)time(NULL);
        /* A failed progress write does not stop the work: the end writes the row again. */
        if (sg_store_job_progress(j->st, j->row.id, j->row.done, j->row.total, j->row.updated, &cancel) == 0 &&
            cancel)
            j->cancelled = true;
    }
    if (j->interrupt && *j->interrupt)
        j->cancelled = true;
    if (j->show && ms - j->shown_ms >= 100) {
        j->shown_ms = ms;
        j->show(j->show_ctx, j, false);
    }
    return j->cancelled;
}

int sg_job_end(sg_job *j, const char *state, const char *result)
{
    snprintf(j->row.state, sizeof j->row.state, "%s", state);
    snprintf(j->row.result, sizeof j->row.result, "%s", result);
    j->row.finished = j->row.updated = (int64_t)time(NULL);
    if (j->show)
        j->show(j->show_ctx, j, true);
    /* The end is what tells people what was finished: when the store was busy for longer than its
     * timeout (the reason a job fails, often) it is tried twice more. */
    int rc = -1;
    for (int i = 0; i < 3 && rc < 0; i++)
        rc = sg_store_job_finish(j->st, j->row.id, state, j->row.done, j->row.finished, result);
    return rc == 0 ? 0 : -1;
}

static void count_item(void *ctx, const sg_import_result *r)
{
    sg_job *j = ctx;
    if (r->status >= 0 && r->status < 4)
        j->count[r->status]++;
    if (j->item)
        j->item(j->item_ctx, r);
}

static int import_step(void *ctx, size_t done, size_t total)
{
    return sg_job_step(ctx, done, total) ? 1 : 0;
}

int sg_job_key_import(sg_job *j, sg_keystore *ks, const uint8_t *data, size_t len)
{
    size_t done = 0;
    int rc = sg_keystore_import_steps(ks, data, len, count_item, j, import_step, j, &done);
    j->row.done = (int64_t)done;
    char a[32], b[32], res[sizeof j->row.result];
    const char *state = rc < 0 ? "failed" : j->cancelled ? "cancelled" : "done";
    int n = snprintf(res, sizeof res, "%s %s of %s keys (%zu imported, %zu updated, %zu unchanged, %zu rejected)",
                     rc < 0 ? "failed after" : "finished", sg_job_count(a, (int64_t)done),
                     sg_job_count(b, j->row.total ? j->row.total : (int64_t)done), j->count[SG_IMPORT_IMPORTED],
                     j->count[SG_IMPORT_UPDATED], j->count[SG_IMPORT_UNCHANGED], j->count[SG_IMPORT_REJECTED]);
    if (n > 0 && (size_t)n < sizeof res) {
        if (rc < 0)
            snprintf(res + n, sizeof res - (size_t)n, "; the keys before are stored, nothing half-written: %s",
                     sg_keystore_error(ks));
        else if (j->cancelled)
            snprintf(res + n, sizeof res - (size_t)n, "; cancelled, nothing half-written");
    }
    sg_job_end(j, state, res);
    return rc < 0 ? -1 : j->cancelled ? 1 : 0;
}

json_t *sg_job_json(const sg_store_job *r, int64_t now)
{
    bool live = !strcmp(r->state, "running") || !strcmp(r->state, "queued");
    int64_t est = live ? sg_job_estimate(r->started, now, r->done, r->total) : 0;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:b, s:s}", "id", r->id, "operation", r->op,
                          "actor", r->actor, "state", r->state, "done", (json_int_t)r->done, "total",
                          (json_int_t)r->total, "started", (json_int_t)r->started, "updated",
                          (json_int_t)r->updated, "cancel_requested", r->cancel, "result", r->result);
    if (!o)
        return NULL;
    json_object_set_new(o, "finished", r->finished ? json_integer(r->finished) : json_null());
    json_object_set_new(o, "estimate_seconds", est >= 0 ? json_integer(est) : json_null());
    json_object_set_new(o, "percent", json_integer(r->total > 0 ? r->done * 100 / r->total : 0));
    return o;
}
