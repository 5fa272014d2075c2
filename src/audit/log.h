/* log.h - the tamper-evident log (issue 14): canonical entries, appending them as leaves of the
 * RFC 9162 tree kept in the store, signed checkpoints, and the whole-log verification.
 * Owner: src/audit. docs/audit.md describes the bytes.
 * Entry encoding (length-prefixed, fixed field order per kind):
 *     0x01 (format) || KIND (0x01 admin event, 0x02 mail decision) ||
 *     for each field: NAME_LEN (1 byte) || NAME || VALUE_LEN (4 bytes, big endian) || VALUE
 * SECURITY: an append reads the last row's frontier and adds the next index in one store
 * transaction; the index is the primary key, so concurrent writers (cryptd, the CLI, the web
 * role) retry rather than fork the log. An entry never holds a message body or a secret. */
#ifndef SG_AUDIT_LOG_H
#define SG_AUDIT_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "audit/merkle.h"
#include "lib/config.h"
#include "store/admin_rows.h"
#include "store/store.h"

#define SG_TLOG_KIND_ADMIN 0x01
#define SG_TLOG_KIND_MAIL 0x02
#define SG_TLOG_KIND_RECEIPT 0x03 /* a delivery receipt or a peer's checkpoint event (docs/notary.md) */

/* An entry under construction (fixed buffer: entries are small, fields are cut by callers). */
typedef struct sg_tlog_entry {
    uint8_t buf[8192];
    size_t len;
    int overflow;
} sg_tlog_entry;

void sg_tlog_entry_init(sg_tlog_entry *e, uint8_t kind);
void sg_tlog_entry_field(sg_tlog_entry *e, const char *name, const char *value);

/* Why the last sg_tlog_append* of this thread failed. */
const char *sg_tlog_error(void);
/* Appends e as the next leaf (queue_id "" for none): 0 with *index (may be NULL), or -1 with
 * sg_tlog_error. Must not be called inside a store transaction (it opens its own). */
int sg_tlog_append(sg_store *s, const sg_tlog_entry *e, const char *queue_id, int64_t *index);
/* Appends e[0..n) (queue ids queue_id[i], may be NULL) as consecutive leaves in one store
 * transaction: all or none (group commit: one sync for a batch of decisions). 0 with *first
 * (may be NULL) the first index, or -1 with sg_tlog_error. */
int sg_tlog_append_many(sg_store *s, const sg_tlog_entry *const *e, const char *const *queue_id, size_t n,
                        int64_t *first);
/* The entry of an audit event (store/admin_rows.h), appended. */
int sg_tlog_append_admin(sg_store *s, const sg_store_audit *ev);

/* The log's origin line: "<hostname>/sealgate-audit". */
void sg_tlog_origin(const sg_config *cfg, char *out, size_t outlen);
/* Signs a checkpoint of the current tree unless the last one covers it already (or unless
 * fewer than min_new entries are new): 1 when one was made, 0 nothing to do, -1 with why.
 * covered (may be NULL) caches the size the last checkpoint covers; < 0: read it. */
int sg_tlog_checkpoint(sg_store *s, const sg_config *cfg, int64_t min_new, int64_t *covered, char *why,
                      size_t whylen);

/* cryptd's clock for checkpoints: called about once a second, signs one after
 * audit.checkpoint_every new entries, or checkpoint_seconds after the last when anything is new. */
typedef struct sg_tlog_ticker {
    int64_t covered; /* start with -1 */
    time_t last;     /* start with 0 */
    time_t retry_at; /* after a failure no new try before this: a locked store would otherwise
                        cost cryptd's main loop a busy timeout on every tick */
} sg_tlog_ticker;
void sg_tlog_tick(sg_store *s, const sg_config *cfg, sg_tlog_ticker *t, time_t now);

/* All leaf hashes of the log, in order (malloc'd). Gaps and frontier mismatches stop the read:
 * *first_bad is then the first bad index (else -1) with why. 0 or -1 (store error). */
int sg_tlog_leaves(sg_store *s, sg_mhash **leaves, uint64_t *n, int64_t *first_bad, char *why, size_t whylen);

/* Recomputes the tree and checks every checkpoint against pub: 0 when all holds, 1 when not
 * (the first bad index and reason printed on out), -1 store error. */
int sg_tlog_verify(sg_store *s, const uint8_t pub[32], FILE *out);

#endif
