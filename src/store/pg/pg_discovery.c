/* pg_discovery.c - the PostgreSQL backend's discovery calls (store/discovery_rows.h): tables
 * discovery_cache and pgp_provenance (migration 9, as SQLite's). Owner: src/store.
 * With PostgreSQL the cache is shared by every node of a cluster: a key one node discovered is
 * found by the others in the cache and the key store, not looked up again (docs/cluster.md). */
#include <stdio.h>
#include <string.h>

#include "store/discovery_rows.h"
#include "store/pg/pg_int.h"

static int cache_put(sg_store *s, const sg_store_disc_cache *c)
{
    pg_args a = {0};
    pa_text(&a, c->key);
    pa_i64(&a, c->result);
    pa_text(&a, c->fpr);
    pa_text(&a, c->source);
    pa_text(&a, c->url);
    pa_i64(&a, c->fetched);
    pa_i64(&a, c->expires);
    return pg_cmd(s,
                  "INSERT INTO discovery_cache (key, result, fpr, source, url, fetched, expires)"
                  " VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (key) DO UPDATE SET result=$2, fpr=$3,"
                  " source=$4, url=$5, fetched=$6, expires=$7",
                  &a, "storing a discovery result") < 0
               ? -1
               : 0;
}

static int cache_get(sg_store *s, const char *key, int64_t now, sg_store_disc_cache *c)
{
    memset(c, 0, sizeof *c);
    pg_args a = {0};
    pa_text(&a, key);
    pa_i64(&a, now);
    PGresult *r = pg_run(s,
                         "SELECT result, fpr, source, url, fetched, expires FROM discovery_cache"
                         " WHERE key = $1 AND expires > $2",
                         &a, "reading a discovery result");
    if (!r)
        return -1;
    int rc = 1;
    if (PQntuples(r) > 0) {
        snprintf(c->key, sizeof c->key, "%s", key);
        c->result = (int)pg_col_i64(r, 0, 0);
        pg_col_text(r, 0, 1, c->fpr, sizeof c->fpr);
        pg_col_text(r, 0, 2, c->source, sizeof c->source);
        pg_col_text(r, 0, 3, c->url, sizeof c->url);
        c->fetched = pg_col_i64(r, 0, 4);
        c->expires = pg_col_i64(r, 0, 5);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

static int prov_put(sg_store *s, const sg_store_provenance *p)
{
    pg_args a = {0};
    pa_text(&a, p->fpr);
    pa_i64(&a, p->trust);
    pa_text(&a, p->source);
    pa_text(&a, p->url);
    pa_i64(&a, p->time);
    return pg_cmd(s,
                  "INSERT INTO pgp_provenance (fpr, trust, source, url, time) VALUES ($1,$2,$3,$4,$5)"
                  " ON CONFLICT (fpr) DO UPDATE SET trust=$2, source=$3, url=$4, time=$5",
                  &a, "storing a key's provenance") < 0
               ? -1
               : 0;
}

static int prov_get(sg_store *s, const char *fpr, sg_store_provenance *p)
{
    memset(p, 0, sizeof *p);
    pg_args a = {0};
    pa_text(&a, fpr);
    PGresult *r = pg_run(s, "SELECT trust, source, url, time FROM pgp_provenance WHERE fpr = $1", &a,
                         "reading a key's provenance");
    if (!r)
        return -1;
    int rc = 1;
    if (PQntuples(r) > 0) {
        snprintf(p->fpr, sizeof p->fpr, "%s", fpr);
        p->trust = (int)pg_col_i64(r, 0, 0);
        pg_col_text(r, 0, 1, p->source, sizeof p->source);
        pg_col_text(r, 0, 2, p->url, sizeof p->url);
        p->time = pg_col_i64(r, 0, 3);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

const struct sg_store_discovery_ops sg_pg_discovery_ops = {
    .cache_put = cache_put, .cache_get = cache_get, .prov_put = prov_put, .prov_get = prov_get};
