/* notary_rows.h - typed store calls for the tamper-evident log (issue 14): tables audit_log
 * (one row per Merkle leaf) and audit_checkpoints (signed notes); migration 10. Owner:
 * src/store. Callers: src/audit only, which computes every hash; the store keeps bytes.
 * SECURITY: rows are only ever added. index is the primary key, so two writers that raced
 * for the same index cannot both succeed (no fork); the frontier stored with each row lets a
 * writer extend the tree without reading it whole and lets `audit verify` name the first row
 * whose stored state disagrees with the recomputed one. */
#ifndef SG_STORE_NOTARY_ROWS_H
#define SG_STORE_NOTARY_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct sg_store_log_row {
    int64_t index;
    char queue_id[64];  /* "" for admin events */
    uint8_t *entry;     /* malloc'd */
    size_t entry_len;
    uint8_t *frontier;  /* malloc'd: the tree's frontier after this entry (32-byte hashes) */
    size_t frontier_len;
} sg_store_log_row;

typedef struct sg_store_checkpoint {
    int64_t size;
    char note[1024]; /* the signed note, text */
} sg_store_checkpoint;

/* The last row (0 with *row filled, 1 when the log is empty, -1). Free with sg_store_log_free. */
int sg_store_log_last(sg_store *s, sg_store_log_row *row);
/* Adds row (its index must be the log's size): 0, 1 when that index exists already, -1. */
int sg_store_log_add(sg_store *s, const sg_store_log_row *row);
/* Rows with from <= index < from + count, in index order (malloc'd array; free each with
 * sg_store_log_free, then the array). 0 or -1. */
int sg_store_log_range(sg_store *s, int64_t from, int64_t count, sg_store_log_row **rows, size_t *n);
/* The index of the first entry of queue_id: 0, 1 none, -1. */
int sg_store_log_find(sg_store *s, const char *queue_id, int64_t *index);
void sg_store_log_free(sg_store_log_row *row);

/* Checkpoints: add (0, 1 when one for that size exists, -1); list in size order (malloc'd). */
int sg_store_checkpoint_add(sg_store *s, const sg_store_checkpoint *c);
int sg_store_checkpoint_list(sg_store *s, sg_store_checkpoint **c, size_t *n);

/* What a backend provides (store_int.h): the calls above, same contracts. */
struct sg_store_notary_ops {
    int (*log_last)(sg_store *s, sg_store_log_row *row);
    int (*log_add)(sg_store *s, const sg_store_log_row *row);
    int (*log_range)(sg_store *s, int64_t from, int64_t count, sg_store_log_row **rows, size_t *n);
    int (*log_find)(sg_store *s, const char *queue_id, int64_t *index);
    int (*checkpoint_add)(sg_store *s, const sg_store_checkpoint *c);
    int (*checkpoint_list)(sg_store *s, sg_store_checkpoint **c, size_t *n);
};

#endif
