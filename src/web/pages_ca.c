/* pages_ca.c - the portal's Local CA page (/ca): the CA's certificate (facts and download), the
 * certificates it issued with their revocation status and a Revoke button each, a form to
 * issue a key pair and certificate for an address, and one to sign a new CRL, answered as a
 * download. Operations: ca.export, cert.show, cert.list (read), ca.revoke (here, no KEK),
 * ca.issue and ca.crl (in cryptd over the control socket: this role never holds the CA's key).
 * Owner: src/web.
 * SECURITY: every change is a POST with the CSRF token (sg_web_form_post); form values go to
 * the operations as arguments, which validate them; downloads are attachments with fixed
 * names (sg_http_send adds nosniff), never rendered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/form.h"
#include "web/web_int.h"

#define ISSUED_MAX 1000 /* certificates read for the issued list (one cert.list page) */

static bool may(const sg_web_who *who, const char *op)
{
    const sg_op *o = sg_op_find(op);
    return o && sg_op_allowed(o, who->roles);
}

/* The CA's certificate facts; *subject (the CA's, for finding what it issued) is a new
 * reference or NULL. */
static void ca_panel(sg_web *w, sg_http_req *req, const sg_web_who *who, sg_buf *b, json_t **subject)
{
    json_t *ex = NULL, *show = NULL, *args;
    sg_op_error e = {0};
    *subject = NULL;
    sg_buf_appendf(b, "<section class=\"panel\" id=\"ca\"><h2>The local CA</h2><div class=\"body\">");
    if (sg_web_call(w, req, who, SG_VIA_WEB, "ca.export", NULL, &ex, &e) < 0) {
        sg_html_notice(b, false, e.message);
        sg_buf_appendf(b, "</div></section>");
        return;
    }
    const char *fpr = json_string_value(json_object_get(ex, "fpr"));
    args = json_pack("{s:s}", "fpr", fpr ? fpr : "");
    if (sg_web_call(w, req, who, SG_VIA_WEB, "cert.show", args, &show, &e) < 0) {
        sg_html_notice(b, false, e.message);
    } else {
        sg_buf_appendf(b, "<dl class=\"facts\">");
        static const char *const facts[] = {"fpr", "subject", "serial"};
        for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++)
            sg_html_fact(b, facts[i], json_object_get(show, facts[i]));
        sg_buf_appendf(b, "<dt>valid from</dt><dd>");
        sg_html_time(b, json_object_get(show, "not_before"));
        sg_buf_appendf(b, "</dd><dt>valid until</dt><dd>");
        sg_html_time(b, json_object_get(show, "not_after"));
        sg_buf_appendf(
            b, "</dd></dl><p><a class=\"button\" id=\"ca-download\" href=\"/ca/ca.pem\">Download the CA "
               "certificate</a></p>");
        *subject = json_incref(json_object_get(show, "subject"));
    }
    json_decref(args);
    json_decref(show);
    json_decref(ex);
    sg_buf_appendf(b, "</div></section>");
}

/* The certificates whose issuer is the CA's subject (but the CA's own), with revocation
 * status and a Revoke button for those not revoked. */
static void issued_panel(sg_web *w, sg_http_req *req, const sg_web_who *who, sg_buf *b, const char *subject)
{
    json_t *args = json_pack("{s:i}", "limit", ISSUED_MAX), *r = NULL;
    sg_op_error e = {0};
    int rc = sg_web_call(w, req, who, SG_VIA_WEB, "cert.list", args, &r, &e);
    json_decref(args);
    sg_buf_appendf(b, "<section class=\"panel\" id=\"issued\"><h2>Issued certificates</h2>");
    if (rc < 0) {
        sg_html_notice(b, false, e.message);
        sg_buf_appendf(b, "</section>");
        return;
    }
    bool revoke = may(who, "ca.revoke"), any = false;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(r, "items"), i, c)
    {
        const char *issuer = json_string_value(json_object_get(c, "issuer"));
        const char *fpr = json_string_value(json_object_get(c, "fpr"));
        if (!issuer || !fpr || strcmp(issuer, subject) != 0 || json_is_true(json_object_get(c, "local_ca")))
            continue;
        if (!any)
            sg_buf_appendf(
                b, "<table><thead><tr><th scope=\"col\">Fingerprint</th><th scope=\"col\">Addresses</th>"
                   "<th scope=\"col\">Valid until</th><th scope=\"col\">Status</th><th scope=\"col\">"
                   "<span class=\"sr-only\">Actions</span></th></tr></thead><tbody>");
        any = true;
        bool revoked = json_is_true(json_object_get(c, "revoked"));
        sg_buf_appendf(b, "<tr><td class=\"mono\"><a href=\"/certs/");
        sg_html_esc(b, fpr);
        sg_buf_appendf(b, "\">%.16s&hellip;</a></td><td>", fpr);
        sg_html_join(b, json_object_get(c, "addresses"), "<br>");
        sg_buf_appendf(b, "</td><td>");
        sg_html_time(b, json_object_get(c, "not_after"));
        sg_buf_appendf(b, "</td><td>");
        if (revoked) {
            sg_buf_appendf(b, "<span class=\"pill bad\">revoked</span> ");
            sg_html_time(b, json_object_get(c, "revoked_at"));
        } else {
            sg_buf_appendf(b, "<span class=\"pill ok\">valid</span>");
        }
        sg_buf_appendf(b, "</td><td>");
        if (revoke && !revoked) {
            sg_buf_appendf(b, "<form class=\"inline\" method=\"post\" action=\"/ca/revoke\" "
                              "data-confirm=\"Revoke this certificate? The next CRL lists it.\">"
                              "<input type=\"hidden\" name=\"fpr\" value=\"");
            sg_html_esc(b, fpr);
            sg_buf_appendf(b, "\">");
            sg_html_csrf(b, who);
            sg_buf_appendf(b, "<button type=\"submit\" class=\"danger\">Revoke</button></form>");
        }
        sg_buf_appendf(b, "</td></tr>");
    }
    if (any)
        sg_buf_appendf(b, "</tbody></table>");
    else
        sg_buf_appendf(b, "<p class=\"empty\">The local CA has issued no certificate held here.</p>");
    sg_buf_appendf(b, "</section>");
    json_decref(r);
}

static void forms(sg_buf *b, const sg_web_who *who)
{
    if (may(who, "ca.issue")) {
        sg_buf_appendf(b, "<section class=\"panel\"><h2>Issue a certificate</h2><div class=\"body\">"
                          "<form method=\"post\" action=\"/ca/issue\">");
        sg_html_csrf(b, who);
        sg_buf_appendf(
            b, "<div class=\"toolbar\"><div><label for=\"address\">Address</label><input type=\"email\" "
               "id=\"address\" name=\"address\" required placeholder=\"user@example.org\"></div>"
               "<div><label for=\"usage\">Usage</label><select id=\"usage\" name=\"usage\">"
               "<option value=\"both\">sign and encrypt</option><option value=\"sign\">sign</option>"
               "<option value=\"encrypt\">encrypt</option></select></div>"
               "<div><label for=\"days\">Days</label><input type=\"number\" id=\"days\" name=\"days\" "
               "min=\"1\" max=\"36500\" value=\"730\"></div>"
               "<div><label><input type=\"checkbox\" name=\"rsa\" value=\"1\"> RSA key</label></div>"
               "<button type=\"submit\" class=\"primary\">Issue</button></div>"
               "<p class=\"hint\">The key pair is made and kept by cryptd, wrapped by the KEK.</p>"
               "</form></div></section>");
    }
    if (may(who, "ca.crl")) {
        sg_buf_appendf(b, "<section class=\"panel\"><h2>Certificate revocation list</h2><div class=\"body\">"
                          "<form method=\"post\" action=\"/ca/crl\">");
        sg_html_csrf(b, who);
        sg_buf_appendf(
            b, "<div class=\"toolbar\"><div><label for=\"crl_days\">Next update in days</label>"
               "<input type=\"number\" id=\"crl_days\" name=\"days\" min=\"1\" max=\"36500\" value=\"30\">"
               "</div><button type=\"submit\" id=\"crl\" class=\"primary\">Sign and download the CRL"
               "</button></div></form></div></section>");
    }
}

static void ca_page(sg_web *w, sg_http_req *req, const sg_web_who *who, int status, const char *notice,
                    bool ok, const char *issued)
{
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    sg_html_begin(&b, "Local CA", who, "ca");
    if (notice)
        sg_html_notice(&b, ok, notice);
    if (issued) {
        sg_buf_appendf(&b, "<p>Issued: <a id=\"issued-cert\" class=\"mono\" href=\"/certs/");
        sg_html_esc(&b, issued);
        sg_buf_appendf(&b, "\">");
        sg_html_esc(&b, issued);
        sg_buf_appendf(&b, "</a></p>");
    }
    json_t *subject = NULL;
    ca_panel(w, req, who, &b, &subject);
    if (json_string_value(subject)) {
        issued_panel(w, req, who, &b, json_string_value(subject));
        forms(&b, who);
    }
    json_decref(subject);
    sg_html_end(&b);
    sg_web_send_page(req, status, &b, NULL);
}

static void download(sg_http_req *req, const char *name, const char *type, const char *data)
{
    char disp[96];
    snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", name);
    sg_http_header h[] = {{"Content-Disposition", disp}, {NULL, NULL}};
    sg_http_send(req, 200, type, data ? data : "", data ? strlen(data) : 0, SG_HTTP_NO_STORE, h);
}

/* POST /ca/issue, /ca/revoke, /ca/crl. */
static void post(sg_web *w, sg_http_req *req, const sg_web_who *who, const char *what)
{
    const char *op = !strcmp(what, "issue") ? "ca.issue" : !strcmp(what, "revoke") ? "ca.revoke" : "ca.crl";
    sg_form *f = sg_web_form_post(w, req, who, op, "");
    if (!f)
        return;
    json_t *args = json_object(), *r = NULL;
    sg_op_error e = {0};
    const char *days = sg_form_get(f, "days");
    if (days && *days) {
        char *end;
        long long v = strtoll(days, &end, 10);
        /* Not a number: passed as text, so the operation names the field. */
        json_object_set_new(args, "days", *end ? json_string(days) : json_integer(v));
    }
    if (!strcmp(op, "ca.issue")) {
        const char *addr = sg_form_get(f, "address"), *usage = sg_form_get(f, "usage");
        json_object_set_new(args, "address", json_string(addr ? addr : ""));
        if (usage && *usage)
            json_object_set_new(args, "usage", json_string(usage));
        if (sg_form_get(f, "rsa"))
            json_object_set_new(args, "rsa", json_true());
    } else if (!strcmp(op, "ca.revoke")) {
        const char *fpr = sg_form_get(f, "fpr");
        json_object_set_new(args, "fpr", json_string(fpr ? fpr : ""));
    }
    int rc = sg_web_call(w, req, who, SG_VIA_WEB, op, args, &r, &e);
    json_decref(args);
    sg_form_free(f);
    if (rc < 0) {
        ca_page(w, req, who, sg_web_status(e.code), e.message, false, NULL);
    } else if (!strcmp(op, "ca.crl")) {
        download(req, "crl.pem", "application/x-pem-file", json_string_value(json_object_get(r, "crl")));
    } else if (!strcmp(op, "ca.issue")) {
        ca_page(w, req, who, 200, "Certificate issued.", true, json_string_value(json_object_get(r, "fpr")));
    } else {
        char msg[160];
        snprintf(msg, sizeof msg, "Revoked %.64s. Sign a new CRL to publish it.",
                 json_string_value(json_object_get(r, "fpr")) ? json_string_value(json_object_get(r, "fpr"))
                                                              : "");
        ca_page(w, req, who, 200, msg, true, NULL);
    }
    json_decref(r);
}

void sg_web_page_ca(sg_web *w, sg_http_req *req, const sg_web_who *who)
{
    const char *rest = req->path + strlen("/ca");
    bool get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD"),
         postm = !strcmp(req->method, "POST");
    if ((!*rest || !strcmp(rest, "/")) && get) {
        ca_page(w, req, who, 200, NULL, true, NULL);
    } else if (!strcmp(rest, "/ca.pem") && get) {
        json_t *r = NULL;
        sg_op_error e = {0};
        if (sg_web_call(w, req, who, SG_VIA_WEB, "ca.export", NULL, &r, &e) < 0) {
            sg_web_page_error(req, who, sg_web_status(e.code), e.message);
            return;
        }
        download(req, "sealgate-ca.pem", "application/x-pem-file",
                 json_string_value(json_object_get(r, "pem")));
        json_decref(r);
    } else if (postm && (!strcmp(rest, "/issue") || !strcmp(rest, "/revoke") || !strcmp(rest, "/crl"))) {
        post(w, req, who, rest + 1);
    } else {
        sg_web_page_error(req, who, 404, "No such page.");
    }
}
