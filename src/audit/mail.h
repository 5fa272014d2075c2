/* mail.h - the log entry of one mail processing decision of cryptd (issue 14). Owner:
 * src/audit. cryptd appends it after the transform decided and before any output of the
 * message becomes visible (a rename into outgoing/ or hold/), so a message is never delivered
 * without its entry; a crash between the two repeats the entry when the message is processed
 * again, it never leaves a gap.
 * SECURITY: no body: the Message-ID goes in as its SHA-256; with audit.hmac_addresses the
 * envelope addresses (and any address in a reason) go in as HMAC-SHA256 under the local key
 * <base_dir>/audit/hmac.key (docs/audit.md), else in the clear. */
#ifndef SG_AUDIT_MAIL_H
#define SG_AUDIT_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "audit/log.h"
#include "policy/transform.h"
#include "queue/envelope.h"
#include "store/store.h"

/* Appends the entry for queue file qid. held: the whole message was held (reason says why);
 * else the outcome comes from res (delivered, held, bounced, deleted, comma-joined).
 * hmac_key: 32 bytes, or NULL for addresses in the clear. 0, or -1 with sg_tlog_error. */
int sg_tlog_mail(sg_store *s, const char *node, const uint8_t *hmac_key, const char *qid, const sg_envelope *in,
                 const char *data, size_t len, const sg_transform_result *res, int held, const char *reason);

/* The same entry built into e, not appended (cryptd appends a batch's entries together:
 * sg_tlog_append_many). */
void sg_tlog_mail_entry(sg_tlog_entry *e, const char *node, const uint8_t *hmac_key, const char *qid,
                        const sg_envelope *in, const char *data, size_t len, const sg_transform_result *res, int held,
                        const char *reason);

/* The SHA-256 (hex) of the header Message-ID's value (unfolded, trimmed) in out (65 bytes), or
 * "" when the header has none. Looks at the header only. */
void sg_tlog_message_id_hash(const char *data, size_t len, char out[65]);

/* How an address appears in entries: "hmac:" and the hex HMAC-SHA256 of its lowercase form
 * under key, or the address itself when key is NULL. out: at least 70 bytes or the address. */
void sg_tlog_addr(const uint8_t *key, const char *addr, char *out, size_t outlen);

/* The address key: <base_dir>/audit/hmac.key (64 hex digits). ensure makes it when missing
 * (prepare: directory 0750 and key 0640, owner cryptd, the gateway's group, so that the web
 * role's Auditor search can hash a query; keys/ is cryptd's alone) and copies the log's public
 * key to <base_dir>/audit/audit.pub for the same readers; load reads the key: 0 or -1. */
int sg_tlog_hmac_ensure(const char *base_dir, const char *owner, const char *group);
int sg_tlog_hmac_load(const char *base_dir, uint8_t key[32]);

#endif
