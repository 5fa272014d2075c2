/* pages_account.c - the Account page: one's own password (account.password, also the forced
 * change of a one-time password), the optional TOTP second factor (account.totp-enrol, -confirm,
 * -disable) and one's portal sessions (session.list, session.end). Owner: src/web.
 * The enrol answer's secret is put into this one page (otpauth:// URI and text) and nowhere
 * else: reloading the page does not show it again (enrol again for a new one).
 * SECURITY: every action is a POST with the CSRF token, run through sg_web_call as the
 * signed-in account; enrolling and disabling ask for the password again (the operations check
 * it). Values from the store and the form are escaped (sg_html_esc). */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "admin/auth.h"
#include "web/form.h"
#include "web/web_int.h"

/* What a POST did, for the page drawn after it. */
typedef struct {
    const char *notice;
    bool ok;
    int status;
    json_t *enrol; /* account.totp-enrol's answer: the secret, shown once */
} outcome;

static void call(sg_web *w, sg_http_req *req, const sg_web_who *who, const char *op, json_t *args, outcome *o,
                 sg_op_error *e, const char *done)
{
    json_t *r = NULL;
    int rc = sg_web_call(w, req, who, SG_VIA_WEB, op, args, &r, e);
    json_decref(args);
    if (rc < 0) {
        o->notice = e->message;
        o->status = sg_web_status(e->code);
        return;
    }
    o->ok = true;
    o->notice = done;
    if (strcmp(op, "account.totp-enrol") == 0)
        o->enrol = r;
    else
        json_decref(r);
}

static const char *field(struct sg_form *f, const char *n)
{
    const char *v = sg_form_get(f, n);
    return v ? v : "";
}

/* The password change: true when it was answered (done: the sessions ended, sign in again). */
static bool password(sg_web *w, sg_http_req *req, const sg_web_who *who, struct sg_form *f, outcome *o,
                     sg_op_error *e)
{
    const char *pw = sg_form_get(f, "password"), *again = sg_form_get(f, "password_again");
    if (!pw || !again || strcmp(pw, again) != 0) {
        o->notice = "The new password and its repetition differ.";
        o->status = 400;
        return false;
    }
    if (strcmp(pw, field(f, "current_password")) == 0) {
        o->notice = "The new password must differ from the current one.";
        o->status = 400;
        return false;
    }
    call(w, req, who, "account.password", json_pack("{s:s, s:s}", "current_password", field(f, "current_password"),
                                                    "password", pw),
         o, e, NULL);
    if (!o->ok)
        return false;
    /* The change ended every session of the account, this one included. */
    sg_http_header clear[] = {{"Set-Cookie", SG_WEB_COOKIE "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"},
                              {NULL, NULL}};
    sg_web_redirect(req, "/login", clear);
    return true;
}

static void password_form(sg_buf *b, const sg_web_who *who)
{
    sg_buf_appendf(b, "<section class=\"panel\"><h2>%s</h2><div class=\"body\">"
                      "<form method=\"post\" action=\"/account\"><input type=\"hidden\" name=\"action\" value=\"password\">",
                   who->must_change ? "Set a new password" : "Change your password");
    sg_html_csrf(b, who);
    sg_buf_appendf(b, "<div class=\"toolbar\"><div><label for=\"current_password\">Current password</label>"
                      "<input type=\"password\" id=\"current_password\" name=\"current_password\" "
                      "autocomplete=\"current-password\" required></div>"
                      "<div><label for=\"password\">New password</label><input type=\"password\" id=\"password\" "
                      "name=\"password\" autocomplete=\"new-password\" minlength=\"12\" required></div>"
                      "<div><label for=\"password_again\">New password again</label><input type=\"password\" "
                      "id=\"password_again\" name=\"password_again\" autocomplete=\"new-password\" minlength=\"12\" "
                      "required></div></div><p><button type=\"submit\" class=\"primary\">Change password</button>"
                      "<span class=\"hint\">At least 12 characters. Every session of the account ends: sign in "
                      "again.</span></p></form></div></section>");
}

static void pw_input(sg_buf *b, const char *id)
{
    sg_buf_appendf(b, "<div><label for=\"%s\">Current password</label><input type=\"password\" id=\"%s\" "
                      "name=\"current_password\" autocomplete=\"current-password\" required></div>",
                   id, id);
}

static void code_input(sg_buf *b, const char *id)
{
    sg_buf_appendf(b, "<div><label for=\"%s\">Code</label><input type=\"text\" id=\"%s\" name=\"code\" "
                      "inputmode=\"numeric\" pattern=\"[0-9]{6}\" maxlength=\"6\" autocomplete=\"one-time-code\" "
                      "required></div>",
                   id, id);
}

static void totp_section(sg_buf *b, const sg_web_who *who, int state, const json_t *enrol)
{
    sg_buf_appendf(b, "<section class=\"panel\" id=\"totp\"><h2>Second factor (TOTP)</h2><div class=\"body\">");
    if (enrol) {
        sg_buf_appendf(b, "<p>Add this account to your authenticator app, then type the code it shows. "
                          "The secret is shown only now.</p><dl class=\"facts\"><dt>Secret</dt><dd><code id=\"totp-secret\">");
        sg_html_esc(b, json_string_value(json_object_get(enrol, "secret")));
        sg_buf_appendf(b, "</code></dd><dt>URI</dt><dd><code id=\"totp-uri\" class=\"wrap\">");
        sg_html_esc(b, json_string_value(json_object_get(enrol, "uri")));
        sg_buf_appendf(b, "</code></dd></dl>");
    }
    if (state == SG_TOTP_ACTIVE) {
        sg_buf_appendf(b, "<p id=\"totp-state\">Active: signing in asks for a code after the password.</p>"
                          "<form method=\"post\" action=\"/account\"><input type=\"hidden\" name=\"action\" "
                          "value=\"totp-disable\">");
        sg_html_csrf(b, who);
        sg_buf_appendf(b, "<div class=\"toolbar\">");
        pw_input(b, "totp_off_pw");
        code_input(b, "totp_off_code");
        sg_buf_appendf(b, "</div><p><button type=\"submit\" class=\"danger\">Disable</button></p></form>");
    } else {
        if (state == SG_TOTP_PENDING) {
            sg_buf_appendf(b, "<p id=\"totp-state\">Enrolled, not yet confirmed: type a code to make it active.</p>"
                              "<form method=\"post\" action=\"/account\"><input type=\"hidden\" name=\"action\" "
                              "value=\"totp-confirm\">");
            sg_html_csrf(b, who);
            sg_buf_appendf(b, "<div class=\"toolbar\">");
            code_input(b, "totp_code");
            sg_buf_appendf(b, "</div><p><button type=\"submit\" class=\"primary\">Confirm</button></p></form>");
        } else {
            sg_buf_appendf(b, "<p id=\"totp-state\">Not set up: signing in asks only for the password.</p>");
        }
        sg_buf_appendf(b, "<form method=\"post\" action=\"/account\"><input type=\"hidden\" name=\"action\" "
                          "value=\"totp-enrol\">");
        sg_html_csrf(b, who);
        sg_buf_appendf(b, "<div class=\"toolbar\">");
        pw_input(b, "totp_pw");
        sg_buf_appendf(b, "</div><p><button type=\"submit\">%s</button></p></form>",
                       state == SG_TOTP_PENDING ? "Start again with a new secret" : "Set up");
    }
    sg_buf_appendf(b, "</div></section>");
}

static void sessions_section(sg_web *w, sg_http_req *req, sg_buf *b, const sg_web_who *who)
{
    json_t *args = json_pack("{s:s}", "account", who->account), *r = NULL;
    sg_op_error e = {0};
    int rc = sg_web_call(w, req, who, SG_VIA_WEB, "session.list", args, &r, &e);
    json_decref(args);
    sg_buf_appendf(b, "<section class=\"panel\" id=\"sessions\"><h2>Your sessions</h2><div class=\"body\">");
    if (rc < 0) {
        sg_html_notice(b, false, e.message);
        sg_buf_appendf(b, "</div></section>");
        return;
    }
    char mine[SG_ADMIN_HEX256_LEN + 1] = "";
    if (who->session[0])
        sg_auth_session_handle(who->session, mine);
    sg_buf_appendf(b, "<table><thead><tr><th>Signed in</th><th>Last request</th><th>From</th><th></th></tr></thead>"
                      "<tbody>");
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(r, "items"), i, x)
    {
        const char *id = json_string_value(json_object_get(x, "id"));
        sg_buf_appendf(b, "<tr><td>");
        sg_html_time(b, json_object_get(x, "created"));
        sg_buf_appendf(b, "</td><td>");
        sg_html_time(b, json_object_get(x, "last_seen"));
        sg_buf_appendf(b, "</td><td>");
        sg_html_value(b, json_object_get(x, "client"));
        sg_buf_appendf(b, "</td><td>");
        if (id && strcmp(id, mine) == 0) {
            sg_buf_appendf(b, "this session");
        } else if (id) {
            sg_buf_appendf(b, "<form method=\"post\" action=\"/account\"><input type=\"hidden\" name=\"action\" "
                              "value=\"session-end\"><input type=\"hidden\" name=\"id\" value=\"");
            sg_html_esc(b, id);
            sg_buf_appendf(b, "\">");
            sg_html_csrf(b, who);
            sg_buf_appendf(b, "<button type=\"submit\">End</button></form>");
        }
        sg_buf_appendf(b, "</td></tr>");
    }
    sg_buf_appendf(b, "</tbody></table></div></section>");
    json_decref(r);
}

void sg_web_page_account(sg_web *w, sg_http_req *req, const sg_web_who *who)
{
    outcome o = {.status = 200};
    sg_op_error e = {0};
    sg_web_who me = *who;
    struct sg_form *f = NULL;
    if (strcmp(req->method, "POST") == 0) {
        if (!(f = sg_web_form_post(w, req, who, "account", who->account)))
            return;
        const char *action = field(f, "action");
        if (strcmp(action, "password") == 0 || !action[0]) {
            if (password(w, req, who, f, &o, &e)) {
                sg_form_free(f);
                return;
            }
        } else if (strcmp(action, "totp-enrol") == 0) {
            call(w, req, who, "account.totp-enrol", json_pack("{s:s}", "current_password", field(f, "current_password")),
                 &o, &e, "Second factor enrolled: confirm it with a code.");
            if (o.ok)
                me.totp_state = SG_TOTP_PENDING;
        } else if (strcmp(action, "totp-confirm") == 0) {
            call(w, req, who, "account.totp-confirm", json_pack("{s:s}", "code", field(f, "code")), &o, &e,
                 "Second factor active.");
            if (o.ok)
                me.totp_state = SG_TOTP_ACTIVE;
        } else if (strcmp(action, "totp-disable") == 0) {
            call(w, req, who, "account.totp-disable",
                 json_pack("{s:s, s:s}", "current_password", field(f, "current_password"), "code", field(f, "code")),
                 &o, &e, "Second factor removed.");
            if (o.ok)
                me.totp_state = SG_TOTP_NONE;
        } else if (strcmp(action, "session-end") == 0) {
            call(w, req, who, "session.end", json_pack("{s:s}", "id", field(f, "id")), &o, &e, "Session ended.");
        } else {
            o.notice = "Unknown action.";
            o.status = 400;
        }
    }
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    sg_html_begin(&b, "Account", &me, "account");
    if (me.must_change)
        sg_html_notice(&b, false, "Your password is a one-time password: set a new one before anything else.");
    if (o.notice)
        sg_html_notice(&b, o.ok, o.notice);
    password_form(&b, &me);
    if (!me.must_change) {
        totp_section(&b, &me, me.totp_state, o.enrol);
        sessions_section(w, req, &b, &me);
    }
    sg_html_end(&b);
    if (o.enrol) {
        json_t *sv = json_object_get(o.enrol, "secret");
        if (sv)
            OPENSSL_cleanse((char *)json_string_value(sv), json_string_length(sv));
        json_decref(o.enrol);
    }
    if (f)
        sg_form_free(f);
    sg_web_send_page(req, o.status, &b, NULL);
}
