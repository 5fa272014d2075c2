/* store_int.h - what a store backend provides. Owner: src/store; only src/store includes it.
 * A backend fills one sg_store_backend: the calls every backend has (open, close,
 * transactions, generations) and one table of typed calls per kind of data, declared in that
 * kind's header (struct sg_store_pgp_ops in pgp_rows.h, and so on). The public calls in
 * store.c and the *_rows.c files only dispatch through these tables. */
#ifndef SG_STORE_INT_H
#define SG_STORE_INT_H

#include "store/store.h"

struct sg_store_pgp_ops;
struct sg_store_x509_ops;
struct sg_store_revocation_ops;
struct sg_store_policy_ops;
struct sg_store_backup_ops;
struct sg_store_admin_ops;
struct sg_store_discovery_ops;
struct sg_store_metrics_ops;
struct sg_store_notary_ops;
struct sg_store_job_ops;
struct sg_store_pdfpass_ops;
struct sg_store_cluster_ops;
struct sg_store_users_ops;

typedef struct sg_store_backend {
    const char *name;
    /* Opens spec and migrates; NULL with err. The result is the backend's own state.
     * password_file (NULL: none) is for backends that log in (PostgreSQL). */
    void *(*open)(const char *spec, const char *password_file, char *err, size_t errlen);
    void (*close)(void *impl);
    int (*schema_version)(void *impl);
    int (*begin)(sg_store *s);
    int (*commit)(sg_store *s);
    void (*rollback)(sg_store *s);
    int (*generation)(sg_store *s, sg_store_gen which, int64_t *gen);
    /* sg_store_poll_changes and sg_store_notify_fd; NULL: the backend announces nothing. */
    int (*poll_changes)(sg_store *s, unsigned *kinds);
    int (*notify_fd)(sg_store *s);
    void (*trust_announcements)(sg_store *s); /* NULL: nothing to trust */
    const struct sg_store_pgp_ops *pgp;
    const struct sg_store_x509_ops *x509;
    const struct sg_store_revocation_ops *revocation;
    const struct sg_store_policy_ops *policy;
    const struct sg_store_backup_ops *backup;
    const struct sg_store_admin_ops *admin;
    const struct sg_store_discovery_ops *discovery;
    const struct sg_store_metrics_ops *metrics;
    const struct sg_store_notary_ops *notary; /* the tamper-evident log (issue 14) */
    const struct sg_store_job_ops *jobs;      /* long operations (issue 18) */
    const struct sg_store_pdfpass_ops *pdfpass; /* the pdf method's passwords (issue 12) */
    const struct sg_store_cluster_ops *cluster; /* nodes, shared values, job locks (issue 16) */
    const struct sg_store_users_ops *users;   /* internal users, aliases, groups (issue 18) */
} sg_store_backend;

struct sg_store {
    const sg_store_backend *be;
    void *impl;
    uint64_t id; /* sg_store_id */
    char err[512];
};

/* Records why a call failed; returns -1. */
int sg_store_fail(sg_store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

extern const sg_store_backend sg_store_sqlite;
extern const sg_store_backend sg_store_pg;

/* The backend a `store` setting selects: a libpq URI (postgresql://, postgres://) PostgreSQL,
 * anything else (a path) SQLite. */
const sg_store_backend *sg_store_backend_for(const char *spec);
/* uri with any password replaced by "***", for messages (store/pg/pg_store.c). */
void sg_pg_redact(const char *uri, char *out, size_t outlen);

#endif
