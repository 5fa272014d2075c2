/* cluster_rows.c - the public cluster calls (cluster_rows.h), dispatched to the backend's
 * table. Owner: src/store. */
#include "store/cluster_rows.h"
#include "store/store_int.h"

int sg_store_node_beat(sg_store *s, const sg_store_node *n)
{
    return s->be->cluster->beat(s, n);
}

int sg_store_node_list(sg_store *s, sg_store_node **rows, size_t *n)
{
    return s->be->cluster->list(s, rows, n);
}

int sg_store_meta_get(sg_store *s, const char *key, char *out, size_t outlen)
{
    return s->be->cluster->meta_get(s, key, out, outlen);
}

int sg_store_meta_add(sg_store *s, const char *key, const char *value)
{
    return s->be->cluster->meta_put(s, key, value, 0);
}

int sg_store_meta_set(sg_store *s, const char *key, const char *value)
{
    int rc = s->be->cluster->meta_put(s, key, value, 1);
    return rc < 0 ? -1 : 0;
}

int sg_store_job_lock(sg_store *s, const char *job)
{
    return s->be->cluster->job_lock(s, job);
}
