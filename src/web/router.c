/* router.c - the web role's one request handler: static files, sign-in and sign-out, the
 * portal's pages, /api/v1, /metrics. Owner: src/web.
 * SECURITY: everything but the static files, the sign-in form, the OpenAPI document, the
 * published keys (publish.c, web.publish) and the pdf reply portal (pages_reply.c: its own
 * sign-in with the PDF password) needs
 * an authenticated session or token (sg_web_authenticate) before any page or operation runs. */
#include <stdio.h>
#include <string.h>

#include "web/web_int.h"

static bool prefix(const char *path, const char *p)
{
    size_t n = strlen(p);
    return strncmp(path, p, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

void sg_web_route(void *ctx, sg_http_req *req)
{
    sg_web *w = ctx;
    const char *path = req->path;
    bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    for (const sg_web_asset *a = sg_web_assets; a->path; a++)
        if (strcmp(path, a->path) == 0 && get) {
            sg_http_send(req, 200, a->type, a->data, a->len, 0, NULL);
            return;
        }
    /* Everything below may use the store: this thread's handle, opened on its first request. */
    if (!sg_web_store(w)) {
        sg_op_error e = {.code = SG_OP_UNAVAILABLE};
        snprintf(e.message, sizeof e.message, "the portal cannot open the store (see the gateway's log)");
        sg_web_send_error(req, &e);
        return;
    }
    if (sg_web_publish(w, req))
        return; /* public: WKD and HKP (web.publish), no session */
    if (sg_web_notary(w, req))
        return; /* public: the log's checkpoints and proofs for peers (audit.publish), no session */
    if (strncmp(path, "/reply/", 7) == 0) {
        sg_web_page_reply(w, req); /* public: the partner signs in with the PDF password there */
        return;
    }
    if (strcmp(path, "/metrics") == 0 && get) {
        sg_web_metrics(w, req);
        return;
    }
    if (prefix(path, "/api/v1")) {
        sg_web_api(w, req);
        return;
    }
    if (strcmp(path, "/login") == 0) {
        sg_web_login(w, req);
        return;
    }
    if (strcmp(path, "/logout") == 0) {
        sg_web_logout(w, req);
        return;
    }
    sg_web_who who;
    sg_op_error err = {0};
    if (sg_web_authenticate(w, req, &who, &err) < 0) {
        if (get)
            sg_web_redirect(req, "/login", NULL);
        else
            sg_web_page_error(req, NULL, sg_web_status(err.code), err.message);
        return;
    }
    /* A one-time password is replaced before any other page (the API answers
     * password_change_required from the operation layer, ctx.must_change). */
    if (who.must_change && strcmp(path, "/account") != 0) {
        if (get)
            sg_web_redirect(req, "/account", NULL);
        else
            sg_web_page_error(req, &who, 403, "Set a new password on the Account page first.");
        return;
    }
    if (strcmp(path, "/") == 0 && get)
        sg_web_page_dashboard(w, req, &who);
    else if (prefix(path, "/queue"))
        sg_web_page_queue(w, req, &who);
    else if (prefix(path, "/keys") || prefix(path, "/certs"))
        sg_web_page_keys(w, req, &who);
    else if (prefix(path, "/policy"))
        sg_web_page_policy(w, req, &who);
    else if (strcmp(path, "/settings") == 0 && get)
        sg_web_page_settings(w, req, &who);
    else if (prefix(path, "/ca"))
        sg_web_page_ca(w, req, &who);
    else if (prefix(path, "/auditor"))
        sg_web_page_auditor(w, req, &who);
    else if (prefix(path, "/users"))
        sg_web_page_users(w, req, &who);
    else if (strcmp(path, "/events") == 0 && get)
        sg_web_page_events(w, req, &who);
    else if (strcmp(path, "/admins") == 0)
        sg_web_page_admins(w, req, &who);
    else if (prefix(path, "/jobs"))
        sg_web_page_jobs(w, req, &who);
    else if (strcmp(path, "/account") == 0)
        sg_web_page_account(w, req, &who);
    else
        sg_web_page_error(req, &who, 404, "No such page.");
}
