/* pg_store.c - the PostgreSQL backend: connecting (libpq URI, password from a file or libpq's
 * environment), the migrations under an advisory lock, transactions, generations, the
 * change notifications (LISTEN/NOTIFY) and the prepared statements the typed calls (pg_*.c)
 * share. Owner: src/store.
 * SECURITY: the password is read from store_password_file (or libpq's PGPASSWORD/PGPASSFILE)
 * and handed to libpq only; every message names the store by its URI with any password cut
 * out (pg_redact), so neither the log nor an error shows it. The connection is one per
 * sg_store and, like SQLite's, serves one thread at a time. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/pg/pg_int.h"
#include "store/store_int.h"

/* Key of the advisory lock the migrations run under: "sealgate" in ASCII, as a number. */
#define PG_MIGRATE_LOCK "7161692823145178981"
#define PG_CHANNEL "sealgate_store"
/* Every session: listen for changes; a lock held elsewhere (a long DDL, an administrator's
 * LOCK TABLE) fails a call after 5 s, as SQLite's busy timeout does, instead of stalling cryptd
 * without end (the message is deferred and retried). */
#define PG_SESSION "LISTEN " PG_CHANNEL "; SET lock_timeout = '5s'"

void sg_pg_redact(const char *uri, char *out, size_t outlen)
{
    /* postgresql://user:password@host/db?password=...: the userinfo's password and a password
     * parameter are replaced by "***". */
    snprintf(out, outlen, "%s", uri);
    char *scheme = strstr(out, "://");
    if (scheme) {
        char *auth = scheme + 3, *end = auth + strcspn(auth, "/?");
        char *at = NULL;
        for (char *c = auth; c < end; c++)
            if (*c == '@')
                at = c;
        char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            char tail[512];
            snprintf(tail, sizeof tail, "%s", at);
            snprintf(colon, outlen - (size_t)(colon - out), ":***%s", tail);
        }
    }
    char *pw = strstr(out, "password=");
    if (pw) {
        char *val = pw + 9, *amp = val + strcspn(val, "&"), tail[512];
        snprintf(tail, sizeof tail, "%s", amp);
        snprintf(val, outlen - (size_t)(val - out), "***%s", tail);
    }
}

/* libpq's message without its trailing newline. */
static void conn_msg(PGconn *c, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", c ? PQerrorMessage(c) : "out of memory");
    size_t n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
    /* One line for the log: libpq's hints come on lines of their own. */
    for (char *c = out; *c; c++)
        if (*c == '\n' || *c == '\t')
            *c = ' ';
}

static void drain(pg_store *p)
{
    static const char *const kind[] = {
        [SG_GEN_PGP] = "pgp", [SG_GEN_X509] = "x509", [SG_GEN_POLICY] = "policy", [SG_GEN_ADMIN] = "admin", [SG_GEN_USERS] = "users"};
    PGnotify *n;
    while ((n = PQnotifies(p->conn))) {
        for (unsigned k = 0; k < sizeof kind / sizeof kind[0]; k++)
            if (strcmp(n->extra, kind[k]) == 0)
                p->notified |= 1u << k, p->stale |= 1u << k;
        PQfreemem(n);
    }
}

/* Runs sql (several statements allowed) on a bare connection: 0, or -1 with msg. */
static int raw_exec(PGconn *c, const char *sql, char *msg, size_t msglen)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) {
        snprintf(msg, msglen, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(c));
        size_t n = strlen(msg);
        while (n && msg[n - 1] == '\n')
            msg[--n] = '\0';
    }
    PQclear(r);
    return ok ? 0 : -1;
}

/* The schema version (-1 on error); the table is created by the first migration pass. */
static int read_version(PGconn *c)
{
    PGresult *r = PQexec(c, "SELECT version FROM sg_schema_version");
    int v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return v;
}

/* Brings the schema to the newest version. Every node may start at once: each step runs in a
 * transaction holding an advisory lock and reads the version again under it, so each
 * migration runs exactly once in the cluster (DDL is transactional in PostgreSQL). */
static int migrate(PGconn *c, const char *uri, char *err, size_t errlen)
{
    char msg[1024] = "";
    for (;;) {
        if (raw_exec(
                c,
                "BEGIN; SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ");"
                "CREATE TABLE IF NOT EXISTS sg_schema_version (version bigint NOT NULL);"
                "INSERT INTO sg_schema_version SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM sg_schema_version);",
                msg, sizeof msg) < 0) {
            snprintf(err, errlen, "%s: cannot lock the store for migration: %s", uri, msg);
            raw_exec(c, "ROLLBACK", msg, sizeof msg);
            return -1;
        }
        int v = read_version(c);
        if (v < 0 || v > sg_pg_migration_count) {
            if (v < 0)
                snprintf(err, errlen, "%s: cannot read the schema version", uri);
            else
                snprintf(err, errlen, "%s: schema version %d is newer than this sealgate (%d)", uri, v,
                         sg_pg_migration_count);
            raw_exec(c, "ROLLBACK", msg, sizeof msg);
            return -1;
        }
        if (v == sg_pg_migration_count)
            return raw_exec(c, "COMMIT", msg, sizeof msg) < 0
                       ? (snprintf(err, errlen, "%s: %s", uri, msg), -1)
                       : 0;
        char bump[96];
        snprintf(bump, sizeof bump, "UPDATE sg_schema_version SET version = %d", v + 1);
        if (raw_exec(c, sg_pg_migrations[v], msg, sizeof msg) < 0 || raw_exec(c, bump, msg, sizeof msg) < 0 ||
            raw_exec(c, "COMMIT", msg, sizeof msg) < 0) {
            char m2[64];
            snprintf(err, errlen, "%s: migration %d failed: %s", uri, v + 1, msg);
            raw_exec(c, "ROLLBACK", m2, sizeof m2);
            return -1;
        }
    }
}

/* The first line of path, for the password: 0, or -1 with err. */
static int read_password(const char *path, char *pw, size_t pwlen, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "cannot read the store password file %s: %m", path);
        return -1;
    }
    if (!fgets(pw, (int)pwlen, f))
        pw[0] = '\0';
    fclose(f);
    pw[strcspn(pw, "\r\n")] = '\0';
    if (!pw[0]) {
        snprintf(err, errlen, "the store password file %s is empty", path);
        return -1;
    }
    return 0;
}

static void pg_close(void *impl)
{
    pg_store *p = impl;
    if (!p)
        return;
    PQfinish(p->conn);
    free(p);
}

static void *pg_open(const char *spec, const char *password_file, char *err, size_t errlen)
{
    pg_store *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    sg_pg_redact(spec, p->uri, sizeof p->uri);
    char pw[1024] = "";
    if (password_file && password_file[0] && read_password(password_file, pw, sizeof pw, err, errlen) < 0) {
        pg_close(p);
        return NULL;
    }
    /* Later entries override the URI's: the password from the file wins over one in the URI.
     * connect_timeout before dbname, so a URI may set its own. */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", pw[0] ? "password" : NULL, NULL};
    const char *vals[] = {"10", "sealgate", spec, pw[0] ? pw : NULL, NULL};
    p->conn = PQconnectdbParams(keys, vals, 1);
    explicit_bzero(pw, sizeof pw);
    char msg[1024];
    if (PQstatus(p->conn) != CONNECTION_OK) {
        conn_msg(p->conn, msg, sizeof msg);
        snprintf(err, errlen, "%s: %s", p->uri, msg);
        pg_close(p);
        return NULL;
    }
    /* Notices (e.g. "relation already exists, skipping") are not for the log. */
    if (raw_exec(p->conn, "SET client_min_messages = warning", msg, sizeof msg) < 0 ||
        migrate(p->conn, p->uri, err, errlen) < 0) {
        pg_close(p);
        return NULL;
    }
    if (raw_exec(p->conn, PG_SESSION, msg, sizeof msg) < 0) {
        snprintf(err, errlen, "%s: LISTEN: %s", p->uri, msg);
        pg_close(p);
        return NULL;
    }
    return p;
}

static int pg_schema_version(void *impl)
{
    return read_version(((pg_store *)impl)->conn);
}

/* A lost connection is made again (libpq tries the URI's hosts in order, honouring
 * target_session_attrs, so a promoted replica is found), outside a transaction only: inside
 * one the caller's work is gone and it must see an error. Prepared statements and LISTEN
 * belong to the old session and are made again. */
static int ensure_conn(sg_store *s)
{
    pg_store *p = pg_of(s);
    /* A server that restarted or was stopped closed this connection: reading what waits on the
     * socket (never blocking) finds that now, so the query goes to a new connection instead of
     * failing on the dead one (the first request after a database restart). */
    if (PQstatus(p->conn) == CONNECTION_OK && !p->in_tx && PQconsumeInput(p->conn))
        drain(p);
    if (PQstatus(p->conn) == CONNECTION_OK)
        return 0;
    if (p->in_tx)
        return sg_store_fail(s, "store: %s: the connection was lost inside a transaction", p->uri);
    PQreset(p->conn);
    char msg[1024];
    if (PQstatus(p->conn) != CONNECTION_OK) {
        conn_msg(p->conn, msg, sizeof msg);
        return sg_store_fail(s, "store: %s: %s", p->uri, msg);
    }
    p->nprepared = 0;
    /* Changes made while away were not announced: report every kind as changed. */
    p->notified = ~0u;
    memset(p->gen_at, 0, sizeof p->gen_at);
    p->njobs = 0; /* a session's advisory locks ended with it */
    if (raw_exec(p->conn, "SET client_min_messages = warning;" PG_SESSION, msg, sizeof msg) < 0)
        return sg_store_fail(s, "store: %s: LISTEN: %s", p->uri, msg);
    return 0;
}

static int fail_result(sg_store *s, PGresult *r, const char *what)
{
    pg_store *p = pg_of(s);
    char msg[1024];
    if (r && PQresultErrorMessage(r)[0])
        snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
    else
        conn_msg(p->conn, msg, sizeof msg);
    msg[strcspn(msg, "\n")] = '\0';
    PQclear(r);
    if (PQstatus(p->conn) != CONNECTION_OK)
        return sg_store_fail(s, "store: %s: %s (%s)", what, msg, p->uri);
    return sg_store_fail(s, "store: %s: %s", what, msg);
}

void pa_text(pg_args *a, const char *t)
{
    if (a->n >= PG_ARGS_MAX) { /* a programming error: pg_run refuses the query */
        a->bad = true;
        return;
    }
    a->v[a->n] = t;
    a->len[a->n] = 0;
    a->fmt[a->n++] = 0;
}

void pa_i64(pg_args *a, int64_t v)
{
    if (a->n >= PG_ARGS_MAX) {
        a->bad = true;
        return;
    }
    snprintf(a->num[a->n], sizeof a->num[a->n], "%lld", (long long)v);
    pa_text(a, a->num[a->n]);
}

void pa_bytes(pg_args *a, const void *b, size_t len)
{
    if (a->n >= PG_ARGS_MAX || len > INT_MAX) { /* libpq takes an int length: refused, not cut */
        a->bad = true;
        return;
    }
    a->v[a->n] = b ? (b && len ? b : "") : NULL;
    a->len[a->n] = (int)len;
    a->fmt[a->n++] = 1;
}

PGresult *pg_run(sg_store *s, const char *sql, const pg_args *a, const char *what)
{
    pg_store *p = pg_of(s);
    if (a && a->bad) {
        sg_store_fail(s, "store: %s: a value too large, or too many values", what);
        return NULL;
    }
    if (ensure_conn(s) < 0)
        return NULL;
    int i = 0;
    char name[16];
    while (i < p->nprepared && p->prepared[i].sql != sql)
        i++;
    snprintf(name, sizeof name, "s%d", i);
    if (i == p->nprepared) {
        if (i == PG_PREPARED_MAX) {
            sg_store_fail(s, "store: too many statements");
            return NULL;
        }
        PGresult *r = PQprepare(p->conn, name, sql, 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fail_result(s, r, what);
            return NULL;
        }
        PQclear(r);
        p->prepared[p->nprepared++].sql = sql;
    }
    PGresult *r =
        PQexecPrepared(p->conn, name, a ? a->n : 0, a ? a->v : NULL, a ? a->len : NULL, a ? a->fmt : NULL, 1);
    drain(p);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        fail_result(s, r, what);
        return NULL;
    }
    return r;
}

int64_t pg_cmd(sg_store *s, const char *sql, const pg_args *a, const char *what)
{
    PGresult *r = pg_run(s, sql, a, what);
    if (!r)
        return -1;
    int64_t n = atoll(PQcmdTuples(r));
    PQclear(r);
    return n;
}

int pg_exec(sg_store *s, const char *sql, const char *what)
{
    if (ensure_conn(s) < 0)
        return -1;
    PGresult *r = PQexec(pg_of(s)->conn, sql);
    drain(pg_of(s));
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
        return fail_result(s, r, what);
    PQclear(r);
    return 0;
}

int64_t pg_col_i64(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    const unsigned char *b = (const unsigned char *)PQgetvalue(r, row, col);
    int n = PQgetlength(r, row, col);
    uint64_t v = 0;
    for (int i = 0; i < n && i < 8; i++)
        v = v << 8 | b[i];
    /* Sign-extend the narrower integer types (int4, int2); bool is 0 or 1. */
    if (n > 0 && n < 8 && (b[0] & 0x80))
        v |= ~0ull << (8 * n);
    return (int64_t)v;
}

void pg_col_text(const PGresult *r, int row, int col, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

char *pg_col_dup(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : strdup(PQgetvalue(r, row, col));
}

int pg_col_bytes(sg_store *s, const PGresult *r, int row, int col, const char *fpr, uint8_t **out,
                 size_t *len)
{
    int n = PQgetisnull(r, row, col) ? 0 : PQgetlength(r, row, col);
    if (n <= 0 || !(*out = malloc((size_t)n)))
        return sg_store_fail(s, "store: empty or unreadable data for %s", fpr);
    memcpy(*out, PQgetvalue(r, row, col), (size_t)n);
    *len = (size_t)n;
    return 0;
}

static int pg_begin(sg_store *s)
{
    if (pg_exec(s, "BEGIN", "beginning a transaction") < 0)
        return -1;
    pg_of(s)->in_tx = true;
    return 0;
}

static int pg_commit(sg_store *s)
{
    int rc = pg_exec(s, "COMMIT", "committing");
    pg_of(s)->in_tx = false;
    return rc;
}

static void pg_rollback(sg_store *s)
{
    pg_store *p = pg_of(s);
    if (PQstatus(p->conn) == CONNECTION_OK)
        PQclear(PQexec(p->conn, "ROLLBACK"));
    p->in_tx = false;
}

/* Seconds a generation read from the server is trusted while no NOTIFY said its kind changed:
 * the safety net for an announcement lost without the connection dropping. */
#define PG_GEN_TRUST 5

static int64_t mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec + 1; /* never 0: gen_at 0 means "not read" */
}

/* Callers ask for a generation per message; LISTEN/NOTIFY makes most of those free for a
 * handle that trusts announcements (sg_store_trust_announcements: cryptd's engines): the
 * announcements already on the socket are read (without blocking), and a kind none announced
 * since its last read keeps the number read then, for at most PG_GEN_TRUST seconds. A server
 * that went away shows as a closed socket here, so the read then goes to the server and fails
 * (fail closed: a stopped database is never served from memory). Inside a transaction the
 * server is always asked (its own changes are announced only at commit). */
static int pg_generation(sg_store *s, sg_store_gen which, int64_t *gen)
{
    static const char *const kind[] = {
        [SG_GEN_PGP] = "pgp", [SG_GEN_X509] = "x509", [SG_GEN_POLICY] = "policy", [SG_GEN_ADMIN] = "admin", [SG_GEN_USERS] = "users"};
    if ((unsigned)which >= sizeof kind / sizeof kind[0])
        return sg_store_fail(s, "store: no such generation %d", (int)which);
    pg_store *p = pg_of(s);
    unsigned bit = 1u << which;
    int64_t now = mono_seconds();
    if (!p->in_tx && PQstatus(p->conn) == CONNECTION_OK) {
        if (PQconsumeInput(p->conn))
            drain(p);
        if (p->trust && PQstatus(p->conn) == CONNECTION_OK && p->gen_at[which] && !(p->stale & bit) &&
            now - p->gen_at[which] < PG_GEN_TRUST) {
            *gen = p->gen[which];
            return 0;
        }
    }
    p->stale &= ~bit; /* an announcement from now on marks it again */
    pg_args a = {0};
    pa_text(&a, kind[which]);
    PGresult *r = pg_run(s, "SELECT gen FROM store_generation WHERE kind = $1", &a, "reading a generation");
    if (!r) {
        p->gen_at[which] = 0;
        return -1;
    }
    int rc = PQntuples(r) == 1 ? 0 : sg_store_fail(s, "store: no %s generation", kind[which]);
    if (rc == 0) {
        *gen = pg_col_i64(r, 0, 0);
        if (!p->in_tx) {
            p->gen[which] = *gen;
            p->gen_at[which] = now;
        }
    }
    PQclear(r);
    return rc;
}

static int pg_poll_changes(sg_store *s, unsigned *kinds)
{
    pg_store *p = pg_of(s);
    *kinds = 0;
    /* Never a connection attempt here (it could block for connect_timeout): a lost connection
     * is an error until the next query makes it again, which then reports every kind. */
    if (p->notified) { /* set by a reconnection or a query's results since the last poll */
        *kinds = p->notified;
        p->notified = 0;
        return 0;
    }
    if (PQstatus(p->conn) != CONNECTION_OK || !PQconsumeInput(p->conn)) {
        char msg[512];
        conn_msg(p->conn, msg, sizeof msg);
        return sg_store_fail(s, "store: %s: %s", p->uri, msg);
    }
    drain(p);
    *kinds = p->notified;
    p->notified = 0;
    return 0;
}

static void pg_trust_announcements(sg_store *s)
{
    pg_of(s)->trust = true;
}

static int pg_notify_fd(sg_store *s)
{
    return PQsocket(pg_of(s)->conn);
}

const sg_store_backend sg_store_pg = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .schema_version = pg_schema_version,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .generation = pg_generation,
    .poll_changes = pg_poll_changes,
    .notify_fd = pg_notify_fd,
    .trust_announcements = pg_trust_announcements,
    .pgp = &sg_pg_pgp_ops,
    .x509 = &sg_pg_x509_ops,
    .revocation = &sg_pg_revocation_ops,
    .policy = &sg_pg_policy_ops,
    .backup = &sg_pg_backup_ops,
    .admin = &sg_pg_admin_ops,
    .discovery = &sg_pg_discovery_ops,
    .metrics = &sg_pg_metrics_ops,
    .pdfpass = &sg_pg_pdfpass_ops,
    .notary = &sg_pg_notary_ops,
    .jobs = &sg_pg_job_ops,
    .cluster = &sg_pg_cluster_ops,
    .users = &sg_pg_users_ops,
};
