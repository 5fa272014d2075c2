/* retry.h - messages cryptd keeps for another try after a temporary error (a key lookup that
 * failed on the store: unreadable, locked, corrupt), each with the time of its next attempt.
 * Owner: src/cryptd.
 * A waiting message stays in active/ (nothing else touches it there; a restart puts it back
 * into incoming/ like any claimed message); when it is due, cryptd moves it to incoming/ and
 * processes it again. The delay doubles from SG_RETRY_MIN to SG_RETRY_MAX seconds. The table
 * is bounded: when it is full the caller holds the message instead (fail closed, kept).
 * Thread safety: every function may be called from any thread. */
#ifndef SG_RETRY_H
#define SG_RETRY_H

#include <stddef.h>
#include <time.h>

#include "queue/envelope.h"

#define SG_RETRY_MIN 5
#define SG_RETRY_MAX 300
#define SG_RETRY_CAP 4096

/* Schedules name's next attempt; returns the delay in seconds, or -1 when the table is full. */
int sg_retry_later(const char *name, time_t now);
/* The names whose attempt is due (at most max), now handed back to the caller. */
size_t sg_retry_due(time_t now, char (*names)[SG_QID_MAX], size_t max);
/* name was processed (or held): its delay starts from SG_RETRY_MIN again next time. */
void sg_retry_done(const char *name);

#endif
