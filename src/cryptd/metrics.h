/* metrics.h - cryptd's counters for the current minute (store/metrics_rows.h): the workers add
 * in memory, and cryptd's store ticker (ticker.h) writes what gathered into the store once a second (one
 * upsert per minute that has figures), so no message waits for a metrics write. Rows older than
 * a day are deleted. Owner: src/cryptd. */
#ifndef SG_CRYPTD_METRICS_H
#define SG_CRYPTD_METRICS_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "store/metrics_rows.h"

#define SG_METRICS_KEEP (24 * 3600) /* seconds of rows kept */

typedef struct sg_cmetrics {
    pthread_mutex_t mu;
    sg_store_metrics slot[2]; /* figures not yet written, of at most two minutes (0: the older) */
    time_t pruned;
    time_t retry_at; /* after a failed write: no new try before this (a locked store would
                        otherwise cost the ticker a busy timeout every second) */
} sg_cmetrics;

void sg_cmetrics_init(sg_cmetrics *m);
/* Adds d's counters (d->minute is ignored: the minute of now). Thread-safe, memory only. */
void sg_cmetrics_add(sg_cmetrics *m, const sg_store_metrics *d, time_t now);
/* Writes what gathered (under store_lock, which guards st: cryptd gives it a handle of its own,
 * so a slow store never holds up the workers' key lookups) and deletes rows older than a day
 * every ten minutes. On a store error the figures stay for the next try, 30 s later. 0 or -1. */
int sg_cmetrics_flush(sg_cmetrics *m, sg_store *st, pthread_mutex_t *store_lock, time_t now);

#endif
