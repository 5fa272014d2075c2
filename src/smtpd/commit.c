/* commit.c - the smtpd commit thread (see commit.h). Owner: src/smtpd.
 * Sessions append finished writers to `pending`; the thread takes up to `batch` of them, runs
 * sg_qw_finish on each and one sg_qw_publish for all, moves them to `done` and wakes the loop
 * with event_active (thread-safe with evthread pthreads). Only the loop answers clients, and
 * only after publish returned: acknowledgement never precedes durability. */
#include "smtpd/commit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "lib/log.h"

typedef struct item {
    struct item *next;
    sg_qwriter *w;
    sg_smtp_done_fn done;
    void *arg;
} item;

struct sg_committer {
    sg_queue *q;
    int batch;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    item *pending, **pending_tail;
    item *done, **done_tail;
    bool stop;
    struct event *wake;
};

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sg_committer *c = arg;
    pthread_mutex_lock(&c->mu);
    item *list = c->done;
    c->done = NULL;
    c->done_tail = &c->done;
    pthread_mutex_unlock(&c->mu);
    while (list) {
        item *it = list;
        list = it->next;
        it->done(it->arg, it->w->error == 0, it->w->name);
        free(it->w);
        free(it);
    }
}

static void *thread_main(void *arg)
{
    sg_committer *c = arg;
    item **batch = calloc((size_t)c->batch, sizeof *batch);
    sg_qwriter **ws = calloc((size_t)c->batch, sizeof *ws);
    if (!batch || !ws) {
        sg_error(NULL, "event=commit-thread-oom");
        free(batch);
        free(ws);
        return NULL;
    }
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->pending && !c->stop)
            pthread_cond_wait(&c->cv, &c->mu);
        if (!c->pending)
            break; /* stopping and nothing left */
        size_t n = 0;
        while (c->pending && n < (size_t)c->batch) {
            batch[n] = c->pending;
            c->pending = c->pending->next;
            batch[n]->next = NULL;
            ws[n] = batch[n]->w;
            n++;
        }
        if (!c->pending)
            c->pending_tail = &c->pending;
        pthread_mutex_unlock(&c->mu);

        for (size_t i = 0; i < n; i++)
            sg_qw_finish(ws[i]); /* failures are recorded in w->error; publish skips them */
        sg_qw_publish(c->q, ws, n, SG_Q_INCOMING);

        pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < n; i++) {
            *c->done_tail = batch[i];
            c->done_tail = &batch[i]->next;
        }
        event_active(c->wake, EV_READ, 0);
    }
    pthread_mutex_unlock(&c->mu);
    free(batch);
    free(ws);
    return NULL;
}

sg_committer *sg_committer_start(struct event_base *base, sg_queue *q, int batch)
{
    sg_committer *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->q = q;
    c->batch = batch > 0 ? batch : 1;
    c->pending_tail = &c->pending;
    c->done_tail = &c->done;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->wake = event_new(base, -1, 0, wake_cb, c);
    if (!c->wake || pthread_create(&c->thread, NULL, thread_main, c) != 0) {
        if (c->wake)
            event_free(c->wake);
        free(c);
        return NULL;
    }
    return c;
}

void sg_committer_submit(sg_committer *c, sg_qwriter *w, sg_smtp_done_fn done, void *arg)
{
    item *it = calloc(1, sizeof *it);
    if (!it) {
        /* Cannot even queue the commit: report failure; the writer is discarded. */
        sg_qw_abort(c->q, w);
        w->error = w->error ? w->error : 12;
        done(arg, false, w->name);
        free(w);
        return;
    }
    it->w = w;
    it->done = done;
    it->arg = arg;
    pthread_mutex_lock(&c->mu);
    *c->pending_tail = it;
    c->pending_tail = &it->next;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

void sg_committer_stop(sg_committer *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    item *list = c->done;
    while (list) {
        item *it = list;
        list = it->next;
        free(it->w);
        free(it);
    }
    event_free(c->wake);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}
