/* ops_users.c - internal users, their aliases and groups (issue 18, "Users and groups"):
 * user.list/show/create/update/delete, group.list/show/create/update/delete and group member
 * add/remove, over store/users_rows.h. Owner: src/admin. The policy reads the same rows for
 * its from_group / to_group conditions (src/policy/ugroups.c).
 * Addresses are checked and normalised here, once, for every front end: the domain is lower-
 * cased and the local part kept exact (as the key and certificate stores keep addresses), so a
 * lookup by an envelope address normalised the same way finds the row.
 * SECURITY: every argument comes from an operator front end and has passed the table's checks
 * (lengths, choices); addresses are checked again for their shape (one @, no spaces, controls,
 * angle brackets or commas) so that nothing stored can read as two addresses or as markup. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "admin/ops_handlers.h"
#include "admin/ops_int.h"
#include "store/users_rows.h"

/* addr checked and normalised into out: 0, or -1 invalid_argument naming field. */
static int norm_addr(const char *addr, const char *field, char *out, size_t outlen, sg_op_error *err)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    size_t len = addr ? strlen(addr) : 0;
    if (!at || at == addr || !at[1] || len >= outlen || len > SG_USER_ADDR_MAX)
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, field, "'%.64s' is not an address (local@domain)",
                          addr ? addr : "");
    for (const char *p = addr; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f || strchr("<>,;\"()[]\\*?", *p) || (*p == '@' && p != at))
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, field,
                              "'%.64s' is not an address: no spaces, quotes, brackets, commas, * ? or second @", addr);
    for (size_t i = 0; i < len; i++)
        out[i] = addr + i > at ? (char)tolower((unsigned char)addr[i]) : addr[i];
    out[len] = '\0';
    return 0;
}

/* A group name: letters, digits, . _ - (what a rules file can quote without surprises). */
static int check_group(const char *name, sg_op_error *err)
{
    if (!name || !*name || strlen(name) > SG_GROUP_NAME_MAX)
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, "name", "a group name is 1 to %d characters",
                          SG_GROUP_NAME_MAX);
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, "name",
                              "'%.64s': a group name has letters, digits, '.', '_' and '-' only", name);
    return 0;
}

/* Display names and descriptions: no control characters. */
static int check_text(const char *t, const char *field, sg_op_error *err)
{
    for (const char *p = t ? t : ""; *p; p++)
        if ((unsigned char)*p < ' ' || *p == 0x7f)
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, field, "%s has a control character", field);
    return 0;
}

static int parse_state(const char *s)
{
    return s && strcmp(s, "disabled") == 0 ? SG_USER_DISABLED : SG_USER_ACTIVE;
}

static const char *state_name(int state)
{
    return state == SG_USER_DISABLED ? "disabled" : "active";
}

/* The list filter of args: match, sort ("key" / "-key" of keys[3]), page. */
static void list_filter(const json_t *args, const char *const keys[3], sg_store_users_filter *f)
{
    sg_op_page(args, &f->limit, &f->offset);
    f->match = sg_op_arg_str(args, "match");
    const char *sort = sg_op_arg_str(args, "sort");
    f->desc = sort && sort[0] == '-';
    for (int k = 0; sort && k < 3; k++)
        if (strcmp(sort + f->desc, keys[k]) == 0)
            f->sort = (sg_users_sort)k;
}

static json_t *user_json(const sg_store_user *u)
{
    return json_pack("{s:s, s:s, s:s, s:I}", "address", u->addr, "name", u->name, "state", state_name(u->state),
                     "created", (json_int_t)u->created);
}

static json_t *group_json(const sg_store_group *g)
{
    return json_pack("{s:s, s:s, s:I, s:I}", "name", g->name, "description", g->desc, "created",
                     (json_int_t)g->created, "members", (json_int_t)g->members);
}

/* --- users --- */

int sg_op_user_list(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    static const char *const keys[3] = {"address", "name", "created"};
    sg_store_users_filter f = {.state = -1};
    list_filter(args, keys, &f);
    const char *state = sg_op_arg_str(args, "state");
    if (state)
        f.state = parse_state(state);
    sg_store_user *u;
    size_t n;
    int64_t total;
    if (sg_store_user_list(ctx->store, &f, &u, &n, &total) < 0)
        return sg_op_store_fail(ctx, err);
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++)
        json_array_append_new(items, user_json(&u[i]));
    free(u);
    return sg_op_answer(sg_op_list_result(items, total, f.limit, f.offset), result, err);
}

/* The user at path argument "address" into u (addr normalised into u->addr): 0, or -1. */
static int existing_user(sg_op_ctx *ctx, const json_t *args, sg_store_user *u, sg_op_error *err)
{
    char a[SG_USER_ADDR_MAX + 1];
    if (norm_addr(sg_op_arg_str(args, "address"), "address", a, sizeof a, err) < 0)
        return -1;
    sg_op_set_target(ctx, "%s", a);
    int rc = sg_store_user_get(ctx->store, a, u);
    if (rc < 0)
        return sg_op_store_fail(ctx, err);
    return rc == 1 ? sg_op_fail(err, SG_OP_NOT_FOUND, "address", "no internal user '%s'", a) : 0;
}

int sg_op_user_show(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    sg_store_user u;
    if (existing_user(ctx, args, &u, err) < 0)
        return -1;
    sg_store_user_pair *al = NULL, *m = NULL;
    size_t nal = 0, nm = 0;
    if (sg_store_user_alias_list(ctx->store, u.addr, &al, &nal) < 0 ||
        sg_store_group_member_list(ctx->store, NULL, &m, &nm) < 0) {
        free(al);
        return sg_op_store_fail(ctx, err);
    }
    json_t *r = user_json(&u), *aliases = json_array(), *groups = json_array();
    for (size_t i = 0; aliases && i < nal; i++)
        json_array_append_new(aliases, json_string(al[i].b));
    for (size_t i = 0; groups && i < nm; i++)
        if (strcmp(m[i].b, u.addr) == 0)
            json_array_append_new(groups, json_string(m[i].a));
    free(al);
    free(m);
    if (r) {
        json_object_set_new(r, "aliases", aliases ? aliases : json_null());
        json_object_set_new(r, "groups", groups ? groups : json_null());
    }
    return sg_op_answer(r, result, err);
}

/* Replaces u's aliases by the comma-separated list (NULL: leave them): 0, or -1 (the caller
 * rolls back). */
static int set_aliases(sg_op_ctx *ctx, const char *addr, const char *list, sg_op_error *err)
{
    if (!list)
        return 0;
    sg_store_user_pair *old = NULL;
    size_t n = 0;
    if (sg_store_user_alias_list(ctx->store, addr, &old, &n) < 0)
        return sg_op_store_fail(ctx, err);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (sg_store_user_alias_remove(ctx->store, addr, old[i].b) < 0)
            rc = sg_op_store_fail(ctx, err);
    free(old);
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "out of memory");
    for (char *t = strtok_r(copy, ", ", &save); rc == 0 && t; t = strtok_r(NULL, ", ", &save)) {
        char a[SG_USER_ADDR_MAX + 1];
        if (norm_addr(t, "aliases", a, sizeof a, err) < 0) {
            rc = -1;
            break;
        }
        int k = sg_store_user_alias_add(ctx->store, addr, a);
        if (k < 0)
            rc = sg_op_store_fail(ctx, err);
        else if (k == 1)
            rc = sg_op_fail(err, SG_OP_CONFLICT, "aliases", "'%s' is already a user or another user's alias", a);
    }
    free(copy);
    return rc;
}

/* Runs a change inside one transaction: fn's -1 rolls back. */
static int in_tx(sg_op_ctx *ctx, sg_op_error *err, int rc_of_fn)
{
    if (rc_of_fn < 0) {
        sg_store_rollback(ctx->store);
        return -1;
    }
    return sg_store_commit(ctx->store) < 0 ? sg_op_store_fail(ctx, err) : 0;
}

int sg_op_user_create(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    sg_store_user u = {0};
    const char *name = sg_op_arg_str(args, "name");
    if (norm_addr(sg_op_arg_str(args, "address"), "address", u.addr, sizeof u.addr, err) < 0 ||
        check_text(name, "name", err) < 0)
        return -1;
    sg_op_set_target(ctx, "%s", u.addr);
    snprintf(u.name, sizeof u.name, "%s", name ? name : "");
    u.state = parse_state(sg_op_arg_str(args, "state"));
    u.created = sg_op_now(ctx);
    if (sg_store_begin(ctx->store) < 0)
        return sg_op_store_fail(ctx, err);
    int rc = sg_store_user_add(ctx->store, &u);
    if (rc < 0)
        rc = sg_op_store_fail(ctx, err);
    else if (rc == 1)
        rc = sg_op_fail(err, SG_OP_CONFLICT, "address", "'%s' is already a user or an alias", u.addr);
    else
        rc = set_aliases(ctx, u.addr, sg_op_arg_str(args, "aliases"), err);
    if (in_tx(ctx, err, rc) < 0)
        return -1;
    return sg_op_user_show(ctx, args, result, err);
}

int sg_op_user_update(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *name = sg_op_arg_str(args, "name"), *state = sg_op_arg_str(args, "state");
    if (check_text(name, "name", err) < 0)
        return -1;
    if (sg_store_begin(ctx->store) < 0)
        return sg_op_store_fail(ctx, err);
    sg_store_user u;
    int rc = existing_user(ctx, args, &u, err);
    if (rc == 0) {
        if (name)
            snprintf(u.name, sizeof u.name, "%s", name);
        if (state)
            u.state = parse_state(state);
        if (sg_store_user_update(ctx->store, &u) != 0)
            rc = sg_op_store_fail(ctx, err);
    }
    if (rc == 0)
        rc = set_aliases(ctx, u.addr, sg_op_arg_str(args, "aliases"), err);
    if (in_tx(ctx, err, rc) < 0)
        return -1;
    return sg_op_user_show(ctx, args, result, err);
}

int sg_op_user_delete(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    sg_store_user u;
    if (existing_user(ctx, args, &u, err) < 0)
        return -1;
    int rc = sg_store_user_delete(ctx->store, u.addr);
    if (rc < 0)
        return sg_op_store_fail(ctx, err);
    if (rc == 1)
        return sg_op_fail(err, SG_OP_NOT_FOUND, "address", "no internal user '%s'", u.addr);
    return sg_op_answer(json_pack("{s:s}", "deleted", u.addr), result, err);
}

/* --- groups --- */

int sg_op_group_list(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    static const char *const keys[3] = {"name", "description", "created"};
    sg_store_users_filter f = {.state = -1};
    list_filter(args, keys, &f);
    sg_store_group *g;
    size_t n;
    int64_t total;
    if (sg_store_group_list(ctx->store, &f, &g, &n, &total) < 0)
        return sg_op_store_fail(ctx, err);
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++)
        json_array_append_new(items, group_json(&g[i]));
    free(g);
    return sg_op_answer(sg_op_list_result(items, total, f.limit, f.offset), result, err);
}

static int existing_group(sg_op_ctx *ctx, const json_t *args, sg_store_group *g, sg_op_error *err)
{
    const char *name = sg_op_arg_str(args, "name");
    if (check_group(name, err) < 0)
        return -1;
    sg_op_set_target(ctx, "%s", name);
    int rc = sg_store_group_get(ctx->store, name, g);
    if (rc < 0)
        return sg_op_store_fail(ctx, err);
    return rc == 1 ? sg_op_fail(err, SG_OP_NOT_FOUND, "name", "no group '%s'", name) : 0;
}

int sg_op_group_show(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    sg_store_group g;
    if (existing_group(ctx, args, &g, err) < 0)
        return -1;
    sg_store_user_pair *m = NULL;
    size_t n = 0;
    if (sg_store_group_member_list(ctx->store, g.name, &m, &n) < 0)
        return sg_op_store_fail(ctx, err);
    json_t *r = group_json(&g), *members = json_array();
    for (size_t i = 0; members && i < n; i++)
        json_array_append_new(members, json_string(m[i].b));
    free(m);
    if (r)
        json_object_set_new(r, "member_list", members ? members : json_null());
    return sg_op_answer(r, result, err);
}

int sg_op_group_create(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *name = sg_op_arg_str(args, "name"), *desc = sg_op_arg_str(args, "description");
    if (check_group(name, err) < 0 || check_text(desc, "description", err) < 0)
        return -1;
    sg_op_set_target(ctx, "%s", name);
    sg_store_group g = {.created = sg_op_now(ctx)};
    snprintf(g.name, sizeof g.name, "%s", name);
    snprintf(g.desc, sizeof g.desc, "%s", desc ? desc : "");
    int rc = sg_store_group_add(ctx->store, &g);
    if (rc < 0)
        return sg_op_store_fail(ctx, err);
    if (rc == 1)
        return sg_op_fail(err, SG_OP_CONFLICT, "name", "group '%s' exists already", name);
    return sg_op_group_show(ctx, args, result, err);
}

int sg_op_group_update(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *desc = sg_op_arg_str(args, "description");
    sg_store_group g;
    if (check_text(desc, "description", err) < 0 || existing_group(ctx, args, &g, err) < 0)
        return -1;
    snprintf(g.desc, sizeof g.desc, "%s", desc ? desc : "");
    int rc = sg_store_group_update(ctx->store, &g);
    if (rc != 0)
        return rc < 0 ? sg_op_store_fail(ctx, err) : sg_op_fail(err, SG_OP_NOT_FOUND, "name", "no group '%s'", g.name);
    return sg_op_group_show(ctx, args, result, err);
}

int sg_op_group_delete(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    sg_store_group g;
    if (existing_group(ctx, args, &g, err) < 0)
        return -1;
    int rc = sg_store_group_delete(ctx->store, g.name);
    if (rc != 0)
        return rc < 0 ? sg_op_store_fail(ctx, err) : sg_op_fail(err, SG_OP_NOT_FOUND, "name", "no group '%s'", g.name);
    return sg_op_answer(json_pack("{s:s}", "deleted", g.name), result, err);
}

/* The member argument "address", resolved through aliases to its user: 0, or -1. */
static int member_addr(sg_op_ctx *ctx, const json_t *args, char *addr, sg_op_error *err)
{
    char a[SG_USER_ADDR_MAX + 1];
    if (norm_addr(sg_op_arg_str(args, "address"), "address", a, sizeof a, err) < 0)
        return -1;
    int rc = sg_store_user_resolve(ctx->store, a, addr);
    if (rc < 0)
        return sg_op_store_fail(ctx, err);
    return rc == 1 ? sg_op_fail(err, SG_OP_NOT_FOUND, "address", "'%s' is no internal user or alias", a) : 0;
}

int sg_op_group_member_add(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    sg_store_group g;
    char addr[SG_USER_ADDR_MAX + 1];
    if (existing_group(ctx, args, &g, err) < 0 || member_addr(ctx, args, addr, err) < 0)
        return -1;
    sg_op_set_detail(ctx, "member=%s", addr);
    int rc = sg_store_group_member_add(ctx->store, g.name, addr);
    if (rc != 0)
        return rc < 0 ? sg_op_store_fail(ctx, err)
                      : sg_op_fail(err, SG_OP_NOT_FOUND, "address", "'%s' or group '%s' went away", addr, g.name);
    return sg_op_group_show(ctx, args, result, err);
}

int sg_op_group_member_remove(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    sg_store_group g;
    char addr[SG_USER_ADDR_MAX + 1];
    if (existing_group(ctx, args, &g, err) < 0 || member_addr(ctx, args, addr, err) < 0)
        return -1;
    sg_op_set_detail(ctx, "member=%s", addr);
    int rc = sg_store_group_member_remove(ctx->store, g.name, addr);
    if (rc != 0)
        return rc < 0 ? sg_op_store_fail(ctx, err)
                      : sg_op_fail(err, SG_OP_NOT_FOUND, "address", "'%s' is not a member of '%s'", addr, g.name);
    return sg_op_group_show(ctx, args, result, err);
}
