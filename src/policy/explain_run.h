/* explain_run.h - one `policy explain` run: the facts of a message (or of a sender, recipients
 * and subject), evaluated by a policy with the key lookups cryptd would make, written out in
 * words. Owner: src/policy. Callers: `sealgate policy explain` (src/cli) and the policy.explain
 * operation (src/admin), so both explain exactly alike.
 * SECURITY: opens the keystore and the certificate store without the KEK (public look-ups
 * only): an explanation can never touch a secret. */
#ifndef SG_POLICY_EXPLAIN_RUN_H
#define SG_POLICY_EXPLAIN_RUN_H

#include <stddef.h>
#include <stdio.h>

#include "lib/config.h"
#include "policy/policy.h"
#include "store/store.h"

/* Explains what p does with a message from `from` to to[0..nto-1] (msg: the raw message, or
 * NULL; subject: overrides the message's Subject when not NULL), writing to out. 0, or -1 with
 * err (the stores cannot be opened, a key look-up failed: cryptd would keep such a message and
 * try again). */
int sg_policy_explain_run(const sg_config *cfg, sg_store *st, const sg_policy *p, const char *from,
                          const char *const *to, size_t nto, const char *subject, const char *msg, size_t len,
                          FILE *out, char *err, size_t errlen);

#endif
