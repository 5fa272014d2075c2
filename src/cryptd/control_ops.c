/* control_ops.c - cryptd's dispatcher of control requests (control_ops.h): each request runs
 * through the operation layer (sg_admin_call, admin/ops.h) on a store handle of its own, with
 * the actor and roles the peer may state. Only operations the table marks SG_RUN_CRYPTD or
 * SG_RUN_SPOOL (and SG_RUN_LOCAL ones, which sg_admin_call refuses here) are taken; SG_RUN_ANY
 * ones are answered "unavailable": the front end runs those itself. Owner: src/cryptd (issue 18).
 *
 * SECURITY: root and cryptd's own user (peer->local_admin) act as Administrator whatever the
 * request says; the web user acts with the roles it names, which sg_admin_call checks against
 * the table like for every front end. Secret-key export (SG_RUN_LOCAL) is refused by
 * sg_admin_call for this front end (SG_VIA_SOCKET). Every request that names an operation writes
 * exactly one audit event, here: also one whose arguments are not JSON or whose role is unknown.
 * Each request opens its own store connection, so it never takes the engines' store lock and
 * mail never waits for it; the engines learn of its changes through the store's generations. */
#include "cryptd/control_ops.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/audit.h"
#include "admin/ops.h"
#include "admin/roles.h"
#include "cryptd/control_reply.h"
#include "lib/log.h"

static void reply_op_error(sg_ctl_msg *reply, const sg_ctl_msg *req, const sg_op_error *e)
{
    const char *code = sg_op_code_name(e->code);
    sg_ctl_reply_error(reply, req, code ? code : "internal", "%s", e->message);
    snprintf(reply->efield, sizeof reply->efield, "%s", e->field);
}

void sg_ctl_ops_dispatch(void *vctx, const sg_ctl_peer *peer, const sg_ctl_msg *req, sg_ctl_msg *reply)
{
    const sg_ctl_ops_env *env = vctx;
    char err[512];
    /* The reply portal's requests act for a partner who has no account: they are not operations
     * of the table (no roles, no REST route, no CLI words) but cryptd's own (control_reply.h). */
    if (sg_ctl_is_reply_op(req->op)) {
        sg_ctl_reply_dispatch(env->cfg, peer, req, reply);
        return;
    }
    sg_store *st = sg_store_open_auth(env->cfg->store_path, env->cfg->store_password_file, err, sizeof err);
    if (!st) {
        sg_error(NULL, "event=control-store-failed op=%s error=\"%s\"", SG_LOG_STR(req->op), SG_LOG_STR(err));
        /* The front end takes "unavailable" as audited here: without a store the event goes to
         * the log in full (sg_audit_event_write), so it is not lost. */
        sg_audit_event(NULL, req->actor, peer->local_admin ? SG_ROLE_ADMIN : 0, req->op, "", "unavailable",
                       *req->client ? req->client : "-", "cryptd cannot open the store");
        sg_ctl_reply_error(reply, req, "unavailable", "cryptd cannot open the store");
        return;
    }
    uint32_t roles = 0;
    const char *bad_role = NULL;
    if (peer->local_admin) {
        roles = SG_ROLE_ADMIN;
    } else {
        for (size_t i = 0; i < req->nroles && !bad_role; i++) {
            uint32_t bit = sg_role_parse(req->roles[i]);
            if (!bit)
                bad_role = req->roles[i];
            roles |= bit;
        }
    }
    const char *client = *req->client ? req->client : peer->local_admin ? "local" : "web";
    json_error_t je;
    json_t *args = bad_role ? NULL : json_loads(req->args, JSON_REJECT_DUPLICATES, &je);
    const sg_op *op = sg_op_find(req->op);
    if (!bad_role && json_is_object(args) && (!op || op->where == SG_RUN_ANY)) {
        /* sg_admin_call writes no event for an operation it does not know; this front end
         * records every request it was sent. An operation any process may run is run by the
         * front end itself: refusing it keeps what the socket offers to what needs cryptd (the
         * KEK, or the spool states for SG_RUN_SPOOL's readers). */
        sg_op_error e = {.code = op ? SG_OP_UNAVAILABLE : SG_OP_NOT_FOUND};
        if (op)
            snprintf(e.message, sizeof e.message, "%.64s does not run in cryptd: the front end runs it", req->op);
        else
            snprintf(e.message, sizeof e.message, "no operation '%.64s'", req->op);
        sg_audit_event(st, req->actor, roles, req->op, "", sg_op_code_name(e.code), client, e.message);
        reply_op_error(reply, req, &e);
        json_decref(args);
        sg_store_close(st);
        return;
    }
    if (bad_role || !json_is_object(args)) {
        /* Refused before the operation layer could look at it: the audit event is written here. */
        sg_op_error e = {.code = SG_OP_INVALID_ARGUMENT};
        if (bad_role)
            snprintf(e.message, sizeof e.message, "unknown role '%.64s'", bad_role);
        else
            snprintf(e.message, sizeof e.message, "the arguments are not a JSON object%s%s", args ? "" : ": ",
                     args ? "" : je.text);
        sg_audit_event(st, req->actor, roles, req->op, "", sg_op_code_name(e.code), client, e.message);
        reply_op_error(reply, req, &e);
        json_decref(args);
        sg_store_close(st);
        return;
    }
    sg_op_ctx ctx = {.cfg = env->cfg,
                     .store = st,
                     .actor = req->actor,
                     .roles = roles,
                     .client = client,
                     .via = SG_VIA_SOCKET,
                     .in_cryptd = true};
    json_t *result = NULL;
    sg_op_error e;
    if (sg_admin_call(&ctx, req->op, args, &result, &e) == 0) {
        char *text = json_dumps(result, JSON_COMPACT);
        if (text) {
            *reply = (sg_ctl_msg){.type = SG_CTL_RESULT, .id = req->id, .result = text};
        } else {
            e = (sg_op_error){.code = SG_OP_INTERNAL};
            snprintf(e.message, sizeof e.message, "out of memory");
            reply_op_error(reply, req, &e);
        }
    } else {
        reply_op_error(reply, req, &e);
    }
    sg_info(NULL, "event=control-request uid=%u op=%s actor=%s result=%s", (unsigned)peer->uid, SG_LOG_STR(req->op),
            SG_LOG_STR(req->actor), reply->type == SG_CTL_RESULT ? "ok" : reply->ecode);
    json_decref(result);
    json_decref(args);
    sg_store_close(st);
}
