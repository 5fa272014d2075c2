/* sqlite_users.c - the SQLite backend's calls for internal users, aliases and groups
 * (store/users_rows.h; migration 12). Owner: src/store. Rows are fixed-size structs; a stored
 * text longer than its field is an error, never cut. The checks "an alias is not a user",
 * "members are users" are part of each insert's WHERE, so no race between check and write.
 * SECURITY: every value is a bound parameter, never SQL text; a list's sort is chosen from a
 * fixed table of statements, never from caller text. */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite_int.h"
#include "store/users_rows.h"

static void bind_text(sqlite3_stmt *st, int i, const char *t)
{
    sqlite3_bind_text(st, i, t ? t : "", -1, SQLITE_TRANSIENT);
}

static size_t page(const sg_store_users_filter *f)
{
    return f && f->limit ? f->limit : SG_STORE_USERS_PAGE;
}

static int count_of(sg_store *s, sqlite3_stmt *st, int64_t *total, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *total = sqlite3_column_int64(st, 0);
    rc = rc == SQLITE_ROW ? 0 : sq_fail(s, what);
    sq_done(s, st);
    return rc;
}

/* --- users --- */

#define USER_COLS "addr, name, state, created"
#define USER_WHERE                                                                                           \
    " FROM users u WHERE (?1 = '' OR instr(lower(u.addr), ?1) > 0 OR instr(lower(u.name), ?1) > 0"          \
    " OR EXISTS (SELECT 1 FROM user_aliases a WHERE a.addr = u.addr AND instr(lower(a.alias), ?1) > 0))"    \
    " AND (?2 < 0 OR u.state = ?2)"
#define USER_PAGE(order) "SELECT " USER_COLS USER_WHERE " ORDER BY " order " LIMIT ?3 OFFSET ?4"

static const char *const user_list_sql[SG_USERS_SORT_N][2] = {
    {USER_PAGE("addr"), USER_PAGE("addr DESC")},
    {USER_PAGE("name, addr"), USER_PAGE("name DESC, addr DESC")},
    {USER_PAGE("created, addr"), USER_PAGE("created DESC, addr DESC")},
};

static int rd_user(sg_store *s, sqlite3_stmt *st, void *row)
{
    sg_store_user *u = row;
    memset(u, 0, sizeof *u);
    if (sq_col_fit(s, st, 0, u->addr, sizeof u->addr) < 0 || sq_col_fit(s, st, 1, u->name, sizeof u->name) < 0)
        return -1;
    u->state = sqlite3_column_int(st, 2);
    u->created = sqlite3_column_int64(st, 3);
    return 0;
}

static int user_add(sg_store *s, const sg_store_user *u)
{
    sqlite3_stmt *st = sq_stmt(s, "INSERT INTO users (" USER_COLS ") SELECT ?1, ?2, ?3, ?4"
                                  " WHERE NOT EXISTS (SELECT 1 FROM user_aliases WHERE alias = ?1)"
                                  " ON CONFLICT DO NOTHING");
    if (!st)
        return -1;
    bind_text(st, 1, u->addr);
    bind_text(st, 2, u->name);
    sqlite3_bind_int(st, 3, u->state);
    sqlite3_bind_int64(st, 4, u->created);
    return sq_write_step(s, st, "adding a user", SQ_CHANGED);
}

static int user_get(sg_store *s, const char *addr, sg_store_user *u)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT " USER_COLS " FROM users WHERE addr = ?");
    if (!st)
        return -1;
    bind_text(st, 1, addr);
    return sq_read_one(s, st, u, rd_user, "reading a user");
}

static int user_update(sg_store *s, const sg_store_user *u)
{
    sqlite3_stmt *st = sq_stmt(s, "UPDATE users SET name = ?2, state = ?3 WHERE addr = ?1");
    if (!st)
        return -1;
    bind_text(st, 1, u->addr);
    bind_text(st, 2, u->name);
    sqlite3_bind_int(st, 3, u->state);
    return sq_write_step(s, st, "updating a user", SQ_CHANGED);
}

static int user_delete(sg_store *s, const char *addr)
{
    sqlite3_stmt *st = sq_stmt(s, "DELETE FROM users WHERE addr = ?");
    if (!st)
        return -1;
    bind_text(st, 1, addr);
    return sq_write_step(s, st, "deleting a user", SQ_CHANGED);
}

static int user_list(sg_store *s, const sg_store_users_filter *f, sg_store_user **u, size_t *n, int64_t *total)
{
    char m[SG_USER_ADDR_MAX + 1];
    sg_users_match_lower(f, m, sizeof m);
    int state = f ? f->state : -1;
    sqlite3_stmt *st = sq_stmt(s, "SELECT count(*)" USER_WHERE);
    if (!st)
        return -1;
    bind_text(st, 1, m);
    sqlite3_bind_int(st, 2, state);
    if (count_of(s, st, total, "counting users") < 0)
        return -1;
    if (!(st = sq_stmt(s, sg_users_sorted(user_list_sql, f))))
        return -1;
    bind_text(st, 1, m);
    sqlite3_bind_int(st, 2, state);
    sqlite3_bind_int64(st, 3, (int64_t)page(f));
    sqlite3_bind_int64(st, 4, f ? (int64_t)f->offset : 0);
    return sq_read_all(s, st, sizeof **u, rd_user, (void **)u, n, "listing users");
}

static int rd_addr(sg_store *s, sqlite3_stmt *st, void *row)
{
    return sq_col_fit(s, st, 0, row, SG_USER_ADDR_MAX + 1);
}

static int user_resolve(sg_store *s, const char *addr_or_alias, char *addr)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT addr FROM users WHERE addr = ?1"
                                  " UNION ALL SELECT addr FROM user_aliases WHERE alias = ?1 LIMIT 1");
    if (!st)
        return -1;
    bind_text(st, 1, addr_or_alias);
    return sq_read_one(s, st, addr, rd_addr, "resolving an address");
}

/* --- aliases and memberships: pairs --- */

static int rd_pair(sg_store *s, sqlite3_stmt *st, void *row)
{
    sg_store_user_pair *p = row;
    return sq_col_fit(s, st, 0, p->a, sizeof p->a) < 0 || sq_col_fit(s, st, 1, p->b, sizeof p->b) < 0 ? -1 : 0;
}

static int alias_add(sg_store *s, const char *addr, const char *alias)
{
    sqlite3_stmt *st = sq_stmt(s, "INSERT INTO user_aliases (alias, addr) SELECT ?2, ?1"
                                  " WHERE EXISTS (SELECT 1 FROM users WHERE addr = ?1)"
                                  " AND NOT EXISTS (SELECT 1 FROM users WHERE addr = ?2)"
                                  " ON CONFLICT DO NOTHING");
    if (!st)
        return -1;
    bind_text(st, 1, addr);
    bind_text(st, 2, alias);
    return sq_write_step(s, st, "adding an alias", SQ_CHANGED);
}

static int alias_remove(sg_store *s, const char *addr, const char *alias)
{
    sqlite3_stmt *st = sq_stmt(s, "DELETE FROM user_aliases WHERE addr = ? AND alias = ?");
    if (!st)
        return -1;
    bind_text(st, 1, addr);
    bind_text(st, 2, alias);
    return sq_write_step(s, st, "removing an alias", SQ_CHANGED);
}

static int alias_list(sg_store *s, const char *addr, sg_store_user_pair **p, size_t *n)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT addr, alias FROM user_aliases WHERE ?1 IS NULL OR addr = ?1"
                                  " ORDER BY alias");
    if (!st)
        return -1;
    if (addr)
        bind_text(st, 1, addr);
    return sq_read_all(s, st, sizeof **p, rd_pair, (void **)p, n, "listing aliases");
}

/* --- groups --- */

#define GROUP_COLS "name, description, created"
#define GROUP_WHERE                                                                                          \
    " FROM user_groups g WHERE (?1 = '' OR instr(lower(g.name), ?1) > 0"                                     \
    " OR instr(lower(g.description), ?1) > 0)"
#define GROUP_SELECT                                                                                         \
    "SELECT " GROUP_COLS ", (SELECT count(*) FROM group_members m WHERE m.grp = g.name)"
#define GROUP_PAGE(order) GROUP_SELECT GROUP_WHERE " ORDER BY " order " LIMIT ?3 OFFSET ?4"

static const char *const group_list_sql[SG_USERS_SORT_N][2] = {
    {GROUP_PAGE("name"), GROUP_PAGE("name DESC")},
    {GROUP_PAGE("description, name"), GROUP_PAGE("description DESC, name DESC")},
    {GROUP_PAGE("created, name"), GROUP_PAGE("created DESC, name DESC")},
};

static int rd_group(sg_store *s, sqlite3_stmt *st, void *row)
{
    sg_store_group *g = row;
    memset(g, 0, sizeof *g);
    if (sq_col_fit(s, st, 0, g->name, sizeof g->name) < 0 || sq_col_fit(s, st, 1, g->desc, sizeof g->desc) < 0)
        return -1;
    g->created = sqlite3_column_int64(st, 2);
    g->members = sqlite3_column_int64(st, 3);
    return 0;
}

static int group_add(sg_store *s, const sg_store_group *g)
{
    sqlite3_stmt *st = sq_stmt(s, "INSERT INTO user_groups (" GROUP_COLS ") VALUES (?, ?, ?)");
    if (!st)
        return -1;
    bind_text(st, 1, g->name);
    bind_text(st, 2, g->desc);
    sqlite3_bind_int64(st, 3, g->created);
    return sq_write_step(s, st, "adding a group", SQ_INSERT);
}

static int group_get(sg_store *s, const char *name, sg_store_group *g)
{
    sqlite3_stmt *st = sq_stmt(s, GROUP_SELECT " FROM user_groups g WHERE name = ?");
    if (!st)
        return -1;
    bind_text(st, 1, name);
    return sq_read_one(s, st, g, rd_group, "reading a group");
}

static int group_update(sg_store *s, const sg_store_group *g)
{
    sqlite3_stmt *st = sq_stmt(s, "UPDATE user_groups SET description = ?2 WHERE name = ?1");
    if (!st)
        return -1;
    bind_text(st, 1, g->name);
    bind_text(st, 2, g->desc);
    return sq_write_step(s, st, "updating a group", SQ_CHANGED);
}

static int group_delete(sg_store *s, const char *name)
{
    sqlite3_stmt *st = sq_stmt(s, "DELETE FROM user_groups WHERE name = ?");
    if (!st)
        return -1;
    bind_text(st, 1, name);
    return sq_write_step(s, st, "deleting a group", SQ_CHANGED);
}

static int group_list(sg_store *s, const sg_store_users_filter *f, sg_store_group **g, size_t *n, int64_t *total)
{
    char m[SG_GROUP_DESC_MAX + 1];
    sg_users_match_lower(f, m, sizeof m);
    sqlite3_stmt *st = sq_stmt(s, "SELECT count(*)" GROUP_WHERE);
    if (!st)
        return -1;
    bind_text(st, 1, m);
    if (count_of(s, st, total, "counting groups") < 0)
        return -1;
    if (!(st = sq_stmt(s, sg_users_sorted(group_list_sql, f))))
        return -1;
    bind_text(st, 1, m);
    sqlite3_bind_int64(st, 3, (int64_t)page(f));
    sqlite3_bind_int64(st, 4, f ? (int64_t)f->offset : 0);
    return sq_read_all(s, st, sizeof **g, rd_group, (void **)g, n, "listing groups");
}

static int member_add(sg_store *s, const char *group, const char *addr)
{
    sqlite3_stmt *st = sq_stmt(s, "INSERT INTO group_members (grp, addr) SELECT ?1, ?2"
                                  " WHERE EXISTS (SELECT 1 FROM user_groups WHERE name = ?1)"
                                  " AND EXISTS (SELECT 1 FROM users WHERE addr = ?2)"
                                  " ON CONFLICT DO NOTHING");
    if (!st)
        return -1;
    bind_text(st, 1, group);
    bind_text(st, 2, addr);
    int rc = sq_write_step(s, st, "adding a group member", SQ_CHANGED);
    if (rc != 1)
        return rc;
    /* Nothing inserted: a member already (0), or no such group or user (1). */
    char found[SG_USER_ADDR_MAX + 1];
    if (!(st = sq_stmt(s, "SELECT addr FROM group_members WHERE grp = ? AND addr = ?")))
        return -1;
    bind_text(st, 1, group);
    bind_text(st, 2, addr);
    return sq_read_one(s, st, found, rd_addr, "reading a group member");
}

static int member_remove(sg_store *s, const char *group, const char *addr)
{
    sqlite3_stmt *st = sq_stmt(s, "DELETE FROM group_members WHERE grp = ? AND addr = ?");
    if (!st)
        return -1;
    bind_text(st, 1, group);
    bind_text(st, 2, addr);
    return sq_write_step(s, st, "removing a group member", SQ_CHANGED);
}

static int member_list(sg_store *s, const char *group, sg_store_user_pair **p, size_t *n)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT grp, addr FROM group_members WHERE ?1 IS NULL OR grp = ?1"
                                  " ORDER BY grp, addr");
    if (!st)
        return -1;
    if (group)
        bind_text(st, 1, group);
    return sq_read_all(s, st, sizeof **p, rd_pair, (void **)p, n, "listing group members");
}

const struct sg_store_users_ops sg_sqlite_users_ops = {
    .user_add = user_add,
    .user_get = user_get,
    .user_update = user_update,
    .user_delete = user_delete,
    .user_list = user_list,
    .user_resolve = user_resolve,
    .alias_add = alias_add,
    .alias_remove = alias_remove,
    .alias_list = alias_list,
    .group_add = group_add,
    .group_get = group_get,
    .group_update = group_update,
    .group_delete = group_delete,
    .group_list = group_list,
    .member_add = member_add,
    .member_remove = member_remove,
    .member_list = member_list,
};
