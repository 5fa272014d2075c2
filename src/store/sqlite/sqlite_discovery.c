/* sqlite_discovery.c - the SQLite backend's discovery calls (store/discovery_rows.h): tables
 * discovery_cache and pgp_provenance (the last migration of sqlite_store.c). Owner: src/store. */
#include <stdio.h>
#include <string.h>

#include "store/discovery_rows.h"
#include "store/sqlite/sqlite_int.h"

static int run(sg_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sq_fail(s, what);
    sq_done(s, st);
    return rc;
}

static int cache_put(sg_store *s, const sg_store_disc_cache *c)
{
    sqlite3_stmt *st = sq_stmt(s, "INSERT OR REPLACE INTO discovery_cache (key, result, fpr, source, url,"
                                  " fetched, expires) VALUES (?,?,?,?,?,?,?)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, c->key, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, c->result);
    sqlite3_bind_text(st, 3, c->fpr, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, c->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, c->url, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, c->fetched);
    sqlite3_bind_int64(st, 7, c->expires);
    return run(s, st, "storing a discovery result");
}

static int cache_get(sg_store *s, const char *key, int64_t now, sg_store_disc_cache *c)
{
    memset(c, 0, sizeof *c);
    sqlite3_stmt *st = sq_stmt(s, "SELECT result, fpr, source, url, fetched, expires FROM discovery_cache"
                                  " WHERE key = ? AND expires > ?");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(c->key, sizeof c->key, "%s", key);
        c->result = sqlite3_column_int(st, 0);
        sq_col_text(st, 1, c->fpr, sizeof c->fpr);
        sq_col_text(st, 2, c->source, sizeof c->source);
        sq_col_text(st, 3, c->url, sizeof c->url);
        c->fetched = sqlite3_column_int64(st, 4);
        c->expires = sqlite3_column_int64(st, 5);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? 1 : sq_fail(s, "reading a discovery result");
    }
    sq_done(s, st);
    return rc;
}

static int prov_put(sg_store *s, const sg_store_provenance *p)
{
    sqlite3_stmt *st =
        sq_stmt(s, "INSERT OR REPLACE INTO pgp_provenance (fpr, trust, source, url, time) VALUES (?,?,?,?,?)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, p->fpr, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, p->trust);
    sqlite3_bind_text(st, 3, p->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, p->url, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, p->time);
    return run(s, st, "storing a key's provenance");
}

static int prov_get(sg_store *s, const char *fpr, sg_store_provenance *p)
{
    memset(p, 0, sizeof *p);
    sqlite3_stmt *st = sq_stmt(s, "SELECT trust, source, url, time FROM pgp_provenance WHERE fpr = ?");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(p->fpr, sizeof p->fpr, "%s", fpr);
        p->trust = sqlite3_column_int(st, 0);
        sq_col_text(st, 1, p->source, sizeof p->source);
        sq_col_text(st, 2, p->url, sizeof p->url);
        p->time = sqlite3_column_int64(st, 3);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? 1 : sq_fail(s, "reading a key's provenance");
    }
    sq_done(s, st);
    return rc;
}

const struct sg_store_discovery_ops sg_sqlite_discovery_ops = {
    .cache_put = cache_put, .cache_get = cache_get, .prov_put = prov_put, .prov_get = prov_get};
