/* roles.h - the seven administration roles of issue 18 as bits, with their names for parsing
 * and printing. Owner: src/admin.
 * An account or API token holds a set of roles (a bitmask, stored as is in the store: never
 * renumber a bit). Administrator may call every operation; Auditor every read-only one; the
 * others what each operation's entry in the table (admin/ops_table.c) names.
 * SECURITY: an unknown bit read from the store grants nothing (sg_roles_valid masks it). */
#ifndef SG_ADMIN_ROLES_H
#define SG_ADMIN_ROLES_H

#include <stddef.h>
#include <stdint.h>

enum {
    SG_ROLE_ADMIN = 1u << 0,   /* "administrator": everything */
    SG_ROLE_NETWORK = 1u << 1, /* "network-operator": listeners, relay, next hops, TLS, limits */
    SG_ROLE_USER = 1u << 2,    /* "user-operator": internal users, keys and certificates */
    SG_ROLE_CA = 1u << 3,      /* "ca-operator": the local CA (issue, revoke, CRL) */
    SG_ROLE_POLICY = 1u << 4,  /* "policy-operator": rules, groups, keywords, templates */
    SG_ROLE_SYSTEM = 1u << 5,  /* "system-operator": status, queue, restarts, backups, logs */
    SG_ROLE_AUDITOR = 1u << 6, /* "auditor": sees what an Administrator sees, changes nothing */
};
#define SG_ROLES_ALL 0x7fu
#define SG_ROLE_COUNT 7

/* The name of a single role bit ("administrator", ...), NULL for anything else. */
const char *sg_role_name(uint32_t bit);
/* The role bit of the i-th role (0 .. SG_ROLE_COUNT-1), in the order above. */
uint32_t sg_role_bit(int i);
/* One role by name (case-insensitive; also the short forms "admin", "network", "user", "ca",
 * "policy", "system"): its bit, or 0 when unknown. */
uint32_t sg_role_parse(const char *name);
/* A comma-separated list of names ("ca-operator,auditor") into *roles: 0, or -1 when a name is
 * unknown or the list is empty. */
int sg_roles_parse(const char *list, uint32_t *roles);
/* roles as a comma-separated list of names into buf ("" for none). Returns buf. */
char *sg_roles_format(uint32_t roles, char *buf, size_t len);
/* roles without unknown bits. */
static inline uint32_t sg_roles_valid(uint32_t roles)
{
    return roles & SG_ROLES_ALL;
}

#endif
