/* users_rows.c - the public calls for internal users and groups (users_rows.h): each dispatches
 * to the backend. Owner: src/store. */
#include "store/users_rows.h"
#include "store/store_int.h"

#include <ctype.h>

#define OPS(s) ((s)->be->users)

int sg_store_user_add(sg_store *s, const sg_store_user *u) { return OPS(s)->user_add(s, u); }
int sg_store_user_get(sg_store *s, const char *addr, sg_store_user *u) { return OPS(s)->user_get(s, addr, u); }
int sg_store_user_update(sg_store *s, const sg_store_user *u) { return OPS(s)->user_update(s, u); }
int sg_store_user_delete(sg_store *s, const char *addr) { return OPS(s)->user_delete(s, addr); }
int sg_store_user_list(sg_store *s, const sg_store_users_filter *f, sg_store_user **u, size_t *n, int64_t *total)
{
    return OPS(s)->user_list(s, f, u, n, total);
}
int sg_store_user_resolve(sg_store *s, const char *addr_or_alias, char *addr)
{
    return OPS(s)->user_resolve(s, addr_or_alias, addr);
}
int sg_store_user_alias_add(sg_store *s, const char *addr, const char *alias)
{
    return OPS(s)->alias_add(s, addr, alias);
}
int sg_store_user_alias_remove(sg_store *s, const char *addr, const char *alias)
{
    return OPS(s)->alias_remove(s, addr, alias);
}
int sg_store_user_alias_list(sg_store *s, const char *addr, sg_store_user_pair **p, size_t *n)
{
    return OPS(s)->alias_list(s, addr, p, n);
}
int sg_store_group_add(sg_store *s, const sg_store_group *g) { return OPS(s)->group_add(s, g); }
int sg_store_group_get(sg_store *s, const char *name, sg_store_group *g) { return OPS(s)->group_get(s, name, g); }
int sg_store_group_update(sg_store *s, const sg_store_group *g) { return OPS(s)->group_update(s, g); }
int sg_store_group_delete(sg_store *s, const char *name) { return OPS(s)->group_delete(s, name); }
int sg_store_group_list(sg_store *s, const sg_store_users_filter *f, sg_store_group **g, size_t *n,
                        int64_t *total)
{
    return OPS(s)->group_list(s, f, g, n, total);
}
int sg_store_group_member_add(sg_store *s, const char *group, const char *addr)
{
    return OPS(s)->member_add(s, group, addr);
}
int sg_store_group_member_remove(sg_store *s, const char *group, const char *addr)
{
    return OPS(s)->member_remove(s, group, addr);
}
int sg_store_group_member_list(sg_store *s, const char *group, sg_store_user_pair **p, size_t *n)
{
    return OPS(s)->member_list(s, group, p, n);
}

void sg_users_match_lower(const sg_store_users_filter *f, char *out, size_t outlen)
{
    size_t i = 0;
    for (const char *m = f && f->match ? f->match : ""; *m && i + 1 < outlen; m++)
        out[i++] = (char)tolower((unsigned char)*m);
    out[i] = '\0';
}

const char *sg_users_sorted(const char *const (*sql)[2], const sg_store_users_filter *f)
{
    unsigned k = f && (unsigned)f->sort < SG_USERS_SORT_N ? (unsigned)f->sort : 0;
    return sql[k][f && f->desc ? 1 : 0];
}
