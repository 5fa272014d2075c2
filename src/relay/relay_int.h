/* relay_int.h - state shared by the relay's files (relay.c, scheduler.c, worker.c,
 * deliver.c); not for use outside src/relay. Owner: src/relay. */
#ifndef SG_RELAY_INT_H
#define SG_RELAY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "lib/config.h"
#include "queue/queue.h"
#include "relay/client.h"

typedef struct sg_relay sg_relay;

typedef struct sg_cooldown {
    char name[SG_QID_MAX];
    long long until; /* unix seconds */
} sg_cooldown;

typedef struct sg_worker {
    sg_relay *r;
    int index;
    pthread_t thread;
    bool started;
    sg_client client;
    pthread_mutex_t fd_mu; /* guards client.fd against the SIGTERM abort in relay.c */
    atomic_bool done;
} sg_worker;

struct sg_relay {
    const sg_config *cfg;
    sg_queue q;
    sg_client_opts copts;
    atomic_bool stopping; /* SIGTERM: take no new work */

    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cv;  /* signalled when a job is queued or stopping is set */
    char **pending;     /* names waiting for a worker, oldest first */
    size_t npending, pending_cap;
    char **inflight; /* every name pending or being delivered: never two at once */
    size_t ninflight, inflight_cap;
    struct sg_cooldown *cooldown; /* names whose attempt failed locally, with a retry time */
    size_t ncooldown, cooldown_cap;

    int wake_pipe[2]; /* workers tell the scheduler a slot became free */
    sg_worker *workers;
    int nworkers;
};

/* scheduler.c: the main thread's loop; returns on SIGTERM/SIGINT (read from sigfd). */
int sg_relay_schedule(sg_relay *r, int sigfd);
/* scheduler.c: called by a worker when it finished with name; left_in_place: the attempt
 * could not record its outcome (disk full, shutdown), so the file is not picked up again for
 * relay.retry_min seconds, instead of at every rescan (which would re-send it to its delivered
 * recipients every 2 s). */
void sg_relay_job_done(sg_relay *r, const char *name, bool left_in_place);

/* worker.c */
int sg_relay_workers_start(sg_relay *r);
/* Waits for workers to finish their message; after grace seconds aborts their connections. */
void sg_relay_workers_stop(sg_relay *r, int grace);

/* deliver.c: one attempt for outgoing/name over c (connecting when needed). Returns 0 when
 * the message was handled (its file replaced by its outcome), -1 when it was left in place. */
int sg_relay_deliver(sg_relay *r, sg_client *c, const char *name);

#endif
