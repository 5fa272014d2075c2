/* pages_keys.c - the portal's keys and certificates: the lists with an address search, paged
 * (key.list, cert.list), one key's or certificate's details (key.show, cert.show), import by
 * paste or upload (key.import of public keys; cert.import, which runs in cryptd, for
 * certificates and PKCS#12), generate (key.generate, in cryptd), delete, and export of the
 * public part as a download. A key's page lists its subkeys (algorithm, size, usage,
 * validity) besides its user IDs, trust and provenance. Owner: src/web.
 * SECURITY: every change is a POST with the CSRF token (sg_web_form_post); fingerprints from
 * the path are hex only before they reach an operation or a header; an export is sent as an
 * attachment (Content-Disposition) with nosniff (sg_http_send), so it is never rendered. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "web/form.h"
#include "web/web_int.h"

#define PAGE 50

static bool may(const sg_web_who *who, const char *op)
{
    const sg_op *o = sg_op_find(op);
    return o && sg_op_allowed(o, who->roles);
}

static bool hex(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!isxdigit((unsigned char)s[n]) || n >= max)
            return false;
    return n >= 16;
}

static void pill(sg_buf *b, bool good, const char *text)
{
    sg_buf_appendf(b, "<span class=\"pill %s\">%s</span>", good ? "ok" : "bad", text);
}

static void uids(sg_buf *b, const json_t *k)
{
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(k, "uids"), i, u)
    {
        sg_buf_appendf(b, "%s", i ? "<br>" : "");
        sg_html_value(b, json_object_get(u, "uid"));
    }
}

/* The list of kind ("key" or "cert") for the search, one page from offset. */
static void list(sg_web *w, sg_http_req *req, const sg_web_who *who, sg_buf *b, bool key, const char *q,
                 long off)
{
    json_t *args = json_pack("{s:i, s:I}", "limit", PAGE, "offset", (json_int_t)off), *r = NULL;
    if (q && *q)
        json_object_set_new(args, "address", json_string(q));
    sg_op_error e = {0};
    int rc = sg_web_call(w, req, who, SG_VIA_WEB, key ? "key.list" : "cert.list", args, &r, &e);
    json_decref(args);
    sg_buf_appendf(b, "<section class=\"panel\" id=\"%s\"><h2>%s (%lld)</h2>", key ? "keys" : "certs",
                   key ? "OpenPGP keys" : "Certificates",
                   rc ? 0LL : (long long)json_integer_value(json_object_get(r, "total")));
    if (rc < 0) {
        sg_html_notice(b, false, e.message);
    } else if (!json_array_size(json_object_get(r, "items"))) {
        sg_buf_appendf(b, "<p class=\"empty\">None found.</p>");
    } else {
        sg_buf_appendf(b,
                       "<table><thead><tr><th scope=\"col\">%s</th><th scope=\"col\">Fingerprint</th>"
                       "<th scope=\"col\">%s</th><th scope=\"col\">Expires</th><th scope=\"col\">State</th>"
                       "</tr></thead><tbody>",
                       key ? "User IDs" : "Subject", key ? "Trust" : "Issuer");
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(r, "items"), i, x)
        {
            const char *fpr = json_string_value(json_object_get(x, "fpr"));
            sg_buf_appendf(b, "<tr><td>");
            if (key)
                uids(b, x);
            else
                sg_html_value(b, json_object_get(x, "subject"));
            sg_buf_appendf(b, "</td><td class=\"mono\"><a href=\"/%s/", key ? "keys" : "certs");
            sg_html_esc(b, fpr);
            sg_buf_appendf(b, "\">");
            sg_html_esc(b, fpr);
            sg_buf_appendf(b, "</a></td><td>");
            sg_html_value(b, json_object_get(x, key ? "trust" : "issuer"));
            sg_buf_appendf(b, "</td><td>");
            sg_html_time(b, json_object_get(x, key ? "expires" : "not_after"));
            sg_buf_appendf(b, "</td><td>");
            pill(b, !json_is_true(json_object_get(x, "revoked")),
                 json_is_true(json_object_get(x, "revoked")) ? "revoked" : "valid");
            sg_buf_appendf(b, "</td></tr>");
        }
        sg_buf_appendf(b, "</tbody></table>");
        json_int_t total = json_integer_value(json_object_get(r, "total"));
        if (off + PAGE < total) {
            sg_buf_appendf(b, "<p><a class=\"button\" href=\"/keys?%s=%ld&amp;q=", key ? "koff" : "coff",
                           off + PAGE);
            for (const char *c = q ? q : ""; *c; c++)
                sg_buf_appendf(b, isalnum((unsigned char)*c) || strchr("._-@", *c) ? "%c" : "%%%02X",
                               (unsigned char)*c);
            sg_buf_appendf(b, "\">More</a></p>");
        }
    }
    sg_buf_appendf(b, "</section>");
    json_decref(r);
}

static void index_page(sg_web *w, sg_http_req *req, const sg_web_who *who, int status, const char *notice,
                       bool ok, const json_t *imported)
{
    const char *q = sg_http_query(req, "q"), *ko = sg_http_query(req, "koff"),
               *co = sg_http_query(req, "coff");
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    sg_html_begin(&b, "Keys and certificates", who, "keys");
    if (notice)
        sg_html_notice(&b, ok, notice);
    size_t i;
    json_t *x;
    if (imported) {
        sg_buf_appendf(&b,
                       "<section class=\"panel\" id=\"imported\"><h2>Import</h2><div class=\"body\"><ul>");
        json_array_foreach(json_object_get(imported, "items"), i, x)
        {
            sg_buf_appendf(&b, "<li>");
            sg_html_value(&b, json_object_get(x, "status"));
            sg_buf_appendf(&b, " <span class=\"mono\">");
            sg_html_value(&b, json_object_get(x, "fpr"));
            sg_buf_appendf(&b, "</span> ");
            sg_html_value(&b, json_object_get(x, json_object_get(x, "uid") ? "uid" : "subject"));
            if (json_is_string(json_object_get(x, "reason"))) {
                sg_buf_appendf(&b, ": ");
                sg_html_value(&b, json_object_get(x, "reason"));
            }
            sg_buf_appendf(&b, "</li>");
        }
        sg_buf_appendf(&b, "</ul></div></section>");
    }
    sg_buf_appendf(
        &b, "<form class=\"toolbar\" method=\"get\" action=\"/keys\"><div><label for=\"q\">Address</label>"
            "<input type=\"search\" id=\"q\" name=\"q\" size=\"36\" value=\"");
    sg_html_esc(&b, q);
    sg_buf_appendf(&b, "\"></div><button type=\"submit\">Search</button></form>");
    list(w, req, who, &b, true, q, ko ? atol(ko) : 0);
    list(w, req, who, &b, false, q, co ? atol(co) : 0);
    if (may(who, "key.import") || may(who, "cert.import")) {
        sg_buf_appendf(&b,
                       "<section class=\"panel\"><h2>Import</h2><div class=\"body\"><form method=\"post\" "
                       "action=\"/keys/import\" enctype=\"multipart/form-data\">");
        sg_html_csrf(&b, who);
        sg_buf_appendf(
            &b,
            "<div class=\"toolbar\"><div><label for=\"kind\">Kind</label><select id=\"kind\" name=\"kind\">"
            "<option value=\"key\">OpenPGP public key</option><option value=\"cert\">Certificate "
            "(PEM, DER, PKCS#7) or PKCS#12</option></select></div><div><label for=\"file\">File</label>"
            "<input type=\"file\" id=\"file\" name=\"file\"></div><div><label for=\"password\">PKCS#12 "
            "password</label><input type=\"password\" id=\"password\" name=\"password\" "
            "autocomplete=\"off\"></div></div><label for=\"paste\">Or paste it</label>"
            "<textarea id=\"paste\" name=\"paste\" class=\"editor\" rows=\"6\" wrap=\"off\" "
            "spellcheck=\"false\"></textarea><p><button type=\"submit\" class=\"primary\">Import</button>"
            "</p></form></div></section>");
    }
    if (may(who, "key.generate")) {
        sg_buf_appendf(&b,
                       "<section class=\"panel\"><h2>Generate an OpenPGP key</h2><div class=\"body\"><form "
                       "method=\"post\" action=\"/keys/generate\">");
        sg_html_csrf(&b, who);
        sg_buf_appendf(
            &b, "<div class=\"toolbar\"><div><label for=\"gen-address\">Address</label><input type=\"email\" "
                "id=\"gen-address\" name=\"address\" required></div><button type=\"submit\">Generate</button>"
                "<span class=\"hint\">Made by cryptd, certified by the domain key; the secret key stays "
                "there.</span></div></form></div></section>");
    }
    sg_html_end(&b);
    sg_web_send_page(req, status, &b, NULL);
}

/* A key's subkeys (key.show): algorithm, size, usage, validity. */
static void subkeys(sg_buf *b, const json_t *subs)
{
    sg_buf_appendf(b, "<section class=\"panel\" id=\"subkeys\"><h2>Subkeys</h2><table><thead><tr>"
                      "<th scope=\"col\">Fingerprint</th><th scope=\"col\">Algorithm</th><th scope=\"col\">Bits</th>"
                      "<th scope=\"col\">Usage</th><th scope=\"col\">Created</th><th scope=\"col\">Expires</th>"
                      "<th scope=\"col\">Status</th></tr></thead><tbody>");
    size_t i;
    json_t *s;
    json_array_foreach(subs, i, s)
    {
        sg_buf_appendf(b, "<tr><td class=\"mono\">");
        sg_html_value(b, json_object_get(s, "fpr"));
        sg_buf_appendf(b, "</td><td>");
        sg_html_value(b, json_object_get(s, "algorithm"));
        sg_buf_appendf(b, "</td><td>");
        sg_html_value(b, json_object_get(s, "bits"));
        sg_buf_appendf(b, "</td><td>");
        sg_html_join(b, json_object_get(s, "usage"), ", ");
        sg_buf_appendf(b, "</td><td>");
        sg_html_time(b, json_object_get(s, "created"));
        sg_buf_appendf(b, "</td><td>");
        sg_html_time(b, json_object_get(s, "expires"));
        sg_buf_appendf(b, "</td><td>");
        json_t *vu = json_object_get(s, "valid_until");
        bool revoked = json_is_true(json_object_get(s, "revoked")),
             valid = !revoked && (json_is_null(vu) || json_integer_value(vu) > (json_int_t)time(NULL));
        pill(b, valid, revoked ? "revoked" : valid ? "valid" : "not valid");
        sg_buf_appendf(b, "</td></tr>");
    }
    sg_buf_appendf(b, "</tbody></table></section>");
}

/* A certificate's validation per purpose and the chain it built (cert.show). */
static void validation(sg_buf *b, const json_t *r)
{
    sg_buf_appendf(b, "<section class=\"panel\" id=\"validation\"><h2>Validation now</h2><table><thead><tr>"
                      "<th scope=\"col\">Purpose</th><th scope=\"col\">Verdict</th><th scope=\"col\">Revocation</th>"
                      "<th scope=\"col\">Reason</th></tr></thead><tbody>");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(r, "validation"), k, v)
    {
        const char *verdict = json_string_value(json_object_get(v, "verdict"));
        sg_buf_appendf(b, "<tr><td>");
        sg_html_esc(b, k);
        sg_buf_appendf(b, "</td><td>");
        sg_buf_appendf(b, "<span class=\"pill %s\">", verdict && !strcmp(verdict, "valid") ? "ok" : "bad");
        sg_html_esc(b, verdict ? verdict : "");
        sg_buf_appendf(b, "</span></td><td>");
        sg_html_value(b, json_object_get(v, "revocation"));
        sg_buf_appendf(b, "</td><td>");
        sg_html_value(b, json_object_get(v, "reason"));
        sg_buf_appendf(b, "</td></tr>");
    }
    sg_buf_appendf(b, "</tbody></table><div class=\"body\"><h3>Chain</h3>");
    json_t *chain = json_object_get(r, "chain");
    if (!json_array_size(chain))
        sg_buf_appendf(b, "<p class=\"empty\">No chain to a trust anchor in the store.</p>");
    else
        sg_buf_appendf(b, "<ol id=\"chain\">");
    size_t i;
    json_array_foreach(chain, i, v)
    {
        sg_buf_appendf(b, "<li><a class=\"mono\" href=\"/certs/");
        sg_html_value(b, json_object_get(v, "fpr"));
        sg_buf_appendf(b, "\">%.16s&hellip;</a> ", json_string_value(json_object_get(v, "fpr")));
        sg_html_value(b, json_object_get(v, "subject"));
        sg_buf_appendf(b, "</li>");
    }
    sg_buf_appendf(b, "%s</div></section>", json_array_size(chain) ? "</ol>" : "");
}

static void details(sg_web *w, sg_http_req *req, const sg_web_who *who, bool key, const char *fpr)
{
    json_t *r = sg_web_call_or_page(w, req, who, key ? "key.show" : "cert.show", "fpr", fpr);
    if (!r)
        return;
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    sg_html_begin(&b, key ? "OpenPGP key" : "Certificate", who, "keys");
    sg_buf_appendf(&b,
                   "<p><a href=\"/keys\">&larr; Keys and certificates</a></p><section class=\"panel\"><h2 "
                   "class=\"mono\">");
    sg_html_esc(&b, fpr);
    sg_buf_appendf(&b, "</h2><div class=\"body\"><dl class=\"facts\">");
    const char *k;
    json_t *v;
    json_object_foreach(r, k, v)
    {
        if (!strcmp(k, "subkeys") || !strcmp(k, "validation") || !strcmp(k, "chain")) {
            continue; /* sections of their own below */
        } else if (!strcmp(k, "uids")) {
            sg_buf_appendf(&b, "<dt>user IDs</dt><dd>");
            uids(&b, r);
            sg_buf_appendf(&b, "</dd>");
        } else if (!strcmp(k, "created") || !strcmp(k, "expires") || !strcmp(k, "not_before") ||
                   !strcmp(k, "not_after") || !strcmp(k, "encryption_until") || !strcmp(k, "source_time") ||
                   !strcmp(k, "revoked_at")) {
            sg_buf_appendf(&b, "<dt>%s</dt><dd>", k);
            sg_html_time(&b, v);
            sg_buf_appendf(&b, "</dd>");
        } else {
            sg_html_fact(&b, k, v);
        }
    }
    sg_buf_appendf(&b, "</dl></div></section>");
    if (json_array_size(json_object_get(r, "subkeys")))
        subkeys(&b, json_object_get(r, "subkeys"));
    if (json_is_object(json_object_get(r, "validation")))
        validation(&b, r);
    sg_buf_appendf(&b,
                   "<section class=\"panel\"><h2>Actions</h2><div class=\"body\"><div "
                   "class=\"actions\"><a class=\"button\" id=\"export\" href=\"/%s/",
                   key ? "keys" : "certs");
    sg_html_esc(&b, fpr);
    sg_buf_appendf(&b, "/export\">Export public</a>");
    if (may(who, key ? "key.delete" : "cert.delete")) {
        sg_buf_appendf(&b, "<form class=\"inline\" method=\"post\" action=\"/%s/", key ? "keys" : "certs");
        sg_html_esc(&b, fpr);
        sg_buf_appendf(&b, "/delete\" data-confirm=\"Delete this %s for good?\">",
                       key ? "key" : "certificate");
        sg_html_csrf(&b, who);
        sg_buf_appendf(&b, "<button type=\"submit\" class=\"danger\">Delete</button></form>");
    }
    sg_buf_appendf(&b, "</div></div></section>");
    json_decref(r);
    sg_html_end(&b);
    sg_web_send_page(req, 200, &b, NULL);
}

static void export(sg_web *w, sg_http_req *req, const sg_web_who *who, bool key, const char *fpr)
{
    json_t *r = sg_web_call_or_page(w, req, who, key ? "key.export" : "cert.export", "fpr", fpr);
    if (!r)
        return;
    const char *data = json_string_value(json_object_get(r, key ? "armored" : "pem"));
    char disp[128]; /* fpr is hex only (checked by the caller): safe in the header */
    snprintf(disp, sizeof disp, "attachment; filename=\"%.64s.%s\"", fpr, key ? "asc" : "pem");
    sg_http_header h[] = {{"Content-Disposition", disp}, {NULL, NULL}};
    sg_http_send(req, 200, key ? "application/pgp-keys" : "application/x-pem-file", data ? data : "",
                 data ? strlen(data) : 0, SG_HTTP_NO_STORE, h);
    json_decref(r);
}

static void post(sg_web *w, sg_http_req *req, const sg_web_who *who, const char *what, bool key,
                 const char *fpr)
{
    bool imp = !strcmp(what, "import"), gen = !strcmp(what, "generate");
    const char *op = gen ? "key.generate" : imp ? "key.import" : key ? "key.delete" : "cert.delete";
    sg_form *f = sg_web_form_post(w, req, who, op, fpr ? fpr : "");
    if (!f)
        return;
    json_t *args = NULL, *r = NULL;
    sg_op_error e = {0};
    char msg[200] = "";
    if (imp) {
        const sg_form_field *file = sg_form_field_get(f, "file");
        const char *paste = sg_form_get(f, "paste"), *kind = sg_form_get(f, "kind"),
                   *pw = sg_form_get(f, "password");
        bool cert = kind && !strcmp(kind, "cert");
        op = cert ? "cert.import" : "key.import";
        args = json_object();
        if (file && file->len)
            sg_op_args_set_bytes(args, "data", (const uint8_t *)file->value, file->len);
        else
            sg_op_args_set_bytes(args, "data", (const uint8_t *)(paste ? paste : ""),
                                 paste ? strlen(paste) : 0);
        if (cert && file && file->filename)
            json_object_set_new(args, "name", json_string(file->filename));
        if (cert && pw && *pw)
            json_object_set_new(args, "password", json_string(pw));
    } else if (gen) {
        const char *addr = sg_form_get(f, "address");
        args = json_pack("{s:s}", "address", addr ? addr : "");
    } else {
        args = json_pack("{s:s}", "fpr", fpr);
    }
    int rc = sg_web_call(w, req, who, SG_VIA_WEB, op, args, &r, &e);
    if (rc < 0)
        index_page(w, req, who, sg_web_status(e.code), e.message, false, NULL);
    else if (imp)
        index_page(w, req, who, 200,
                   json_integer_value(json_object_get(r, "rejected")) ? "Import: some were rejected."
                                                                      : "Imported.",
                   !json_integer_value(json_object_get(r, "rejected")), r);
    else {
        snprintf(msg, sizeof msg, "%s %.64s.", gen ? "Generated key" : "Deleted",
                 json_string_value(json_object_get(r, "fpr")) ? json_string_value(json_object_get(r, "fpr"))
                                                              : fpr);
        index_page(w, req, who, 200, msg, true, NULL);
    }
    json_decref(args);
    json_decref(r);
    sg_form_free(f);
}

void sg_web_page_keys(sg_web *w, sg_http_req *req, const sg_web_who *who)
{
    bool key = strncmp(req->path, "/keys", 5) == 0;
    const char *rest = req->path + (key ? strlen("/keys") : strlen("/certs"));
    bool get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD"),
         postm = !strcmp(req->method, "POST");
    char fpr[72] = "", action[16] = "";
    if (key && (!*rest || !strcmp(rest, "/")) && get) {
        index_page(w, req, who, 200, NULL, true, NULL);
        return;
    }
    if (key && (!strcmp(rest, "/import") || !strcmp(rest, "/generate")) && postm) {
        post(w, req, who, rest + 1, true, NULL);
        return;
    }
    int n = sscanf(rest, "/%71[0-9A-Fa-f]/%15[a-z]", fpr, action);
    size_t used = 1 + strlen(fpr) + (action[0] ? 1 + strlen(action) : 0);
    if (n < 1 || strlen(rest) != used || !hex(fpr, 64)) {
        sg_web_page_error(req, who, 404, "No such page.");
        return;
    }
    if (!action[0] && get)
        details(w, req, who, key, fpr);
    else if (!strcmp(action, "export") && get)
        export(w, req, who, key, fpr);
    else if (!strcmp(action, "delete") && postm)
        post(w, req, who, "delete", key, fpr);
    else
        sg_web_page_error(req, who, 404, "No such page.");
}
