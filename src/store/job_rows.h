/* job_rows.h - the store's typed calls for long operations (table jobs, docs/api.md "Jobs"):
 * one row per job, written by the process that runs it (the web role or cryptd for what the
 * API started, the CLI for what it runs itself) and read by every front end. Owner: src/store.
 * Callers: src/admin/jobs.c (the runner's side) and src/admin/ops_jobs.c (list, show, cancel).
 * Cancellation is a flag another process sets; the runner reads it at each progress write and
 * stops at its next safe point. No rule lives here.
 * Returns: 0 done / found, 1 no such row (add: the id exists), -1 error with sg_store_error. */
#ifndef SG_STORE_JOB_ROWS_H
#define SG_STORE_JOB_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define SG_JOB_ID_LEN 16 /* 8 random bytes in hex */

typedef struct sg_store_job {
    char id[SG_JOB_ID_LEN + 1];
    char op[64];     /* the operation's name ("key.import") */
    char actor[65];  /* who started it */
    char state[16];  /* queued, running, done, failed, cancelled */
    int64_t done;    /* items finished so far */
    int64_t total;   /* items in all (0: not known yet) */
    int64_t started; /* Unix seconds */
    int64_t updated; /* the last progress write */
    int64_t finished;/* 0 while queued or running */
    bool cancel;     /* cancellation asked for */
    char result[512];/* for people: what it finished ("imported 812 of 2,000; nothing half-written") */
} sg_store_job;

int sg_store_job_add(sg_store *s, const sg_store_job *j);
int sg_store_job_get(sg_store *s, const char *id, sg_store_job *j);
/* Newest first: a malloc'd page of rows (free()) and the number of jobs in all. 0 or -1. */
int sg_store_job_list(sg_store *s, size_t limit, size_t offset, sg_store_job **j, size_t *n, int64_t *total);
/* A running job's counts (state becomes running); *cancel: whether cancellation was asked.
 * 1: no such job, or it has finished. */
int sg_store_job_progress(sg_store *s, const char *id, int64_t done, int64_t total, int64_t now, bool *cancel);
/* The end of a job: state done, failed or cancelled, its final count and result. */
int sg_store_job_finish(sg_store *s, const char *id, const char *state, int64_t done, int64_t now,
                        const char *result);
/* Asks a queued or running job to stop: 1 when there is no such job or it has finished. */
int sg_store_job_cancel(sg_store *s, const char *id);

struct sg_store_job_ops {
    int (*add)(sg_store *s, const sg_store_job *j);
    int (*get)(sg_store *s, const char *id, sg_store_job *j);
    int (*list)(sg_store *s, size_t limit, size_t offset, sg_store_job **j, size_t *n, int64_t *total);
    int (*progress)(sg_store *s, const char *id, int64_t done, int64_t total, int64_t now, bool *cancel);
    int (*finish)(sg_store *s, const char *id, const char *state, int64_t done, int64_t now, const char *result);
    int (*cancel)(sg_store *s, const char *id);
};

#endif
