/* session.c - who makes a request: sign-in and sign-out of the portal, session cookies, CSRF
 * tokens, API bearer tokens; all on the operation layer's primitives (admin/auth.h), which keep
 * accounts, lockout, sessions and tokens in the store. Owner: src/web.
 * SECURITY: the session id lives only in a cookie that is Secure, HttpOnly and SameSite=Strict
 * under the __Host- prefix, and is new at every sign-in (no fixation). A state-changing request
 * must carry the session's CSRF token (form field or X-CSRF-Token header), else it is answered
 * 403 and no operation runs. The sign-in form itself carries a double-submit token (a cookie of
 * its own and the same value in the form), so another site cannot sign a browser in. Failed
 * sign-ins answer alike for unknown and known accounts (auth.h does the same work for both) and
 * back off per account and per client address. */
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "admin/audit.h"
#include "admin/auth.h"
#include "lib/log.h"
#include "web/form.h"
#include "web/web_int.h"

static sg_session_limits limits(const sg_web *w)
{
    return (sg_session_limits){.idle = w->cfg->web.session_idle, .absolute = w->cfg->web.session_lifetime};
}

int sg_web_status(sg_op_code code)
{
    /* 429 with Retry-After tells a client to wait, which is what a lockout asks (docs/web.md). */
    return code == SG_OP_LOCKED ? 429 : sg_op_code_http(code);
}

void sg_web_audit(sg_web *w, sg_http_req *req, const sg_web_who *who, const char *op, const char *target,
                  const char *result)
{
    sg_audit_event(sg_web_store(w), who && who->actor[0] ? who->actor : "-", who ? who->roles : 0, op, target ? target : "",
                   result, req->client, "via=web");
}

int sg_web_authenticate(sg_web *w, sg_http_req *req, sg_web_who *who, sg_op_error *err)
{
    memset(who, 0, sizeof *who);
    int64_t now = time(NULL), retry = 0;
    const char *authz = sg_http_header_get(req, "Authorization");
    if (authz) {
        if (strncasecmp(authz, "Bearer ", 7) != 0)
            return sg_op_fail(err, SG_OP_UNAUTHENTICATED, NULL, "the Authorization header must be \"Bearer TOKEN\"");
        /* A client guessing tokens backs off like one guessing passwords. */
        if (sg_auth_client_check(req->client, now, &retry, err) < 0)
            return -1;
        sg_store_token t;
        uint32_t roles;
        if (sg_auth_token_verify(sg_web_store(w), authz + 7, &t, &roles, err) < 0) {
            if (err->code == SG_OP_UNAUTHENTICATED)
                sg_auth_client_failure(req->client, now);
            return -1;
        }
        who->bearer = true;
        who->roles = roles;
        /* A token is a credential of its own, made by an Administrator or its owner: the
         * owner's one-time password (must_change) binds sessions only, so an account made for
         * automation that never signs in keeps its tokens working. */
        snprintf(who->actor, sizeof who->actor, "token:%s", t.id);
        snprintf(who->account, sizeof who->account, "%s", t.owner);
        return 0;
    }
    const char *id = sg_http_cookie(req, SG_WEB_COOKIE);
    if (!id)
        return sg_op_fail(err, SG_OP_UNAUTHENTICATED, NULL, "sign in first (no session), or send a bearer token");
    sg_session_limits lim = limits(w);
    sg_store_session x;
    sg_store_account a;
    if (sg_auth_session_lookup(sg_web_store(w), id, now, &lim, &x, &a, err) < 0)
        return -1;
    who->roles = a.roles;
    who->must_change = a.must_change;
    who->totp_state = a.totp_state;
    snprintf(who->actor, sizeof who->actor, "%s", a.name);
    snprintf(who->account, sizeof who->account, "%s", a.name);
    snprintf(who->csrf, sizeof who->csrf, "%s", x.csrf);
    snprintf(who->session, sizeof who->session, "%s", id);
    return 0;
}

bool sg_web_csrf_ok(sg_http_req *req, const sg_web_who *who, const char *form_token)
{
    if (who->bearer)
        return true; /* no cookie: a browser cannot be made to send it */
    const char *t = sg_http_header_get(req, "X-CSRF-Token");
    sg_store_session x;
    memset(&x, 0, sizeof x);
    snprintf(x.csrf, sizeof x.csrf, "%.*s", (int)(sizeof x.csrf - 1), who->csrf);
    return sg_auth_csrf_ok(&x, t ? t : form_token);
}

sg_form *sg_web_form_post(sg_web *w, sg_http_req *req, const sg_web_who *who, const char *op, const char *target)
{
    static _Thread_local sg_form f; /* per daemon thread (http.h); 256 fields: not on the stack */
    char msg[256];
    if (sg_form_parse(sg_http_header_get(req, "Content-Type"), req->body.data ? req->body.data : "", req->body.len, &f,
                      msg, sizeof msg) < 0) {
        sg_web_audit(w, req, who, op, target, "invalid_argument");
        sg_web_page_error(req, who, 400, msg);
        return NULL;
    }
    if (!sg_web_csrf_ok(req, who, sg_form_get(&f, "csrf"))) {
        sg_form_free(&f);
        sg_web_audit(w, req, who, op, target, "forbidden");
        sg_web_page_error(req, who, 403, "The form's token is missing or wrong: reload the page and try again.");
        return NULL;
    }
    return &f;
}

/* ---- the sign-in page ---- */

/* The sign-in form's token: the browser's, when it has one (a second tab, or a request the
 * browser made meanwhile, must not invalidate the form shown first), else a new one. */
int sg_web_pre_token(sg_http_req *req, char pre[33])
{
    const char *have = sg_http_cookie(req, SG_WEB_PRE_COOKIE);
    if (have && strlen(have) == 32 && strspn(have, "0123456789abcdef") == 32) {
        memcpy(pre, have, 33);
        return 0;
    }
    unsigned char rnd[16];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return -1;
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(pre + 2 * i, 3, "%02x", rnd[i]);
    return 0;
}

/* retry_after > 0: the seconds a locked account or address waits, also as Retry-After. */
static void login_page(sg_http_req *req, int status, const char *message, const char *name, int64_t retry_after)
{
    char pre[33];
    if (sg_web_pre_token(req, pre) < 0) {
        sg_web_page_error(req, NULL, 500, "no randomness for the sign-in form");
        return;
    }
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    sg_html_signin_begin(&b, "Sign in");
    sg_buf_appendf(&b, "<p class=\"sub\">Sign in to the gateway console</p>");
    if (message)
        sg_html_notice(&b, false, message);
    sg_buf_appendf(&b, "<form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"pre\" value=\"%s\">"
                       "<div class=\"field\"><label for=\"name\">Account</label>"
                       "<input type=\"text\" id=\"name\" name=\"name\" autocomplete=\"username\" required autofocus value=\"",
                   pre);
    sg_html_esc(&b, name ? name : "");
    sg_buf_appendf(&b, "\"></div><div class=\"field\"><label for=\"password\">Password</label>"
                       "<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" "
                       "required></div><button class=\"primary\" type=\"submit\">Sign in</button></form>"
                       "</main></body></html>\n");
    char cookie[160], retry[24];
    snprintf(cookie, sizeof cookie, "%s=%s; Path=/; Secure; HttpOnly; SameSite=Strict", SG_WEB_PRE_COOKIE, pre);
    snprintf(retry, sizeof retry, "%lld", (long long)retry_after);
    sg_http_header extra[] = {{"Set-Cookie", cookie}, {retry_after > 0 ? "Retry-After" : NULL, retry}, {NULL, NULL}};
    sg_web_send_page(req, status, &b, extra);
}

void sg_web_login(sg_web *w, sg_http_req *req)
{
    if (strcmp(req->method, "POST") != 0) {
        login_page(req, 200, NULL, NULL, 0);
        return;
    }
    static _Thread_local sg_form f;
    char err[256];
    if (sg_form_parse(sg_http_header_get(req, "Content-Type"), req->body.data ? req->body.data : "", req->body.len, &f,
                      err, sizeof err) < 0) {
        login_page(req, 400, err, NULL, 0);
        return;
    }
    const char *pre = sg_form_get(&f, "pre"), *cookie = sg_http_cookie(req, SG_WEB_PRE_COOKIE);
    const char *name = sg_form_get(&f, "name"), *pw = sg_form_get(&f, "password");
    if (pre && cookie && strlen(pre) == 32 && strcmp(pre, cookie) == 0 && sg_form_get(&f, "ticket")) {
        sg_web_login_code(w, req, &f, pre);
        sg_form_free(&f);
        return;
    }
    if (!pre || !cookie || strlen(pre) != 32 || strcmp(pre, cookie) != 0) {
        sg_web_audit(w, req, NULL, "auth.login", name, "forbidden");
        login_page(req, 403, "The sign-in form expired: please try again.", name, 0);
        sg_form_free(&f);
        return;
    }
    int64_t now = time(NULL), retry = 0;
    sg_store_account a;
    sg_op_error e = {0};
    if (sg_auth_login(sg_web_store(w), name, pw, req->client, now, &a, &retry, &e) < 0) {
        sg_web_audit(w, req, NULL, "auth.login", name, sg_op_code_name(e.code));
        char msg[300];
        snprintf(msg, sizeof msg, "%s", e.code == SG_OP_LOCKED ? e.message : e.code == SG_OP_UNAUTHENTICATED ? "Wrong account name or password." : "Sign-in is not possible now.");
        login_page(req, sg_web_status(e.code), msg, name, e.code == SG_OP_LOCKED ? retry : 0);
        sg_form_free(&f);
        return;
    }
    char pre_copy[33];
    snprintf(pre_copy, sizeof pre_copy, "%s", pre);
    sg_form_free(&f);
    if (a.totp_state == SG_TOTP_ACTIVE) {
        sg_web_login_ask_code(req, 200, a.name, pre_copy, NULL);
        return;
    }
    sg_web_login_done(w, req, &a);
}

void sg_web_login_done(sg_web *w, sg_http_req *req, const sg_store_account *a)
{
    int64_t now = time(NULL);
    sg_op_error e = {0};
    sg_session_limits lim = limits(w);
    char id[SG_SESSION_ID_HEX + 1];
    sg_store_session x;
    if (sg_auth_session_create(sg_web_store(w), a->name, req->client, now, &lim, id, &x, &e) < 0) {
        login_page(req, 500, "Cannot open a session now.", a->name, 0);
        return;
    }
    sg_web_who who = {.roles = a->roles};
    snprintf(who.actor, sizeof who.actor, "%s", a->name);
    sg_web_audit(w, req, &who, "auth.login", a->name, "ok");
    sg_info(NULL, "event=signed-in account=%s client=%s", SG_LOG_TOK(a->name), req->client);
    char c[200];
    snprintf(c, sizeof c, "%s=%s; Path=/; Secure; HttpOnly; SameSite=Strict", SG_WEB_COOKIE, id);
    explicit_bzero(id, sizeof id);
    sg_http_header set[] = {{"Set-Cookie", c}, {"Set-Cookie", SG_WEB_PRE_COOKIE "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"}, {NULL, NULL}};
    /* A one-time password is changed before anything else (the account page says so). */
    sg_web_redirect(req, a->must_change ? "/account" : "/", set);
    explicit_bzero(c, sizeof c);
}

void sg_web_logout(sg_web *w, sg_http_req *req)
{
    sg_web_who who;
    sg_op_error e = {0};
    if (sg_web_authenticate(w, req, &who, &e) < 0) {
        sg_web_redirect(req, "/login", NULL);
        return;
    }
    static _Thread_local sg_form f;
    char err[256];
    const char *token = NULL;
    if (sg_form_parse(sg_http_header_get(req, "Content-Type"), req->body.data ? req->body.data : "", req->body.len, &f,
                      err, sizeof err) == 0)
        token = sg_form_get(&f, "csrf");
    if (strcmp(req->method, "POST") != 0 || !sg_web_csrf_ok(req, &who, token)) {
        sg_web_audit(w, req, &who, "auth.logout", who.account, "forbidden");
        sg_web_page_error(req, &who, 403, "Signing out needs the form's token (use the Sign out button).");
        sg_form_free(&f);
        return;
    }
    sg_form_free(&f);
    sg_auth_session_end(sg_web_store(w), who.session, &e);
    sg_web_audit(w, req, &who, "auth.logout", who.account, "ok");
    sg_http_header clear[] = {{"Set-Cookie", SG_WEB_COOKIE "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"},
                              {NULL, NULL}};
    sg_web_redirect(req, "/login", clear);
}

int sg_web_call(sg_web *w, sg_http_req *req, const sg_web_who *who, sg_op_via via, const char *op,
                const json_t *args, json_t **result, sg_op_error *err)
{
    sg_op_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.cfg = w->cfg;
    ctx.store = sg_web_store(w);
    ctx.actor = who->actor;
    ctx.roles = who->roles;
    ctx.client = req->client;
    ctx.via = via;
    ctx.forward = sg_web_forward;
    ctx.forward_ctx = w;
    ctx.must_change = who->must_change;
    return sg_admin_call(&ctx, op, args, result, err);
}
