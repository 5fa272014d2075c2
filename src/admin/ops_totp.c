/* ops_totp.c - the optional TOTP second factor of one's own account (account.totp-enrol,
 * account.totp-confirm, account.totp-disable) and an Administrator's reset of another's
 * (admin.totp-reset), on admin/totp.h and admin/auth.h. Owner: src/admin.
 * Enrolment makes a new secret, stores it as pending and answers it once (base32 and the
 * otpauth:// URI); it becomes active only when a code made from it is confirmed, so a secret
 * that never reached an authenticator cannot lock its owner out. Enrolment and disabling ask
 * for the password again (and disabling an active factor for a code too), so a session left
 * open is not enough to change the factor.
 * SECURITY: the secret is stored as it is: the web role verifies codes and holds no KEK
 * (docs/web.md, "Second factor", says why this is the chosen trade-off). It is shown only in
 * the enrol answer, never listed, logged or put in an audit event. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "admin/auth.h"
#include "admin/ops_handlers.h"
#include "admin/ops_int.h"
#include "admin/totp.h"
#include "store/admin_rows.h"

/* Re-authenticates the caller by password (a failure counts like a login's): 0 with the
 * account in *a, or -1. */
static int reauth(sg_op_ctx *ctx, const json_t *args, sg_store_account *a, sg_op_error *err)
{
    int64_t retry;
    const char *name = ctx->actor ? ctx->actor : "";
    if (sg_auth_login(ctx->store, name, sg_op_arg_str(args, "current_password"),
                      ctx->via == SG_VIA_CLI ? NULL : ctx->client, sg_op_now(ctx), a, &retry, err) < 0) {
        if (err->code == SG_OP_UNAUTHENTICATED)
            snprintf(err->field, sizeof err->field, "current_password");
        return -1;
    }
    sg_op_set_target(ctx, "%s", name);
    return 0;
}

static int set_totp(sg_op_ctx *ctx, const char *name, const char *secret, int state, sg_op_error *err)
{
    int rc = sg_store_admin_account_set_totp(ctx->store, name, secret, state);
    if (rc < 0)
        return sg_op_store_fail(ctx, err);
    return rc == 1 ? sg_op_fail(err, SG_OP_NOT_FOUND, "name", "no account '%.64s'", name) : 0;
}

int sg_op_account_totp_enrol(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    sg_store_account a;
    if (reauth(ctx, args, &a, err) < 0)
        return -1;
    if (a.totp_state == SG_TOTP_ACTIVE)
        return sg_op_fail(err, SG_OP_CONFLICT, NULL, "a second factor is active already: disable it first");
    char secret[SG_TOTP_SECRET_B32 + 1], uri[512];
    const char *issuer = ctx->cfg && ctx->cfg->hostname && ctx->cfg->hostname[0] ? ctx->cfg->hostname : "sealgate";
    char label[160];
    snprintf(label, sizeof label, "sealgate %s", issuer);
    if (sg_totp_new_secret(secret) < 0)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "no random numbers");
    int rc = sg_totp_uri(label, a.name, secret, uri, sizeof uri) < 0
                 ? sg_op_fail(err, SG_OP_INTERNAL, NULL, "the otpauth URI does not fit")
                 : set_totp(ctx, a.name, secret, SG_TOTP_PENDING, err);
    json_t *r = rc == 0 ? json_pack("{s:s, s:s, s:s, s:i, s:i}", "secret", secret, "uri", uri, "state", "pending",
                                    "digits", SG_TOTP_DIGITS, "period", SG_TOTP_STEP)
                        : NULL;
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(uri, sizeof uri);
    return rc < 0 ? -1 : sg_op_answer(r, result, err);
}

int sg_op_account_totp_confirm(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    sg_store_account a;
    const char *name = ctx->actor ? ctx->actor : "";
    int rc = sg_store_admin_account_get(ctx->store, name, &a);
    if (rc < 0)
        return sg_op_store_fail(ctx, err);
    sg_op_set_target(ctx, "%s", name);
    if (rc == 1 || a.totp_state != SG_TOTP_PENDING)
        return sg_op_fail(err, SG_OP_CONFLICT, NULL, "no second factor waits for confirmation: enrol first");
    if (sg_auth_totp_check(ctx->store, &a, sg_op_arg_str(args, "code"), sg_op_now(ctx), err) < 0)
        return -1;
    if (set_totp(ctx, name, a.totp_secret, SG_TOTP_ACTIVE, err) < 0)
        return -1;
    return sg_op_answer(json_pack("{s:s, s:s}", "name", name, "state", "active"), result, err);
}

int sg_op_account_totp_disable(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    sg_store_account a;
    if (reauth(ctx, args, &a, err) < 0)
        return -1;
    if (a.totp_state == SG_TOTP_NONE)
        return sg_op_fail(err, SG_OP_CONFLICT, NULL, "the account has no second factor");
    if (a.totp_state == SG_TOTP_ACTIVE) {
        if (!sg_op_arg_str(args, "code"))
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, "code", "a one-time code is needed to disable");
        /* As the sign-in's code step: a wrong code counts towards the lockout, so a session and
         * the password are not enough to guess a code at leisure. */
        int64_t retry;
        sg_store_account b;
        if (sg_auth_totp_login(ctx->store, a.name, sg_op_arg_str(args, "code"),
                               ctx->via == SG_VIA_CLI ? NULL : ctx->client, sg_op_now(ctx), &b, &retry, err) < 0)
            return -1;
    }
    if (set_totp(ctx, a.name, "", SG_TOTP_NONE, err) < 0)
        return -1;
    return sg_op_answer(json_pack("{s:s, s:s}", "name", a.name, "state", "none"), result, err);
}

int sg_op_admin_totp_reset(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *name = sg_op_arg_str(args, "name");
    if (set_totp(ctx, name, "", SG_TOTP_NONE, err) < 0)
        return -1;
    return sg_op_answer(json_pack("{s:s, s:s}", "name", name, "state", "none"), result, err);
}
