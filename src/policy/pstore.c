/* pstore.c - policy revisions in the store (pstore.h). Owner: src/policy.
 * Revisions are only ever added, so the history of what ran when stays; the text is kept as
 * written (comments and all), so `policy show` gives back what the administrator loaded. */
#include "policy/pstore.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int sg_pstore_save(sg_store *st, const char *text, const char *source, long long *rev, char *err, size_t errlen)
{
    sqlite3 *db = sg_store_db(st);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, "INSERT INTO policy (text, source, loaded) VALUES (?, ?, ?)", -1, &s, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(s, 1, text, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, source ? source : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)time(NULL));
        rc = sqlite3_step(s);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        snprintf(err, errlen, "store: %s", sqlite3_errmsg(db));
        return -1;
    }
    *rev = (long long)sqlite3_last_insert_rowid(db);
    return 0;
}

long long sg_pstore_newest(sg_store *st)
{
    sqlite3_stmt *s = NULL;
    long long rev = -1;
    if (sqlite3_prepare_v2(sg_store_db(st), "SELECT coalesce(max(rev), 0) FROM policy", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        rev = (long long)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return rev;
}

int sg_pstore_get(sg_store *st, long long rev, char **text, char **source, long long *loaded)
{
    sqlite3_stmt *s = NULL;
    *text = NULL;
    if (source)
        *source = NULL;
    if (sqlite3_prepare_v2(sg_store_db(st), "SELECT text, source, loaded FROM policy WHERE rev = ?", -1, &s, NULL) !=
        SQLITE_OK) {
        sqlite3_finalize(s);
        return -1;
    }
    sqlite3_bind_int64(s, 1, (sqlite3_int64)rev);
    int rc = sqlite3_step(s);
    int ret = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
    if (ret == 0) {
        *text = strdup((const char *)sqlite3_column_text(s, 0));
        if (source)
            *source = strdup((const char *)sqlite3_column_text(s, 1));
        if (loaded)
            *loaded = (long long)sqlite3_column_int64(s, 2);
        if (!*text || (source && !*source))
            ret = -1;
    }
    sqlite3_finalize(s);
    return ret;
}

sg_policy *sg_pstore_active(sg_store *st, const char *const *internal, size_t ninternal, long long *rev,
                            long long *broken_rev, char *broken, size_t brokenlen)
{
    *broken_rev = 0;
    long long newest = sg_pstore_newest(st);
    if (newest < 0) {
        snprintf(broken, brokenlen, "store: cannot read the policy");
        return NULL;
    }
    /* Newest first; a broken revision (loaded by a tool that did not check, or written by an
     * older version's syntax) leaves the previous good one in force. */
    for (long long r = newest; r > 0; r--) {
        char *text = NULL, *source = NULL, err[512], name[64];
        int g = sg_pstore_get(st, r, &text, &source, NULL);
        if (g < 0) {
            snprintf(broken, brokenlen, "store: cannot read policy revision %lld", r);
            return NULL;
        }
        if (g == 1)
            continue; /* revisions are never deleted today; a gap is not an error */
        snprintf(name, sizeof name, "policy revision %lld", r);
        sg_policy *p = sg_policy_parse(text, name, internal, ninternal, err, sizeof err);
        free(text);
        free(source);
        if (p) {
            *rev = r;
            return p;
        }
        if (!*broken_rev) {
            *broken_rev = r;
            snprintf(broken, brokenlen, "%s", err);
        }
    }
    *rev = 0;
    char err[512];
    sg_policy *p = sg_policy_parse(sg_policy_default_text, "default policy", internal, ninternal, err, sizeof err);
    if (!p && !*broken_rev)
        snprintf(broken, brokenlen, "%s", err);
    return p;
}
