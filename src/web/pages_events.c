/* pages_events.c - the portal's Events page: the audit events searchable by actor, operation,
 * target, result and time range, the same filter as GET /api/v1/events (audit.list), paged by
 * the operation's cursor. Owner: src/web.
 * SECURITY: the query string is untrusted: every value goes through the operation's argument
 * validation (sg_op_args_from_strings, then sg_admin_call), the time range is parsed here with a
 * fixed format and refused otherwise, and every value shown or put back into a link is escaped
 * (HTML) or percent-encoded (URL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "web/web_int.h"

#define EVENTS_PAGE "50" /* events per page */

/* The page's query parameters, in the order of the form; "from" and "to" are the time range as
 * HTML's datetime-local ("YYYY-MM-DDTHH:MM", seconds optional), read as UTC. */
enum { Q_ACTOR, Q_OPERATION, Q_TARGET, Q_RESULT, Q_FROM, Q_TO, Q_BEFORE, Q_COUNT };
static const char *const qnames[Q_COUNT] = {"actor", "operation", "target", "result", "from", "to", "before"};

/* "YYYY-MM-DDTHH:MM[:SS]" as UTC to Unix seconds: 0, or -1 when it is not that. */
static int parse_utc(const char *s, long long *out)
{
    struct tm tm = {0};
    char *end = strptime(s, "%Y-%m-%dT%H:%M", &tm);
    if (end && *end == ':')
        end = strptime(end, ":%S", &tm);
    if (!end || *end || tm.tm_year < 70)
        return -1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *out = (long long)t;
    return 0;
}

/* name=value, percent-encoded, appended to a link's query string ("&amp;" before all but the
 * first). */
static void link_param(sg_buf *b, bool *first, const char *name, const char *value)
{
    sg_buf_appendf(b, "%s%s=", *first ? "?" : "&amp;", name);
    *first = false;
    for (const unsigned char *c = (const unsigned char *)value; *c; c++)
        sg_buf_appendf(b,
                       ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                        strchr("._-@:", *c))
                           ? "%c"
                           : "%%%02X",
                       *c);
}

/* The link to this search with before=cursor (NULL: the newest page). */
static void search_link(sg_buf *b, const char *const *vals, const char *cursor)
{
    bool first = true;
    sg_buf_appendf(b, "/events");
    for (int i = 0; i < Q_BEFORE; i++)
        if (vals[i])
            link_param(b, &first, qnames[i], vals[i]);
    if (cursor)
        link_param(b, &first, "before", cursor);
}

/* The audit.list arguments of the query: 0 with *args, or -1 with err (invalid_argument). */
static int search_args(const char *const *vals, json_t **args, sg_op_error *err)
{
    static const char *const argname[Q_COUNT] = {"actor", "operation", "target", "result",
                                                 "since", "until",     "before"};
    const char *names[Q_COUNT + 1], *values[Q_COUNT + 1];
    char times[2][24];
    size_t n = 0;
    for (int i = 0; i < Q_COUNT; i++) {
        if (!vals[i])
            continue;
        const char *v = vals[i];
        if (i == Q_FROM || i == Q_TO) {
            long long t;
            if (parse_utc(v, &t) < 0)
                return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, qnames[i],
                                  "%s: give a date and time as YYYY-MM-DDTHH:MM (UTC)", qnames[i]);
            snprintf(times[i - Q_FROM], sizeof times[0], "%lld", t);
            v = times[i - Q_FROM];
        }
        names[n] = argname[i];
        values[n++] = v;
    }
    names[n] = "limit";
    values[n++] = EVENTS_PAGE;
    return sg_op_args_from_strings(sg_op_find("audit.list"), names, values, n, args, err);
}

static void input(sg_buf *b, const char *name, const char *label, const char *type, const char *value,
                  const char *extra)
{
    sg_buf_appendf(b, "<div><label for=\"%s\">%s</label><input type=\"%s\" id=\"%s\" name=\"%s\" %s value=\"",
                   name, label, type, name, name, extra);
    sg_html_esc(b, value ? value : "");
    sg_buf_appendf(b, "\"></div>");
}

static void search_form(sg_buf *b, const char *const *vals)
{
    sg_buf_appendf(b, "<form class=\"toolbar\" method=\"get\" action=\"/events\" role=\"search\">");
    input(b, "actor", "Actor", "search", vals[Q_ACTOR], "");
    input(b, "operation", "Operation", "search", vals[Q_OPERATION],
          "list=\"ops\" placeholder=\"queue.release\"");
    sg_buf_appendf(b, "<datalist id=\"ops\">");
    for (size_t i = 0; i < sg_ops_count; i++)
        sg_buf_appendf(b, "<option value=\"%s\">", sg_ops[i].name);
    sg_buf_appendf(b, "</datalist>");
    input(b, "target", "Target contains", "search", vals[Q_TARGET], "");
    sg_buf_appendf(b, "<div><label for=\"result\">Result</label><select id=\"result\" name=\"result\">"
                      "<option value=\"\">any</option>");
    for (int c = 0; c < SG_OP_CODE_COUNT; c++) {
        const char *name = sg_op_code_name((sg_op_code)c);
        sg_buf_appendf(b, "<option%s>%s</option>",
                       vals[Q_RESULT] && !strcmp(vals[Q_RESULT], name) ? " selected" : "", name);
    }
    sg_buf_appendf(b, "</select></div>");
    input(b, "from", "From (UTC)", "datetime-local", vals[Q_FROM], "");
    input(b, "to", "Until (UTC)", "datetime-local", vals[Q_TO], "");
    sg_buf_appendf(b, "<button type=\"submit\" class=\"primary\">Search</button>"
                      "<a class=\"button\" href=\"/events\">Clear</a></form>");
}

static void events_table(sg_buf *b, const json_t *items)
{
    sg_buf_appendf(
        b, "<table id=\"events\"><thead><tr><th scope=\"col\">Time</th><th scope=\"col\">Actor</th>"
           "<th scope=\"col\">Operation</th><th scope=\"col\">Target</th><th scope=\"col\">Result</th>"
           "<th scope=\"col\">Client</th><th scope=\"col\">Detail</th></tr></thead><tbody>");
    size_t i;
    json_t *x;
    json_array_foreach(items, i, x)
    {
        const char *res = json_string_value(json_object_get(x, "result"));
        sg_buf_appendf(b, "<tr><td>");
        sg_html_time(b, json_object_get(x, "time"));
        sg_buf_appendf(b, "</td><td>");
        sg_html_value(b, json_object_get(x, "actor"));
        sg_buf_appendf(b, "</td><td class=\"mono\">");
        sg_html_value(b, json_object_get(x, "operation"));
        sg_buf_appendf(b, "</td><td class=\"mono\">");
        sg_html_value(b, json_object_get(x, "target"));
        sg_buf_appendf(b, "</td><td><span class=\"pill %s\">", res && !strcmp(res, "ok") ? "ok" : "bad");
        sg_html_esc(b, res ? res : "");
        sg_buf_appendf(b, "</span></td><td class=\"mono\">");
        sg_html_value(b, json_object_get(x, "client"));
        sg_buf_appendf(b, "</td><td class=\"mono\">");
        sg_html_value(b, json_object_get(x, "detail"));
        sg_buf_appendf(b, "</td></tr>");
    }
    sg_buf_appendf(b, "</tbody></table>");
}

void sg_web_page_events(sg_web *w, sg_http_req *req, const sg_web_who *who)
{
    const char *vals[Q_COUNT];
    for (int i = 0; i < Q_COUNT; i++) {
        vals[i] = sg_http_query(req, qnames[i]);
        if (vals[i] && !*vals[i])
            vals[i] = NULL; /* an empty field of the form does not filter */
    }
    json_t *args = NULL, *r = NULL;
    sg_op_error e = {0};
    int rc = search_args(vals, &args, &e);
    if (rc == 0)
        rc = sg_web_call(w, req, who, SG_VIA_WEB, "audit.list", args, &r, &e);
    json_decref(args);
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    sg_html_begin(&b, "Events", who, "events");
    search_form(&b, vals);
    if (rc < 0) {
        /* A search the operation refused: the form stays, with what to fix. */
        sg_html_notice(&b, false, e.message);
        sg_html_end(&b);
        sg_web_send_page(req, sg_web_status(e.code), &b, NULL);
        return;
    }
    json_t *items = json_object_get(r, "items");
    sg_buf_appendf(&b, "<section class=\"panel\"><h2>Audit events (<span id=\"total\">%lld</span>)</h2>",
                   (long long)json_integer_value(json_object_get(r, "total")));
    if (!json_array_size(items))
        sg_buf_appendf(&b, "<p class=\"empty\">No events match.</p>");
    else
        events_table(&b, items);
    sg_buf_appendf(&b, "</section><p class=\"pager\">");
    if (vals[Q_BEFORE]) {
        sg_buf_appendf(&b, "<a class=\"button\" href=\"");
        search_link(&b, vals, NULL);
        sg_buf_appendf(&b, "\">Newest events</a> ");
    }
    json_t *next = json_object_get(r, "next_before");
    if (json_is_integer(next)) {
        char cursor[24];
        snprintf(cursor, sizeof cursor, "%lld", (long long)json_integer_value(next));
        sg_buf_appendf(&b, "<a class=\"button\" id=\"older\" href=\"");
        search_link(&b, vals, cursor);
        sg_buf_appendf(&b, "\">Older events</a>");
    }
    sg_buf_appendf(&b, "</p>");
    json_decref(r);
    sg_html_end(&b);
    sg_web_send_page(req, 200, &b, NULL);
}
