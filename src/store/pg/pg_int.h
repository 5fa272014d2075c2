/* pg_int.h - shared by the files of the PostgreSQL backend only. Owner: src/store.
 * Every query is a statement prepared once per connection (PQprepare, named by the address of
 * its SQL text, always a string literal) and run with parameters: numbers and text in text
 * format, bytes in binary; results come back in binary format (bigint as 8 bytes big-endian,
 * text as its bytes, bytea raw), read with the pg_col_* helpers.
 * Text is ordered COLLATE "C" (by bytes, as SQLite's BINARY) whatever the database's locale, so
 * lists come back in the same order on both backends.
 * SECURITY: the connection string may carry a password; only its redacted form (pg_store.uri)
 * ever reaches an error message or the log. */
#ifndef SG_STORE_PG_INT_H
#define SG_STORE_PG_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_int.h"

#define PG_PREPARED_MAX 128
#define PG_ARGS_MAX 20

typedef struct pg_store {
    PGconn *conn;
    char uri[512];     /* the connection string without its password, for messages */
    bool in_tx;        /* inside sg_store_begin/commit: no reconnection behind the caller's back */
    unsigned notified; /* kinds (1 << sg_store_gen) announced by NOTIFY since the last poll */
    unsigned stale;    /* kinds announced since their generation was last read (pg_generation) */
    struct {
        const char *sql;
    } prepared[PG_PREPARED_MAX]; /* statement "sN" is prepared[N].sql on this connection */
    int nprepared;
    /* Job locks (sg_store_job_lock) this connection holds: a session's advisory locks, gone
     * with the connection, so a reconnection forgets them. */
    char jobs[8][64];
    int njobs;
    /* Generations read from the server, trusted without a round trip while no NOTIFY said
     * their kind changed and for at most PG_GEN_TRUST seconds (pg_generation). */
    bool trust;    /* sg_store_trust_announcements was called */
    int64_t gen[8];
    int64_t gen_at[8]; /* monotonic seconds of the read; 0: none */
} pg_store;

static inline pg_store *pg_of(sg_store *s)
{
    return s->impl;
}

/* The parameters of one query. */
typedef struct pg_args {
    int n;
    const char *v[PG_ARGS_MAX];
    int len[PG_ARGS_MAX];
    int fmt[PG_ARGS_MAX];
    char num[PG_ARGS_MAX][24];
    bool bad; /* a value could not be added (too long, too many): pg_run refuses the query */
} pg_args;

/* Appends a text parameter (NULL: SQL NULL), a number, bytes (NULL: SQL NULL). */
void pa_text(pg_args *a, const char *t);
void pa_i64(pg_args *a, int64_t v);
void pa_bytes(pg_args *a, const void *p, size_t len);

/* Runs the prepared statement for sql (a string literal) with a: its result (PQclear it) when
 * it succeeded, NULL with sg_store_error naming what when not. */
PGresult *pg_run(sg_store *s, const char *sql, const pg_args *a, const char *what);
/* Runs a statement without results: the number of rows it changed, or -1. */
int64_t pg_cmd(sg_store *s, const char *sql, const pg_args *a, const char *what);
/* Runs SQL text once (transactions, DDL), without parameters: 0 or -1. */
int pg_exec(sg_store *s, const char *sql, const char *what);

/* Column readers for binary results. */
int64_t pg_col_i64(const PGresult *r, int row, int col);
void pg_col_text(const PGresult *r, int row, int col, char *out, size_t outlen);
/* A malloc'd copy of a text column; NULL for SQL NULL (or no memory: check PQgetisnull). */
char *pg_col_dup(const PGresult *r, int row, int col);
/* A malloc'd copy of a bytes column: 0, or -1 with sg_store_error when it is empty or NULL
 * (never valid key or certificate data); fpr names the row in the error. */
int pg_col_bytes(sg_store *s, const PGresult *r, int row, int col, const char *fpr, uint8_t **out,
                 size_t *len);

/* Row helpers for fixed-size row structs (defined in pg_admin.c, used by the admin and users
 * files). col_fit: column c of row i into out, 0 or -1 when it does not fit. write_one: 0 done,
 * 1 when it changed no row and none_is_1 (an insert ON CONFLICT DO NOTHING: exists), -1.
 * read_one: row 0 read by rd, 0, 1 none, -1. read_all: every row into a malloc'd array of rows
 * of size sz, 0 or -1. pa_text_or_empty: NULL as "". */
int pg_col_fit(sg_store *s, const PGresult *r, int i, int c, char *out, size_t outlen);
int pg_write_one(sg_store *s, const char *sql, const pg_args *a, const char *what, int none_is_1);
int pg_read_one(sg_store *s, const char *sql, const pg_args *a, void *row,
                int (*rd)(sg_store *, const PGresult *, int, void *), const char *what);
int pg_read_all(sg_store *s, const char *sql, const pg_args *a, size_t sz,
                int (*rd)(sg_store *, const PGresult *, int, void *), void **rows, size_t *n,
                const char *what);
void pa_text_or_empty(pg_args *a, const char *t);

extern const struct sg_store_pgp_ops sg_pg_pgp_ops;
extern const struct sg_store_x509_ops sg_pg_x509_ops;
extern const struct sg_store_revocation_ops sg_pg_revocation_ops;
extern const struct sg_store_policy_ops sg_pg_policy_ops;
extern const struct sg_store_backup_ops sg_pg_backup_ops;
extern const struct sg_store_admin_ops sg_pg_admin_ops;
extern const struct sg_store_discovery_ops sg_pg_discovery_ops;
extern const struct sg_store_metrics_ops sg_pg_metrics_ops;
extern const struct sg_store_pdfpass_ops sg_pg_pdfpass_ops;
extern const struct sg_store_notary_ops sg_pg_notary_ops;
extern const struct sg_store_job_ops sg_pg_job_ops;
extern const struct sg_store_cluster_ops sg_pg_cluster_ops;
extern const struct sg_store_users_ops sg_pg_users_ops;

/* The migrations (pg_schema.c): count and text of migration i (0-based). */
extern const int sg_pg_migration_count;
extern const char *const sg_pg_migrations[];

#endif
