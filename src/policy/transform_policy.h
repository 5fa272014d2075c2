/* transform_policy.h - the policy transform of cryptd (an sg_transform_fn, see transform.h).
 * Owner: src/policy. Evaluates the policy in force per recipient, groups equal decisions and
 * runs each group's action chain through the engines (engine.h); one output per group, plus
 * notices (MAIL FROM <>) and partial holds. docs/policy.md describes the behaviour. */
#ifndef SG_TRANSFORM_POLICY_H
#define SG_TRANSFORM_POLICY_H

#include <stddef.h>

#include "engine/engine.h"
#include "policy/transform.h"

/* Remembers env (it must outlive the transform), initialises the engines and loads the policy
 * in force from the store. Call once, before worker threads start. 0 or -1. */
int sg_transform_policy_init(const sg_engine_env *env);
/* Looks for a newer policy revision in the store and puts it in force; a broken one is logged
 * with its line and the running policy stays. Cheap when nothing changed (the store's policy
 * generation, one cached query): cryptd calls it every second and on SIGHUP. 1 reloaded, 0
 * unchanged, -1 refused or error. */
int sg_transform_policy_reload(void);
int sg_transform_policy(const sg_envelope *in, const char *data, size_t len, sg_transform_result *res);
void sg_transform_policy_done(void);

#endif
