/* ugroups.h - the policy's groups kept in the store (groups with source = "store"). Owner:
 * src/policy. */
#ifndef SG_POLICY_UGROUPS_H
#define SG_POLICY_UGROUPS_H

#include <stddef.h>

#include "policy/policy.h"
#include "store/store.h"

/* Fills every group of p with source = "store" with the store's members of the group of that
 * name: each member's own address and its aliases (so a rule matches mail from or to an alias
 * as from or to its user). A group the store does not have is empty. 0, or -1 with err on a
 * store error (the caller keeps the policy it had: fail closed, never "not a member"). */
int sg_policy_fill_store_groups(sg_policy *p, sg_store *st, char *err, size_t errlen);

#endif
