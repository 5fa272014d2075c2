/* mail.h - the log entry of one mail processing decision of cryptd (issue 14). Owner:
 * src/audit. cryptd appends it after the transform decided and before any output of the
 * message becomes visible (a rename into outgoing/ or hold/), so a message is never delivered
 * without its entry; a crash between the two repeats the entry when the message is processed
 * again, it never leaves a gap.
 * SECURITY: no body: the Message-ID goes in as its SHA-256, the envelope addresses in the
 * clear (the HMAC key of issue 14 does not exist yet; docs/audit.md says so). */
#ifndef SG_AUDIT_MAIL_H
#define SG_AUDIT_MAIL_H

#include <stddef.h>

#include "policy/transform.h"
#include "queue/envelope.h"
#include "store/store.h"

/* Appends the entry for queue file qid: outcome "processed", "unchanged" or "held" (reason
 * for held). 0, or -1 with sg_tlog_error. */
int sg_tlog_mail(sg_store *s, const char *node, const char *qid, const sg_envelope *in, const char *data,
                 size_t len, const sg_transform_result *res, const char *outcome, const char *reason);

/* The SHA-256 (hex) of the header Message-ID's value (unfolded, trimmed) in out (65 bytes), or
 * "" when the header has none. Looks at the header only. */
void sg_tlog_message_id_hash(const char *data, size_t len, char out[65]);

#endif
