/* html.c - the frame of every portal page (left navigation, header with the signed-in account
 * and its roles), HTML escaping, notices, redirects. Owner: src/web.
 * SECURITY: every value that did not come from this file goes through sg_html_esc (text and
 * attribute values alike: & < > " ' escaped). Pages carry no inline script or style (the
 * Content-Security-Policy forbids both); authenticated pages are sent with no-store. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/roles.h"
#include "web/web_int.h"

void sg_html_esc(sg_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            sg_buf_append(b, "&amp;", 5);
            break;
        case '<':
            sg_buf_append(b, "&lt;", 4);
            break;
        case '>':
            sg_buf_append(b, "&gt;", 4);
            break;
        case '"':
            sg_buf_append(b, "&quot;", 6);
            break;
        case '\'':
            sg_buf_append(b, "&#39;", 5);
            break;
        default:
            sg_buf_append(b, s, 1);
        }
    }
}

void sg_html_value(sg_buf *b, const json_t *v)
{
    if (json_is_string(v))
        sg_html_esc(b, json_string_value(v));
    else if (json_is_integer(v))
        sg_buf_appendf(b, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        sg_buf_appendf(b, "%g", json_real_value(v));
    else if (json_is_boolean(v))
        sg_buf_appendf(b, "%s", json_is_true(v) ? "yes" : "no");
    else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            if (i)
                sg_buf_append(b, ", ", 2);
            sg_html_value(b, x);
        }
    } else if (v && !json_is_null(v)) {
        char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        sg_html_esc(b, s);
        free(s);
    }
}

void sg_html_fact(sg_buf *b, const char *name, const json_t *v)
{
    sg_buf_appendf(b, "<dt>");
    sg_html_esc(b, name);
    sg_buf_appendf(b, "</dt><dd>");
    sg_html_value(b, v);
    sg_buf_appendf(b, "</dd>");
}

void sg_html_join(sg_buf *b, const json_t *array, const char *sep)
{
    size_t i;
    json_t *v;
    json_array_foreach(array, i, v)
    {
        sg_buf_appendf(b, "%s", i ? sep : "");
        sg_html_value(b, v);
    }
}

void sg_html_time(sg_buf *b, const json_t *v)
{
    json_int_t t = json_is_integer(v) ? json_integer_value(v) : 0;
    if (t <= 0) {
        sg_buf_appendf(b, "never");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    char s[32];
    gmtime_r(&tt, &tm);
    strftime(s, sizeof s, "%Y-%m-%d %H:%M:%S UTC", &tm);
    sg_buf_appendf(b, "<time datetime=\"%lld\">%s</time>", (long long)t, s);
}

/* "42 s", "5 min", "3 h", "2 d": the age of the oldest message. */
void sg_html_age(sg_buf *b, json_int_t s)
{
    if (s < 120)
        sg_buf_appendf(b, "%lld s", (long long)s);
    else if (s < 7200)
        sg_buf_appendf(b, "%lld min", (long long)s / 60);
    else if (s < 172800)
        sg_buf_appendf(b, "%lld h", (long long)s / 3600);
    else
        sg_buf_appendf(b, "%lld d", (long long)s / 86400);
}

typedef struct nav_item {
    const char *href, *label, *key, *op; /* op: shown when the account may call it */
    const char *op2;                     /* or this one (NULL: none) */
} nav_item;

static const nav_item nav[] = {
    {"/", "Dashboard", "dashboard", "status", NULL},
    {"/queue", "Queue", "queue", "queue.list", NULL},
    {"/keys", "Keys", "keys", "key.list", NULL},
    {"/ca", "Local CA", "ca", "ca.export", NULL},
    {"/policy", "Policy", "policy", "policy.show", NULL},
    {"/users", "Users and groups", "users", "user.list", "group.list"},
    {"/jobs", "Jobs", "jobs", "job.list", NULL},
    {"/events", "Events", "events", "audit.list", NULL},
    {"/auditor", "Auditor", "auditor", "audit.search", NULL},
    {"/admins", "Admins", "admins", "admin.list", NULL},
    {"/settings", "Settings", "settings", "check-config", NULL},
    {"/account", "Account", "account", "account.password", NULL},
};

void sg_html_begin(sg_buf *b, const char *title, const sg_web_who *who, const char *active)
{
    sg_buf_appendf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    if (who && who->csrf[0])
        sg_buf_appendf(b, "<meta name=\"csrf-token\" content=\"%s\">", who->csrf);
    sg_buf_appendf(b, "<title>");
    sg_html_esc(b, title);
    sg_buf_appendf(b, " - sealgate</title><link rel=\"stylesheet\" href=\"/static/portal.css\">"
                      "<link rel=\"icon\" href=\"/static/favicon.svg\">"
                      "<script src=\"/static/portal.js\" defer></script></head><body>"
                      "<a class=\"skip\" href=\"#main\">Skip to content</a><div class=\"shell\">"
                      "<div class=\"brand\"><span class=\"mark\" aria-hidden=\"true\">sg</span>sealgate</div>"
                      "<nav class=\"side\" aria-label=\"Main\"><ul>");
    for (size_t i = 0; i < sizeof nav / sizeof nav[0]; i++) {
        const sg_op *op = sg_op_find(nav[i].op), *op2 = nav[i].op2 ? sg_op_find(nav[i].op2) : NULL;
        if (who && op && !sg_op_allowed(op, who->roles) && !(op2 && sg_op_allowed(op2, who->roles)))
            continue;
        if (who && who->must_change && strcmp(nav[i].key, "account") != 0)
            continue; /* a one-time password reaches no other page (router.c) */
        sg_buf_appendf(b, "<li><a href=\"%s\"%s>%s</a></li>", nav[i].href,
                       active && strcmp(active, nav[i].key) == 0 ? " aria-current=\"page\"" : "", nav[i].label);
    }
    sg_buf_appendf(b, "</ul></nav><header class=\"top\"><h1>");
    sg_html_esc(b, title);
    sg_buf_appendf(b, "</h1>");
    if (who) {
        sg_buf_appendf(b, "<div class=\"who\"><span>Signed in as <strong>");
        sg_html_esc(b, who->account);
        sg_buf_appendf(b, "</strong>");
        for (int i = 0; i < SG_ROLE_COUNT; i++)
            if (who->roles & sg_role_bit(i))
                sg_buf_appendf(b, "<span class=\"role\">%s</span>", sg_role_name(sg_role_bit(i)));
        sg_buf_appendf(b, "</span><form class=\"inline\" method=\"post\" action=\"/logout\">");
        sg_html_csrf(b, who);
        sg_buf_appendf(b, "<button type=\"submit\">Sign out</button></form></div>");
    }
    sg_buf_appendf(b, "</header><main id=\"main\">");
}

void sg_html_signin_begin(sg_buf *b, const char *title)
{
    sg_buf_appendf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
    sg_html_esc(b, title);
    sg_buf_appendf(b, " - sealgate</title><link rel=\"stylesheet\" href=\"/static/portal.css\">"
                      "<link rel=\"icon\" href=\"/static/favicon.svg\">"
                      "</head><body class=\"signin\"><main class=\"box\" id=\"main\"><h1>sealgate</h1>");
}

void sg_html_end(sg_buf *b)
{
    sg_buf_appendf(b, "</main></div></body></html>\n");
}

void sg_html_csrf(sg_buf *b, const sg_web_who *who)
{
    if (who && who->csrf[0])
        sg_buf_appendf(b, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", who->csrf);
}

void sg_html_notice(sg_buf *b, bool ok, const char *text)
{
    sg_buf_appendf(b, "<div class=\"notice %s\" role=\"%s\">", ok ? "ok" : "bad", ok ? "status" : "alert");
    sg_html_esc(b, text);
    sg_buf_appendf(b, "</div>");
}

void sg_web_send_page(sg_http_req *req, int status, sg_buf *b, const sg_http_header *extra)
{
    if (!b->data) {
        sg_http_send(req, 500, "text/plain; charset=utf-8", "page too large\n", 15, SG_HTTP_NO_STORE, NULL);
    } else {
        sg_http_send(req, status, "text/html; charset=utf-8", b->data, b->len, SG_HTTP_NO_STORE, extra);
    }
    sg_buf_free(b);
}

void sg_web_page_error(sg_http_req *req, const sg_web_who *who, int status, const char *message)
{
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    char title[32];
    snprintf(title, sizeof title, "Error %d", status);
    sg_html_begin(&b, title, who, NULL);
    sg_html_notice(&b, false, message);
    sg_buf_appendf(&b, "<p><a href=\"/\">Back to the dashboard</a></p>");
    sg_html_end(&b);
    sg_web_send_page(req, status, &b, NULL);
}

void sg_web_redirect(sg_http_req *req, const char *location, const sg_http_header *cookies)
{
    sg_http_header h[4] = {{"Location", location}};
    size_t n = 1;
    for (const sg_http_header *c = cookies; c && c->name && n < 3; c++)
        h[n++] = *c;
    h[n] = (sg_http_header){NULL, NULL};
    sg_http_send(req, 303, "text/plain; charset=utf-8", "", 0, SG_HTTP_NO_STORE, h);
}
