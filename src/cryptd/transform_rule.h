/* transform_rule.h - the built-in direction rule of the PGP/MIME transform. Owner: src/cryptd.
 * A stand-in: the policy engine (a later issue) replaces this one function. */
#ifndef SG_TRANSFORM_RULE_H
#define SG_TRANSFORM_RULE_H

#include <stdbool.h>

#include "lib/config.h"

enum sg_direction {
    SG_DIR_PASS,     /* deliver unchanged */
    SG_DIR_OUTGOING, /* internal sender, external recipient: encrypt when a key is known */
    SG_DIR_INCOMING, /* internal recipient: decrypt/verify/stamp what unwrap finds */
};

/* sender: envelope MAIL FROM ("" for the null sender); kind: what sg_mime_detect found at the
 * top level of the message (enum sg_mime_kind). */
int sg_rule_direction(const sg_config *cfg, const char *sender, const char *rcpt, int kind);

/* The domain of an address (after the last '@'), or "" when there is none. */
const char *sg_rule_domain(const char *addr);

#endif
