/* explain.h - decisions in words, for `sealgate policy explain` and cryptd's log lines.
 * Owner: src/policy. */
#ifndef SG_POLICY_EXPLAIN_H
#define SG_POLICY_EXPLAIN_H

#include <stdio.h>

#include "policy/eval.h"

const char *sg_policy_outcome_name(int outcome);
/* One line: "deliver encrypted (pgp) and signed (sender key)", "hold: reason; the sender is told". */
void sg_policy_describe(const sg_pdecision *d, char *out, size_t n);
/* The facts, then per recipient the rules tried (and the condition that failed), the chain,
 * the outcome and any fallback, then the groups. */
void sg_policy_explain(const sg_policy *p, const sg_pfacts *f, const sg_pkeys *k, const sg_pdecision *dec,
                       size_t n, FILE *out);

#endif
