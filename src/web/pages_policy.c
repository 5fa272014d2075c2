/* pages_policy.c - the portal's policy page: the rules in a plain textarea with Check
 * (policy.check: the error's line is marked in a numbered listing next to the editor) and Save
 * as new revision (policy.load), the revisions (policy.revisions) with a line diff against the
 * one before and a roll-back (policy.rollback), and the explain form (policy.explain).
 * Owner: src/web.
 * SECURITY: every change is a POST with the CSRF token through sg_web_form_post; the rules text
 * and every value shown go through sg_html_esc; the diff is bounded (DIFF_MAX lines changed
 * between the common head and tail), so a large revision cannot make the page quadratic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/form.h"
#include "web/web_int.h"

#define REVS_SHOWN 20
#define DIFF_MAX 1000 /* lines of each side between the common head and tail that are compared */

/* The line an error names ("policy:12: ..." as sg_policy_parse writes it), or 0. */
static long error_line(const char *why)
{
    const char *c = why ? strchr(why, ':') : NULL;
    if (!c)
        return 0;
    char *end;
    long n = strtol(c + 1, &end, 10);
    return end > c + 1 && *end == ':' && n > 0 ? n : 0;
}

/* The text as numbered lines, line bad marked (class err, id error-line). */
static void listing(sg_buf *b, const char *text, long bad)
{
    sg_buf_appendf(b, "<ol class=\"listing\">");
    long n = 1;
    for (const char *p = text; p && *p; n++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, len);
        if (n == bad)
            sg_buf_appendf(b, "<li class=\"err\" id=\"error-line\" aria-label=\"line %ld, the error\">", n);
        else
            sg_buf_appendf(b, "<li>");
        sg_html_esc(b, line && *line ? line : " ");
        sg_buf_appendf(b, "</li>");
        free(line);
        p = nl ? nl + 1 : p + len;
    }
    sg_buf_appendf(b, "</ol>");
}

static bool may(const sg_web_who *who, const char *op)
{
    const sg_op *o = sg_op_find(op);
    return o && sg_op_allowed(o, who->roles);
}

static void revisions(sg_web *w, sg_http_req *req, const sg_web_who *who, sg_buf *b)
{
    json_t *args = json_pack("{s:i}", "limit", REVS_SHOWN), *r = NULL;
    sg_op_error e = {0};
    int rc = sg_web_call(w, req, who, SG_VIA_WEB, "policy.revisions", args, &r, &e);
    json_decref(args);
    sg_buf_appendf(b, "<section class=\"panel\"><h2>Revisions</h2>");
    if (rc < 0) {
        sg_html_notice(b, false, e.message);
        sg_buf_appendf(b, "</section>");
        return;
    }
    sg_buf_appendf(
        b, "<table id=\"revisions\"><thead><tr><th scope=\"col\" class=\"num\">Revision</th>"
           "<th scope=\"col\">Loaded</th><th scope=\"col\">Source</th><th scope=\"col\" class=\"num\">"
           "Size</th><th scope=\"col\">Actions</th></tr></thead><tbody>");
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(r, "items"), i, x)
    {
        long long rev = (long long)json_integer_value(json_object_get(x, "rev"));
        sg_buf_appendf(b, "<tr data-rev=\"%lld\"><td class=\"num\">%lld</td><td>", rev, rev);
        sg_html_time(b, json_object_get(x, "loaded"));
        sg_buf_appendf(b, "</td><td>");
        sg_html_value(b, json_object_get(x, "source"));
        sg_buf_appendf(b, "</td><td class=\"num\">");
        sg_html_value(b, json_object_get(x, "size"));
        sg_buf_appendf(
            b, " B</td><td><div class=\"actions\"><a class=\"button\" href=\"/policy?rev=%lld\">View</a>",
            rev);
        if (rev > 0)
            sg_buf_appendf(b, "<a class=\"button\" href=\"/policy/diff?rev=%lld\">Diff</a>", rev);
        if (i > 0 && may(who, "policy.rollback")) {
            sg_buf_appendf(b,
                           "<form class=\"inline\" method=\"post\" action=\"/policy/rollback\" "
                           "data-confirm=\"Make revision %lld's rules the policy in force?\">",
                           rev);
            sg_html_csrf(b, who);
            sg_buf_appendf(b,
                           "<input type=\"hidden\" name=\"rev\" value=\"%lld\"><button type=\"submit\" "
                           "aria-label=\"Roll back to revision %lld\">Roll back</button></form>",
                           rev, rev);
        }
        sg_buf_appendf(b, "</div></td></tr>");
    }
    sg_buf_appendf(b, "</tbody></table>");
    if (json_integer_value(json_object_get(r, "total")) > REVS_SHOWN)
        sg_buf_appendf(b,
                       "<p class=\"hint\">The newest %d of %lld; older ones: sealgate policy revisions "
                       "--offset N.</p>",
                       REVS_SHOWN, (long long)json_integer_value(json_object_get(r, "total")));
    sg_buf_appendf(b, "</section>");
    json_decref(r);
}

/* The page: the editor (text, or the rules in force / of ?rev=), a check's or save's outcome,
 * the revisions and the explain form with its answer. */
static void render(sg_web *w, sg_http_req *req, const sg_web_who *who, int status, const char *text,
                   const char *notice, bool ok, const char *why, const json_t *explained, sg_form *ex)
{
    json_t *shown = NULL;
    sg_op_error e = {0};
    const char *revq = sg_http_query(req, "rev");
    if (!text) {
        json_t *args = NULL;
        if (revq) {
            char *end;
            long long rev = strtoll(revq, &end, 10);
            args = *revq && !*end && rev >= 0 ? json_pack("{s:I}", "rev", (json_int_t)rev) : NULL;
            if (!args) {
                sg_web_page_error(req, who, 400, "rev must be a revision number.");
                return;
            }
        }
        int rc = sg_web_call(w, req, who, SG_VIA_WEB, "policy.show", args, &shown, &e);
        json_decref(args);
        if (rc < 0) {
            sg_web_page_error(req, who, sg_web_status(e.code), e.message);
            return;
        }
        text = json_string_value(json_object_get(shown, "text"));
    }
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    sg_html_begin(&b, "Policy", who, "policy");
    if (notice)
        sg_html_notice(&b, ok, notice);
    if (shown && json_object_get(shown, "broken_rev")) {
        char msg[700];
        snprintf(msg, sizeof msg, "Revision %lld is not in force: %s",
                 (long long)json_integer_value(json_object_get(shown, "broken_rev")),
                 json_string_value(json_object_get(shown, "broken_error")));
        sg_html_notice(&b, false, msg);
    }
    sg_buf_appendf(&b, "<div class=\"split\"><section class=\"panel\"><h2>");
    if (shown)
        sg_buf_appendf(&b, "Rules of revision %lld%s",
                       (long long)json_integer_value(json_object_get(shown, "rev")),
                       revq ? "" : " (in force)");
    else
        sg_buf_appendf(&b, "Rules (not saved)");
    sg_buf_appendf(&b, "</h2><div class=\"body\"><form method=\"post\" action=\"/policy\">");
    sg_html_csrf(&b, who);
    sg_buf_appendf(&b,
                   "<label for=\"rules\" class=\"sr\">Rules</label><textarea id=\"rules\" name=\"text\" "
                   "class=\"editor\" rows=\"24\" wrap=\"off\" spellcheck=\"false\" autocomplete=\"off\">");
    sg_html_esc(&b, text);
    sg_buf_appendf(&b,
                   "</textarea><p><button type=\"submit\" name=\"action\" value=\"check\">Check</button>");
    if (may(who, "policy.load"))
        sg_buf_appendf(&b,
                       "<button type=\"submit\" name=\"action\" value=\"save\" class=\"primary\">Save as new "
                       "revision</button>");
    sg_buf_appendf(&b, "</p></form></div></section>");
    if (why) {
        long line = error_line(why);
        sg_buf_appendf(&b, "<section class=\"panel\" id=\"check-result\"><h2>Error%s",
                       line ? " at line " : "");
        if (line)
            sg_buf_appendf(&b, "%ld", line);
        sg_buf_appendf(&b, "</h2><div class=\"body\"><p class=\"error-text\">");
        sg_html_esc(&b, why);
        sg_buf_appendf(&b, "</p>");
        listing(&b, text, line);
        sg_buf_appendf(&b, "</div></section>");
    }
    sg_buf_appendf(&b, "</div>");
    revisions(w, req, who, &b);
    if (may(who, "policy.explain")) {
        const char *v[3] = {ex ? sg_form_get(ex, "from") : NULL, ex ? sg_form_get(ex, "to") : NULL,
                            ex ? sg_form_get(ex, "subject") : NULL};
        static const char *const names[3] = {"from", "to", "subject"}, *const labels[3] = {
                                                                           "From", "To (comma-separated)",
                                                                           "Subject"};
        sg_buf_appendf(&b, "<section class=\"panel\" id=\"explain\"><h2>Explain</h2><div class=\"body\">"
                           "<form method=\"post\" action=\"/policy/explain#explain\">");
        sg_html_csrf(&b, who);
        sg_buf_appendf(&b, "<div class=\"toolbar\">");
        for (int i = 0; i < 3; i++) {
            sg_buf_appendf(
                &b,
                "<div><label for=\"ex-%s\">%s</label><input type=\"text\" id=\"ex-%s\" name=\"%s\"%s "
                "value=\"",
                names[i], labels[i], names[i], names[i], i < 2 ? " required" : "");
            sg_html_esc(&b, v[i]);
            sg_buf_appendf(&b, "\"></div>");
        }
        sg_buf_appendf(&b, "<button type=\"submit\">Explain</button></div></form>");
        if (explained) {
            sg_buf_appendf(&b,
                           "<h3>Revision %lld would do this</h3><pre class=\"headers\" id=\"explanation\">",
                           (long long)json_integer_value(json_object_get(explained, "rev")));
            sg_html_value(&b, json_object_get(explained, "explanation"));
            sg_buf_appendf(&b, "</pre>");
        }
        sg_buf_appendf(&b, "</div></section>");
    }
    json_decref(shown);
    sg_html_end(&b);
    sg_web_send_page(req, status, &b, NULL);
}

/* ---- the diff: a longest-common-subsequence line diff of the middle part ---- */

typedef struct lines {
    char **v;
    size_t n;
} lines;

static lines split(const char *text)
{
    lines l = {0};
    size_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == '\n';
    l.v = calloc(cap + 1, sizeof *l.v);
    for (const char *p = text; l.v && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        l.v[l.n++] = strndup(p, len);
        p += len + (nl ? 1 : 0);
    }
    return l;
}

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static void diff_line(sg_buf *b, char kind, const char *s)
{
    sg_buf_appendf(b, "<li class=\"%s\"><span aria-hidden=\"true\">%c </span>",
                   kind == '+'   ? "add"
                   : kind == '-' ? "del"
                                 : "same",
                   kind == ' ' ? ' ' : kind);
    sg_html_esc(b, s);
    sg_buf_appendf(b, "</li>");
}

/* Renders old -> new; false when the changed middle is larger than DIFF_MAX lines a side. */
static bool diff(sg_buf *b, const lines *a, const lines *c)
{
    size_t head = 0, tail = 0;
    while (head < a->n && head < c->n && strcmp(a->v[head], c->v[head]) == 0)
        head++;
    while (tail < a->n - head && tail < c->n - head &&
           strcmp(a->v[a->n - 1 - tail], c->v[c->n - 1 - tail]) == 0)
        tail++;
    size_t n = a->n - head - tail, m = c->n - head - tail;
    if (n > DIFF_MAX || m > DIFF_MAX)
        return false;
    /* L[i][j]: the LCS length of a's middle from i and c's middle from j (at most 1001 x 1001). */
    unsigned short *L = calloc((n + 1) * (m + 1), sizeof *L);
    if (!L)
        return false;
#define AT(i, j) L[(i) * (m + 1) + (j)]
    for (size_t i = n; i-- > 0;)
        for (size_t j = m; j-- > 0;)
            AT(i, j) = strcmp(a->v[head + i], c->v[head + j]) == 0 ? AT(i + 1, j + 1) + 1
                       : AT(i + 1, j) >= AT(i, j + 1)              ? AT(i + 1, j)
                                                                   : AT(i, j + 1);
    sg_buf_appendf(b, "<ol class=\"diff\" id=\"diff\">");
    /* Three lines of context around the change, like diff -u. */
    for (size_t k = head > 3 ? head - 3 : 0; k < head; k++)
        diff_line(b, ' ', a->v[k]);
    size_t i = 0, j = 0;
    while (i < n || j < m) {
        if (i < n && j < m && strcmp(a->v[head + i], c->v[head + j]) == 0) {
            diff_line(b, ' ', a->v[head + i]);
            i++, j++;
        } else if (j < m && (i == n || AT(i, j + 1) >= AT(i + 1, j))) {
            diff_line(b, '+', c->v[head + j++]);
        } else {
            diff_line(b, '-', a->v[head + i++]);
        }
    }
#undef AT
    for (size_t k = a->n - tail; k < a->n && k < a->n - tail + 3; k++)
        diff_line(b, ' ', a->v[k]);
    sg_buf_appendf(b, "</ol>");
    free(L);
    return true;
}

static void diff_page(sg_web *w, sg_http_req *req, const sg_web_who *who)
{
    const char *q = sg_http_query(req, "rev");
    char *end = NULL;
    long long rev = q && *q ? strtoll(q, &end, 10) : 0;
    if (!q || !*q || *end || rev < 1) {
        sg_web_page_error(req, who, 400, "rev must be a revision number of 1 or more.");
        return;
    }
    json_t *r[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        json_t *args = json_pack("{s:I}", "rev", (json_int_t)(rev - 1 + k));
        sg_op_error e = {0};
        int rc = sg_web_call(w, req, who, SG_VIA_WEB, "policy.show", args, &r[k], &e);
        json_decref(args);
        if (rc < 0) {
            json_decref(r[0]);
            sg_web_page_error(req, who, sg_web_status(e.code), e.message);
            return;
        }
    }
    lines a = split(json_string_value(json_object_get(r[0], "text"))),
          c = split(json_string_value(json_object_get(r[1], "text")));
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    char title[80];
    snprintf(title, sizeof title, "Policy revision %lld", rev);
    sg_html_begin(&b, title, who, "policy");
    sg_buf_appendf(&b,
                   "<p><a href=\"/policy\">&larr; Policy</a></p><section class=\"panel\"><h2>Changes from "
                   "revision %lld to %lld</h2><div class=\"body\"><p class=\"hint\">",
                   rev - 1, rev);
    sg_html_value(&b, json_object_get(r[1], "source"));
    sg_buf_appendf(&b, "</p>");
    if (!a.v || !c.v)
        sg_html_notice(&b, false, "Out of memory.");
    else if (!diff(&b, &a, &c))
        sg_html_notice(&b, false,
                       "The revisions differ in more than 1000 lines: compare them with sealgate "
                       "policy show --rev N on the gateway.");
    sg_buf_appendf(&b, "</div></section>");
    lines_free(&a);
    lines_free(&c);
    json_decref(r[0]);
    json_decref(r[1]);
    sg_html_end(&b);
    sg_web_send_page(req, 200, &b, NULL);
}

/* POST /policy: Check or Save; POST /policy/rollback; POST /policy/explain. */
static void post(sg_web *w, sg_http_req *req, const sg_web_who *who, const char *what)
{
    const char *op = !strcmp(what, "rollback")  ? "policy.rollback"
                     : !strcmp(what, "explain") ? "policy.explain"
                                                : NULL;
    sg_form *f = sg_web_form_post(w, req, who, op ? op : "policy.load", "");
    if (!f)
        return;
    json_t *args = NULL, *r = NULL;
    sg_op_error e = {0};
    if (!op) {
        const char *text = sg_form_get(f, "text"), *action = sg_form_get(f, "action");
        bool save = action && strcmp(action, "save") == 0;
        /* Browsers send a textarea's lines with CR LF; the rules are stored with LF. */
        char *lf = strdup(text ? text : ""), *o = lf;
        for (const char *p = lf; lf && *p; p++)
            if (!(p[0] == '\r' && p[1] == '\n'))
                *o++ = *p;
        if (lf)
            *o = '\0';
        args = save ? json_pack("{s:s, s:s}", "text", lf ? lf : "", "source", "the portal")
                    : json_pack("{s:s}", "text", lf ? lf : "");
        int rc = sg_web_call(w, req, who, SG_VIA_WEB, save ? "policy.load" : "policy.check", args, &r, &e);
        if (rc < 0 && !(save && e.code == SG_OP_INVALID_ARGUMENT))
            render(w, req, who, sg_web_status(e.code), lf, e.message, false, NULL, NULL, NULL);
        else if (rc < 0)
            render(w, req, who, 400, lf, "Not saved: the rules have an error.", false, e.message, NULL, NULL);
        else if (!save && !json_is_true(json_object_get(r, "valid")))
            render(w, req, who, 200, lf, "The rules have an error.", false,
                   json_string_value(json_object_get(r, "error")), NULL, NULL);
        else {
            char msg[120];
            if (save)
                snprintf(msg, sizeof msg,
                         "Saved as revision %lld (%lld rules); cryptd applies it within a second.",
                         (long long)json_integer_value(json_object_get(r, "rev")),
                         (long long)json_integer_value(json_object_get(r, "rules")));
            else
                snprintf(msg, sizeof msg, "The rules are valid (%lld rules). Nothing was saved.",
                         (long long)json_integer_value(json_object_get(r, "rules")));
            render(w, req, who, 200, save ? NULL : lf, msg, true, NULL, NULL, NULL);
        }
        free(lf);
    } else if (!strcmp(what, "rollback")) {
        const char *rev = sg_form_get(f, "rev");
        args = json_pack("{s:s}", "rev", rev ? rev : "");
        if (sg_web_call(w, req, who, SG_VIA_WEB, op, args, &r, &e) < 0) {
            render(w, req, who, sg_web_status(e.code), NULL, e.message, false, NULL, NULL, NULL);
        } else {
            char msg[120];
            snprintf(msg, sizeof msg,
                     "Rolled back: revision %lld has the rules of revision %lld and is in force.",
                     (long long)json_integer_value(json_object_get(r, "rev")),
                     (long long)json_integer_value(json_object_get(r, "from_rev")));
            render(w, req, who, 200, NULL, msg, true, NULL, NULL, NULL);
        }
    } else {
        const char *from = sg_form_get(f, "from"), *to = sg_form_get(f, "to"),
                   *subj = sg_form_get(f, "subject");
        args = json_pack("{s:s, s:s, s:s}", "from", from ? from : "", "to", to ? to : "", "subject",
                         subj ? subj : "");
        if (sg_web_call(w, req, who, SG_VIA_WEB, op, args, &r, &e) < 0)
            render(w, req, who, sg_web_status(e.code), NULL, e.message, false, NULL, NULL, f);
        else
            render(w, req, who, 200, NULL, NULL, true, NULL, r, f);
    }
    json_decref(args);
    json_decref(r);
    sg_form_free(f);
}

void sg_web_page_policy(sg_web *w, sg_http_req *req, const sg_web_who *who)
{
    const char *rest = req->path + strlen("/policy");
    bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    bool postm = strcmp(req->method, "POST") == 0;
    if ((!*rest || !strcmp(rest, "/")) && get)
        render(w, req, who, 200, NULL, NULL, true, NULL, NULL, NULL);
    else if (!*rest && postm)
        post(w, req, who, "load");
    else if (!strcmp(rest, "/diff") && get)
        diff_page(w, req, who);
    else if ((!strcmp(rest, "/rollback") || !strcmp(rest, "/explain")) && postm)
        post(w, req, who, rest + 1);
    else
        sg_web_page_error(req, who, 404, "No such page.");
}
