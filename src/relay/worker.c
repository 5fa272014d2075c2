/* worker.c - the relay's delivery threads: each owns one connection to the next hop, reuses it
 * for the messages it takes from the pending list, and says QUIT after a few idle seconds.
 * Owner: src/relay. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/log.h"
#include "relay/relay_int.h"

#define IDLE_QUIT_S 5 /* keep a connection this long for the next message */

static void *worker_main(void *arg)
{
    sg_worker *w = arg;
    sg_relay *r = w->r;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (!atomic_load(&r->stopping) && r->npending == 0) {
            if (w->client.fd < 0) {
                pthread_cond_wait(&r->cv, &r->mu);
                continue;
            }
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            long long idle_end = (long long)w->client.last_used + IDLE_QUIT_S;
            if (idle_end <= until.tv_sec) {
                pthread_mutex_unlock(&r->mu);
                sg_client_quit(&w->client);
                pthread_mutex_lock(&r->mu);
                continue;
            }
            until.tv_sec = (time_t)idle_end;
            until.tv_nsec = 0;
            pthread_cond_timedwait(&r->cv, &r->mu, &until);
        }
        if (atomic_load(&r->stopping))
            break;
        char *name = r->pending[0];
        memmove(r->pending, r->pending + 1, --r->npending * sizeof *r->pending);
        pthread_mutex_unlock(&r->mu);
        int rc = sg_relay_deliver(r, &w->client, name);
        sg_relay_job_done(r, name, rc < 0);
        free(name);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    sg_client_quit(&w->client);
    atomic_store(&w->done, true);
    return NULL;
}

int sg_relay_workers_start(sg_relay *r)
{
    r->nworkers = r->cfg->relay.max_connections;
    r->workers = calloc((size_t)r->nworkers, sizeof *r->workers);
    if (!r->workers) {
        r->nworkers = 0;
        return -1;
    }
    for (int i = 0; i < r->nworkers; i++) {
        sg_worker *w = &r->workers[i];
        w->r = r;
        w->index = i;
        sg_client_init(&w->client, &r->copts);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            sg_error(NULL, "event=thread-failed worker=%d", i);
            return -1;
        }
        w->started = true;
    }
    return 0;
}

void sg_relay_workers_stop(sg_relay *r, int grace)
{
    atomic_store(&r->stopping, true);
    pthread_mutex_lock(&r->mu);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    /* Let transactions in progress finish; after the grace period abort their connections.
     * The aborted messages stay in outgoing/ untouched (deliver.c) and are sent again later. */
    for (int waited = 0; waited < grace * 10; waited++) {
        bool all = true;
        for (int i = 0; i < r->nworkers; i++)
            all &= !r->workers[i].started || atomic_load(&r->workers[i].done);
        if (all)
            break;
        poll(NULL, 0, 100);
    }
    for (int i = 0; i < r->nworkers; i++) {
        sg_worker *w = &r->workers[i];
        if (!w->started || atomic_load(&w->done))
            continue;
        /* A stale descriptor number here can only be another worker's socket (being aborted
         * too) or a non-socket (shutdown fails with ENOTSOCK): harmless either way. */
        int fd = __atomic_load_n(&w->client.fd, __ATOMIC_RELAXED);
        if (fd >= 0)
            shutdown(fd, SHUT_RDWR);
        sg_info(NULL, "event=abort worker=%d", i);
    }
    for (int i = 0; i < r->nworkers; i++)
        if (r->workers[i].started)
            pthread_join(r->workers[i].thread, NULL);
    for (int i = 0; i < r->nworkers; i++)
        sg_client_free(&r->workers[i].client);
    free(r->workers);
    r->workers = NULL;
}
