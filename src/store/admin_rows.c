/* admin_rows.c - the public admin calls (admin_rows.h): each dispatches to the backend. Owner:
 * src/store. */
#include "store/admin_rows.h"
#include "store/store_int.h"

int sg_store_admin_account_add(sg_store *s, const sg_store_account *a)
{
    return s->be->admin->account_add(s, a);
}

int sg_store_admin_account_get(sg_store *s, const char *name, sg_store_account *a)
{
    return s->be->admin->account_get(s, name, a);
}

int sg_store_admin_account_list(sg_store *s, sg_store_account **a, size_t *n)
{
    return s->be->admin->account_list(s, a, n);
}

int sg_store_admin_account_delete(sg_store *s, const char *name)
{
    return s->be->admin->account_delete(s, name);
}

int sg_store_admin_account_set_roles(sg_store *s, const char *name, uint32_t roles)
{
    return s->be->admin->account_set_roles(s, name, roles);
}

int sg_store_admin_account_set_hash(sg_store *s, const char *name, const char *hash)
{
    return s->be->admin->account_set_hash(s, name, hash);
}

int sg_store_admin_account_set_login(sg_store *s, const char *name, int failed, int64_t locked_until,
                                     int64_t last_login)
{
    return s->be->admin->account_set_login(s, name, failed, locked_until, last_login);
}

int sg_store_admin_account_set_must_change(sg_store *s, const char *name, bool must_change)
{
    return s->be->admin->account_set_must_change(s, name, must_change);
}

int sg_store_admin_account_set_totp(sg_store *s, const char *name, const char *secret, int state)
{
    return s->be->admin->account_set_totp(s, name, secret, state);
}

int sg_store_admin_account_totp_use(sg_store *s, const char *name, int64_t step)
{
    return s->be->admin->account_totp_use(s, name, step);
}

int sg_store_admin_token_add(sg_store *s, const sg_store_token *t)
{
    return s->be->admin->token_add(s, t);
}

int sg_store_admin_token_get(sg_store *s, const char *id, sg_store_token *t)
{
    return s->be->admin->token_get(s, id, t);
}

int sg_store_admin_token_list(sg_store *s, const char *owner, sg_store_token **t, size_t *n)
{
    return s->be->admin->token_list(s, owner, t, n);
}

int sg_store_admin_token_revoke(sg_store *s, const char *id, int64_t when)
{
    return s->be->admin->token_revoke(s, id, when);
}

int sg_store_admin_session_add(sg_store *s, const sg_store_session *x)
{
    return s->be->admin->session_add(s, x);
}

int sg_store_admin_session_get(sg_store *s, const char *id_hash, sg_store_session *x)
{
    return s->be->admin->session_get(s, id_hash, x);
}

int sg_store_admin_session_touch(sg_store *s, const char *id_hash, int64_t now)
{
    return s->be->admin->session_touch(s, id_hash, now);
}

int sg_store_admin_session_delete(sg_store *s, const char *id_hash)
{
    return s->be->admin->session_delete(s, id_hash);
}

int sg_store_admin_session_list(sg_store *s, const char *account, sg_store_session **x, size_t *n)
{
    return s->be->admin->session_list(s, account, x, n);
}

int sg_store_admin_session_delete_account(sg_store *s, const char *account)
{
    return s->be->admin->session_delete_account(s, account);
}

int sg_store_admin_session_expire(sg_store *s, int64_t idle_before, int64_t created_before)
{
    return s->be->admin->session_expire(s, idle_before, created_before);
}

int sg_store_audit_add(sg_store *s, const sg_store_audit *e, int64_t *id)
{
    return s->be->admin->audit_add(s, e, id);
}

int sg_store_audit_list(sg_store *s, const sg_store_audit_filter *f, sg_store_audit **e, size_t *n)
{
    return s->be->admin->audit_list(s, f, e, n);
}

int sg_store_audit_count(sg_store *s, const sg_store_audit_filter *f, int64_t *count)
{
    return s->be->admin->audit_count(s, f, count);
}
