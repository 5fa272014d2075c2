/* login_code.c - the second step of a portal sign-in for an account with a TOTP second factor
 * (admin/totp.h): after the right password the browser gets a form asking for the code, with a
 * ticket saying "this name's password was right at time T". Owner: src/web.
 * The ticket (login_ticket.h) lives in no store, is useless in another browser and after five
 * minutes.
 * SECURITY: the ticket and the code are untrusted form input. The ticket is checked
 * (login_ticket.c) before the code is looked at; a wrong code counts towards the account's
 * lockout and the client's back-off (sg_auth_totp_login), and a code is taken once. The ticket proves only the
 * password step, so a stolen ticket still needs the code and the browser's cookie. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/auth.h"
#include "lib/log.h"
#include "web/form.h"
#include "web/login_ticket.h"
#include "web/web_int.h"

void sg_web_login_ask_code(sg_http_req *req, int status, const char *name, const char *pre, const char *message)
{
    char ticket[SG_WEB_TICKET_MAX];
    if (sg_web_ticket_make(name, pre, (int64_t)time(NULL), ticket) < 0) {
        sg_web_page_error(req, NULL, 500, "no randomness for the sign-in");
        return;
    }
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    sg_html_signin_begin(&b, "One-time code");
    sg_buf_appendf(&b, "<p class=\"sub\">Second step for ");
    sg_html_esc(&b, name);
    sg_buf_appendf(&b, "</p>");
    if (message)
        sg_html_notice(&b, false, message);
    sg_buf_appendf(&b, "<form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"pre\" value=\"%s\">"
                       "<input type=\"hidden\" name=\"ticket\" value=\"",
                   pre);
    sg_html_esc(&b, ticket);
    sg_buf_appendf(&b, "\"><div class=\"field\"><label for=\"code\">Code from your authenticator app</label>"
                       "<input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" pattern=\"[0-9]{6}\" "
                       "maxlength=\"6\" autocomplete=\"one-time-code\" required autofocus></div>"
                       "<button class=\"primary\" type=\"submit\">Sign in</button></form>"
                       "<p class=\"hint\"><a href=\"/login\">Start again</a></p></main></body></html>\n");
    sg_web_send_page(req, status, &b, NULL);
}

void sg_web_login_code(sg_web *w, sg_http_req *req, struct sg_form *f, const char *pre)
{
    char name[SG_ADMIN_NAME_MAX + 1];
    if (sg_web_ticket_check(sg_form_get(f, "ticket"), pre, (int64_t)time(NULL), name) < 0) {
        sg_web_audit(w, req, NULL, "auth.login-code", "", "unauthenticated");
        sg_web_redirect(req, "/login", NULL);
        return;
    }
    int64_t now = time(NULL), retry = 0;
    sg_store_account a;
    sg_op_error e = {0};
    if (sg_auth_totp_login(sg_web_store(w), name, sg_form_get(f, "code"), req->client, now, &a, &retry, &e) < 0) {
        sg_web_audit(w, req, NULL, "auth.login-code", name, sg_op_code_name(e.code));
        if (e.code == SG_OP_LOCKED || e.code != SG_OP_UNAUTHENTICATED) {
            sg_web_page_error(req, NULL, sg_web_status(e.code),
                              e.code == SG_OP_LOCKED ? e.message : "Sign-in is not possible now.");
            return;
        }
        sg_web_login_ask_code(req, 401, name, pre, "Wrong or used code: wait for the next one and try again.");
        return;
    }
    sg_web_login_done(w, req, &a);
}
