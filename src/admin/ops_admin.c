/* ops_admin.c - the account operations: admin.add, list, delete, set-roles, passwd. Owner:
 * src/admin.
 * account.password is the caller's own change: the current password is checked like a login
 * (lockout included), so a stolen session alone cannot take over the account.
 * SECURITY: a password, given or generated, is hashed (argon2id) before anything is stored
 * and never reaches an audit event or a log; a generated one is returned once in the result.
 * The last account holding Administrator can be neither deleted nor stripped of the role, so
 * the gateway never ends up without anyone able to manage it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin/auth.h"
#include "admin/ops_handlers.h"
#include "admin/ops_int.h"
#include "store/admin_rows.h"

int sg_op_store_fail(sg_op_ctx *ctx, sg_op_error *err)
{
    return sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", sg_store_error(ctx->store));
}

json_t *sg_op_roles_json(uint32_t roles)
{
    json_t *a = json_array();
    for (int i = 0; a && i < SG_ROLE_COUNT; i++)
        if (roles & sg_role_bit(i))
            json_array_append_new(a, json_string(sg_role_name(sg_role_bit(i))));
    return a;
}

int sg_op_roles_arg(const json_t *args, const char *field, uint32_t *roles, sg_op_error *err)
{
    const char *s = sg_op_arg_str(args, field);
    if (!s || sg_roles_parse(s, roles) < 0)
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, field,
                          "%s: comma-separated roles of administrator, network-operator, user-operator, "
                          "ca-operator, policy-operator, system-operator, auditor",
                          field);
    return 0;
}

int sg_op_answer(json_t *r, json_t **result, sg_op_error *err)
{
    if (!r)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "out of memory");
    *result = r;
    return 0;
}

/* Names an operator can type and a log line can hold: letters, digits, . _ @ - */
static int name_ok(const char *n, sg_op_error *err)
{
    size_t len = strlen(n);
    if (len == 0 || len > SG_ADMIN_NAME_MAX ||
        strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789._@-") != len)
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, "name",
                          "an account name has 1 to %d letters, digits or . _ @ -", SG_ADMIN_NAME_MAX);
    return 0;
}

/* The password argument, or a generated one (then *generated). The hash into hash. */
static int new_password(const json_t *args, char *hash, size_t hashlen, char gen[32], bool *generated,
                        sg_op_error *err)
{
    const char *pw = sg_op_arg_str(args, "password");
    *generated = !pw;
    if (!pw) {
        if (sg_auth_generate_password(gen, 32) < 0)
            return sg_op_fail(err, SG_OP_INTERNAL, NULL, "no random numbers");
        pw = gen;
    }
    if (sg_auth_password_policy(pw, "password", err) < 0)
        return -1;
    return sg_auth_hash(pw, hash, hashlen, err);
}

int sg_op_admin_add(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    sg_store_account a;
    memset(&a, 0, sizeof a);
    const char *name = sg_op_arg_str(args, "name");
    if (name_ok(name, err) < 0 || sg_op_roles_arg(args, "roles", &a.roles, err) < 0)
        return -1;
    char gen[32];
    bool generated;
    if (new_password(args, a.hash, sizeof a.hash, gen, &generated, err) < 0)
        return -1;
    snprintf(a.name, sizeof a.name, "%s", name);
    a.created = sg_op_now(ctx);
    a.must_change = sg_op_arg_bool(args, "must_change", generated);
    int rc = sg_store_admin_account_add(ctx->store, &a);
    if (rc != 0) {
        OPENSSL_cleanse(gen, sizeof gen);
        return rc < 0 ? sg_op_store_fail(ctx, err)
                      : sg_op_fail(err, SG_OP_CONFLICT, "name", "an account '%s' exists already", name);
    }
    char roles[128];
    sg_op_set_detail(ctx, "roles=%s", sg_roles_format(a.roles, roles, sizeof roles));
    json_t *r = json_pack("{s:s, s:o}", "name", a.name, "roles", sg_op_roles_json(a.roles));
    if (r && generated)
        json_object_set_new(r, "password", json_string(gen));
    OPENSSL_cleanse(gen, sizeof gen);
    return sg_op_answer(r, result, err);
}

int sg_op_admin_list(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    sg_store_account *a;
    size_t n;
    if (sg_store_admin_account_list(ctx->store, &a, &n) < 0)
        return sg_op_store_fail(ctx, err);
    json_t *all = json_array();
    for (size_t i = 0; all && i < n; i++)
        json_array_append_new(all,
                              json_pack("{s:s, s:o, s:I, s:I, s:i, s:I}", "name", a[i].name, "roles",
                                        sg_op_roles_json(a[i].roles), "created", (json_int_t)a[i].created,
                                        "last_login", (json_int_t)a[i].last_login, "failed_logins",
                                        a[i].failed, "locked_until", (json_int_t)a[i].locked_until));
    for (size_t i = 0; all && i < n; i++) {
        json_t *o = json_array_get(all, i);
        json_object_set_new(o, "must_change", json_boolean(a[i].must_change));
        json_object_set_new(o, "second_factor", json_string(a[i].totp_state == SG_TOTP_ACTIVE    ? "totp"
                                                            : a[i].totp_state == SG_TOTP_PENDING ? "enrolling"
                                                                                                 : "none"));
    }
    free(a);
    return sg_op_answer(sg_op_page_of(all, args), result, err);
}

/* How many accounts other than name hold Administrator: >= 0, or -1 with err. */
static int other_admins(sg_op_ctx *ctx, const char *name, sg_op_error *err)
{
    sg_store_account *a;
    size_t n;
    if (sg_store_admin_account_list(ctx->store, &a, &n) < 0)
        return sg_op_store_fail(ctx, err);
    int k = 0;
    for (size_t i = 0; i < n; i++)
        if ((a[i].roles & SG_ROLE_ADMIN) && strcmp(a[i].name, name) != 0)
            k++;
    free(a);
    return k;
}

/* The account name exists with its row in *a: 0, or -1 not_found / internal. */
static int existing(sg_op_ctx *ctx, const char *name, sg_store_account *a, sg_op_error *err)
{
    int rc = sg_store_admin_account_get(ctx->store, name, a);
    if (rc < 0)
        return sg_op_store_fail(ctx, err);
    return rc == 1 ? sg_op_fail(err, SG_OP_NOT_FOUND, "name", "no account '%.64s'", name) : 0;
}

/* Runs the account change fn inside one transaction with the last-administrator check, so two
 * concurrent removals cannot both pass it. */
static int guarded(sg_op_ctx *ctx, const char *name, bool drops_admin, sg_op_error *err,
                   int (*fn)(sg_store *s, const char *name, uint32_t roles), uint32_t roles)
{
    if (sg_store_begin(ctx->store) < 0)
        return sg_op_store_fail(ctx, err);
    sg_store_account a;
    int rc = existing(ctx, name, &a, err);
    if (rc == 0 && drops_admin && (a.roles & SG_ROLE_ADMIN)) {
        int others = other_admins(ctx, name, err);
        if (others == 0)
            rc = sg_op_fail(err, SG_OP_CONFLICT, "name",
                            "'%s' is the last Administrator: give another account the role first", name);
        else if (others < 0)
            rc = -1;
    }
    if (rc == 0 && fn(ctx->store, name, roles) != 0)
        rc = sg_op_store_fail(ctx, err);
    if (rc == 0 && sg_store_commit(ctx->store) < 0)
        rc = sg_op_store_fail(ctx, err);
    if (rc < 0)
        sg_store_rollback(ctx->store);
    return rc;
}

static int delete_fn(sg_store *s, const char *name, uint32_t roles)
{
    (void)roles;
    return sg_store_admin_account_delete(s, name);
}

int sg_op_admin_delete(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    (void)result;
    return guarded(ctx, sg_op_arg_str(args, "name"), true, err, delete_fn, 0);
}

int sg_op_admin_set_roles(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    uint32_t roles;
    const char *name = sg_op_arg_str(args, "name");
    if (sg_op_roles_arg(args, "roles", &roles, err) < 0)
        return -1;
    if (guarded(ctx, name, !(roles & SG_ROLE_ADMIN), err, sg_store_admin_account_set_roles, roles) < 0)
        return -1;
    char buf[128];
    sg_op_set_detail(ctx, "roles=%s", sg_roles_format(roles, buf, sizeof buf));
    return sg_op_answer(json_pack("{s:s, s:o}", "name", name, "roles", sg_op_roles_json(roles)), result, err);
}

/* Puts hash in force for name in one transaction with the end of every session of the old
 * password (and, when last_login >= 0, the lock lifted): 0, or -1 with err. */
static int replace_password(sg_op_ctx *ctx, const char *name, const char *hash, int64_t last_login,
                            bool must_change, sg_op_error *err)
{
    int rc = sg_store_begin(ctx->store) == 0 &&
                     sg_store_admin_account_set_hash(ctx->store, name, hash) == 0 &&
                     sg_store_admin_account_set_must_change(ctx->store, name, must_change) == 0 &&
                     (last_login < 0 ||
                      sg_store_admin_account_set_login(ctx->store, name, 0, 0, last_login) == 0) &&
                     sg_store_admin_session_delete_account(ctx->store, name) == 0 &&
                     sg_store_commit(ctx->store) == 0
                 ? 0
                 : sg_op_store_fail(ctx, err);
    if (rc < 0)
        sg_store_rollback(ctx->store);
    return rc;
}

int sg_op_admin_passwd(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *name = sg_op_arg_str(args, "name");
    sg_store_account a;
    char hash[SG_ADMIN_HASH_MAX + 1], gen[32];
    bool generated;
    if (existing(ctx, name, &a, err) < 0 || new_password(args, hash, sizeof hash, gen, &generated, err) < 0)
        return -1;
    if (replace_password(ctx, name, hash, a.last_login, sg_op_arg_bool(args, "must_change", generated), err) < 0) {
        OPENSSL_cleanse(gen, sizeof gen);
        return -1;
    }
    json_t *r = json_pack("{s:s}", "name", name);
    if (r && generated)
        json_object_set_new(r, "password", json_string(gen));
    OPENSSL_cleanse(gen, sizeof gen);
    return sg_op_answer(r, result, err);
}

int sg_op_account_password(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *name = ctx->actor ? ctx->actor : "";
    sg_store_account a;
    int64_t retry;
    char hash[SG_ADMIN_HASH_MAX + 1];
    const char *cur = sg_op_arg_str(args, "current_password"), *pw = sg_op_arg_str(args, "password");
    if (cur && pw && strcmp(cur, pw) == 0) /* a one-time password must really be replaced */
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, "password", "the new password must differ from the current one");
    /* The current password is checked like a login; the portal signs in again afterwards. */
    if (sg_auth_login(ctx->store, name, sg_op_arg_str(args, "current_password"),
                      ctx->via == SG_VIA_CLI ? NULL : ctx->client, sg_op_now(ctx), &a, &retry, err) < 0 ||
        sg_auth_hash(sg_op_arg_str(args, "password"), hash, sizeof hash, err) < 0 ||
        replace_password(ctx, name, hash, -1, false, err) < 0)
        return -1;
    sg_op_set_target(ctx, "%s", name);
    return sg_op_answer(json_pack("{s:s}", "name", name), result, err);
}
