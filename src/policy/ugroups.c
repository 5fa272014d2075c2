/* ugroups.c - fills the policy's store groups (ugroups.h) from store/users_rows.h. Owner:
 * src/policy. Called where the policy in force is chosen (pstore.c), so the policy's existing
 * cache and reload (transform_policy.c, which also follows the users generation) carry the
 * memberships: evaluation per recipient stays pure and never asks the store.
 * SECURITY: members become literal address patterns; the operation layer refuses glob
 * characters in stored addresses, so a stored address never matches more than itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/ugroups.h"
#include "store/users_rows.h"

/* Appends addr to g's members: 0 or -1 (out of memory). */
static int add_member(sg_pgroup *g, const char *addr)
{
    char **nv = realloc(g->members, (g->n + 1) * sizeof *nv);
    if (!nv)
        return -1;
    g->members = nv;
    if (!(nv[g->n] = strdup(addr)))
        return -1;
    g->n++;
    return 0;
}

int sg_policy_fill_store_groups(sg_policy *p, sg_store *st, char *err, size_t errlen)
{
    bool any = false;
    for (size_t i = 0; i < p->ngroups; i++)
        any |= p->groups[i].from_store;
    if (!any)
        return 0;
    sg_store_user_pair *m = NULL, *al = NULL;
    size_t nm = 0, nal = 0;
    if (sg_store_group_member_list(st, NULL, &m, &nm) < 0 || sg_store_user_alias_list(st, NULL, &al, &nal) < 0) {
        snprintf(err, errlen, "store: cannot read the groups: %s", sg_store_error(st));
        free(m);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < p->ngroups; i++) {
        sg_pgroup *g = &p->groups[i];
        if (!g->from_store)
            continue;
        for (size_t k = 0; rc == 0 && k < nm; k++) {
            if (strcmp(m[k].a, g->name) != 0)
                continue;
            rc = add_member(g, m[k].b);
            for (size_t j = 0; rc == 0 && j < nal; j++)
                if (strcmp(al[j].a, m[k].b) == 0)
                    rc = add_member(g, al[j].b);
        }
    }
    free(m);
    free(al);
    if (rc < 0)
        snprintf(err, errlen, "out of memory filling the groups");
    return rc;
}
