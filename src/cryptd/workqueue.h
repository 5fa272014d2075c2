/* workqueue.h - a bounded FIFO of queue-file names shared by cryptd's watcher and workers.
 * Owner: src/cryptd. Duplicate names are harmless (the claim rename fails for the loser),
 * so the queue only keeps itself bounded: names beyond the capacity are dropped and picked up
 * again by the periodic rescan. */
#ifndef SG_WORKQUEUE_H
#define SG_WORKQUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "queue/envelope.h"

#define SG_WQ_CAP 8192

typedef struct sg_workqueue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char (*names)[SG_QID_MAX];
    size_t head, count;
    int busy; /* workers holding a batch */
    bool stopping;
} sg_workqueue;

void sg_wq_init(sg_workqueue *wq);
void sg_wq_push(sg_workqueue *wq, const char *name);
/* Blocks until names are available; returns how many were copied (0 when stopping). */
size_t sg_wq_pop(sg_workqueue *wq, char (*out)[SG_QID_MAX], size_t max);
bool sg_wq_idle(sg_workqueue *wq);
void sg_wq_stop(sg_workqueue *wq);

#endif
