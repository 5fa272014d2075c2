/* auth_session.c - sessions with CSRF tokens and API tokens (auth.h). Owner: src/admin.
 * SECURITY: session ids and token secrets come from the CSPRNG and only their SHA-256 reaches
 * the store; a presented id or token is checked for its exact form before any look-up, and
 * secrets are compared in constant time (CRYPTO_memcmp). An expired session is removed when it
 * is seen, and expired sessions at every login. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "admin/auth.h"
#include "admin/auth_int.h"
#include "admin/roles.h"

static void limits(const sg_session_limits *lim, int64_t *idle, int64_t *absolute)
{
    *idle = lim && lim->idle > 0 ? lim->idle : SG_SESSION_IDLE_DEFAULT;
    *absolute = lim && lim->absolute > 0 ? lim->absolute : SG_SESSION_ABSOLUTE_DEFAULT;
}

static int store_fail(sg_store *s, sg_op_error *err)
{
    return sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", sg_store_error(s));
}

void sg_auth_session_handle(const char *id, char out[SG_ADMIN_HEX256_LEN + 1])
{
    sg_auth_sha256_hex(id, out);
}

int sg_auth_session_create(sg_store *s, const char *account, const char *client, int64_t now,
                           const sg_session_limits *lim, char id[SG_SESSION_ID_HEX + 1], sg_store_session *x,
                           sg_op_error *err)
{
    int64_t idle, absolute;
    limits(lim, &idle, &absolute);
    if (sg_store_admin_session_expire(s, now - idle, now - absolute) < 0)
        return store_fail(s, err);
    memset(x, 0, sizeof *x);
    if (strlen(account) > SG_ADMIN_NAME_MAX)
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, "name", "account name too long");
    snprintf(x->account, sizeof x->account, "%s", account);
    snprintf(x->client, sizeof x->client, "%.*s", SG_ADMIN_CLIENT_MAX, client ? client : "local");
    x->created = x->last_seen = now;
    if (sg_auth_random_hex(id, SG_SESSION_ID_HEX / 2) < 0 || sg_auth_random_hex(x->csrf, 32) < 0)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "no random numbers");
    sg_auth_session_handle(id, x->id_hash);
    int rc = sg_store_admin_session_add(s, x);
    if (rc < 0)
        return store_fail(s, err);
    if (rc == 1) /* 2^-128: a broken random generator, not bad luck */
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "session id collision");
    return 0;
}

int sg_auth_session_lookup(sg_store *s, const char *id, int64_t now, const sg_session_limits *lim,
                           sg_store_session *x, sg_store_account *acct, sg_op_error *err)
{
    if (!id || !sg_auth_is_hex(id, SG_SESSION_ID_HEX))
        return sg_op_fail(err, SG_OP_UNAUTHENTICATED, NULL, "no valid session: sign in");
    char h[SG_ADMIN_HEX256_LEN + 1];
    sg_auth_session_handle(id, h);
    int rc = sg_store_admin_session_get(s, h, x);
    if (rc < 0)
        return store_fail(s, err);
    if (rc == 1)
        return sg_op_fail(err, SG_OP_UNAUTHENTICATED, NULL, "no valid session: sign in");
    int64_t idle, absolute;
    limits(lim, &idle, &absolute);
    bool expired = now - x->last_seen >= idle || now - x->created >= absolute;
    if (!expired && (rc = sg_store_admin_account_get(s, x->account, acct)) < 0)
        return store_fail(s, err);
    if (expired || rc == 1) {
        if (sg_store_admin_session_delete(s, h) < 0)
            return store_fail(s, err);
        return sg_op_fail(err, SG_OP_UNAUTHENTICATED, NULL, "the session has expired: sign in again");
    }
    if (now > x->last_seen) {
        if (sg_store_admin_session_touch(s, h, now) < 0)
            return store_fail(s, err);
        x->last_seen = now;
    }
    return 0;
}

int sg_auth_session_end(sg_store *s, const char *id, sg_op_error *err)
{
    if (!id || !sg_auth_is_hex(id, SG_SESSION_ID_HEX))
        return sg_op_fail(err, SG_OP_NOT_FOUND, NULL, "no such session");
    char h[SG_ADMIN_HEX256_LEN + 1];
    sg_auth_session_handle(id, h);
    int rc = sg_store_admin_session_delete(s, h);
    if (rc < 0)
        return store_fail(s, err);
    return rc == 1 ? sg_op_fail(err, SG_OP_NOT_FOUND, NULL, "no such session") : 0;
}

bool sg_auth_csrf_ok(const sg_store_session *x, const char *token)
{
    size_t n = strlen(x->csrf);
    return token && n > 0 && strlen(token) == n && CRYPTO_memcmp(token, x->csrf, n) == 0;
}

#define TOKEN_PREFIX "sgt_"

int sg_auth_token_create(sg_store *s, const char *owner, uint32_t roles, const char *label, int64_t now,
                         char secret[SG_TOKEN_SECRET_LEN + 1], sg_store_token *t, sg_op_error *err)
{
    sg_store_account a;
    int rc = sg_store_admin_account_get(s, owner, &a);
    if (rc < 0)
        return store_fail(s, err);
    if (rc == 1)
        return sg_op_fail(err, SG_OP_NOT_FOUND, "owner", "no account '%.64s'", owner);
    roles = sg_roles_valid(roles);
    if (!roles || (roles & ~a.roles))
        return sg_op_fail(err, SG_OP_FORBIDDEN, "roles", "a token can only hold roles its owner holds");
    memset(t, 0, sizeof *t);
    char sec[65];
    if (sg_auth_random_hex(t->id, SG_ADMIN_TOKEN_ID_LEN / 2) < 0 || sg_auth_random_hex(sec, 32) < 0)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "no random numbers");
    sg_auth_sha256_hex(sec, t->secret_hash);
    t->roles = roles;
    snprintf(t->owner, sizeof t->owner, "%s", owner);
    snprintf(t->label, sizeof t->label, "%.*s", SG_ADMIN_NAME_MAX, label ? label : "");
    t->created = now;
    snprintf(secret, SG_TOKEN_SECRET_LEN + 1, TOKEN_PREFIX "%s_%s", t->id, sec);
    OPENSSL_cleanse(sec, sizeof sec);
    rc = sg_store_admin_token_add(s, t);
    if (rc != 0) {
        OPENSSL_cleanse(secret, SG_TOKEN_SECRET_LEN + 1);
        return rc < 0 ? store_fail(s, err) : sg_op_fail(err, SG_OP_INTERNAL, NULL, "token id collision");
    }
    return 0;
}

int sg_auth_token_verify(sg_store *s, const char *bearer, sg_store_token *t, uint32_t *roles,
                         sg_op_error *err)
{
    static const char bad[] = "no valid API token";
    size_t pre = strlen(TOKEN_PREFIX);
    if (!bearer || strlen(bearer) != SG_TOKEN_SECRET_LEN || strncmp(bearer, TOKEN_PREFIX, pre) != 0 ||
        bearer[pre + SG_ADMIN_TOKEN_ID_LEN] != '_')
        return sg_op_fail(err, SG_OP_UNAUTHENTICATED, NULL, "%s", bad);
    char id[SG_ADMIN_TOKEN_ID_LEN + 1], h[SG_ADMIN_HEX256_LEN + 1];
    memcpy(id, bearer + pre, SG_ADMIN_TOKEN_ID_LEN);
    id[SG_ADMIN_TOKEN_ID_LEN] = '\0';
    const char *sec = bearer + pre + SG_ADMIN_TOKEN_ID_LEN + 1;
    if (!sg_auth_is_hex(id, SG_ADMIN_TOKEN_ID_LEN) || !sg_auth_is_hex(sec, 64))
        return sg_op_fail(err, SG_OP_UNAUTHENTICATED, NULL, "%s", bad);
    int rc = sg_store_admin_token_get(s, id, t);
    if (rc < 0)
        return store_fail(s, err);
    sg_auth_sha256_hex(sec, h);
    if (rc == 1 || CRYPTO_memcmp(h, t->secret_hash, SG_ADMIN_HEX256_LEN) != 0 || t->revoked)
        return sg_op_fail(err, SG_OP_UNAUTHENTICATED, NULL, "%s", bad);
    sg_store_account a;
    rc = sg_store_admin_account_get(s, t->owner, &a);
    if (rc < 0)
        return store_fail(s, err);
    if (rc == 1)
        return sg_op_fail(err, SG_OP_UNAUTHENTICATED, NULL, "%s", bad);
    *roles = sg_roles_valid(t->roles & a.roles);
    return 0;
}

int sg_auth_token_revoke(sg_store *s, const char *id, int64_t now, sg_op_error *err)
{
    int rc = sg_store_admin_token_revoke(s, id, now);
    if (rc < 0)
        return store_fail(s, err);
    return rc == 1 ? sg_op_fail(err, SG_OP_NOT_FOUND, "id", "no live token '%.32s'", id) : 0;
}
