/* commit.h - group commit for smtpd: a thread that makes finished queue writers durable (trailer,
 * fdatasync, rename, one directory fsync per batch) so the event loop never waits for the disk.
 * Owner: src/smtpd. */
#ifndef SG_SMTPD_COMMIT_H
#define SG_SMTPD_COMMIT_H

#include <event2/event.h>

#include "queue/queue.h"
#include "smtp/server.h"

typedef struct sg_committer sg_committer;

/* evthread_use_pthreads() must have been called before base was created. */
sg_committer *sg_committer_start(struct event_base *base, sg_queue *q, int batch);
/* Hands w over; done(arg, ok, name) runs later on the loop thread; w is freed after it. */
void sg_committer_submit(sg_committer *c, sg_qwriter *w, sg_smtp_done_fn done, void *arg);
/* Finishes what was submitted (callbacks are not run any more), joins the thread, frees. */
void sg_committer_stop(sg_committer *c);

#endif
