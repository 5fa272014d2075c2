/* pg_admin.c - the PostgreSQL backend's admin calls (store/admin_rows.h): tables admin_accounts,
 * admin_tokens, admin_sessions, audit_events (migration 8), shared by every node of a cluster
 * (an account, a token revoked, a session ended on one node is so on all). Owner: src/store.
 * The same queries as sqlite_admin.c in PostgreSQL's dialect, each prepared once per
 * connection. Rows are fixed-size structs; a stored text longer than its field is an error,
 * never silently cut (a cut name could match another account). An insert of an existing key
 * is 1 (ON CONFLICT DO NOTHING changes no row), not an error.
 * SECURITY: as in SQLite, only what admin_rows.h allows is stored (argon2id hashes, SHA-256 of
 * token secrets and session ids); every value is a bound parameter, never SQL text. */
#include <stdlib.h>
#include <string.h>

#include "store/admin_rows.h"
#include "store/pg/pg_int.h"

/* Column c of row i into out: 0, or -1 with sg_store_error when it does not fit. */
int pg_col_fit(sg_store *s, const PGresult *r, int i, int c, char *out, size_t outlen)
{
    size_t n = PQgetisnull(r, i, c) ? 0 : (size_t)PQgetlength(r, i, c);
    if (n >= outlen)
        return sg_store_fail(s, "store: stored %s too long (%zu bytes)", PQfname(r, c), n);
    memcpy(out, PQgetvalue(r, i, c), n);
    out[n] = '\0';
    return 0;
}

/* A write: 0 done, 1 when it changed no row and that means "none" (or "exists" for an insert
 * ON CONFLICT DO NOTHING), -1. */
int pg_write_one(sg_store *s, const char *sql, const pg_args *a, const char *what, int none_is_1)
{
    int64_t n = pg_cmd(s, sql, a, what);
    return n < 0 ? -1 : none_is_1 && n == 0 ? 1 : 0;
}

/* Row 0 of sql's result read by rd: 0, 1 none, -1. */
int pg_read_one(sg_store *s, const char *sql, const pg_args *a, void *row,
                    int (*rd)(sg_store *, const PGresult *, int, void *), const char *what)
{
    PGresult *r = pg_run(s, sql, a, what);
    if (!r)
        return -1;
    int rc = PQntuples(r) ? rd(s, r, 0, row) : 1;
    PQclear(r);
    return rc;
}

/* Every row of sql's result, read by rd into a malloc'd array of rows of size sz. 0 or -1. */
int pg_read_all(sg_store *s, const char *sql, const pg_args *a, size_t sz,
                    int (*rd)(sg_store *, const PGresult *, int, void *), void **rows, size_t *n,
                    const char *what)
{
    *rows = NULL;
    *n = 0;
    PGresult *r = pg_run(s, sql, a, what);
    if (!r)
        return -1;
    int nr = PQntuples(r), rc = 0;
    if (nr && !(*rows = calloc((size_t)nr, sz)))
        rc = sg_store_fail(s, "out of memory");
    for (int i = 0; rc == 0 && i < nr; i++)
        if ((rc = rd(s, r, i, (char *)*rows + (size_t)i * sz)) == 0)
            (*n)++;
    PQclear(r);
    if (rc < 0) {
        free(*rows);
        *rows = NULL;
        *n = 0;
    }
    return rc;
}

void pa_text_or_empty(pg_args *a, const char *t)
{
    pa_text(a, t ? t : "");
}

/* --- accounts --- */

#define ACCOUNT_COLS                                                                                         \
    "name, hash, roles, created, failed, locked_until, last_login, must_change, totp_secret, totp_state, "   \
    "totp_step"

static int rd_account(sg_store *s, const PGresult *r, int i, void *row)
{
    sg_store_account *a = row;
    memset(a, 0, sizeof *a);
    if (pg_col_fit(s, r, i, 0, a->name, sizeof a->name) < 0 || pg_col_fit(s, r, i, 1, a->hash, sizeof a->hash) < 0)
        return -1;
    a->roles = (uint32_t)pg_col_i64(r, i, 2);
    a->created = pg_col_i64(r, i, 3);
    a->failed = (int)pg_col_i64(r, i, 4);
    a->locked_until = pg_col_i64(r, i, 5);
    a->last_login = pg_col_i64(r, i, 6);
    a->must_change = pg_col_i64(r, i, 7) != 0;
    if (pg_col_fit(s, r, i, 8, a->totp_secret, sizeof a->totp_secret) < 0)
        return -1;
    a->totp_state = (int)pg_col_i64(r, i, 9);
    a->totp_step = pg_col_i64(r, i, 10);
    return 0;
}

static int account_add(sg_store *s, const sg_store_account *a)
{
    pg_args q = {0};
    pa_text_or_empty(&q, a->name);
    pa_text_or_empty(&q, a->hash);
    pa_i64(&q, a->roles);
    pa_i64(&q, a->created);
    pa_i64(&q, a->failed);
    pa_i64(&q, a->locked_until);
    pa_i64(&q, a->last_login);
    pa_i64(&q, a->must_change);
    pa_text_or_empty(&q, a->totp_secret);
    pa_i64(&q, a->totp_state);
    pa_i64(&q, a->totp_step);
    return pg_write_one(s,
                     "INSERT INTO admin_accounts (" ACCOUNT_COLS ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"
                     " ON CONFLICT DO NOTHING",
                     &q, "adding an account", 1);
}

static int account_get(sg_store *s, const char *name, sg_store_account *a)
{
    pg_args q = {0};
    pa_text_or_empty(&q, name);
    return pg_read_one(s, "SELECT " ACCOUNT_COLS " FROM admin_accounts WHERE name = $1", &q, a, rd_account,
                    "reading an account");
}

static int account_list(sg_store *s, sg_store_account **a, size_t *n)
{
    return pg_read_all(s, "SELECT " ACCOUNT_COLS " FROM admin_accounts ORDER BY name COLLATE \"C\"", NULL,
                    sizeof **a, rd_account, (void **)a, n, "listing accounts");
}

static int account_delete(sg_store *s, const char *name)
{
    static const char *const sql[] = {"DELETE FROM admin_sessions WHERE account = $1",
                                      "DELETE FROM admin_tokens WHERE owner = $1",
                                      "DELETE FROM admin_accounts WHERE name = $1"};
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        pg_args q = {0};
        pa_text_or_empty(&q, name);
        rc = pg_write_one(s, sql[i], &q, "deleting an account", i == 2);
    }
    return rc;
}

static int account_set_roles(sg_store *s, const char *name, uint32_t roles)
{
    pg_args q = {0};
    pa_i64(&q, roles);
    pa_text_or_empty(&q, name);
    return pg_write_one(s, "UPDATE admin_accounts SET roles = $1 WHERE name = $2", &q,
                     "changing an account's roles", 1);
}

static int account_set_hash(sg_store *s, const char *name, const char *hash)
{
    pg_args q = {0};
    pa_text_or_empty(&q, hash);
    pa_text_or_empty(&q, name);
    return pg_write_one(s, "UPDATE admin_accounts SET hash = $1 WHERE name = $2", &q, "changing a password hash",
                     1);
}

static int account_set_login(sg_store *s, const char *name, int failed, int64_t locked_until,
                             int64_t last_login)
{
    pg_args q = {0};
    pa_i64(&q, failed);
    pa_i64(&q, locked_until);
    pa_i64(&q, last_login);
    pa_text_or_empty(&q, name);
    return pg_write_one(
        s, "UPDATE admin_accounts SET failed = $1, locked_until = $2, last_login = $3 WHERE name = $4", &q,
        "recording a login", 1);
}

static int account_set_must_change(sg_store *s, const char *name, bool must_change)
{
    pg_args q = {0};
    pa_i64(&q, must_change);
    pa_text_or_empty(&q, name);
    return pg_write_one(s, "UPDATE admin_accounts SET must_change = $1 WHERE name = $2", &q,
                     "marking a password to change", 1);
}

static int account_set_totp(sg_store *s, const char *name, const char *secret, int state)
{
    pg_args q = {0};
    pa_text_or_empty(&q, secret);
    pa_i64(&q, state);
    pa_text_or_empty(&q, name);
    return pg_write_one(s, "UPDATE admin_accounts SET totp_secret = $1, totp_state = $2 WHERE name = $3", &q,
                     "setting a second factor", 1);
}

static int account_totp_use(sg_store *s, const char *name, int64_t step)
{
    pg_args q = {0};
    pa_i64(&q, step);
    pa_text_or_empty(&q, name);
    return pg_write_one(s, "UPDATE admin_accounts SET totp_step = $1 WHERE name = $2 AND totp_step < $1", &q,
                     "taking a one-time code", 1);
}

/* --- tokens --- */

#define TOKEN_COLS "id, secret_hash, roles, owner, label, created, revoked"

static int rd_token(sg_store *s, const PGresult *r, int i, void *row)
{
    sg_store_token *t = row;
    memset(t, 0, sizeof *t);
    if (pg_col_fit(s, r, i, 0, t->id, sizeof t->id) < 0 ||
        pg_col_fit(s, r, i, 1, t->secret_hash, sizeof t->secret_hash) < 0 ||
        pg_col_fit(s, r, i, 3, t->owner, sizeof t->owner) < 0 ||
        pg_col_fit(s, r, i, 4, t->label, sizeof t->label) < 0)
        return -1;
    t->roles = (uint32_t)pg_col_i64(r, i, 2);
    t->created = pg_col_i64(r, i, 5);
    t->revoked = pg_col_i64(r, i, 6);
    return 0;
}

static int token_add(sg_store *s, const sg_store_token *t)
{
    pg_args q = {0};
    pa_text_or_empty(&q, t->id);
    pa_text_or_empty(&q, t->secret_hash);
    pa_i64(&q, t->roles);
    pa_text_or_empty(&q, t->owner);
    pa_text_or_empty(&q, t->label);
    pa_i64(&q, t->created);
    pa_i64(&q, t->revoked);
    return pg_write_one(
        s, "INSERT INTO admin_tokens (" TOKEN_COLS ") VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING",
        &q, "adding a token", 1);
}

static int token_get(sg_store *s, const char *id, sg_store_token *t)
{
    pg_args q = {0};
    pa_text_or_empty(&q, id);
    return pg_read_one(s, "SELECT " TOKEN_COLS " FROM admin_tokens WHERE id = $1", &q, t, rd_token,
                    "reading a token");
}

static int token_list(sg_store *s, const char *owner, sg_store_token **t, size_t *n)
{
    pg_args q = {0};
    pa_text(&q, owner);
    return pg_read_all(s,
                    "SELECT " TOKEN_COLS " FROM admin_tokens WHERE $1::text IS NULL OR owner = $1"
                    " ORDER BY created DESC, id COLLATE \"C\"",
                    &q, sizeof **t, rd_token, (void **)t, n, "listing tokens");
}

static int token_revoke(sg_store *s, const char *id, int64_t when)
{
    pg_args q = {0};
    pa_i64(&q, when > 0 ? when : 1);
    pa_text_or_empty(&q, id);
    return pg_write_one(s, "UPDATE admin_tokens SET revoked = $1 WHERE id = $2 AND revoked = 0", &q,
                     "revoking a token", 1);
}

/* --- sessions --- */

#define SESSION_COLS "id_hash, account, created, last_seen, csrf, client"

static int rd_session(sg_store *s, const PGresult *r, int i, void *row)
{
    sg_store_session *x = row;
    memset(x, 0, sizeof *x);
    if (pg_col_fit(s, r, i, 0, x->id_hash, sizeof x->id_hash) < 0 ||
        pg_col_fit(s, r, i, 1, x->account, sizeof x->account) < 0 ||
        pg_col_fit(s, r, i, 4, x->csrf, sizeof x->csrf) < 0 ||
        pg_col_fit(s, r, i, 5, x->client, sizeof x->client) < 0)
        return -1;
    x->created = pg_col_i64(r, i, 2);
    x->last_seen = pg_col_i64(r, i, 3);
    return 0;
}

static int session_add(sg_store *s, const sg_store_session *x)
{
    pg_args q = {0};
    pa_text_or_empty(&q, x->id_hash);
    pa_text_or_empty(&q, x->account);
    pa_i64(&q, x->created);
    pa_i64(&q, x->last_seen);
    pa_text_or_empty(&q, x->csrf);
    pa_text_or_empty(&q, x->client);
    return pg_write_one(
        s, "INSERT INTO admin_sessions (" SESSION_COLS ") VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING",
        &q, "adding a session", 1);
}

static int session_get(sg_store *s, const char *id_hash, sg_store_session *x)
{
    pg_args q = {0};
    pa_text_or_empty(&q, id_hash);
    return pg_read_one(s, "SELECT " SESSION_COLS " FROM admin_sessions WHERE id_hash = $1", &q, x, rd_session,
                    "reading a session");
}

static int session_touch(sg_store *s, const char *id_hash, int64_t now)
{
    pg_args q = {0};
    pa_i64(&q, now);
    pa_text_or_empty(&q, id_hash);
    return pg_write_one(s, "UPDATE admin_sessions SET last_seen = $1 WHERE id_hash = $2", &q,
                     "touching a session", 1);
}

static int session_delete(sg_store *s, const char *id_hash)
{
    pg_args q = {0};
    pa_text_or_empty(&q, id_hash);
    return pg_write_one(s, "DELETE FROM admin_sessions WHERE id_hash = $1", &q, "ending a session", 1);
}

static int session_list(sg_store *s, const char *account, sg_store_session **x, size_t *n)
{
    pg_args q = {0};
    pa_text(&q, account);
    return pg_read_all(s,
                    "SELECT " SESSION_COLS " FROM admin_sessions WHERE $1::text IS NULL OR account = $1"
                    " ORDER BY created DESC, id_hash COLLATE \"C\"",
                    &q, sizeof **x, rd_session, (void **)x, n, "listing sessions");
}

static int session_delete_account(sg_store *s, const char *account)
{
    pg_args q = {0};
    pa_text_or_empty(&q, account);
    return pg_write_one(s, "DELETE FROM admin_sessions WHERE account = $1", &q, "ending an account's sessions",
                     0);
}

static int session_expire(sg_store *s, int64_t idle_before, int64_t created_before)
{
    pg_args q = {0};
    pa_i64(&q, idle_before);
    pa_i64(&q, created_before);
    return pg_write_one(s, "DELETE FROM admin_sessions WHERE last_seen < $1 OR created < $2", &q,
                     "expiring sessions", 0);
}

/* --- audit events --- */

#define AUDIT_COLS "id, time, actor, roles, op, target, result, client, detail"

static int rd_audit(sg_store *s, const PGresult *r, int i, void *row)
{
    sg_store_audit *e = row;
    memset(e, 0, sizeof *e);
    e->id = pg_col_i64(r, i, 0);
    e->time = pg_col_i64(r, i, 1);
    e->roles = (uint32_t)pg_col_i64(r, i, 3);
    if (pg_col_fit(s, r, i, 2, e->actor, sizeof e->actor) < 0 || pg_col_fit(s, r, i, 4, e->op, sizeof e->op) < 0 ||
        pg_col_fit(s, r, i, 5, e->target, sizeof e->target) < 0 ||
        pg_col_fit(s, r, i, 6, e->result, sizeof e->result) < 0 ||
        pg_col_fit(s, r, i, 7, e->client, sizeof e->client) < 0 ||
        pg_col_fit(s, r, i, 8, e->detail, sizeof e->detail) < 0)
        return -1;
    return 0;
}

static int audit_add(sg_store *s, const sg_store_audit *e, int64_t *id)
{
    pg_args q = {0};
    pa_i64(&q, e->time);
    pa_text_or_empty(&q, e->actor);
    pa_i64(&q, e->roles);
    pa_text_or_empty(&q, e->op);
    pa_text_or_empty(&q, e->target);
    pa_text_or_empty(&q, e->result);
    pa_text_or_empty(&q, e->client);
    pa_text_or_empty(&q, e->detail);
    PGresult *r = pg_run(s,
                         "INSERT INTO audit_events (time, actor, roles, op, target, result, client, detail)"
                         " VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id",
                         &q, "adding an audit event");
    if (!r)
        return -1;
    if (id)
        *id = pg_col_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

/* The filter's WHERE clause; parameters $1 actor, $2 op, $3 since, $4 until, $5 before_id,
 * $6 target (contained, ASCII case ignored as in SQLite's lower()), $7 result. */
#define AUDIT_WHERE                                                                                          \
    " WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR op = $2) AND time >= $3 AND time < $4" \
    " AND id < $5 AND ($6::text IS NULL OR strpos(lower(target), lower($6)) > 0)"                          \
    " AND ($7::text IS NULL OR result = $7)"

static void filter_args(pg_args *q, const sg_store_audit_filter *f, bool paged)
{
    pa_text(q, f->actor);
    pa_text(q, f->op);
    pa_i64(q, f->since);
    pa_i64(q, f->until > 0 ? f->until : INT64_MAX);
    pa_i64(q, paged && f->before_id > 0 ? f->before_id : INT64_MAX);
    pa_text(q, f->target);
    pa_text(q, f->result);
}

static int audit_list(sg_store *s, const sg_store_audit_filter *f, sg_store_audit **e, size_t *n)
{
    pg_args q = {0};
    filter_args(&q, f, true);
    pa_i64(&q, f->limit ? (int64_t)f->limit : SG_STORE_AUDIT_PAGE);
    pa_i64(&q, (int64_t)f->offset);
    return pg_read_all(
        s, "SELECT " AUDIT_COLS " FROM audit_events" AUDIT_WHERE " ORDER BY id DESC LIMIT $8 OFFSET $9", &q,
        sizeof **e, rd_audit, (void **)e, n, "listing audit events");
}

static int audit_count(sg_store *s, const sg_store_audit_filter *f, int64_t *count)
{
    pg_args q = {0};
    filter_args(&q, f, false);
    PGresult *r = pg_run(s, "SELECT count(*) FROM audit_events" AUDIT_WHERE, &q, "counting audit events");
    if (!r)
        return -1;
    *count = pg_col_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

const struct sg_store_admin_ops sg_pg_admin_ops = {
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
