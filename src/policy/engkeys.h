/* engkeys.h - the policy's key questions answered by the built-in engines (engine.h).
 * Owner: src/policy. The engines must have been initialised (init) first; they take the store
 * lock themselves, so callers do not hold it. */
#ifndef SG_POLICY_ENGKEYS_H
#define SG_POLICY_ENGKEYS_H

#include <stdint.h>

#include "engine/engine.h"
#include "policy/eval.h"

/* Fills k with callbacks over sg_engines; ctx is unused. */
void sg_policy_engine_keys(sg_pkeys *k);

/* One message's key discovery (docs/discovery.md): a recipient outside the internal domains
 * without an OpenPGP key is looked up (keys/discover.h) before "no key" is answered, all
 * lookups of the message together until deadline_ms. A lookup that did not finish or failed
 * answers -1 (the evaluation fails, cryptd defers the message: never sent in the clear for
 * want of a key that may exist); err then says why. */
typedef struct sg_pdiscovery {
    const sg_engine_env *env;
    int64_t deadline_ms; /* sg_discover_now_ms() + discovery.timeout */
    char err[300];
} sg_pdiscovery;
void sg_policy_discovering_keys(sg_pkeys *k, sg_pdiscovery *d, const sg_engine_env *env);

#endif
