/* ops_metrics.c - the metrics operation: the figures sealgate keeps (store/metrics_rows.h),
 * the totals since the store was made and the last day's minutes, for /metrics and the
 * dashboard's charts (docs/web.md "Metrics"). Owner: src/admin.
 * SECURITY: read-only; the figures are counts and times, no address or subject. */
#include <stdlib.h>

#include "admin/ops_handlers.h"
#include "admin/ops_int.h"
#include "store/metrics_rows.h"

static json_t *row_json(const sg_store_metrics *m)
{
    json_t *o = json_object();
    for (int i = 0; o && i < SG_M__COUNT; i++)
        json_object_set_new(o, sg_metric_names[i], json_integer(m->v[i]));
    return o;
}

int sg_op_metrics(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    (void)args;
    int64_t now = sg_op_now(ctx), since = now - now % 60 - 24 * 3600 + 60;
    sg_store_metrics *rows = NULL;
    size_t n = 0;
    /* Minute 0 is the totals row (never pruned): read with the day's rows in one query. */
    if (sg_store_metrics_list(ctx->store, 0, &rows, &n) < 0)
        return sg_op_store_fail(ctx, err);
    sg_store_metrics total = {0};
    json_t *minutes = json_array();
    for (size_t i = 0; minutes && i < n; i++) {
        if (rows[i].minute == 0) {
            total = rows[i];
            continue;
        }
        if (rows[i].minute < since) /* older than a day, not yet pruned */
            continue;
        json_t *o = row_json(&rows[i]);
        if (o)
            json_object_set_new(o, "minute", json_integer(rows[i].minute));
        json_array_append_new(minutes, o);
    }
    free(rows);
    return sg_op_answer(
        json_pack("{s:I, s:o, s:o}", "now", (json_int_t)now, "totals", row_json(&total), "minutes", minutes),
        result, err);
}
