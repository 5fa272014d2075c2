/* pg_users.c - the PostgreSQL backend's calls for internal users, aliases and groups
 * (store/users_rows.h; migration 12), shared by every node of a cluster. Owner: src/store.
 * The same queries as sqlite_users.c in PostgreSQL's dialect (strpos for instr, explicit casts
 * where a parameter's type cannot be inferred, COLLATE "C" so lists sort as in SQLite).
 * SECURITY: every value is a bound parameter, never SQL text; a list's sort is chosen from a
 * fixed table of statements, never from caller text. */
#include <stdlib.h>
#include <string.h>

#include "store/pg/pg_int.h"
#include "store/users_rows.h"

static int count_of(sg_store *s, const char *sql, const pg_args *a, int64_t *total, const char *what)
{
    PGresult *r = pg_run(s, sql, a, what);
    if (!r)
        return -1;
    *total = pg_col_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

/* --- users --- */

#define USER_COLS "addr, name, state, created"
#define USER_WHERE                                                                                           \
    " FROM users u WHERE ($1 = '' OR strpos(lower(u.addr), $1) > 0 OR strpos(lower(u.name), $1) > 0"        \
    " OR EXISTS (SELECT 1 FROM user_aliases a WHERE a.addr = u.addr AND strpos(lower(a.alias), $1) > 0))"   \
    " AND ($2::bigint < 0 OR u.state = $2::bigint)"
#define USER_PAGE(order) "SELECT " USER_COLS USER_WHERE " ORDER BY " order " LIMIT $3 OFFSET $4"
#define C " COLLATE \"C\""

static const char *const user_list_sql[SG_USERS_SORT_N][2] = {
    {USER_PAGE("addr" C), USER_PAGE("addr" C " DESC")},
    {USER_PAGE("name" C ", addr" C), USER_PAGE("name" C " DESC, addr" C " DESC")},
    {USER_PAGE("created, addr" C), USER_PAGE("created DESC, addr" C " DESC")},
};

static int rd_user(sg_store *s, const PGresult *r, int i, void *row)
{
    sg_store_user *u = row;
    memset(u, 0, sizeof *u);
    if (pg_col_fit(s, r, i, 0, u->addr, sizeof u->addr) < 0 || pg_col_fit(s, r, i, 1, u->name, sizeof u->name) < 0)
        return -1;
    u->state = (int)pg_col_i64(r, i, 2);
    u->created = pg_col_i64(r, i, 3);
    return 0;
}

static int user_add(sg_store *s, const sg_store_user *u)
{
    pg_args q = {0};
    pa_text_or_empty(&q, u->addr);
    pa_text_or_empty(&q, u->name);
    pa_i64(&q, u->state);
    pa_i64(&q, u->created);
    return pg_write_one(s,
                        "INSERT INTO users (" USER_COLS ") SELECT $1::text, $2::text, $3::bigint, $4::bigint"
                        " WHERE NOT EXISTS (SELECT 1 FROM user_aliases WHERE alias = $1::text)"
                        " ON CONFLICT DO NOTHING",
                        &q, "adding a user", 1);
}

static int user_get(sg_store *s, const char *addr, sg_store_user *u)
{
    pg_args q = {0};
    pa_text_or_empty(&q, addr);
    return pg_read_one(s, "SELECT " USER_COLS " FROM users WHERE addr = $1", &q, u, rd_user, "reading a user");
}

static int user_update(sg_store *s, const sg_store_user *u)
{
    pg_args q = {0};
    pa_text_or_empty(&q, u->addr);
    pa_text_or_empty(&q, u->name);
    pa_i64(&q, u->state);
    return pg_write_one(s, "UPDATE users SET name = $2, state = $3 WHERE addr = $1", &q, "updating a user", 1);
}

static int user_delete(sg_store *s, const char *addr)
{
    pg_args q = {0};
    pa_text_or_empty(&q, addr);
    return pg_write_one(s, "DELETE FROM users WHERE addr = $1", &q, "deleting a user", 1);
}

static int user_list(sg_store *s, const sg_store_users_filter *f, sg_store_user **u, size_t *n, int64_t *total)
{
    char m[SG_USER_ADDR_MAX + 1];
    sg_users_match_lower(f, m, sizeof m);
    pg_args q = {0};
    pa_text(&q, m);
    pa_i64(&q, f ? f->state : -1);
    if (count_of(s, "SELECT count(*)" USER_WHERE, &q, total, "counting users") < 0)
        return -1;
    pa_i64(&q, f && f->limit ? (int64_t)f->limit : SG_STORE_USERS_PAGE);
    pa_i64(&q, f ? (int64_t)f->offset : 0);
    return pg_read_all(s, sg_users_sorted(user_list_sql, f), &q, sizeof **u, rd_user, (void **)u, n, "listing users");
}

static int rd_addr(sg_store *s, const PGresult *r, int i, void *row)
{
    return pg_col_fit(s, r, i, 0, row, SG_USER_ADDR_MAX + 1);
}

static int user_resolve(sg_store *s, const char *addr_or_alias, char *addr)
{
    pg_args q = {0};
    pa_text_or_empty(&q, addr_or_alias);
    return pg_read_one(s,
                       "SELECT addr FROM users WHERE addr = $1"
                       " UNION ALL SELECT addr FROM user_aliases WHERE alias = $1 LIMIT 1",
                       &q, addr, rd_addr, "resolving an address");
}

/* --- aliases and memberships: pairs --- */

static int rd_pair(sg_store *s, const PGresult *r, int i, void *row)
{
    sg_store_user_pair *p = row;
    return pg_col_fit(s, r, i, 0, p->a, sizeof p->a) < 0 || pg_col_fit(s, r, i, 1, p->b, sizeof p->b) < 0 ? -1 : 0;
}

static int alias_add(sg_store *s, const char *addr, const char *alias)
{
    pg_args q = {0};
    pa_text_or_empty(&q, addr);
    pa_text_or_empty(&q, alias);
    return pg_write_one(s,
                        "INSERT INTO user_aliases (alias, addr) SELECT $2::text, $1::text"
                        " WHERE EXISTS (SELECT 1 FROM users WHERE addr = $1::text)"
                        " AND NOT EXISTS (SELECT 1 FROM users WHERE addr = $2::text)"
                        " ON CONFLICT DO NOTHING",
                        &q, "adding an alias", 1);
}

static int alias_remove(sg_store *s, const char *addr, const char *alias)
{
    pg_args q = {0};
    pa_text_or_empty(&q, addr);
    pa_text_or_empty(&q, alias);
    return pg_write_one(s, "DELETE FROM user_aliases WHERE addr = $1 AND alias = $2", &q, "removing an alias", 1);
}

static int alias_list(sg_store *s, const char *addr, sg_store_user_pair **p, size_t *n)
{
    pg_args q = {0};
    pa_text(&q, addr);
    return pg_read_all(s,
                       "SELECT addr, alias FROM user_aliases WHERE $1::text IS NULL OR addr = $1::text"
                       " ORDER BY alias" C,
                       &q, sizeof **p, rd_pair, (void **)p, n, "listing aliases");
}

/* --- groups --- */

#define GROUP_COLS "name, description, created"
#define GROUP_WHERE                                                                                          \
    " FROM user_groups g WHERE ($1 = '' OR strpos(lower(g.name), $1) > 0"                                    \
    " OR strpos(lower(g.description), $1) > 0)"
#define GROUP_SELECT                                                                                         \
    "SELECT " GROUP_COLS ", (SELECT count(*) FROM group_members m WHERE m.grp = g.name)"
#define GROUP_PAGE(order) GROUP_SELECT GROUP_WHERE " ORDER BY " order " LIMIT $2 OFFSET $3"

static const char *const group_list_sql[SG_USERS_SORT_N][2] = {
    {GROUP_PAGE("name" C), GROUP_PAGE("name" C " DESC")},
    {GROUP_PAGE("description" C ", name" C), GROUP_PAGE("description" C " DESC, name" C " DESC")},
    {GROUP_PAGE("created, name" C), GROUP_PAGE("created DESC, name" C " DESC")},
};

static int rd_group(sg_store *s, const PGresult *r, int i, void *row)
{
    sg_store_group *g = row;
    memset(g, 0, sizeof *g);
    if (pg_col_fit(s, r, i, 0, g->name, sizeof g->name) < 0 || pg_col_fit(s, r, i, 1, g->desc, sizeof g->desc) < 0)
        return -1;
    g->created = pg_col_i64(r, i, 2);
    g->members = pg_col_i64(r, i, 3);
    return 0;
}

static int group_add(sg_store *s, const sg_store_group *g)
{
    pg_args q = {0};
    pa_text_or_empty(&q, g->name);
    pa_text_or_empty(&q, g->desc);
    pa_i64(&q, g->created);
    return pg_write_one(s, "INSERT INTO user_groups (" GROUP_COLS ") VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                        &q, "adding a group", 1);
}

static int group_get(sg_store *s, const char *name, sg_store_group *g)
{
    pg_args q = {0};
    pa_text_or_empty(&q, name);
    return pg_read_one(s, GROUP_SELECT " FROM user_groups g WHERE name = $1", &q, g, rd_group, "reading a group");
}

static int group_update(sg_store *s, const sg_store_group *g)
{
    pg_args q = {0};
    pa_text_or_empty(&q, g->name);
    pa_text_or_empty(&q, g->desc);
    return pg_write_one(s, "UPDATE user_groups SET description = $2 WHERE name = $1", &q, "updating a group", 1);
}

static int group_delete(sg_store *s, const char *name)
{
    pg_args q = {0};
    pa_text_or_empty(&q, name);
    return pg_write_one(s, "DELETE FROM user_groups WHERE name = $1", &q, "deleting a group", 1);
}

static int group_list(sg_store *s, const sg_store_users_filter *f, sg_store_group **g, size_t *n, int64_t *total)
{
    char m[SG_GROUP_DESC_MAX + 1];
    sg_users_match_lower(f, m, sizeof m);
    pg_args q = {0};
    pa_text(&q, m);
    if (count_of(s, "SELECT count(*)" GROUP_WHERE, &q, total, "counting groups") < 0)
        return -1;
    pa_i64(&q, f && f->limit ? (int64_t)f->limit : SG_STORE_USERS_PAGE);
    pa_i64(&q, f ? (int64_t)f->offset : 0);
    return pg_read_all(s, sg_users_sorted(group_list_sql, f), &q, sizeof **g, rd_group, (void **)g, n, "listing groups");
}

static int member_add(sg_store *s, const char *group, const char *addr)
{
    pg_args q = {0};
    pa_text_or_empty(&q, group);
    pa_text_or_empty(&q, addr);
    int rc = pg_write_one(s,
                          "INSERT INTO group_members (grp, addr) SELECT $1::text, $2::text"
                          " WHERE EXISTS (SELECT 1 FROM user_groups WHERE name = $1::text)"
                          " AND EXISTS (SELECT 1 FROM users WHERE addr = $2::text)"
                          " ON CONFLICT DO NOTHING",
                          &q, "adding a group member", 1);
    if (rc != 1)
        return rc;
    /* Nothing inserted: a member already (0), or no such group or user (1). */
    char found[SG_USER_ADDR_MAX + 1];
    return pg_read_one(s, "SELECT addr FROM group_members WHERE grp = $1 AND addr = $2", &q, found, rd_addr,
                       "reading a group member");
}

static int member_remove(sg_store *s, const char *group, const char *addr)
{
    pg_args q = {0};
    pa_text_or_empty(&q, group);
    pa_text_or_empty(&q, addr);
    return pg_write_one(s, "DELETE FROM group_members WHERE grp = $1 AND addr = $2", &q,
                        "removing a group member", 1);
}

static int member_list(sg_store *s, const char *group, sg_store_user_pair **p, size_t *n)
{
    pg_args q = {0};
    pa_text(&q, group);
    return pg_read_all(s,
                       "SELECT grp, addr FROM group_members WHERE $1::text IS NULL OR grp = $1::text"
                       " ORDER BY grp" C ", addr" C,
                       &q, sizeof **p, rd_pair, (void **)p, n, "listing group members");
}

const struct sg_store_users_ops sg_pg_users_ops = {
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
