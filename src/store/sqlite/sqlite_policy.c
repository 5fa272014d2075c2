/* sqlite_policy.c - the SQLite backend's policy calls (store/policy_rows.h): table policy
 * (migration 5). Owner: src/store. A reload reads these only after the policy generation
 * changed, so they are cached statements at no cost per message. */
#include <stdlib.h>
#include <string.h>

#include "store/policy_rows.h"
#include "store/sqlite/sqlite_int.h"

static int add(sg_store *s, const char *text, const char *source, int64_t loaded, int64_t *rev)
{
    sqlite3_stmt *st = sq_stmt(s, "INSERT INTO policy (text, source, loaded) VALUES (?, ?, ?)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, source ? source : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, loaded);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sq_fail(s, "adding a policy revision");
    sq_done(s, st);
    if (rc == 0)
        *rev = sqlite3_last_insert_rowid(sq_of(s)->db);
    return rc;
}

static int newest(sg_store *s, int64_t *rev)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT coalesce(max(rev), 0) FROM policy");
    if (!st)
        return -1;
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : sq_fail(s, "reading the newest policy revision");
    if (rc == 0)
        *rev = sqlite3_column_int64(st, 0);
    sq_done(s, st);
    return rc;
}

static int get(sg_store *s, int64_t rev, char **text, char **source, int64_t *loaded)
{
    *text = NULL;
    if (source)
        *source = NULL;
    sqlite3_stmt *st = sq_stmt(s, "SELECT text, source, loaded FROM policy WHERE rev = ?");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, rev);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0), *src = sqlite3_column_text(st, 1);
        *text = t ? strdup((const char *)t) : NULL;
        if (source)
            *source = src ? strdup((const char *)src) : NULL;
        if (loaded)
            *loaded = sqlite3_column_int64(st, 2);
        rc = *text && (!source || *source) ? 0 : sg_store_fail(s, "store: cannot read policy revision %lld",
                                                               (long long)rev);
    } else {
        rc = rc == SQLITE_DONE ? 1 : sq_fail(s, "reading a policy revision");
    }
    sq_done(s, st);
    if (rc < 0) {
        free(*text);
        *text = NULL;
        if (source) {
            free(*source);
            *source = NULL;
        }
    }
    return rc;
}

const struct sg_store_policy_ops sg_sqlite_policy_ops = {
    .add = add,
    .newest = newest,
    .get = get,
};
