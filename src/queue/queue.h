/* queue.h - the spool: one directory per state, one file per message, moves by rename.
 * Owner: src/queue. Durability rule: a message is only acknowledged or removed from its previous
 * state after its new file is fsync'd, renamed into place and the directory fsync'd.
 *
 *   tmp/       files being written (named role.pid.id; removed by the master when pid dies);
 *              tmp/ROLE/ when it exists (the master makes one per role user, private to it)
 *   incoming/  accepted by smtpd, waiting for cryptd
 *   active/    claimed by a cryptd worker (put back into incoming/ by recovery at start)
 *   outgoing/  processed, waiting for relay
 *   deferred/  relay got a temporary failure; retried after next-attempt
 *   hold/      stopped by policy or error; only an administrator moves it on
 *   corrupt/   unreadable queue files, kept for inspection, never deleted automatically
 *   dsn/       DSNs written by relay, waiting for cryptd (which moves them into incoming/)
 * Started as root each state has the owner that needs it (src/master/prepare.c); a role opens
 * the states it cannot read as O_PATH handles (or not at all), so using them fails with EACCES
 * or EBADF, never silently. */
#ifndef SG_QUEUE_H
#define SG_QUEUE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "queue/envelope.h"

enum sg_qstate {
    SG_Q_TMP,
    SG_Q_INCOMING,
    SG_Q_ACTIVE,
    SG_Q_OUTGOING,
    SG_Q_DEFERRED,
    SG_Q_HOLD,
    SG_Q_CORRUPT,
    SG_Q_DSN,
    SG_Q_NSTATES
};

typedef struct sg_queue {
    char root[PATH_MAX];
    int dirfd[SG_Q_NSTATES];     /* -1: not reachable by this process */
    bool pathonly[SG_Q_NSTATES]; /* an O_PATH handle: the state may be written into, not read or fsync'd */
    char role[16];
} sg_queue;

const char *sg_qstate_name(int state);
int sg_qstate_parse(const char *name); /* -1 when unknown */

/* Opens (and with create, makes) the spool below root. role names tmp files. */
int sg_queue_open(sg_queue *q, const char *root, const char *role, bool create);
void sg_queue_close(sg_queue *q);
/* 16 lower-case hex digits: microseconds since the epoch, then randomness; sorts by age. */
void sg_queue_new_id(char out[SG_QID_MAX]);
/* True for names sealgate creates: [0-9a-f]{16}(\.[0-9]{1,4})? - rejects paths. */
bool sg_queue_name_valid(const char *name);

/* Streaming writer for smtpd: header at open, data appended, trailer and fsync at commit. */
typedef struct sg_qwriter {
    int fd;
    int state;
    char name[SG_QID_MAX];
    char tmpname[SG_QID_MAX + 48];
    size_t datalen;
    char buf[65536]; /* write-behind buffer */
    size_t buflen;
    int error; /* errno of the first failure; later calls fail too */
} sg_qwriter;

int sg_qw_open(sg_queue *q, sg_qwriter *w, const sg_envelope *e);
int sg_qw_write(sg_qwriter *w, const void *data, size_t len);
/* Flushes and appends the trailer (not yet durable). Safe to call from a worker thread:
 * touches only w. */
int sg_qw_finish(sg_qwriter *w);
/* Group commit: makes the finished writers' data durable (fdatasync for one, one syncfs for a
 * batch), renames them into state, then one fsync of the state directory (one syncfs when the
 * state is write-only for this process). Returns 0 when every
 * writer is durable in state; failed writers have error set and are removed from tmp/. */
int sg_qw_publish(sg_queue *q, sg_qwriter **w, size_t n, int state);
void sg_qw_abort(sg_queue *q, sg_qwriter *w);

/* Writes a whole message into state/name atomically and durably (replaces an existing one). */
int sg_queue_write(sg_queue *q, int state, const char *name, const sg_envelope *e, const char *data,
                   size_t datalen);
/* The same with the data written by fill (sg_qw_write calls; 0 or -1), for data that is not
 * in memory (queue/qmsg.h). Durability as sg_queue_write: one fsync'd file, renamed, dir fsync'd. */
int sg_queue_write_with(sg_queue *q, int state, const char *name, const sg_envelope *e,
                        int (*fill)(sg_qwriter *w, void *ctx), void *ctx);
/* Reads state/name. *file is the malloc'd file, *data points into it. Returns 0, -1 with errno
 * (ENOENT when gone), or -2 when the file is malformed (err says why). */
int sg_queue_read(sg_queue *q, int state, const char *name, sg_envelope *e, char **file, const char **data,
                  size_t *datalen, char *err, size_t errlen);
/* rename(from/name, to/name) and fsync of both directories (a state this process may only write
 * into, such as corrupt/, is not fsync'd: a move lost there is made again, nothing depends on
 * it). -1 with errno (ENOENT: lost a race). */
int sg_queue_move(sg_queue *q, const char *name, int from, int to);
int sg_queue_remove(sg_queue *q, int state, const char *name);
/* Sorted names in a state (oldest first). Caller frees with sg_queue_names_free. */
int sg_queue_list(sg_queue *q, int state, char ***names, size_t *n);
void sg_queue_names_free(char **names, size_t n);
/* The state a name is in, or -1. */
int sg_queue_find(sg_queue *q, const char *name);
/* Crash recovery for cryptd: everything in active/ goes back to incoming/. Returns the count. */
int sg_queue_recover_active(sg_queue *q);
/* Removes tmp files, in tmp/ and in each role's tmp/ROLE/; pid > 0 only those written by that
 * process. Returns the count. */
int sg_queue_clean_tmp(sg_queue *q, long pid);
/* The same for tmp/ROLE/ alone, opened by path: the master runs it as the role's user when it
 * cannot enter that directory itself (src/master/asuser.h). -1 when it cannot be opened. */
int sg_queue_clean_role_tmp(const char *root, const char *role, long pid);
/* For a role about to drop privileges: makes the spool (as sg_queue_open with create) unless
 * the master laid it out already (tmp/ROLE/ exists). The role opens the spool after its drop,
 * so its handles carry its own rights, not root's. */
int sg_queue_precreate(const char *root, const char *role);
/* Path of state/name, for logging and the CLI. */
void sg_queue_path(const sg_queue *q, int state, const char *name, char *out, size_t len);

#endif
