/* transform_rule.c - which way a message goes for one recipient. Owner: src/cryptd.
 * TEMPORARY: this is the whole "policy" of the PGP/MIME transform until the policy engine of a
 * later issue replaces sg_rule_direction. Keep it this one small function. Recipients without
 * a key get the message unchanged today; the shipped default policy will later sign those. */
#include "cryptd/transform_rule.h"

#include <string.h>

#include "mime/mime.h"

const char *sg_rule_domain(const char *addr)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    return at ? at + 1 : "";
}

int sg_rule_direction(const sg_config *cfg, const char *sender, const char *rcpt, int kind)
{
    bool from_inside = sender && *sender && sg_config_is_internal_domain(cfg, sg_rule_domain(sender));
    bool to_inside = sg_config_is_internal_domain(cfg, sg_rule_domain(rcpt));
    /* Mail the sender's client encrypted already is not encrypted a second time. */
    if (from_inside && !to_inside && kind != SG_MIME_PGP_ENCRYPTED)
        return SG_DIR_OUTGOING;
    /* Every message to an internal recipient goes through unwrap: layers may be nested or
     * inline, and forged result fields must go even from plain mail. */
    if (to_inside)
        return SG_DIR_INCOMING;
    return SG_DIR_PASS;
}
