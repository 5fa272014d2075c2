/* pages.c - the portal's dashboard, admins and account pages: each is the result of one or two
 * operations (status, admin.list, admin.add, account.password) rendered as HTML (the events
 * page is pages_events.c). Owner: src/web.
 * SECURITY: pages call operations through sg_web_call as the signed-in account, so the
 * operation layer decides what each may see or do; every POST carries the CSRF token. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "admin/roles.h"
#include "web/form.h"
#include "web/web_int.h"

/* The answer of a page whose operation failed: the operation's message, its status. */
static void call_failed(sg_http_req *req, const sg_web_who *who, const sg_op_error *e)
{
    sg_web_page_error(req, who, sg_web_status(e->code), e->message);
}

json_t *sg_web_call_or_page(sg_web *w, sg_http_req *req, const sg_web_who *who, const char *op, const char *name,
                            const char *value)
{
    json_t *args = json_pack("{s:s}", name, value), *r = NULL;
    sg_op_error e = {0};
    int rc = sg_web_call(w, req, who, SG_VIA_WEB, op, args, &r, &e);
    json_decref(args);
    if (rc < 0) {
        call_failed(req, who, &e);
        return NULL;
    }
    return r;
}

/* ---- dashboard: the status operation ---- */

/* One card per queue state: its count and the age of its oldest message; a state the status's
 * process cannot read (null: corrupt/ in cryptd, every state when cryptd does not run and this
 * role answered itself) says so instead of showing a number it does not know. */
static void queue_cards(sg_buf *b, const json_t *queue)
{
    sg_buf_appendf(b, "<section aria-label=\"Queue sizes per state\"><div class=\"cards\">");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)queue, k, v)
    {
        sg_buf_appendf(b, "<a class=\"card\" href=\"/queue?state=");
        sg_html_esc(b, k);
        sg_buf_appendf(b, "\"><div class=\"label\">");
        sg_html_esc(b, k);
        json_t *count = json_object_get(v, "count");
        if (json_is_integer(count)) {
            sg_buf_appendf(b, "</div><div class=\"value\">%lld</div><div class=\"sub\">",
                           (long long)json_integer_value(count));
            json_int_t oldest = json_integer_value(json_object_get(v, "oldest_age"));
            if (json_integer_value(count) > 0 && oldest >= 0) {
                sg_buf_appendf(b, "oldest ");
                sg_html_age(b, oldest);
            } else if (json_integer_value(count) > 0) {
                sg_buf_appendf(b, "waiting");
            } else {
                sg_buf_appendf(b, "empty");
            }
            sg_buf_appendf(b, "</div></a>");
        } else {
            sg_buf_appendf(b, "</div><div class=\"value muted\">&mdash;</div><div class=\"sub\">not readable "
                              "here (only root lists it)</div></a>");
        }
    }
    sg_buf_appendf(b, "</div></section>");
}

/* The nodes sharing the store (cluster.status, docs/cluster.md), when there is more than one:
 * a single gateway's dashboard stays as it was. */
static void cluster_panel(sg_buf *b, const json_t *cl)
{
    json_t *nodes = json_object_get(cl, "nodes");
    if (json_array_size(nodes) < 2)
        return;
    sg_buf_appendf(b, "<section class=\"panel\"><h2>Cluster</h2><table><thead><tr><th scope=\"col\">Node</th>"
                      "<th scope=\"col\">State</th><th scope=\"col\">Last heartbeat</th><th scope=\"col\">"
                      "Version</th><th scope=\"col\" class=\"num\">Schema</th><th scope=\"col\" class=\"num\">"
                      "Queue</th></tr></thead><tbody>");
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        const char *state = json_string_value(json_object_get(n, "state"));
        bool up = state && strcmp(state, "up") == 0;
        sg_buf_appendf(b, "<tr><td>");
        sg_html_esc(b, json_string_value(json_object_get(n, "name")));
        sg_buf_appendf(b, "</td><td><span class=\"pill %s\">%s</span></td><td>", up ? "ok" : "bad",
                       up ? "up" : "silent");
        sg_html_age(b, json_integer_value(json_object_get(n, "heartbeat_age")));
        sg_buf_appendf(b, " ago</td><td class=\"mono\">");
        sg_html_esc(b, json_string_value(json_object_get(n, "version")));
        sg_buf_appendf(b, "</td><td class=\"num\">%lld</td><td class=\"num\">%lld</td></tr>",
                       (long long)json_integer_value(json_object_get(n, "schema_version")),
                       (long long)json_integer_value(json_object_get(n, "queue")));
    }
    sg_buf_appendf(b, "</tbody></table></section>");
}

void sg_web_page_dashboard(sg_web *w, sg_http_req *req, const sg_web_who *who)
{
    json_t *st = NULL;
    sg_op_error e = {0};
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    sg_html_begin(&b, "Dashboard", who, "dashboard");
    if (sg_web_call(w, req, who, SG_VIA_WEB, "status", NULL, &st, &e) < 0) {
        sg_html_notice(&b, false, e.message);
        sg_html_end(&b);
        sg_web_send_page(req, sg_web_status(e.code), &b, NULL);
        return;
    }
    json_t *queue = json_object_get(st, "queue");
    if (json_is_object(queue))
        queue_cards(&b, queue);
    /* The charts for those who may read the figures (metrics: not every role); for the others
     * the page stays as it was, without an error. */
    json_t *m = NULL;
    sg_op_error me = {0};
    if (sg_web_call(w, req, who, SG_VIA_WEB, "metrics", NULL, &m, &me) == 0)
        sg_web_charts(&b, m);
    json_decref(m);
    json_t *cl = NULL;
    sg_op_error ce = {0};
    if (sg_web_call(w, req, who, SG_VIA_WEB, "cluster.status", NULL, &cl, &ce) == 0)
        cluster_panel(&b, cl);
    json_decref(cl);
    sg_buf_appendf(&b, "<section class=\"panel\"><h2>Roles</h2><table><thead><tr><th scope=\"col\">Role</th>"
                       "<th scope=\"col\">State</th><th scope=\"col\" class=\"num\">Process</th></tr></thead><tbody>");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(st, "roles"), k, v)
    {
        json_int_t pid = json_integer_value(v);
        sg_buf_appendf(&b, "<tr><td>");
        sg_html_esc(&b, k);
        sg_buf_appendf(&b, "</td><td><span class=\"pill %s\">%s</span></td><td class=\"num mono\">", pid > 0 ? "ok" : "bad",
                       pid > 0 ? "running" : "not running");
        if (pid > 0)
            sg_buf_appendf(&b, "%lld", (long long)pid);
        sg_buf_appendf(&b, "</td></tr>");
    }
    sg_buf_appendf(&b, "</tbody></table></section><section class=\"panel\"><h2>Gateway</h2><div class=\"body\">"
                       "<dl class=\"facts\">");
    json_t *running = json_object_get(st, "running");
    sg_buf_appendf(&b, "<dt>state</dt><dd><span class=\"pill %s\">%s</span></dd>", json_is_true(running) ? "ok" : "bad",
                   json_is_true(running) ? "running" : "not running");
    sg_html_fact(&b, "version", json_object_get(st, "version"));
    sg_html_fact(&b, "master process", json_object_get(st, "master_pid"));
    sg_html_fact(&b, "store schema", json_object_get(json_object_get(st, "store"), "schema_version"));
    sg_buf_appendf(&b, "</dl></div></section>");
    json_decref(st);
    sg_html_end(&b);
    sg_web_send_page(req, 200, &b, NULL);
}

/* ---- admins: admin.list, and admin.add from the form ---- */

static void admins_render(sg_web *w, sg_http_req *req, const sg_web_who *who, int status, const char *notice,
                          bool ok, const char *password, const char *pw_name)
{
    json_t *r = NULL;
    sg_op_error e = {0};
    if (sg_web_call(w, req, who, SG_VIA_WEB, "admin.list", NULL, &r, &e) < 0) {
        call_failed(req, who, &e);
        return;
    }
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    sg_html_begin(&b, "Admins", who, "admins");
    if (notice)
        sg_html_notice(&b, ok, notice);
    if (password) {
        sg_buf_appendf(&b, "<div class=\"notice ok\" role=\"status\">One-time password of <strong>");
        sg_html_esc(&b, pw_name);
        sg_buf_appendf(&b, "</strong>: <code id=\"new-password\">");
        sg_html_esc(&b, password);
        sg_buf_appendf(&b, "</code> (shown once: hand it over now)</div>");
    }
    sg_buf_appendf(&b, "<section class=\"panel\"><h2>Accounts</h2><table><thead><tr><th scope=\"col\">Name</th>"
                       "<th scope=\"col\">Roles</th><th scope=\"col\">Last sign-in</th><th scope=\"col\">State</th>"
                       "</tr></thead><tbody>");
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(r, "items"), i, x)
    {
        sg_buf_appendf(&b, "<tr><td><strong>");
        sg_html_value(&b, json_object_get(x, "name"));
        sg_buf_appendf(&b, "</strong></td><td>");
        size_t k;
        json_t *role;
        json_array_foreach(json_object_get(x, "roles"), k, role)
        {
            sg_buf_appendf(&b, "<span class=\"role\">");
            sg_html_value(&b, role);
            sg_buf_appendf(&b, "</span>");
        }
        sg_buf_appendf(&b, "</td><td>");
        sg_html_time(&b, json_object_get(x, "last_login"));
        json_int_t locked = json_integer_value(json_object_get(x, "locked_until"));
        const char *factor = json_string_value(json_object_get(x, "second_factor"));
        sg_buf_appendf(&b, "</td><td>%s%s%s</td></tr>",
                       locked > (json_int_t)time(NULL) ? "<span class=\"pill warn\">locked</span>"
                                                       : "<span class=\"pill ok\">active</span>",
                       json_is_true(json_object_get(x, "must_change")) ? " <span class=\"pill warn\">password to set</span>" : "",
                       factor && strcmp(factor, "totp") == 0 ? " <span class=\"pill ok\">TOTP</span>" : "");
    }
    sg_buf_appendf(&b, "</tbody></table></section>");
    const sg_op *add = sg_op_find("admin.add");
    if (add && sg_op_allowed(add, who->roles)) {
        sg_buf_appendf(&b, "<section class=\"panel\"><h2>Add an account</h2><div class=\"body\">"
                           "<form method=\"post\" action=\"/admins\">");
        sg_html_csrf(&b, who);
        sg_buf_appendf(&b, "<div class=\"toolbar\"><div><label for=\"new-name\">Name</label>"
                           "<input type=\"text\" id=\"new-name\" name=\"name\" required maxlength=\"64\"></div></div>"
                           "<fieldset class=\"checks\"><legend>Roles</legend>");
        for (int r2 = 0; r2 < SG_ROLE_COUNT; r2++)
            sg_buf_appendf(&b, "<label><input type=\"checkbox\" name=\"role\" value=\"%s\">%s</label>",
                           sg_role_name(sg_role_bit(r2)), sg_role_name(sg_role_bit(r2)));
        sg_buf_appendf(&b, "</fieldset><p><button type=\"submit\" class=\"primary\">Add account</button><span class=\"hint\">"
                           "A one-time password is made and shown once.</span></p></form></div></section>");
    }
    json_decref(r);
    sg_html_end(&b);
    sg_web_send_page(req, status, &b, NULL);
}

void sg_web_page_admins(sg_web *w, sg_http_req *req, const sg_web_who *who)
{
    if (strcmp(req->method, "POST") != 0) {
        admins_render(w, req, who, 200, NULL, true, NULL, NULL);
        return;
    }
    sg_form *f = sg_web_form_post(w, req, who, "admin.add", "");
    if (!f)
        return;
    char roles[256] = "";
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->v[i].name, "role") == 0 && strlen(roles) + strlen(f->v[i].value) + 2 < sizeof roles)
            snprintf(roles + strlen(roles), sizeof roles - strlen(roles), "%s%s", roles[0] ? "," : "", f->v[i].value);
    const char *name = sg_form_get(f, "name");
    json_t *args = json_pack("{s:s, s:s}", "name", name ? name : "", "roles", roles), *r = NULL;
    sg_op_error e = {0};
    if (sg_web_call(w, req, who, SG_VIA_WEB, "admin.add", args, &r, &e) < 0) {
        admins_render(w, req, who, sg_web_status(e.code), e.message, false, NULL, NULL);
    } else {
        char done[160];
        snprintf(done, sizeof done, "Account %s added.", json_string_value(json_object_get(r, "name")));
        admins_render(w, req, who, 200, done, true, json_string_value(json_object_get(r, "password")),
                      json_string_value(json_object_get(r, "name")));
    }
    json_decref(args);
    json_decref(r);
    sg_form_free(f);
}

