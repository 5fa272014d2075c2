/* relay_int.h - state shared by the relay's files (relay.c, scheduler.c, worker.c,
 * deliver.c); not for use outside src/relay. Owner: src/relay. */
#ifndef SG_RELAY_INT_H
#define SG_RELAY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "lib/config.h"
#include "queue/qmsg.h"
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

/* msgdata.c: a queued message's data read from its file in bounded pieces (queue/qmsg.h).
 * sg_relay_read_data is an sg_client_data reader (ctx: the sg_qmsg). sg_relay_has_8bit: 1, 0,
 * or -1 when the file cannot be read. sg_relay_read_dsn_part appends to out what a DSN about
 * the message may return: all of it, or with headers_only its header section (as
 * sg_dsn_header_len finds it); 0 or -1. */
int sg_relay_read_data(void *ctx, size_t off, char *buf, size_t n);
int sg_relay_has_8bit(const sg_qmsg *m);
int sg_relay_read_dsn_part(const sg_qmsg *m, bool headers_only, sg_buf *out);

/* worker.c */
int sg_relay_workers_start(sg_relay *r);
/* Waits for workers to finish their message; after grace seconds aborts their connections. */
void sg_relay_workers_stop(sg_relay *r, int grace);

/* deliver.c: one attempt for outgoing/name over c (connecting when needed). Returns 0 when
 * the message was handled (its file replaced by its outcome), -1 when it was left in place. */
int sg_relay_deliver(sg_relay *r, sg_client *c, const char *name);

#endif
