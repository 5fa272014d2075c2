/* sqlite_int.h - shared by the files of the SQLite backend only. Owner: src/store. */
#ifndef SG_STORE_SQLITE_INT_H
#define SG_STORE_SQLITE_INT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_int.h"

#define SQ_CACHED_MAX 96

typedef struct sq_store {
    sqlite3 *db;
    /* Statements prepared once and kept, keyed by the address of their SQL text (always a
     * string literal): the calls asked on every message must not parse SQL each time. */
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } cached[SQ_CACHED_MAX];
} sq_store;

static inline sq_store *sq_of(sg_store *s)
{
    return s->impl;
}

/* A prepared statement for sql (a string literal), reset and unbound: from the cache, or
 * prepared now. NULL with sg_store_error. Give it back with sq_done. */
sqlite3_stmt *sq_stmt(sg_store *s, const char *sql);

/* The text of migration i (0-based; it takes the schema from version i to i + 1). Also for
 * tests/unit/test_store.c, which builds a store at an older release's version from it. */
const char *sq_migration(int i);
/* Done with a statement from sq_stmt. */
void sq_done(sg_store *s, sqlite3_stmt *st);
/* Records SQLite's message for the failed step of what (e.g. "reading a key"); returns -1. */
int sq_fail(sg_store *s, const char *what);
/* A malloc'd copy of column i's bytes of the row st is on: 0, or -1 with sg_store_error when
 * the row has none (an empty blob is never valid key or certificate data) or memory ran out;
 * fpr names the row in the error. */
int sq_col_bytes(sg_store *s, sqlite3_stmt *st, int i, const char *fpr, uint8_t **out, size_t *len);
/* Column i's text into out (cut to outlen, "" for NULL). */
void sq_col_text(sqlite3_stmt *st, int i, char *out, size_t outlen);
/* Runs SQL without results (DDL, BEGIN...). 0, or -1 with sg_store_error. */
int sq_exec(sg_store *s, const char *sql);

/* Row helpers for fixed-size row structs (defined in sqlite_admin.c, used by the admin and
 * users files). col_fit: column i's text into out, 0 or -1 when it does not fit (a stored text
 * is never silently cut). write_step: steps a write and gives st back; 0 done, 1 when it
 * changed no row and none_is_1 is SQ_CHANGED, or hit a constraint and none_is_1 is SQ_INSERT;
 * -1. read_one: st to one row read by rd, 0, 1 none, -1. read_all: st to a malloc'd array of
 * rows of size sz read by rd, 0 or -1. */
#define SQ_CHANGED 1
#define SQ_INSERT 2
int sq_col_fit(sg_store *s, sqlite3_stmt *st, int i, char *out, size_t outlen);
int sq_write_step(sg_store *s, sqlite3_stmt *st, const char *what, int none_is_1);
int sq_read_one(sg_store *s, sqlite3_stmt *st, void *row, int (*rd)(sg_store *, sqlite3_stmt *, void *),
                const char *what);
int sq_read_all(sg_store *s, sqlite3_stmt *st, size_t sz, int (*rd)(sg_store *, sqlite3_stmt *, void *),
                void **rows, size_t *n, const char *what);

extern const struct sg_store_pgp_ops sg_sqlite_pgp_ops;
extern const struct sg_store_x509_ops sg_sqlite_x509_ops;
extern const struct sg_store_revocation_ops sg_sqlite_revocation_ops;
extern const struct sg_store_policy_ops sg_sqlite_policy_ops;
extern const struct sg_store_backup_ops sg_sqlite_backup_ops;
extern const struct sg_store_admin_ops sg_sqlite_admin_ops;
extern const struct sg_store_discovery_ops sg_sqlite_discovery_ops;
extern const struct sg_store_metrics_ops sg_sqlite_metrics_ops;
extern const struct sg_store_pdfpass_ops sg_sqlite_pdfpass_ops;
extern const struct sg_store_notary_ops sg_sqlite_notary_ops;
extern const struct sg_store_job_ops sg_sqlite_job_ops;
extern const struct sg_store_cluster_ops sg_sqlite_cluster_ops;
extern const struct sg_store_users_ops sg_sqlite_users_ops;

#endif
