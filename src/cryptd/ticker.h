/* ticker.h - cryptd's store work on a clock, in a thread of its own: the policy's reload, the
 * figures' writes, the tamper-evident log's checkpoints and, for a cluster (docs/cluster.md),
 * this node's heartbeat and the locks of the jobs that run on one node of the cluster at a
 * time. None of it runs in cryptd's main loop, which therefore never waits for the store (a
 * database that is down or slow to connect costs this thread the wait, not the claiming of new
 * mail). Owner: src/cryptd. */
#ifndef SG_CRYPTD_TICKER_H
#define SG_CRYPTD_TICKER_H

#include <pthread.h>

#include "audit/log.h"
#include "lib/config.h"
#include "cryptd/metrics.h"
#include "store/store.h"

typedef struct sg_ticker_env {
    const sg_config *cfg;
    sg_cmetrics *metrics;
    sg_store *metst; /* the figures' handle, also the heartbeat's (NULL: none) */
    pthread_mutex_t *met_lock;
    sg_store *logst; /* the log's handle, shared with the workers under log_lock */
    pthread_mutex_t *log_lock;
} sg_ticker_env;

/* Starts the thread (env must outlive it). 0 or -1. */
int sg_ticker_start(const sg_ticker_env *env);
/* Asks for a policy reload now (SIGHUP) instead of at the next second. */
void sg_ticker_poke(void);
/* Stops the thread, after one last write of the figures. */
void sg_ticker_stop(void);

#endif
