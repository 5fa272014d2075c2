/* workqueue.c - bounded name FIFO with batch pop. Owner: src/cryptd. */
#include "cryptd/workqueue.h"

#include <stdlib.h>
#include <string.h>

void sg_wq_init(sg_workqueue *wq)
{
    memset(wq, 0, sizeof *wq);
    pthread_mutex_init(&wq->mu, NULL);
    pthread_cond_init(&wq->cv, NULL);
    wq->names = calloc(SG_WQ_CAP, SG_QID_MAX);
}

void sg_wq_push(sg_workqueue *wq, const char *name)
{
    pthread_mutex_lock(&wq->mu);
    if (wq->count < SG_WQ_CAP) {
        size_t tail = (wq->head + wq->count) % SG_WQ_CAP;
        strncpy(wq->names[tail], name, SG_QID_MAX - 1);
        wq->names[tail][SG_QID_MAX - 1] = '\0';
        wq->count++;
        pthread_cond_signal(&wq->cv);
    }
    pthread_mutex_unlock(&wq->mu);
}

size_t sg_wq_pop(sg_workqueue *wq, char (*out)[SG_QID_MAX], size_t max)
{
    pthread_mutex_lock(&wq->mu);
    wq->busy--;
    if (wq->busy < 0)
        wq->busy = 0;
    while (!wq->count && !wq->stopping)
        pthread_cond_wait(&wq->cv, &wq->mu);
    size_t n = 0;
    if (!wq->stopping) {
        while (n < max && wq->count) {
            memcpy(out[n++], wq->names[wq->head], SG_QID_MAX);
            wq->head = (wq->head + 1) % SG_WQ_CAP;
            wq->count--;
        }
        wq->busy++;
    }
    pthread_mutex_unlock(&wq->mu);
    return n;
}

bool sg_wq_idle(sg_workqueue *wq)
{
    pthread_mutex_lock(&wq->mu);
    bool idle = wq->count == 0 && wq->busy == 0;
    pthread_mutex_unlock(&wq->mu);
    return idle;
}

void sg_wq_stop(sg_workqueue *wq)
{
    pthread_mutex_lock(&wq->mu);
    wq->stopping = true;
    pthread_cond_broadcast(&wq->cv);
    pthread_mutex_unlock(&wq->mu);
}
