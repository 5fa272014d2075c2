/* engkeys.h - the policy's key questions answered by the built-in engines (engine.h).
 * Owner: src/policy. The engines must have been initialised (init) first; they take the store
 * lock themselves, so callers do not hold it. */
#ifndef SG_POLICY_ENGKEYS_H
#define SG_POLICY_ENGKEYS_H

#include "policy/eval.h"

/* Fills k with callbacks over sg_engines; ctx is unused. */
void sg_policy_engine_keys(sg_pkeys *k);

#endif
