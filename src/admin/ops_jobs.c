/* ops_jobs.c - the job operations (issue 18, jobs.h): job.list, job.show, job.cancel, and
 * key.import-bulk, which runs a bulk OpenPGP key import as a job. Owner: src/admin.
 * Where the bulk import runs: in the calling process. The CLI waits for it (its progress line
 * is cli_key.c's); the web role answers at once with the job's id and runs the import on a
 * detached thread with a store connection and a public-only keystore of its own, at most
 * SG_JOBS_MAX at a time per process. It needs no KEK: a secret part in the bytes is not taken,
 * as with key.import.
 * SECURITY: the bytes are untrusted: they go through the keystore's import, which checks every
 * key (keys/keystore.c); the job row keeps counts and a summary only. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "admin/jobs.h"
#include "admin/ops_handlers.h"
#include "admin/ops_int.h"
#include "lib/log.h"

#define SG_JOBS_MAX 2 /* background jobs at once per process */

static pthread_mutex_t jobs_mu = PTHREAD_MUTEX_INITIALIZER;
static int jobs_running;

int sg_jobs_running(void)
{
    pthread_mutex_lock(&jobs_mu);
    int n = jobs_running;
    pthread_mutex_unlock(&jobs_mu);
    return n;
}

int sg_op_job_list(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    size_t limit, offset, n;
    int64_t total;
    sg_store_job *rows;
    sg_op_page(args, &limit, &offset);
    if (sg_store_job_list(ctx->store, limit, offset, &rows, &n, &total) < 0)
        return sg_op_store_fail(ctx, err);
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++)
        json_array_append_new(items, sg_job_json(&rows[i], sg_op_now(ctx)));
    free(rows);
    return sg_op_answer(sg_op_list_result(items, total, limit, offset), result, err);
}

int sg_op_job_show(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *id = sg_op_arg_str(args, "id");
    sg_store_job r;
    int rc = sg_store_job_get(ctx->store, id, &r);
    if (rc != 0)
        return rc == 1 ? sg_op_fail(err, SG_OP_NOT_FOUND, "id", "no job %.32s", id) : sg_op_store_fail(ctx, err);
    return sg_op_answer(sg_job_json(&r, sg_op_now(ctx)), result, err);
}

int sg_op_job_cancel(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *id = sg_op_arg_str(args, "id");
    sg_store_job r;
    int rc = sg_store_job_cancel(ctx->store, id);
    if (rc < 0)
        return sg_op_store_fail(ctx, err);
    int got = sg_store_job_get(ctx->store, id, &r);
    if (got < 0)
        return sg_op_store_fail(ctx, err);
    if (got == 1)
        return sg_op_fail(err, SG_OP_NOT_FOUND, "id", "no job %.32s", id);
    if (rc == 1)
        return sg_op_fail(err, SG_OP_CONFLICT, "id", "job %.32s has ended (%s): nothing to cancel", id, r.state);
    sg_op_set_detail(ctx, "op=%s done=%lld total=%lld", r.op, (long long)r.done, (long long)r.total);
    /* The runner stops at its next progress write (a fraction of a second); the answer is the
     * row as it is now: poll job.show for the end. */
    return sg_op_answer(sg_job_json(&r, sg_op_now(ctx)), result, err);
}

typedef struct bg_import {
    sg_job job;
    char *store_path, *password_file;
    uint8_t *data;
    size_t len;
} bg_import;

static void bg_free(bg_import *b)
{
    free(b->store_path);
    free(b->password_file);
    free(b->data);
    free(b);
}

static void *bg_run(void *arg)
{
    bg_import *b = arg;
    char e[256];
    sg_store *st = sg_store_open_auth(b->store_path, b->password_file, e, sizeof e);
    sg_keystore *ks = st ? sg_keystore_open(st, NULL, 0) : NULL;
    if (ks) {
        b->job.st = st;
        int rc = sg_job_key_import(&b->job, ks, b->data, b->len);
        sg_info(NULL, "event=job-end job=%s op=key.import-bulk state=%s done=%lld total=%lld", b->job.row.id,
                rc < 0 ? "failed" : rc ? "cancelled" : "done", (long long)b->job.row.done,
                (long long)b->job.row.total);
    } else {
        sg_error(NULL, "event=job-failed job=%s error=\"cannot open the store: %s\"", b->job.row.id,
                 SG_LOG_STR(st ? "keystore" : e));
        if (st) /* the row is left running when even the store does not open: it cannot say more */
            sg_store_job_finish(st, b->job.row.id, "failed", 0, time(NULL), "failed before the first key: cannot open the keystore");
    }
    sg_keystore_close(ks);
    if (st)
        sg_store_close(st);
    bg_free(b);
    pthread_mutex_lock(&jobs_mu);
    jobs_running--;
    pthread_mutex_unlock(&jobs_mu);
    return NULL;
}

/* The CLI: the import runs here, and the answer is the ended job. */
static int run_here(sg_op_ctx *ctx, uint8_t *data, size_t len, json_t **result, sg_op_error *err)
{
    sg_job j;
    sg_keystore *ks = sg_keystore_open(ctx->store, NULL, 0);
    if (!ks || sg_job_begin(&j, ctx->store, "key.import-bulk", ctx->actor) < 0) {
        sg_keystore_close(ks);
        free(data);
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "cannot start the job: %s", sg_store_error(ctx->store));
    }
    sg_job_key_import(&j, ks, data, len);
    free(data);
    sg_keystore_close(ks);
    sg_op_set_target(ctx, "%s", j.row.id);
    sg_op_set_detail(ctx, "state=%s done=%lld", j.row.state, (long long)j.row.done);
    return sg_op_answer(sg_job_json(&j.row, sg_op_now(ctx)), result, err);
}

int sg_op_key_import_bulk(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    uint8_t *data;
    size_t len;
    if (sg_op_arg_bytes(args, "data", &data, &len) != 0)
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, "data", "data must be base64");
    if (ctx->via == SG_VIA_CLI)
        return run_here(ctx, data, len, result, err);
    pthread_mutex_lock(&jobs_mu);
    bool room = jobs_running < SG_JOBS_MAX;
    if (room)
        jobs_running++;
    pthread_mutex_unlock(&jobs_mu);
    if (!room) {
        free(data);
        return sg_op_fail(err, SG_OP_UNAVAILABLE, NULL, "%d jobs are running: try again when one has ended",
                          SG_JOBS_MAX);
    }
    bg_import *b = calloc(1, sizeof *b);
    pthread_t tid;
    pthread_attr_t attr;
    sg_store_job row; /* the job as it started: b belongs to the thread once it runs */
    int rc = -1;
    bool said = false; /* err is filled */
    if (b && (b->store_path = strdup(ctx->cfg->store_path)) &&
        (!ctx->cfg->store_password_file || (b->password_file = strdup(ctx->cfg->store_password_file)))) {
        b->data = data;
        b->len = len;
        data = NULL;
        if (sg_job_begin(&b->job, ctx->store, "key.import-bulk", ctx->actor) < 0) {
            said = sg_op_fail(err, SG_OP_INTERNAL, NULL, "cannot start the job: %s", sg_store_error(ctx->store));
        } else if ((row = b->job.row, pthread_attr_init(&attr) == 0)) {
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            rc = pthread_create(&tid, &attr, bg_run, b) == 0 ? 0 : -1;
            pthread_attr_destroy(&attr);
            if (rc < 0)
                sg_store_job_finish(ctx->store, row.id, "failed", 0, sg_op_now(ctx),
                                    "failed before the first key: no thread to run it");
        }
    }
    if (rc < 0) {
        if (!said)
            sg_op_fail(err, SG_OP_INTERNAL, NULL, "cannot start the job (out of memory or threads)");
        free(data);
        if (b)
            bg_free(b);
        pthread_mutex_lock(&jobs_mu);
        jobs_running--;
        pthread_mutex_unlock(&jobs_mu);
        return -1;
    }
    sg_op_set_target(ctx, "%s", row.id);
    return sg_op_answer(sg_job_json(&row, sg_op_now(ctx)), result, err);
}
