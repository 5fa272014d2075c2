/* audit.h - the one function every audit event is written through. Owner: src/admin.
 * Every operation from any front end writes one event (sg_admin_call does it); logins,
 * logouts and failed logins of the web role are events too, written here. Issue 14 makes the
 * log tamper-evident by changing only this function.
 * SECURITY: an event never carries a secret (no password, token secret, session id or key
 * material): callers pass names, ids, fingerprints and error codes only. When the store
 * cannot take an event, it is written to the log (syslog/stderr) in full instead, so it is not
 * lost silently, and the caller learns of the failure. */
#ifndef SG_ADMIN_AUDIT_H
#define SG_ADMIN_AUDIT_H

#include <stdint.h>

#include "store/admin_rows.h"
#include "store/store.h"

typedef struct sg_audit_rec {
    int64_t time;       /* Unix seconds; 0: now */
    const char *actor;  /* account, "token:ID", Unix user, or "-" when unauthenticated */
    uint32_t roles;     /* the actor's SG_ROLE_* bits at the time */
    const char *op;     /* the operation's audit name ("queue.release", "auth.login") */
    const char *target; /* what it acted on ("" none) */
    const char *result; /* "ok" or an error code name (sg_op_code_name) */
    const char *client; /* client address, "local" for the CLI */
    const char *detail; /* a short note ("" none) */
} sg_audit_rec;

/* Writes ev: 0 with the event's id in *id (may be NULL), or -1 (the event went to the log,
 * the reason is in sg_store_error). Fields longer than the store's are cut, marked with "...". */
int sg_audit_event_write(sg_store *s, const sg_audit_rec *ev, int64_t *id);
/* The same, with the fields as arguments. */
int sg_audit_event(sg_store *s, const char *actor, uint32_t roles, const char *op, const char *target,
                   const char *result, const char *client, const char *detail);

#endif
