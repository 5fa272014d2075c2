/* facts.h - the facts policy conditions look at, taken from one message's bytes: From,
 * Subject (decoded), header fields, size, attachment names and types, and whether an engine
 * recognises encryption or a signature at the top level. Owner: src/policy.
 * Needs sg_mime_init() first (GMime). The facts point into the holder, which owns them. */
#ifndef SG_POLICY_FACTS_H
#define SG_POLICY_FACTS_H

#include <stddef.h>

#include "mime/rawmsg.h"
#include "policy/eval.h"

#define SG_PFACTS_MAX_ATTACH 256

typedef struct sg_pfacts_holder {
    sg_pfacts f;
    sg_rawmsg raw;
    sg_pheader *h;
    char **vals;
    size_t nvals;
    sg_pattach *a;
    char *from, *subject;
} sg_pfacts_holder;

/* Fills h from the message. env_from is the envelope sender (kept by pointer). Returns 0, or
 * -1 on ENOMEM; a message GMime cannot parse still yields its size and raw header fields. */
int sg_pfacts_from_message(sg_pfacts_holder *h, const char *env_from, const char *msg, size_t len);
void sg_pfacts_free(sg_pfacts_holder *h);

#endif
