/* ops_cluster.c - the cluster.status operation (docs/cluster.md): the nodes that share this
 * store, each with its last heartbeat (written every 5 s by its cryptd, cryptd/ticker.c), its
 * sealgate version, the schema version it runs with and its queue size, and the store's schema
 * version. A node whose heartbeat is older than SILENT seconds is shown as silent (stopped,
 * dead or cut off from the database). Owner: src/admin.
 * SECURITY: read-only; host names, versions and counts only. */
#include <stdlib.h>

#include "admin/ops_handlers.h"
#include "admin/ops_int.h"
#include "store/cluster_rows.h"

#define SILENT 15 /* three heartbeats missed */

int sg_op_cluster_status(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    (void)args;
    int64_t now = sg_op_now(ctx);
    sg_store_node *rows = NULL;
    size_t n = 0;
    if (sg_store_node_list(ctx->store, &rows, &n) < 0)
        return sg_op_store_fail(ctx, err);
    json_t *nodes = json_array();
    for (size_t i = 0; nodes && i < n; i++) {
        const sg_store_node *r = &rows[i];
        int64_t age = now - r->heartbeat;
        json_array_append_new(nodes,
                              json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s}", "name", r->name,
                                        "version", r->version, "started", (json_int_t)r->started, "heartbeat",
                                        (json_int_t)r->heartbeat, "heartbeat_age", (json_int_t)age, "queue",
                                        (json_int_t)r->queue, "schema_version", (json_int_t)r->schema,
                                        "state", age > SILENT ? "silent" : "up"));
    }
    free(rows);
    return sg_op_answer(json_pack("{s:I, s:i, s:o}", "now", (json_int_t)now, "schema_version",
                                  sg_store_schema_version(ctx->store), "nodes", nodes),
                        result, err);
}
