/* test_store_users.c - the store's typed calls for internal users, aliases and groups
 * (store/users_rows.h) on either backend: round trips, "exists" and "no such row" as 1 and not
 * as errors, aliases that cannot shadow a user, members that must be users, cascades on
 * delete, list filter / sort / pagination, the users generation, and a dropped table being an
 * error rather than "not found". Owner: src/store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "store/users_rows.h"
#include "store_side.h"

static sg_store_user mk_user(const char *addr, const char *name, int64_t created)
{
    sg_store_user u = {0};
    snprintf(u.addr, sizeof u.addr, "%s", addr);
    snprintf(u.name, sizeof u.name, "%s", name);
    u.created = created;
    return u;
}

static sg_store_group mk_group(const char *name, const char *desc, int64_t created)
{
    sg_store_group g = {0};
    snprintf(g.name, sizeof g.name, "%s", name);
    snprintf(g.desc, sizeof g.desc, "%s", desc);
    g.created = created;
    return g;
}

static void users_and_aliases(sg_store *st)
{
    sg_store_user u = mk_user("alice@example.org", "Alice A", 100), got;
    int64_t g0 = 0, g1 = 0;
    CHECK(sg_store_generation(st, SG_GEN_USERS, &g0) == 0, "the users generation reads");
    CHECK(sg_store_user_add(st, &u) == 0, "a user is added (%s)", sg_store_error(st));
    CHECK(sg_store_generation(st, SG_GEN_USERS, &g1) == 0 && g1 != g0, "adding changed the users generation");
    CHECK(sg_store_user_add(st, &u) == 1, "adding it again: 1 (exists)");
    CHECK(sg_store_user_get(st, "alice@example.org", &got) == 0 && strcmp(got.name, "Alice A") == 0 &&
              got.state == SG_USER_ACTIVE && got.created == 100,
          "it reads back");
    CHECK(sg_store_user_get(st, "nobody@example.org", &got) == 1, "a missing user: 1");
    u.state = SG_USER_DISABLED;
    snprintf(u.name, sizeof u.name, "Alice B");
    CHECK(sg_store_user_update(st, &u) == 0 && sg_store_user_get(st, u.addr, &got) == 0 &&
              got.state == SG_USER_DISABLED && strcmp(got.name, "Alice B") == 0,
          "update sets name and state");
    sg_store_user ghost = mk_user("ghost@example.org", "", 1);
    CHECK(sg_store_user_update(st, &ghost) == 1, "updating a missing user: 1");

    sg_store_user bob = mk_user("bob@example.org", "Bob", 200);
    CHECK(sg_store_user_add(st, &bob) == 0, "a second user");
    CHECK(sg_store_user_alias_add(st, "alice@example.org", "a.a@example.org") == 0 &&
              sg_store_user_alias_add(st, "alice@example.org", "finance-boss@example.org") == 0,
          "two aliases for alice");
    CHECK(sg_store_user_alias_add(st, "bob@example.org", "a.a@example.org") == 1, "an alias taken: 1");
    CHECK(sg_store_user_alias_add(st, "alice@example.org", "bob@example.org") == 1,
          "a user's own address cannot become an alias: 1");
    CHECK(sg_store_user_alias_add(st, "nobody@example.org", "x@example.org") == 1, "an alias of no user: 1");
    sg_store_user shadow = mk_user("a.a@example.org", "", 1);
    CHECK(sg_store_user_add(st, &shadow) == 1, "an alias cannot become a user: 1");
    char addr[SG_USER_ADDR_MAX + 1];
    CHECK(sg_store_user_resolve(st, "a.a@example.org", addr) == 0 && strcmp(addr, "alice@example.org") == 0,
          "an alias resolves to its user");
    CHECK(sg_store_user_resolve(st, "bob@example.org", addr) == 0 && strcmp(addr, "bob@example.org") == 0,
          "a user resolves to itself");
    CHECK(sg_store_user_resolve(st, "x@example.org", addr) == 1, "an unknown address: 1");
    sg_store_user_pair *p = NULL;
    size_t n = 0;
    CHECK(sg_store_user_alias_list(st, "alice@example.org", &p, &n) == 0 && n == 2 &&
              strcmp(p[0].b, "a.a@example.org") == 0 && strcmp(p[1].a, "alice@example.org") == 0,
          "alice's aliases, by alias");
    free(p);
    CHECK(sg_store_user_alias_remove(st, "bob@example.org", "a.a@example.org") == 1,
          "removing another user's alias: 1");
    CHECK(sg_store_user_alias_remove(st, "alice@example.org", "a.a@example.org") == 0 &&
              sg_store_user_resolve(st, "a.a@example.org", addr) == 1,
          "a removed alias resolves no more");
}

static void lists(sg_store *st)
{
    static const char *const more[] = {"carol@example.org", "dave@example.net", "erin@example.org"};
    for (int i = 0; i < 3; i++) {
        sg_store_user u = mk_user(more[i], i == 1 ? "Zed" : "Amy", 300 + i);
        CHECK(sg_store_user_add(st, &u) == 0, "user %s added", more[i]);
    }
    sg_store_user *u = NULL;
    size_t n = 0;
    int64_t total = 0;
    sg_store_users_filter f = {.state = -1};
    CHECK(sg_store_user_list(st, &f, &u, &n, &total) == 0 && n == 5 && total == 5 &&
              strcmp(u[0].addr, "alice@example.org") == 0 && strcmp(u[4].addr, "erin@example.org") == 0,
          "all five by address");
    free(u);
    f = (sg_store_users_filter){.state = -1, .sort = SG_USERS_SORT_CREATED, .desc = true, .limit = 2, .offset = 1};
    CHECK(sg_store_user_list(st, &f, &u, &n, &total) == 0 && n == 2 && total == 5 &&
              strcmp(u[0].addr, "dave@example.net") == 0 && strcmp(u[1].addr, "carol@example.org") == 0,
          "newest first, second page of two, total still 5");
    free(u);
    f = (sg_store_users_filter){.state = -1, .match = "EXAMPLE.NET"};
    CHECK(sg_store_user_list(st, &f, &u, &n, &total) == 0 && n == 1 && total == 1 &&
              strcmp(u[0].addr, "dave@example.net") == 0,
          "a case-insensitive match on the address");
    free(u);
    f = (sg_store_users_filter){.state = -1, .match = "finance-boss"};
    CHECK(sg_store_user_list(st, &f, &u, &n, &total) == 0 && n == 1 && strcmp(u[0].addr, "alice@example.org") == 0,
          "a match on an alias finds its user");
    free(u);
    f = (sg_store_users_filter){.state = SG_USER_DISABLED};
    CHECK(sg_store_user_list(st, &f, &u, &n, &total) == 0 && n == 1 && strcmp(u[0].addr, "alice@example.org") == 0,
          "a filter on the state");
    free(u);
    f = (sg_store_users_filter){.state = -1, .sort = SG_USERS_SORT_NAME, .desc = true};
    CHECK(sg_store_user_list(st, &f, &u, &n, &total) == 0 && n == 5 && strcmp(u[0].name, "Zed") == 0,
          "sorted by display name, descending");
    free(u);
}

static void groups(sg_store *st)
{
    sg_store_group g = mk_group("finance", "Money people", 10), got;
    CHECK(sg_store_group_add(st, &g) == 0, "a group is added (%s)", sg_store_error(st));
    CHECK(sg_store_group_add(st, &g) == 1, "adding it again: 1");
    sg_store_group g2 = mk_group("board", "The board", 20);
    CHECK(sg_store_group_add(st, &g2) == 0, "a second group");
    snprintf(g.desc, sizeof g.desc, "Finance department");
    CHECK(sg_store_group_update(st, &g) == 0 && sg_store_group_get(st, "finance", &got) == 0 &&
              strcmp(got.desc, "Finance department") == 0 && got.created == 10 && got.members == 0,
          "update sets the description");
    CHECK(sg_store_group_get(st, "nope", &got) == 1, "a missing group: 1");
    int64_t g0 = 0, g1 = 0;
    CHECK(sg_store_generation(st, SG_GEN_USERS, &g0) == 0, "generation before a member");
    CHECK(sg_store_group_member_add(st, "finance", "alice@example.org") == 0 &&
              sg_store_group_member_add(st, "finance", "bob@example.org") == 0 &&
              sg_store_group_member_add(st, "board", "alice@example.org") == 0,
          "members added");
    CHECK(sg_store_generation(st, SG_GEN_USERS, &g1) == 0 && g1 != g0, "adding members changed the generation");
    CHECK(sg_store_group_member_add(st, "finance", "alice@example.org") == 0, "adding a member again: 0");
    CHECK(sg_store_group_member_add(st, "finance", "x@example.org") == 1, "a member that is no user: 1");
    CHECK(sg_store_group_member_add(st, "nope", "alice@example.org") == 1, "a member of no group: 1");
    CHECK(sg_store_group_get(st, "finance", &got) == 0 && got.members == 2, "the group counts two members");
    sg_store_user_pair *p = NULL;
    size_t n = 0;
    CHECK(sg_store_group_member_list(st, NULL, &p, &n) == 0 && n == 3 && strcmp(p[0].a, "board") == 0 &&
              strcmp(p[2].b, "bob@example.org") == 0,
          "every membership, by group then member");
    free(p);
    sg_store_group *gl = NULL;
    int64_t total = 0;
    sg_store_users_filter f = {.match = "DEPART"};
    CHECK(sg_store_group_list(st, &f, &gl, &n, &total) == 0 && n == 1 && total == 1 &&
              strcmp(gl[0].name, "finance") == 0 && gl[0].members == 2,
          "a group found by its description, with its member count");
    free(gl);
    f = (sg_store_users_filter){.desc = true, .limit = 1};
    CHECK(sg_store_group_list(st, &f, &gl, &n, &total) == 0 && n == 1 && total == 2 &&
              strcmp(gl[0].name, "finance") == 0,
          "by name descending, one per page");
    free(gl);
    CHECK(sg_store_group_member_remove(st, "finance", "bob@example.org") == 0 &&
              sg_store_group_member_remove(st, "finance", "bob@example.org") == 1,
          "a member removed; removing again: 1");
    CHECK(sg_store_user_delete(st, "alice@example.org") == 0, "alice deleted");
    CHECK(sg_store_user_delete(st, "alice@example.org") == 1, "deleting again: 1");
    char addr[SG_USER_ADDR_MAX + 1];
    CHECK(sg_store_user_resolve(st, "finance-boss@example.org", addr) == 1, "her alias went with her");
    CHECK(sg_store_group_member_list(st, NULL, &p, &n) == 0 && n == 0, "and so did her memberships");
    free(p);
    CHECK(sg_store_group_member_add(st, "board", "bob@example.org") == 0 && sg_store_group_delete(st, "board") == 0 &&
              sg_store_group_member_list(st, NULL, &p, &n) == 0 && n == 0,
          "a deleted group takes its memberships");
    free(p);
    CHECK(sg_store_group_delete(st, "board") == 1, "deleting a missing group: 1");
}

int main(void)
{
    char dir[] = "/tmp/sg-test-store-users-XXXXXX", path[300], err[512] = "";
    if (!mkdtemp(dir))
        return 1;
    if (side_store(dir, "users", path, sizeof path) < 0)
        return 1;
    sg_store *st = sg_store_open(path, err, sizeof err);
    CHECK(st != NULL, "store opened (%s)", err);
    if (!st)
        return CHECK_DONE();
    users_and_aliases(st);
    lists(st);
    groups(st);

    CHECK(side_once(path, "DROP TABLE group_members;") == 0, "another connection drops group_members");
    sg_store_user_pair *p = NULL;
    size_t n = 0;
    CHECK(sg_store_group_member_list(st, NULL, &p, &n) == -1 && strstr(sg_store_error(st), SIDE_NO_TABLE),
          "listing members: an error, not 'no members' (%s)", sg_store_error(st));
    CHECK(sg_store_group_member_add(st, "finance", "bob@example.org") == -1, "adding a member: an error");
    CHECK(side_once(path, "DROP TABLE users;") == 0, "another connection drops users");
    char addr[SG_USER_ADDR_MAX + 1];
    CHECK(sg_store_user_resolve(st, "bob@example.org", addr) == -1, "resolving: an error, not 'unknown'");
    sg_store_close(st);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
