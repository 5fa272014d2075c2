/* test_workqueue.c - cryptd's work queue (src/cryptd/workqueue.c) with several producers and
 * several workers at once, as cryptd's watcher and worker threads use it: every name pushed is
 * popped exactly once, the queue is idle only when nothing is queued or held, stop wakes every
 * waiting worker, and a full queue drops (the rescan finds those again). Built in the
 * ThreadSanitizer tree too (tests/unit/tsan-tests), where it is the check that the queue's
 * locking has no data race. Owner: tests (the queue itself: src/cryptd). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "cryptd/workqueue.h"

#define PRODUCERS 2
#define WORKERS 4
#define PER_PRODUCER 2000
#define TOTAL (PRODUCERS * PER_PRODUCER)

static sg_workqueue wq;
static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static int seen[TOTAL]; /* how often each name was popped */
static int popped, bad_names;

static void *producer(void *arg)
{
    int p = *(int *)arg;
    char name[SG_QID_MAX];
    for (int i = 0; i < PER_PRODUCER; i++) {
        snprintf(name, sizeof name, "n%d", p * PER_PRODUCER + i);
        sg_wq_push(&wq, name);
    }
    return NULL;
}

static void *worker(void *arg)
{
    (void)arg;
    char names[7][SG_QID_MAX]; /* a small batch, so workers interleave */
    size_t got;
    while ((got = sg_wq_pop(&wq, names, 7)) > 0) {
        pthread_mutex_lock(&seen_mu);
        for (size_t i = 0; i < got; i++) {
            int n = -1;
            if (sscanf(names[i], "n%d", &n) == 1 && n >= 0 && n < TOTAL)
                seen[n]++;
            else
                bad_names++;
            popped++;
        }
        pthread_mutex_unlock(&seen_mu);
    }
    return NULL;
}

static int popped_now(void)
{
    pthread_mutex_lock(&seen_mu);
    int n = popped;
    pthread_mutex_unlock(&seen_mu);
    return n;
}

/* Polls until cond() or 30 s passed: a hang is a failure, never a stuck test. */
static int wait_until(int (*cond)(void))
{
    for (int i = 0; i < 3000; i++) {
        if (cond())
            return 1;
        nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
    }
    return cond();
}

static int all_popped(void) { return popped_now() >= TOTAL; }
static int queue_idle(void) { return sg_wq_idle(&wq); }

int main(void)
{
    sg_wq_init(&wq);
    pthread_t w[WORKERS], p[PRODUCERS];
    int ids[PRODUCERS];
    for (int i = 0; i < WORKERS; i++)
        pthread_create(&w[i], NULL, worker, NULL);
    for (int i = 0; i < PRODUCERS; i++) {
        ids[i] = i;
        pthread_create(&p[i], NULL, producer, &ids[i]);
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(p[i], NULL);
    CHECK(wait_until(all_popped), "%d workers popped all %d names of %d producers", WORKERS, TOTAL, PRODUCERS);
    int once = 1;
    pthread_mutex_lock(&seen_mu);
    for (int i = 0; i < TOTAL; i++)
        once &= seen[i] == 1;
    CHECK(once && popped == TOTAL && bad_names == 0, "every name popped exactly once, none garbled");
    pthread_mutex_unlock(&seen_mu);
    CHECK(wait_until(queue_idle), "idle once the workers wait again");

    sg_wq_stop(&wq);
    struct timespec end;
    clock_gettime(CLOCK_REALTIME, &end);
    end.tv_sec += 30;
    int joined = 0;
    for (int i = 0; i < WORKERS; i++)
        joined += pthread_timedjoin_np(w[i], NULL, &end) == 0;
    CHECK(joined == WORKERS, "stop wakes every waiting worker (%d of %d ended)", joined, WORKERS);
    char out[1][SG_QID_MAX];
    sg_wq_push(&wq, "after-stop");
    CHECK(sg_wq_pop(&wq, out, 1) == 0, "a stopped queue hands out nothing");

    sg_workqueue full;
    sg_wq_init(&full);
    for (int i = 0; i < SG_WQ_CAP + 5; i++)
        sg_wq_push(&full, "x");
    CHECK(full.count == SG_WQ_CAP, "a full queue drops the names beyond its capacity");
    CHECK(!sg_wq_idle(&full), "a queue with names in it is not idle");
    free(full.names);
    free(wq.names);
    return CHECK_DONE();
}
