/* pg_policy.c - the PostgreSQL backend's policy calls (store/policy_rows.h): table policy
 * (migration 5), revisions numbered by an identity column. Owner: src/store. */
#include <stdlib.h>
#include <string.h>

#include "store/pg/pg_int.h"
#include "store/policy_rows.h"

static int add(sg_store *s, const char *text, const char *source, int64_t loaded, int64_t *rev)
{
    pg_args a = {0};
    pa_text(&a, text);
    pa_text(&a, source ? source : "");
    pa_i64(&a, loaded);
    PGresult *r = pg_run(s, "INSERT INTO policy (text, source, loaded) VALUES ($1, $2, $3) RETURNING rev", &a,
                         "adding a policy revision");
    if (!r)
        return -1;
    *rev = pg_col_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

static int newest(sg_store *s, int64_t *rev)
{
    PGresult *r =
        pg_run(s, "SELECT coalesce(max(rev), 0) FROM policy", NULL, "reading the newest policy revision");
    if (!r)
        return -1;
    *rev = pg_col_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

static int get(sg_store *s, int64_t rev, char **text, char **source, int64_t *loaded)
{
    *text = NULL;
    if (source)
        *source = NULL;
    pg_args a = {0};
    pa_i64(&a, rev);
    PGresult *r =
        pg_run(s, "SELECT text, source, loaded FROM policy WHERE rev = $1", &a, "reading a policy revision");
    if (!r)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 1;
    }
    *text = pg_col_dup(r, 0, 0);
    if (source)
        *source = pg_col_dup(r, 0, 1);
    if (loaded)
        *loaded = pg_col_i64(r, 0, 2);
    PQclear(r);
    if (*text && (!source || *source))
        return 0;
    free(*text);
    *text = NULL;
    if (source) {
        free(*source);
        *source = NULL;
    }
    return sg_store_fail(s, "store: cannot read policy revision %lld", (long long)rev);
}

const struct sg_store_policy_ops sg_pg_policy_ops = {
    .add = add,
    .newest = newest,
    .get = get,
};
