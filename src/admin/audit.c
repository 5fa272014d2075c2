/* audit.c - sg_audit_event (audit.h): the one place an audit event is written. Owner:
 * src/admin. Issue 14: every event is also appended to the tamper-evident log (src/audit/log.c)
 * here, so no caller changed.
 * SECURITY: events are only ever added; a field too long for the store is cut with a mark
 * rather than refused, because losing the event would be worse than shortening it. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/audit.h"
#include "admin/roles.h"
#include "audit/log.h"
#include "lib/log.h"

/* Copies v into out (cap bytes), ending in "..." when it did not fit. */
static void fit(char *out, size_t cap, const char *v)
{
    if (!v)
        v = "";
    size_t n = strlen(v);
    if (n < cap) {
        memcpy(out, v, n + 1);
        return;
    }
    memcpy(out, v, cap - 4);
    memcpy(out + cap - 4, "...", 4);
}

int sg_audit_event_write(sg_store *s, const sg_audit_rec *ev, int64_t *id)
{
    sg_store_audit e;
    memset(&e, 0, sizeof e);
    e.time = ev->time ? ev->time : (int64_t)time(NULL);
    e.roles = sg_roles_valid(ev->roles);
    fit(e.actor, sizeof e.actor, ev->actor && *ev->actor ? ev->actor : "-");
    fit(e.op, sizeof e.op, ev->op);
    fit(e.target, sizeof e.target, ev->target);
    fit(e.result, sizeof e.result, ev->result ? ev->result : "ok");
    fit(e.client, sizeof e.client, ev->client && *ev->client ? ev->client : "local");
    fit(e.detail, sizeof e.detail, ev->detail);
    int64_t eid = 0;
    if (s && sg_store_audit_add(s, &e, &eid) == 0) {
        if (id)
            *id = eid;
        /* The same event as a leaf of the tamper-evident log (issue 14, src/audit/log.c). */
        e.id = eid;
        if (sg_tlog_append_admin(s, &e) == 0)
            return 0;
        sg_log(SG_LOG_ERROR, NULL, "audit event %lld not added to the tamper-evident log: %s", (long long)eid,
               sg_tlog_error());
        return -1;
    }
    char roles[128];
    sg_roles_format(e.roles, roles, sizeof roles);
    sg_log(SG_LOG_ERROR, NULL,
           "audit event not stored (%s): time=%lld actor=\"%s\" roles=%s op=\"%s\" target=\"%s\""
           " result=\"%s\" client=\"%s\" detail=\"%s\"",
           s ? sg_store_error(s) : "no store", (long long)e.time, SG_LOG_STR(e.actor), roles,
           SG_LOG_STR(e.op), SG_LOG_STR(e.target), SG_LOG_STR(e.result), SG_LOG_STR(e.client),
           SG_LOG_STR(e.detail));
    return -1;
}

int sg_audit_event(sg_store *s, const char *actor, uint32_t roles, const char *op, const char *target,
                   const char *result, const char *client, const char *detail)
{
    return sg_audit_event_write(s,
                                &(sg_audit_rec){.actor = actor,
                                                .roles = roles,
                                                .op = op,
                                                .target = target,
                                                .result = result,
                                                .client = client,
                                                .detail = detail},
                                NULL);
}
