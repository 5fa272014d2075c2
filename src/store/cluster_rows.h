/* cluster_rows.h - the store's typed calls for running several nodes on one store (issue 16,
 * docs/cluster.md): the nodes' heartbeats (table cluster_nodes, read by `sealgate cluster
 * status`), a few values the whole cluster shares (table cluster_meta: the KEK check value),
 * and the locks that make a job run on one node of the cluster only. Owner: src/store.
 * Callers: src/cryptd (heartbeat, job locks), src/master (KEK check), src/keys (KEK check on
 * rotation), src/admin (cluster status). No rule lives here.
 * Returns: 0 done, -1 error with sg_store_error, unless said otherwise. */
#ifndef SG_STORE_CLUSTER_ROWS_H
#define SG_STORE_CLUSTER_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct sg_store_node {
    char name[256];    /* the node's hostname setting */
    char version[64];  /* sealgate's version on it */
    int64_t started;   /* Unix seconds: when its cryptd started */
    int64_t heartbeat; /* Unix seconds: its cryptd's last heartbeat */
    int64_t queue;     /* messages in its spool waiting (incoming, active, outgoing, deferred) */
    int64_t schema;    /* the schema version it runs with */
} sg_store_node;

/* Writes (inserts or replaces) n's row. */
int sg_store_node_beat(sg_store *s, const sg_store_node *n);
/* Every node's row, by name: malloc'd array (free()). */
int sg_store_node_list(sg_store *s, sg_store_node **rows, size_t *n);

/* The shared value of key: 0 found (into out, truncated to outlen), 1 no such key, -1 error. */
int sg_store_meta_get(sg_store *s, const char *key, char *out, size_t outlen);
/* Sets key to value when it has none: 0 set, 1 it had one already (left as it was), -1. */
int sg_store_meta_add(sg_store *s, const char *key, const char *value);
/* Sets key to value, whatever it was. */
int sg_store_meta_set(sg_store *s, const char *key, const char *value);

/* The lock of a job that must run on one node of the cluster at a time (checkpoints, ...):
 * 1 this handle holds it (taken now or earlier; kept until the handle closes or its connection
 * is lost, so one node keeps a job while it lives and another takes it over when it dies),
 * 0 another handle holds it, -1 error. SQLite (one node): always 1. */
int sg_store_job_lock(sg_store *s, const char *job);

struct sg_store_cluster_ops {
    int (*beat)(sg_store *s, const sg_store_node *n);
    int (*list)(sg_store *s, sg_store_node **rows, size_t *n);
    int (*meta_get)(sg_store *s, const char *key, char *out, size_t outlen);
    int (*meta_put)(sg_store *s, const char *key, const char *value, int replace);
    int (*job_lock)(sg_store *s, const char *job);
};

#endif
