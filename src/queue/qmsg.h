/* qmsg.h - a queued message read from its file piece by piece, for a role that must not hold a
 * large message in memory (the relay). Owner: src/queue.
 * Opening parses the envelope and checks the trailer as sg_queue_read does (same errors, same
 * -2 for a malformed file); the data stays in the file and is read by offset. Queue files are
 * never changed in place (they are replaced by rename), so the open descriptor keeps reading
 * the version that was opened; a file found shorter than its trailer said is an error, never
 * a shorter message. */
#ifndef SG_QMSG_H
#define SG_QMSG_H

#include <stddef.h>
#include <sys/types.h>

#include "queue/queue.h"

typedef struct sg_qmsg {
    int fd;          /* -1 when closed */
    off_t data_off;  /* where the data starts in the file */
    size_t data_len; /* as the trailer records it */
} sg_qmsg;

/* Opens state/name and parses its envelope into e. Returns 0, -1 with errno (ENOENT when
 * gone), or -2 when the file is malformed (err says why); e is set only on 0. */
int sg_qmsg_open(sg_queue *q, int state, const char *name, sg_envelope *e, sg_qmsg *m, char *err,
                 size_t errlen);
/* Reads exactly n bytes of the data from offset off (off + n <= data_len). 0, or -1 with errno
 * (EIO when the file ended early). */
int sg_qmsg_read(const sg_qmsg *m, size_t off, void *buf, size_t n);
/* Writes state/name with envelope e and m's data, atomically and durably (sg_queue_write),
 * copying through a bounded buffer. */
int sg_qmsg_copy(sg_queue *q, int state, const char *name, const sg_envelope *e, const sg_qmsg *m);
void sg_qmsg_close(sg_qmsg *m);

#endif
