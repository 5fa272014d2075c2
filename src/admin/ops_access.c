/* ops_access.c - API tokens and portal sessions as operations: token.create, list, revoke,
 * session.list, end. Owner: src/admin.
 * SECURITY: an operator sees and ends only their own tokens and sessions; Administrators act
 * on everyone's, Auditors see everyone's. Another account's token or session is "not_found" to
 * an operator, so ids cannot be probed. A token's secret is in the result of token.create only;
 * lists show ids, never secrets, session handles (hashes), never session ids or CSRF tokens. */
#include <stdlib.h>
#include <string.h>

#include "admin/auth.h"
#include "admin/ops_handlers.h"
#include "admin/ops_int.h"
#include "store/admin_rows.h"

#include <openssl/crypto.h>

/* Whose objects a list shows: the argument, checked against the caller. */
static int list_owner(sg_op_ctx *ctx, const json_t *args, const char *field, const char **owner,
                      sg_op_error *err)
{
    *owner = sg_op_arg_str(args, field);
    if (sg_op_sees_all(ctx))
        return 0;
    if (*owner && (!ctx->actor || strcmp(*owner, ctx->actor) != 0))
        return sg_op_fail(err, SG_OP_FORBIDDEN, field,
                          "only Administrators and Auditors see other accounts'");
    *owner = ctx->actor ? ctx->actor : "";
    return 0;
}

int sg_op_token_create(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    uint32_t roles;
    if (sg_op_roles_arg(args, "roles", &roles, err) < 0)
        return -1;
    const char *owner = sg_op_arg_str(args, "owner");
    if (!owner)
        owner = ctx->actor ? ctx->actor : "";
    else if ((!ctx->actor || strcmp(owner, ctx->actor) != 0) && !sg_op_is_admin(ctx))
        return sg_op_fail(err, SG_OP_FORBIDDEN, "owner",
                          "only Administrators create tokens for other accounts");
    char secret[SG_TOKEN_SECRET_LEN + 1];
    sg_store_token t;
    if (sg_auth_token_create(ctx->store, owner, roles, sg_op_arg_str(args, "label"), sg_op_now(ctx), secret,
                             &t, err) < 0)
        return -1;
    sg_op_set_target(ctx, "%s", t.id);
    char buf[128];
    sg_op_set_detail(ctx, "owner=%s roles=%s", t.owner, sg_roles_format(t.roles, buf, sizeof buf));
    json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", t.id, "secret", secret, "owner", t.owner,
                          "label", t.label, "roles", sg_op_roles_json(t.roles));
    OPENSSL_cleanse(secret, sizeof secret);
    return sg_op_answer(r, result, err);
}

int sg_op_token_list(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *owner;
    if (list_owner(ctx, args, "owner", &owner, err) < 0)
        return -1;
    sg_store_token *t;
    size_t n;
    if (sg_store_admin_token_list(ctx->store, owner, &t, &n) < 0)
        return sg_op_store_fail(ctx, err);
    json_t *all = json_array();
    for (size_t i = 0; all && i < n; i++)
        json_array_append_new(all,
                              json_pack("{s:s, s:s, s:s, s:o, s:I, s:I}", "id", t[i].id, "owner", t[i].owner,
                                        "label", t[i].label, "roles", sg_op_roles_json(t[i].roles), "created",
                                        (json_int_t)t[i].created, "revoked", (json_int_t)t[i].revoked));
    free(t);
    return sg_op_answer(sg_op_page_of(all, args), result, err);
}

int sg_op_token_revoke(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    (void)result;
    const char *id = sg_op_arg_str(args, "id");
    sg_store_token t;
    int rc = sg_store_admin_token_get(ctx->store, id, &t);
    if (rc < 0)
        return sg_op_store_fail(ctx, err);
    if (rc == 1 || (!sg_op_is_admin(ctx) && (!ctx->actor || strcmp(t.owner, ctx->actor) != 0)))
        return sg_op_fail(err, SG_OP_NOT_FOUND, "id", "no token '%.16s'", id);
    return sg_auth_token_revoke(ctx->store, id, sg_op_now(ctx), err);
}

int sg_op_session_list(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *account;
    if (list_owner(ctx, args, "account", &account, err) < 0)
        return -1;
    sg_store_session *x;
    size_t n;
    if (sg_store_admin_session_list(ctx->store, account, &x, &n) < 0)
        return sg_op_store_fail(ctx, err);
    json_t *all = json_array();
    for (size_t i = 0; all && i < n; i++)
        json_array_append_new(all, json_pack("{s:s, s:s, s:I, s:I, s:s}", "id", x[i].id_hash, "account",
                                             x[i].account, "created", (json_int_t)x[i].created, "last_seen",
                                             (json_int_t)x[i].last_seen, "client", x[i].client));
    free(x);
    return sg_op_answer(sg_op_page_of(all, args), result, err);
}

int sg_op_session_end(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    (void)result;
    const char *id = sg_op_arg_str(args, "id");
    sg_store_session x;
    int rc = sg_store_admin_session_get(ctx->store, id, &x);
    if (rc < 0)
        return sg_op_store_fail(ctx, err);
    if (rc == 1 || (!sg_op_is_admin(ctx) && (!ctx->actor || strcmp(x.account, ctx->actor) != 0)))
        return sg_op_fail(err, SG_OP_NOT_FOUND, "id", "no session '%.64s'", id);
    if ((rc = sg_store_admin_session_delete(ctx->store, id)) < 0)
        return sg_op_store_fail(ctx, err);
    return rc == 1 ? sg_op_fail(err, SG_OP_NOT_FOUND, "id", "no session '%.64s'", id) : 0;
}
