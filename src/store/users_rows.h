/* users_rows.h - the store's typed calls for internal users, their aliases and groups (tables
 * users, user_aliases, user_groups, group_members). Owner: src/store. Callers: the operation
 * layer (src/admin/ops_users.c) and the policy's group lookups (src/policy). The store only
 * keeps rows: address syntax and normalisation, permissions and audit live in src/admin.
 * Addresses are stored as given (the caller lower-cases them); an alias belongs to exactly one
 * user and is never also a user's own address; group members are users' own addresses, and
 * deleting a user removes its aliases and memberships.
 * Every change bumps the users generation (SG_GEN_USERS), so a cache of group memberships
 * notices it.
 * Returns: 0 done / found, 1 no such row (for adds: the row exists already), -1 error with
 * sg_store_error (never "not found"). */
#ifndef SG_STORE_USERS_ROWS_H
#define SG_STORE_USERS_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define SG_USER_ADDR_MAX 254  /* an address (RFC 5321 path limit) */
#define SG_USER_NAME_MAX 128  /* a display name */
#define SG_GROUP_NAME_MAX 64  /* a group name */
#define SG_GROUP_DESC_MAX 256 /* a group description */

typedef enum { SG_USER_ACTIVE = 0, SG_USER_DISABLED = 1 } sg_user_state;

typedef struct sg_store_user {
    char addr[SG_USER_ADDR_MAX + 1];
    char name[SG_USER_NAME_MAX + 1];
    int state; /* sg_user_state */
    int64_t created;
} sg_store_user;

typedef struct sg_store_group {
    char name[SG_GROUP_NAME_MAX + 1];
    char desc[SG_GROUP_DESC_MAX + 1];
    int64_t created;
    int64_t members; /* how many members (read only) */
} sg_store_group;

/* One alias or one membership: (user address, alias) or (group, member address). */
typedef struct sg_store_user_pair {
    char a[SG_USER_ADDR_MAX + 1];
    char b[SG_USER_ADDR_MAX + 1];
} sg_store_user_pair;

/* Sort keys of user_list and group_list. */
typedef enum {
    SG_USERS_SORT_KEY = 0, /* address / group name */
    SG_USERS_SORT_NAME,    /* display name / description */
    SG_USERS_SORT_CREATED,
    SG_USERS_SORT_N
} sg_users_sort;

/* Which rows a list returns: match (NULL or "": all) is a case-insensitive substring of the
 * address, display name or an alias (users) or of the name or description (groups); state -1
 * any (users only). Sorted by sort (ties by key), descending when desc; limit 0:
 * SG_STORE_USERS_PAGE. *total gets the number that match without limit/offset. */
typedef struct sg_store_users_filter {
    const char *match;
    int state;
    sg_users_sort sort;
    bool desc;
    size_t limit, offset;
} sg_store_users_filter;
#define SG_STORE_USERS_PAGE 100

/* Users. add: 0, 1 when the address is a user or an alias already, -1. get: 0, 1, -1.
 * update sets name and state: 0, 1, -1. delete (with aliases and memberships): 0, 1, -1.
 * list: malloc'd array (free()), 0 or -1. resolve: the user an address or alias belongs to
 * into addr (SG_USER_ADDR_MAX + 1 bytes): 0, 1 neither, -1. */
int sg_store_user_add(sg_store *s, const sg_store_user *u);
int sg_store_user_get(sg_store *s, const char *addr, sg_store_user *u);
int sg_store_user_update(sg_store *s, const sg_store_user *u);
int sg_store_user_delete(sg_store *s, const char *addr);
int sg_store_user_list(sg_store *s, const sg_store_users_filter *f, sg_store_user **u, size_t *n,
                       int64_t *total);
int sg_store_user_resolve(sg_store *s, const char *addr_or_alias, char *addr);

/* Aliases. add: 0, 1 no such user or the alias is taken (by a user or an alias), -1. remove:
 * 0, 1 not an alias of that user, -1. list: addr NULL for every alias of every user, else that
 * user's, by alias (pairs: a the user, b the alias). 0 or -1. */
int sg_store_user_alias_add(sg_store *s, const char *addr, const char *alias);
int sg_store_user_alias_remove(sg_store *s, const char *addr, const char *alias);
int sg_store_user_alias_list(sg_store *s, const char *addr, sg_store_user_pair **p, size_t *n);

/* Groups. add: 0, 1 exists, -1. get/update (description)/delete (with memberships): 0, 1, -1.
 * list as users. */
int sg_store_group_add(sg_store *s, const sg_store_group *g);
int sg_store_group_get(sg_store *s, const char *name, sg_store_group *g);
int sg_store_group_update(sg_store *s, const sg_store_group *g);
int sg_store_group_delete(sg_store *s, const char *name);
int sg_store_group_list(sg_store *s, const sg_store_users_filter *f, sg_store_group **g, size_t *n,
                        int64_t *total);

/* Members. add: 0 (also when a member already), 1 no such group or no such user, -1. remove:
 * 0, 1 not a member, -1. list: group NULL for every membership of every group (what a cache
 * loads), else that group's, by group then member (pairs: a the group, b the member). 0, -1. */
int sg_store_group_member_add(sg_store *s, const char *group, const char *addr);
int sg_store_group_member_remove(sg_store *s, const char *group, const char *addr);
int sg_store_group_member_list(sg_store *s, const char *group, sg_store_user_pair **p, size_t *n);

/* For the backends (users_rows.c): a filter's match lower-cased (ASCII, as SQLite's lower())
 * into out, and the statement for its sort key and direction out of a [SG_USERS_SORT_N][2]
 * table of fixed statements (never caller text). */
void sg_users_match_lower(const sg_store_users_filter *f, char *out, size_t outlen);
const char *sg_users_sorted(const char *const (*sql)[2], const sg_store_users_filter *f);

/* What a backend provides for users and groups (store_int.h): the calls above, same contracts. */
struct sg_store_users_ops {
    int (*user_add)(sg_store *s, const sg_store_user *u);
    int (*user_get)(sg_store *s, const char *addr, sg_store_user *u);
    int (*user_update)(sg_store *s, const sg_store_user *u);
    int (*user_delete)(sg_store *s, const char *addr);
    int (*user_list)(sg_store *s, const sg_store_users_filter *f, sg_store_user **u, size_t *n, int64_t *total);
    int (*user_resolve)(sg_store *s, const char *addr_or_alias, char *addr);
    int (*alias_add)(sg_store *s, const char *addr, const char *alias);
    int (*alias_remove)(sg_store *s, const char *addr, const char *alias);
    int (*alias_list)(sg_store *s, const char *addr, sg_store_user_pair **p, size_t *n);
    int (*group_add)(sg_store *s, const sg_store_group *g);
    int (*group_get)(sg_store *s, const char *name, sg_store_group *g);
    int (*group_update)(sg_store *s, const sg_store_group *g);
    int (*group_delete)(sg_store *s, const char *name);
    int (*group_list)(sg_store *s, const sg_store_users_filter *f, sg_store_group **g, size_t *n, int64_t *total);
    int (*member_add)(sg_store *s, const char *group, const char *addr);
    int (*member_remove)(sg_store *s, const char *group, const char *addr);
    int (*member_list)(sg_store *s, const char *group, sg_store_user_pair **p, size_t *n);
};

#endif
