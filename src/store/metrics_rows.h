/* metrics_rows.h - the store's typed calls for the figures sealgate keeps (table
 * metrics_minute, docs/web.md "Metrics"): one row per minute of counters that cryptd adds to
 * in batches and the web role reads for /metrics and the dashboard. Owner: src/store.
 * Callers: src/cryptd (add, prune), src/admin/ops_system.c (list). No rule lives here.
 * Returns: 0 done, -1 error with sg_store_error. */
#ifndef SG_STORE_METRICS_ROWS_H
#define SG_STORE_METRICS_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* The counters of one minute, in the order of the table's columns. */
enum sg_metric {
    SG_M_IN,        /* messages cryptd took from incoming/ and decided on */
    SG_M_OUT,       /* outputs cryptd handed to relay (outgoing/) */
    SG_M_ENCRYPTED, /* messages with at least one output encrypted */
    SG_M_SIGNED,
    SG_M_DECRYPTED,
    SG_M_VERIFIED,       /* a valid signature was found */
    SG_M_HELD,           /* inputs held whole, and partial holds (outputs into hold/) */
    SG_M_BOUNCED,        /* bounces (DSNs) relay wrote that cryptd took in */
    SG_M_DEFERRED,       /* a key lookup or scanner failed: kept for a retry */
    SG_M_LATENCY_MS_SUM, /* cryptd's processing time of the messages counted in latency_count */
    SG_M_LATENCY_COUNT,
    SG_M__COUNT
};

/* The column names, [SG_M__COUNT]; also the names the metrics operation answers with. */
extern const char *const sg_metric_names[SG_M__COUNT];

typedef struct sg_store_metrics {
    int64_t minute; /* Unix seconds, a multiple of 60: the start of the minute; 0: the totals
                       since the store was made (cryptd adds to both, in one transaction) */
    int64_t v[SG_M__COUNT];
} sg_store_metrics;

/* Adds m's counters to the row of m->minute (made when missing): one statement. */
int sg_store_metrics_add(sg_store *s, const sg_store_metrics *m);
/* The rows with minute >= since, oldest first: malloc'd array (free()). */
int sg_store_metrics_list(sg_store *s, int64_t since, sg_store_metrics **rows, size_t *n);
/* Deletes the rows older than before (minute < before), never the totals row (minute 0). */
int sg_store_metrics_prune(sg_store *s, int64_t before);

struct sg_store_metrics_ops {
    int (*add)(sg_store *s, const sg_store_metrics *m);
    int (*list)(sg_store *s, int64_t since, sg_store_metrics **rows, size_t *n);
    int (*prune)(sg_store *s, int64_t before);
};

#endif
