/* pages_auditor.c - the portal's Auditor page (issue 14): the tamper-evident log searched by
 * queue id, address, outcome, kind and date, newest first, and one entry with every field, its
 * leaf hash and its inclusion proof in the latest signed checkpoint (the note shown as signed).
 * Read-only: it calls audit.search and audit.show (src/admin/ops_notary.c), which the table
 * allows to Administrators and Auditors. Owner: src/web.
 * SECURITY: every query value goes to the operation, which validates it; dates are parsed here
 * strictly (YYYY-MM-DD, else ignored); every value printed is escaped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "web/web_int.h"

static const char *const outcomes[] = {"", "delivered", "held", "bounced", "deleted", NULL};
static const char *const kinds[] = {"", "mail", "admin", "receipt", NULL};

/* A YYYY-MM-DD date as Unix seconds at 00:00 UTC, or -1. */
static long long day(const char *s)
{
    struct tm tm = {0};
    int y, m, d;
    char end;
    if (!s || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &end) != 3 || m < 1 || m > 12 || d < 1 || d > 31 || y < 1970)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    return (long long)timegm(&tm);
}

static void text_input(sg_buf *b, const char *name, const char *label, const char *value, const char *hint)
{
    sg_buf_appendf(b, "<div><label for=\"%s\">%s</label><input id=\"%s\" name=\"%s\" placeholder=\"%s\" value=\"",
                   name, label, name, name, hint);
    sg_html_esc(b, value ? value : "");
    sg_buf_appendf(b, "\"></div>");
}

static void select_input(sg_buf *b, const char *name, const char *label, const char *const *choices, const char *v)
{
    sg_buf_appendf(b, "<div><label for=\"%s\">%s</label><select id=\"%s\" name=\"%s\">", name, label, name, name);
    for (int i = 0; choices[i]; i++)
        sg_buf_appendf(b, "<option value=\"%s\"%s>%s</option>", choices[i], v && !strcmp(v, choices[i]) ? " selected" : "",
                       choices[i][0] ? choices[i] : "any");
    sg_buf_appendf(b, "</select></div>");
}

static const char *one_of(const char *v, const char *const *choices)
{
    for (int i = 0; v && choices[i]; i++)
        if (strcmp(v, choices[i]) == 0)
            return v;
    return NULL;
}

static const char *fstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void row(sg_buf *b, const json_t *x)
{
    bool mail = strcmp(fstr(x, "kind"), "mail") == 0;
    json_int_t idx = json_integer_value(json_object_get(x, "index"));
    sg_buf_appendf(b, "<tr><td class=\"num\"><a href=\"/auditor/%lld\">%lld</a></td><td>", (long long)idx,
                   (long long)idx);
    json_t *t = json_integer(atoll(fstr(x, "time")));
    sg_html_time(b, t);
    json_decref(t);
    sg_buf_appendf(b, "</td><td>");
    sg_html_esc(b, fstr(x, "kind"));
    sg_buf_appendf(b, "</td><td class=\"mono\">");
    sg_html_esc(b, mail ? fstr(x, "queue") : fstr(x, "actor"));
    sg_buf_appendf(b, "</td><td>");
    const char *oc = mail ? fstr(x, "outcome") : fstr(x, "result");
    sg_buf_appendf(b, "<span class=\"pill %s\">", strstr(oc, "held") || strstr(oc, "bounced") ? "warn"
                                                  : strstr(oc, "deleted") || strstr(oc, "denied") ? "bad"
                                                                                                  : "ok");
    sg_html_esc(b, *oc ? oc : "-");
    sg_buf_appendf(b, "</span></td><td class=\"mono\">");
    if (mail) {
        sg_html_esc(b, fstr(x, "from"));
        sg_buf_appendf(b, " &rarr; ");
        sg_html_esc(b, fstr(x, "rcpt"));
    } else {
        sg_html_esc(b, fstr(x, "op"));
        sg_buf_appendf(b, " ");
        sg_html_esc(b, fstr(x, "target"));
    }
    sg_buf_appendf(b, "</td></tr>");
}

static void list(sg_web *w, sg_http_req *req, const sg_web_who *who)
{
    const char *queue = sg_http_query(req, "queue"), *addr = sg_http_query(req, "address");
    const char *outcome = one_of(sg_http_query(req, "outcome"), outcomes), *kind = one_of(sg_http_query(req, "kind"), kinds);
    const char *from = sg_http_query(req, "from"), *to = sg_http_query(req, "to");
    json_t *args = json_pack("{s:i}", "limit", 200);
    if (queue && *queue)
        json_object_set_new(args, "queue", json_string(queue));
    if (addr && *addr)
        json_object_set_new(args, "address", json_string(addr));
    if (outcome && *outcome)
        json_object_set_new(args, "outcome", json_string(outcome));
    if (kind && *kind)
        json_object_set_new(args, "kind", json_string(kind));
    if (day(from) >= 0)
        json_object_set_new(args, "since", json_integer(day(from)));
    if (day(to) >= 0) /* the whole day named */
        json_object_set_new(args, "until", json_integer(day(to) + 86400));
    json_t *r = NULL;
    sg_op_error e = {0};
    int rc = sg_web_call(w, req, who, SG_VIA_WEB, "audit.search", args, &r, &e);
    json_decref(args);
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    sg_html_begin(&b, "Auditor", who, "auditor");
    sg_buf_appendf(&b, "<form class=\"toolbar\" method=\"get\" action=\"/auditor\" role=\"search\">");
    text_input(&b, "queue", "Queue id", queue, "e.g. 0a1b2c3d4e5f6a7b");
    text_input(&b, "address", "Address", addr, "sender or recipient");
    select_input(&b, "outcome", "Outcome", outcomes, outcome);
    select_input(&b, "kind", "Kind", kinds, kind);
    text_input(&b, "from", "From day", from, "YYYY-MM-DD");
    text_input(&b, "to", "To day", to, "YYYY-MM-DD");
    sg_buf_appendf(&b, "<button type=\"submit\">Search</button></form>");
    if (rc < 0) {
        sg_html_notice(&b, false, e.message);
    } else {
        json_t *items = json_object_get(r, "items");
        sg_buf_appendf(&b, "<section class=\"panel\"><h2>Log entries (%lld, newest first)</h2>",
                       (long long)json_integer_value(json_object_get(r, "total")));
        if (!json_array_size(items)) {
            sg_buf_appendf(&b, "<p class=\"empty\">No entry matches.</p>");
        } else {
            sg_buf_appendf(&b, "<table><thead><tr><th scope=\"col\" class=\"num\">Index</th><th scope=\"col\">Time "
                               "(UTC)</th><th scope=\"col\">Kind</th><th scope=\"col\">Queue id / actor</th>"
                               "<th scope=\"col\">Outcome</th><th scope=\"col\">Envelope / operation</th></tr>"
                               "</thead><tbody>");
            size_t i;
            json_t *x;
            json_array_foreach(items, i, x) row(&b, x);
            sg_buf_appendf(&b, "</tbody></table>");
        }
        sg_buf_appendf(&b, "</section>");
    }
    json_decref(r);
    sg_html_end(&b);
    sg_web_send_page(req, 200, &b, NULL);
}

static void verdict(sg_buf *b, const char *name, bool ok, const char *good, const char *bad)
{
    sg_buf_appendf(b, "<dt>%s</dt><dd><span class=\"pill %s\">%s</span></dd>", name, ok ? "ok" : "bad", ok ? good : bad);
}

static void show(sg_web *w, sg_http_req *req, const sg_web_who *who, const char *entry)
{
    json_t *r = sg_web_call_or_page(w, req, who, "audit.show", "entry", entry);
    if (!r)
        return;
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    char title[96];
    snprintf(title, sizeof title, "Log entry %lld", (long long)json_integer_value(json_object_get(r, "index")));
    sg_html_begin(&b, title, who, "auditor");
    sg_buf_appendf(&b, "<p><a href=\"/auditor\">&larr; Auditor</a></p><section class=\"panel\"><h2>Entry</h2>"
                       "<div class=\"body\"><dl class=\"facts\">");
    const char *k;
    json_t *v;
    json_object_foreach(r, k, v)
    {
        if (strcmp(k, "time") == 0) {
            json_t *t = json_integer(atoll(fstr(r, "time")));
            sg_buf_appendf(&b, "<dt>time</dt><dd>");
            sg_html_time(&b, t);
            sg_buf_appendf(&b, "</dd>");
            json_decref(t);
        } else if (json_is_string(v) || json_is_integer(v)) {
            sg_html_fact(&b, k, v);
        }
    }
    sg_buf_appendf(&b, "</dl></div></section><section class=\"panel\"><h2>Inclusion proof</h2><div class=\"body\">");
    const json_t *cp = json_object_get(r, "checkpoint");
    if (!cp) {
        sg_buf_appendf(&b, "<p class=\"empty\">No signed checkpoint covers this entry yet (cryptd signs one every "
                           "few seconds or entries).</p>");
    } else {
        sg_buf_appendf(&b, "<dl class=\"facts\">");
        verdict(&b, "proof", json_is_true(json_object_get(r, "proof_ok")), "verified", "does NOT verify");
        verdict(&b, "checkpoint signature", json_is_true(json_object_get(cp, "signature_ok")), "valid (the log's key)",
                "NOT valid");
        sg_html_fact(&b, "tree size", json_object_get(cp, "size"));
        sg_html_fact(&b, "root", json_object_get(cp, "root"));
        sg_buf_appendf(&b, "<dt>audit path</dt><dd class=\"mono\">");
        size_t i;
        json_t *h;
        json_array_foreach(json_object_get(r, "proof"), i, h)
        {
            sg_buf_appendf(&b, "%s", i ? "<br>" : "");
            sg_html_value(&b, h);
        }
        sg_buf_appendf(&b, "</dd></dl><h3>Signed checkpoint</h3><pre class=\"headers\">");
        sg_html_esc(&b, fstr(cp, "note"));
        sg_buf_appendf(&b, "</pre>");
    }
    sg_buf_appendf(&b, "</div></section>");
    json_decref(r);
    sg_html_end(&b);
    sg_web_send_page(req, 200, &b, NULL);
}

void sg_web_page_auditor(sg_web *w, sg_http_req *req, const sg_web_who *who)
{
    const char *rest = req->path + strlen("/auditor");
    if (strcmp(req->method, "GET") != 0) {
        sg_web_page_error(req, who, 405, "The Auditor page only reads.");
        return;
    }
    if (!*rest || strcmp(rest, "/") == 0) {
        list(w, req, who);
        return;
    }
    char entry[72];
    int used = 0;
    if (sscanf(rest, "/%71[0-9A-Za-z._-]%n", entry, &used) != 1 || rest[used]) {
        sg_web_page_error(req, who, 404, "No such page.");
        return;
    }
    show(w, req, who, entry);
}
