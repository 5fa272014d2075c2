/* jobs.h - long operations with progress (issue 18): the runner's side of a job. Owner:
 * src/admin. A job is a row of the store (store/job_rows.h) written by the process that runs it:
 * the web role for a bulk import started through the API or the portal, the CLI for what it
 * runs itself. Every front end reads it (job.list, job.show) and may ask it to stop
 * (job.cancel); the runner reads that request at each progress write and stops before the next
 * item, so a cancelled or failed job has finished whole items only and its result says how many.
 * SECURITY: a job row holds counts and a summary for people, never key material or arguments. */
#ifndef SG_ADMIN_JOBS_H
#define SG_ADMIN_JOBS_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys/keystore.h"
#include "store/job_rows.h"

typedef struct sg_job sg_job;
/* Called at most ~10 times a second and once at the end (the CLI's progress line). */
typedef void (*sg_job_show_fn)(void *ctx, const sg_job *j, bool final);

struct sg_job {
    sg_store *st;
    sg_store_job row; /* id, op, actor, started; done/total/state as last written */
    int64_t written_ms, shown_ms; /* monotonic ms of the last progress write / show */
    bool cancelled;               /* asked through the store, or *interrupt */
    volatile sig_atomic_t *interrupt; /* set by a signal handler (the CLI's Ctrl-C), or NULL */
    sg_job_show_fn show;
    void *show_ctx;
    sg_import_cb item; /* each imported item, besides the counts (the CLI's lines), or NULL */
    void *item_ctx;
    size_t count[4]; /* per enum sg_import_status */
};

/* A new job row (state running, done 0) for op started by actor: 0, or -1 with the store's
 * error. j is filled; set interrupt / show after. */
int sg_job_begin(sg_job *j, sg_store *st, const char *op, const char *actor);
/* Progress: written to the store at most 4 times a second (and when done == total); answers
 * true when the job is to stop (cancellation asked). */
bool sg_job_step(sg_job *j, size_t done, size_t total);
/* The end: state "done", "failed" or "cancelled" and the result for people. 0 or -1. */
int sg_job_end(sg_job *j, const char *state, const char *result);

/* Imports every OpenPGP key in data as job j (ks public-only in the web role): progress, stop
 * on cancellation between keys, and the end with a result like "imported 812 of 2,000 keys
 * (3 updated, 1 rejected); cancelled, nothing half-written". 0 done, 1 cancelled, -1 failed
 * (the job row says so). */
int sg_job_key_import(sg_job *j, sg_keystore *ks, const uint8_t *data, size_t len);

/* Background jobs this process runs now (ops_jobs.c; tests wait for 0). */
int sg_jobs_running(void);

/* A job's JSON for the API: the row's fields, the estimate of the seconds left (null when not
 * known) and the percentage. NULL out of memory. */
json_t *sg_job_json(const sg_store_job *r, int64_t now);
/* n with thousands separators ("20,000"). */
const char *sg_job_count(char buf[32], int64_t n);
/* Seconds left at the rate so far, or -1 when not known (nothing done yet, or no total). */
int64_t sg_job_estimate(int64_t started, int64_t now, int64_t done, int64_t total);

#endif
