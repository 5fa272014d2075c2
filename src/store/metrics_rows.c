/* metrics_rows.c - the public metrics calls (metrics_rows.h), dispatched to the backend's
 * table. Owner: src/store. */
#include "store/metrics_rows.h"
#include "store/store_int.h"

const char *const sg_metric_names[SG_M__COUNT] = {"msgs_in",   "msgs_out",       "encrypted",    "signed",
                                                  "decrypted", "verified",       "held",         "bounced",
                                                  "deferred",  "latency_ms_sum", "latency_count"};

int sg_store_metrics_add(sg_store *s, const sg_store_metrics *m)
{
    return s->be->metrics->add(s, m);
}

int sg_store_metrics_list(sg_store *s, int64_t since, sg_store_metrics **rows, size_t *n)
{
    return s->be->metrics->list(s, since, rows, n);
}

int sg_store_metrics_prune(sg_store *s, int64_t before)
{
    return s->be->metrics->prune(s, before);
}
