/* sqlite_admin.c - the SQLite backend's admin calls (store/admin_rows.h): tables admin_accounts,
 * admin_tokens, admin_sessions, audit_events (migration 8). Owner: src/store.
 * Session lookups and touches run on every portal request and audit adds on every operation:
 * cached statements (sq_stmt). Rows are fixed-size structs; a stored text longer than its
 * field is an error, never silently cut (a cut name could match another account). */
#include <stdlib.h>
#include <string.h>

#include "store/admin_rows.h"
#include "store/sqlite/sqlite_int.h"

/* Column i's text into out: 0, or -1 with sg_store_error when it does not fit. */
int sq_col_fit(sg_store *s, sqlite3_stmt *st, int i, char *out, size_t outlen)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, i) : 0;
    if (n >= outlen)
        return sg_store_fail(s, "store: stored %s too long (%zu bytes)", sqlite3_column_name(st, i), n);
    memcpy(out, t ? (const char *)t : "", n);
    out[n] = '\0';
    return 0;
}

/* Steps a write; 0 done, 1 when it changed no row and none_is_1, -1. Gives st back. */
int sq_write_step(sg_store *s, sqlite3_stmt *st, const char *what, int none_is_1)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT && none_is_1 == 2) { /* insert of an existing key */
        sq_done(s, st);
        return 1;
    }
    rc = rc == SQLITE_DONE ? 0 : sq_fail(s, what);
    if (rc == 0 && none_is_1 == 1 && sqlite3_changes(sq_of(s)->db) == 0)
        rc = 1;
    sq_done(s, st);
    return rc;
}
#define CHANGED SQ_CHANGED
#define INSERT SQ_INSERT

/* Runs st (bound by the caller) to one row read by rd: 0, 1 none, -1. */
int sq_read_one(sg_store *s, sqlite3_stmt *st, void *row, int (*rd)(sg_store *, sqlite3_stmt *, void *),
                    const char *what)
{
    int rc = sqlite3_step(st);
    rc = rc == SQLITE_ROW ? rd(s, st, row) : rc == SQLITE_DONE ? 1 : sq_fail(s, what);
    sq_done(s, st);
    return rc;
}

/* Runs st (bound by the caller) to a malloc'd array of rows of size sz read by rd. 0 or -1. */
int sq_read_all(sg_store *s, sqlite3_stmt *st, size_t sz, int (*rd)(sg_store *, sqlite3_stmt *, void *),
                    void **rows, size_t *n, const char *what)
{
    *rows = NULL;
    *n = 0;
    size_t cap = 0;
    int rc = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            void *nv = realloc(*rows, cap * sz);
            if (!nv) {
                rc = sg_store_fail(s, "out of memory");
                break;
            }
            *rows = nv;
        }
        if ((rc = rd(s, st, (char *)*rows + *n * sz)) < 0)
            break;
        (*n)++;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = sq_fail(s, what);
    sq_done(s, st);
    if (rc < 0) {
        free(*rows);
        *rows = NULL;
        *n = 0;
    }
    return rc;
}

static void bind_text(sqlite3_stmt *st, int i, const char *t)
{
    sqlite3_bind_text(st, i, t ? t : "", -1, SQLITE_STATIC);
}

/* --- accounts --- */

#define ACCOUNT_COLS                                                                                         \
    "name, hash, roles, created, failed, locked_until, last_login, must_change, totp_secret, totp_state, "   \
    "totp_step"

static int rd_account(sg_store *s, sqlite3_stmt *st, void *row)
{
    sg_store_account *a = row;
    memset(a, 0, sizeof *a);
    if (sq_col_fit(s, st, 0, a->name, sizeof a->name) < 0 || sq_col_fit(s, st, 1, a->hash, sizeof a->hash) < 0)
        return -1;
    a->roles = (uint32_t)sqlite3_column_int64(st, 2);
    a->created = sqlite3_column_int64(st, 3);
    a->failed = sqlite3_column_int(st, 4);
    a->locked_until = sqlite3_column_int64(st, 5);
    a->last_login = sqlite3_column_int64(st, 6);
    a->must_change = sqlite3_column_int(st, 7) != 0;
    if (sq_col_fit(s, st, 8, a->totp_secret, sizeof a->totp_secret) < 0)
        return -1;
    a->totp_state = sqlite3_column_int(st, 9);
    a->totp_step = sqlite3_column_int64(st, 10);
    return 0;
}

static int account_add(sg_store *s, const sg_store_account *a)
{
    sqlite3_stmt *st = sq_stmt(s, "INSERT INTO admin_accounts (" ACCOUNT_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    if (!st)
        return -1;
    bind_text(st, 1, a->name);
    bind_text(st, 2, a->hash);
    sqlite3_bind_int64(st, 3, a->roles);
    sqlite3_bind_int64(st, 4, a->created);
    sqlite3_bind_int(st, 5, a->failed);
    sqlite3_bind_int64(st, 6, a->locked_until);
    sqlite3_bind_int64(st, 7, a->last_login);
    sqlite3_bind_int(st, 8, a->must_change);
    bind_text(st, 9, a->totp_secret);
    sqlite3_bind_int(st, 10, a->totp_state);
    sqlite3_bind_int64(st, 11, a->totp_step);
    return sq_write_step(s, st, "adding an account", INSERT);
}

static int account_get(sg_store *s, const char *name, sg_store_account *a)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT " ACCOUNT_COLS " FROM admin_accounts WHERE name = ?");
    if (!st)
        return -1;
    bind_text(st, 1, name);
    return sq_read_one(s, st, a, rd_account, "reading an account");
}

static int account_list(sg_store *s, sg_store_account **a, size_t *n)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT " ACCOUNT_COLS " FROM admin_accounts ORDER BY name");
    if (!st)
        return -1;
    return sq_read_all(s, st, sizeof **a, rd_account, (void **)a, n, "listing accounts");
}

static int account_delete(sg_store *s, const char *name)
{
    static const char *const sql[] = {"DELETE FROM admin_sessions WHERE account = ?",
                                      "DELETE FROM admin_tokens WHERE owner = ?",
                                      "DELETE FROM admin_accounts WHERE name = ?"};
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        sqlite3_stmt *st = sq_stmt(s, sql[i]);
        if (!st)
            return -1;
        bind_text(st, 1, name);
        rc = sq_write_step(s, st, "deleting an account", i == 2 ? CHANGED : 0);
    }
    return rc;
}

static int account_set_roles(sg_store *s, const char *name, uint32_t roles)
{
    sqlite3_stmt *st = sq_stmt(s, "UPDATE admin_accounts SET roles = ? WHERE name = ?");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, roles);
    bind_text(st, 2, name);
    return sq_write_step(s, st, "changing an account's roles", CHANGED);
}

static int account_set_hash(sg_store *s, const char *name, const char *hash)
{
    sqlite3_stmt *st = sq_stmt(s, "UPDATE admin_accounts SET hash = ? WHERE name = ?");
    if (!st)
        return -1;
    bind_text(st, 1, hash);
    bind_text(st, 2, name);
    return sq_write_step(s, st, "changing a password hash", CHANGED);
}

static int account_set_login(sg_store *s, const char *name, int failed, int64_t locked_until,
                             int64_t last_login)
{
    sqlite3_stmt *st =
        sq_stmt(s, "UPDATE admin_accounts SET failed = ?, locked_until = ?, last_login = ? WHERE name = ?");
    if (!st)
        return -1;
    sqlite3_bind_int(st, 1, failed);
    sqlite3_bind_int64(st, 2, locked_until);
    sqlite3_bind_int64(st, 3, last_login);
    bind_text(st, 4, name);
    return sq_write_step(s, st, "recording a login", CHANGED);
}

static int account_set_must_change(sg_store *s, const char *name, bool must_change)
{
    sqlite3_stmt *st = sq_stmt(s, "UPDATE admin_accounts SET must_change = ? WHERE name = ?");
    if (!st)
        return -1;
    sqlite3_bind_int(st, 1, must_change);
    bind_text(st, 2, name);
    return sq_write_step(s, st, "marking a password to change", CHANGED);
}

static int account_set_totp(sg_store *s, const char *name, const char *secret, int state)
{
    sqlite3_stmt *st = sq_stmt(s, "UPDATE admin_accounts SET totp_secret = ?, totp_state = ? WHERE name = ?");
    if (!st)
        return -1;
    bind_text(st, 1, secret);
    sqlite3_bind_int(st, 2, state);
    bind_text(st, 3, name);
    return sq_write_step(s, st, "setting a second factor", CHANGED);
}

static int account_totp_use(sg_store *s, const char *name, int64_t step)
{
    sqlite3_stmt *st = sq_stmt(s, "UPDATE admin_accounts SET totp_step = ?1 WHERE name = ?2 AND totp_step < ?1");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, step);
    bind_text(st, 2, name);
    return sq_write_step(s, st, "taking a one-time code", CHANGED);
}

/* --- tokens --- */

#define TOKEN_COLS "id, secret_hash, roles, owner, label, created, revoked"

static int rd_token(sg_store *s, sqlite3_stmt *st, void *row)
{
    sg_store_token *t = row;
    memset(t, 0, sizeof *t);
    if (sq_col_fit(s, st, 0, t->id, sizeof t->id) < 0 ||
        sq_col_fit(s, st, 1, t->secret_hash, sizeof t->secret_hash) < 0 ||
        sq_col_fit(s, st, 3, t->owner, sizeof t->owner) < 0 || sq_col_fit(s, st, 4, t->label, sizeof t->label) < 0)
        return -1;
    t->roles = (uint32_t)sqlite3_column_int64(st, 2);
    t->created = sqlite3_column_int64(st, 5);
    t->revoked = sqlite3_column_int64(st, 6);
    return 0;
}

static int token_add(sg_store *s, const sg_store_token *t)
{
    sqlite3_stmt *st = sq_stmt(s, "INSERT INTO admin_tokens (" TOKEN_COLS ") VALUES (?,?,?,?,?,?,?)");
    if (!st)
        return -1;
    bind_text(st, 1, t->id);
    bind_text(st, 2, t->secret_hash);
    sqlite3_bind_int64(st, 3, t->roles);
    bind_text(st, 4, t->owner);
    bind_text(st, 5, t->label);
    sqlite3_bind_int64(st, 6, t->created);
    sqlite3_bind_int64(st, 7, t->revoked);
    return sq_write_step(s, st, "adding a token", INSERT);
}

static int token_get(sg_store *s, const char *id, sg_store_token *t)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT " TOKEN_COLS " FROM admin_tokens WHERE id = ?");
    if (!st)
        return -1;
    bind_text(st, 1, id);
    return sq_read_one(s, st, t, rd_token, "reading a token");
}

static int token_list(sg_store *s, const char *owner, sg_store_token **t, size_t *n)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT " TOKEN_COLS " FROM admin_tokens WHERE ?1 IS NULL OR owner = ?1"
                                  " ORDER BY created DESC, id");
    if (!st)
        return -1;
    if (owner)
        bind_text(st, 1, owner);
    return sq_read_all(s, st, sizeof **t, rd_token, (void **)t, n, "listing tokens");
}

static int token_revoke(sg_store *s, const char *id, int64_t when)
{
    sqlite3_stmt *st = sq_stmt(s, "UPDATE admin_tokens SET revoked = ? WHERE id = ? AND revoked = 0");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, when > 0 ? when : 1);
    bind_text(st, 2, id);
    return sq_write_step(s, st, "revoking a token", CHANGED);
}

/* --- sessions --- */

#define SESSION_COLS "id_hash, account, created, last_seen, csrf, client"

static int rd_session(sg_store *s, sqlite3_stmt *st, void *row)
{
    sg_store_session *x = row;
    memset(x, 0, sizeof *x);
    if (sq_col_fit(s, st, 0, x->id_hash, sizeof x->id_hash) < 0 ||
        sq_col_fit(s, st, 1, x->account, sizeof x->account) < 0 ||
        sq_col_fit(s, st, 4, x->csrf, sizeof x->csrf) < 0 || sq_col_fit(s, st, 5, x->client, sizeof x->client) < 0)
        return -1;
    x->created = sqlite3_column_int64(st, 2);
    x->last_seen = sqlite3_column_int64(st, 3);
    return 0;
}

static int session_add(sg_store *s, const sg_store_session *x)
{
    sqlite3_stmt *st = sq_stmt(s, "INSERT INTO admin_sessions (" SESSION_COLS ") VALUES (?,?,?,?,?,?)");
    if (!st)
        return -1;
    bind_text(st, 1, x->id_hash);
    bind_text(st, 2, x->account);
    sqlite3_bind_int64(st, 3, x->created);
    sqlite3_bind_int64(st, 4, x->last_seen);
    bind_text(st, 5, x->csrf);
    bind_text(st, 6, x->client);
    return sq_write_step(s, st, "adding a session", INSERT);
}

static int session_get(sg_store *s, const char *id_hash, sg_store_session *x)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT " SESSION_COLS " FROM admin_sessions WHERE id_hash = ?");
    if (!st)
        return -1;
    bind_text(st, 1, id_hash);
    return sq_read_one(s, st, x, rd_session, "reading a session");
}

static int session_touch(sg_store *s, const char *id_hash, int64_t now)
{
    sqlite3_stmt *st = sq_stmt(s, "UPDATE admin_sessions SET last_seen = ? WHERE id_hash = ?");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, now);
    bind_text(st, 2, id_hash);
    return sq_write_step(s, st, "touching a session", CHANGED);
}

static int session_delete(sg_store *s, const char *id_hash)
{
    sqlite3_stmt *st = sq_stmt(s, "DELETE FROM admin_sessions WHERE id_hash = ?");
    if (!st)
        return -1;
    bind_text(st, 1, id_hash);
    return sq_write_step(s, st, "ending a session", CHANGED);
}

static int session_list(sg_store *s, const char *account, sg_store_session **x, size_t *n)
{
    sqlite3_stmt *st =
        sq_stmt(s, "SELECT " SESSION_COLS " FROM admin_sessions WHERE ?1 IS NULL OR account = ?1"
                   " ORDER BY created DESC, id_hash");
    if (!st)
        return -1;
    if (account)
        bind_text(st, 1, account);
    return sq_read_all(s, st, sizeof **x, rd_session, (void **)x, n, "listing sessions");
}

static int session_delete_account(sg_store *s, const char *account)
{
    sqlite3_stmt *st = sq_stmt(s, "DELETE FROM admin_sessions WHERE account = ?");
    if (!st)
        return -1;
    bind_text(st, 1, account);
    return sq_write_step(s, st, "ending an account's sessions", 0);
}

static int session_expire(sg_store *s, int64_t idle_before, int64_t created_before)
{
    sqlite3_stmt *st = sq_stmt(s, "DELETE FROM admin_sessions WHERE last_seen < ? OR created < ?");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, idle_before);
    sqlite3_bind_int64(st, 2, created_before);
    return sq_write_step(s, st, "expiring sessions", 0);
}

/* --- audit events --- */

#define AUDIT_COLS "id, time, actor, roles, op, target, result, client, detail"

static int rd_audit(sg_store *s, sqlite3_stmt *st, void *row)
{
    sg_store_audit *e = row;
    memset(e, 0, sizeof *e);
    e->id = sqlite3_column_int64(st, 0);
    e->time = sqlite3_column_int64(st, 1);
    e->roles = (uint32_t)sqlite3_column_int64(st, 3);
    if (sq_col_fit(s, st, 2, e->actor, sizeof e->actor) < 0 || sq_col_fit(s, st, 4, e->op, sizeof e->op) < 0 ||
        sq_col_fit(s, st, 5, e->target, sizeof e->target) < 0 ||
        sq_col_fit(s, st, 6, e->result, sizeof e->result) < 0 ||
        sq_col_fit(s, st, 7, e->client, sizeof e->client) < 0 ||
        sq_col_fit(s, st, 8, e->detail, sizeof e->detail) < 0)
        return -1;
    return 0;
}

static int audit_add(sg_store *s, const sg_store_audit *e, int64_t *id)
{
    sqlite3_stmt *st =
        sq_stmt(s, "INSERT INTO audit_events (time, actor, roles, op, target, result, client, detail)"
                   " VALUES (?,?,?,?,?,?,?,?)");
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, e->time);
    bind_text(st, 2, e->actor);
    sqlite3_bind_int64(st, 3, e->roles);
    bind_text(st, 4, e->op);
    bind_text(st, 5, e->target);
    bind_text(st, 6, e->result);
    bind_text(st, 7, e->client);
    bind_text(st, 8, e->detail);
    int rc = sq_write_step(s, st, "adding an audit event", 0);
    if (rc == 0 && id)
        *id = sqlite3_last_insert_rowid(sq_of(s)->db);
    return rc;
}

/* The filter's WHERE clause; parameters ?1 actor, ?2 op, ?3 since, ?4 until, ?5 before_id,
 * ?6 target (contained, ASCII case ignored), ?7 result. */
#define AUDIT_WHERE                                                                                          \
    " WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR op = ?2) AND time >= ?3 AND time < ?4"             \
    " AND id < ?5 AND (?6 IS NULL OR instr(lower(target), lower(?6)) > 0) AND (?7 IS NULL OR result = ?7)"

static void bind_filter(sqlite3_stmt *st, const sg_store_audit_filter *f, bool paged)
{
    if (f->actor)
        bind_text(st, 1, f->actor);
    if (f->op)
        bind_text(st, 2, f->op);
    sqlite3_bind_int64(st, 3, f->since);
    sqlite3_bind_int64(st, 4, f->until > 0 ? f->until : INT64_MAX);
    sqlite3_bind_int64(st, 5, paged && f->before_id > 0 ? f->before_id : INT64_MAX);
    if (f->target)
        bind_text(st, 6, f->target);
    if (f->result)
        bind_text(st, 7, f->result);
}

static int audit_list(sg_store *s, const sg_store_audit_filter *f, sg_store_audit **e, size_t *n)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT " AUDIT_COLS " FROM audit_events" AUDIT_WHERE
                                   " ORDER BY id DESC LIMIT ?8 OFFSET ?9");
    if (!st)
        return -1;
    bind_filter(st, f, true);
    sqlite3_bind_int64(st, 8, f->limit ? (int64_t)f->limit : SG_STORE_AUDIT_PAGE);
    sqlite3_bind_int64(st, 9, (int64_t)f->offset);
    return sq_read_all(s, st, sizeof **e, rd_audit, (void **)e, n, "listing audit events");
}

static int audit_count(sg_store *s, const sg_store_audit_filter *f, int64_t *count)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT count(*) FROM audit_events" AUDIT_WHERE);
    if (!st)
        return -1;
    bind_filter(st, f, false);
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : sq_fail(s, "counting audit events");
    if (rc == 0)
        *count = sqlite3_column_int64(st, 0);
    sq_done(s, st);
    return rc;
}

const struct sg_store_admin_ops sg_sqlite_admin_ops = {
    .account_add = account_add,
    .account_get = account_get,
    .account_list = account_list,
    .account_delete = account_delete,
    .account_set_roles = account_set_roles,
    .account_set_hash = account_set_hash,
    .account_set_login = account_set_login,
    .account_set_must_change = account_set_must_change,
    .account_set_totp = account_set_totp,
    .account_totp_use = account_totp_use,
    .token_add = token_add,
    .token_get = token_get,
    .token_list = token_list,
    .token_revoke = token_revoke,
    .session_add = session_add,
    .session_get = session_get,
    .session_touch = session_touch,
    .session_delete = session_delete,
    .session_list = session_list,
    .session_delete_account = session_delete_account,
    .session_expire = session_expire,
    .audit_add = audit_add,
    .audit_list = audit_list,
    .audit_count = audit_count,
};
