/* store_side.h - where a store test keeps its store, and a second connection to it for tests
 * that tamper with rows as an attacker with the database (or another process, or another
 * node) would: the store itself hands out no database handle. Owner: tests.
 * Both backends: by default a SQLite file in the test's temporary directory; when
 * SEALGATE_TEST_STORE names a PostgreSQL server (a libpq URI without a database, e.g.
 * postgresql://postgres@127.0.0.1:5432, as tests/lib/sgpg.py gives), a fresh database there
 * per store, and the side connection is a second libpq connection. The SQL a test sends through
 * the side connection is written once: side_sql() turns SQLite's blob literals x'..' into
 * PostgreSQL's '\x..'::bytea. */
#ifndef SG_TEST_STORE_SIDE_H
#define SG_TEST_STORE_SIDE_H

#include <ctype.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static sqlite3 *side_db;
static PGconn *side_pg;

/* 1 when the tests run against PostgreSQL. */
static inline int side_is_pg(void)
{
    const char *e = getenv("SEALGATE_TEST_STORE");
    return e && (strncmp(e, "postgresql://", 13) == 0 || strncmp(e, "postgres://", 11) == 0);
}

/* What each backend says when a table is missing, and when a lock could not be had. */
#define SIDE_NO_TABLE (side_is_pg() ? "does not exist" : "no such table")
#define SIDE_LOCKED (side_is_pg() ? "lock timeout" : "locked")
#define SIDE_UNIQUE (side_is_pg() ? "unique constraint" : "UNIQUE")

/* base's URI with database db (before any ?query). */
static inline void side_uri(const char *base, const char *db, char *out, size_t outlen)
{
    const char *q = strchr(base, '?');
    size_t n = q ? (size_t)(q - base) : strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    snprintf(out, outlen, "%.*s/%s%s", (int)n, base, db, q ? q : "");
}

/* The store spec for the test's store called name: dir/name.db, or a new PostgreSQL database
 * sgt_<name>_<pid> (any old one of that name dropped). 0, or -1 with a message on stderr. */
static inline int side_store(const char *dir, const char *name, char *out, size_t outlen)
{
    if (!side_is_pg()) {
        snprintf(out, outlen, "%s/%s.db", dir, name);
        return 0;
    }
    const char *base = getenv("SEALGATE_TEST_STORE");
    char admin[512], db[128], sql[300];
    snprintf(db, sizeof db, "sgt_%s_%ld", name, (long)getpid());
    for (char *c = db; *c; c++)
        if (!isalnum((unsigned char)*c))
            *c = '_';
    side_uri(base, "postgres", admin, sizeof admin);
    PGconn *c = PQconnectdb(admin);
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok)
        PQclear(PQexec(c, "SET client_min_messages = warning"));
    for (int i = 0; ok && i < 2; i++) {
        snprintf(sql, sizeof sql, i ? "CREATE DATABASE \"%s\"" : "DROP DATABASE IF EXISTS \"%s\"", db);
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    if (!ok)
        fprintf(stderr, "cannot make database %s: %s\n", db, PQerrorMessage(c));
    PQfinish(c);
    side_uri(base, db, out, outlen);
    return ok ? 0 : -1;
}

/* sql in the side connection's dialect (static buffer). */
static inline const char *side_sql(const char *sql)
{
    static char buf[8192];
    if (!side_is_pg())
        return sql;
    size_t o = 0;
    int quoted = 0; /* inside a string literal */
    for (const char *p = sql; *p && o + 16 < sizeof buf;) {
        if (!quoted && (*p == 'x' || *p == 'X') && p[1] == '\'' &&
            (p == sql || !isalnum((unsigned char)p[-1]))) {
            const char *end = strchr(p + 2, '\'');
            if (end) {
                o += (size_t)snprintf(buf + o, sizeof buf - o, "'\\x%.*s'::bytea", (int)(end - p - 2), p + 2);
                p = end + 1;
                continue;
            }
        }
        quoted ^= *p == '\'';
        buf[o++] = *p++;
    }
    buf[o] = '\0';
    return buf;
}

/* Opens the side connection to spec (after sg_store_open created the store): 1, or 0 on failure
 * (truthy as the sqlite3 handle it returned before PostgreSQL). */
static inline int side_open(const char *spec)
{
    if (side_is_pg()) {
        side_pg = PQconnectdb(spec);
        if (PQstatus(side_pg) == CONNECTION_OK) {
            PQclear(PQexec(side_pg, "SET client_min_messages = warning"));
            return 1;
        }
        fprintf(stderr, "side connection: %s\n", PQerrorMessage(side_pg));
        PQfinish(side_pg);
        side_pg = NULL;
        return 0;
    }
    if (sqlite3_open_v2(spec, &side_db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "side connection to %s: %s\n", spec, sqlite3_errmsg(side_db));
        sqlite3_close(side_db);
        side_db = NULL;
        return 0;
    }
    sqlite3_busy_timeout(side_db, 5000);
    return 1;
}

static inline void side_close(void)
{
    sqlite3_close(side_db);
    side_db = NULL;
    PQfinish(side_pg);
    side_pg = NULL;
}

/* Runs sql (SQLite's dialect, several statements allowed) on the side connection: 0 or -1. */
static inline int side_exec(const char *sql)
{
    if (side_pg) {
        PGresult *r = PQexec(side_pg, side_sql(sql));
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
            fprintf(stderr, "side: %s: %s", sql, PQerrorMessage(side_pg));
        PQclear(r);
        return ok ? 0 : -1;
    }
    return side_db && sqlite3_exec(side_db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* The first column of sql's first row as text into out: 0, or -1 (no row, an error). */
static inline int side_text(const char *sql, char *out, size_t outlen)
{
    int rc = -1;
    if (side_pg) {
        PGresult *r = PQexec(side_pg, side_sql(sql));
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
            snprintf(out, outlen, "%s", PQgetvalue(r, 0, 0));
            rc = 0;
        }
        PQclear(r);
        return rc;
    }
    sqlite3_stmt *q = NULL;
    if (side_db && sqlite3_prepare_v2(side_db, sql, -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(q, 0);
        snprintf(out, outlen, "%s", t ? (const char *)t : "");
        rc = 0;
    }
    sqlite3_finalize(q);
    return rc;
}

/* The first column of sql's first row as a number, -1 when there is none. */
static inline int side_int(const char *sql)
{
    char t[64];
    return side_text(sql, t, sizeof t) == 0 ? atoi(t) : -1;
}

/* Runs sql on a connection of its own, opened and closed around it: 0 or -1. */
static inline int side_once(const char *spec, const char *sql)
{
    sqlite3 *keep_db = side_db;
    PGconn *keep_pg = side_pg;
    side_db = NULL;
    side_pg = NULL;
    int rc = side_open(spec) ? side_exec(sql) : -1;
    side_close();
    side_db = keep_db;
    side_pg = keep_pg;
    return rc;
}

#endif
