/* pages_users.c - the portal's Users and groups page (/users): internal users (user.list with a
 * search, user.create, user.delete) and groups with their members (group.list, group.show,
 * group.create, group.delete, group.member-add, group.member-remove). Owner: src/web.
 * Each section shows only when the account may list it (users: User Operator, groups: Policy
 * Operator; Administrator and Auditor both), and each form only when it may make that change;
 * the operation layer decides again on every call.
 * SECURITY: every change is a POST to /users/<operation> (one of a fixed list) with the CSRF
 * token through sg_web_form_post; every value shown goes through sg_html_esc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/form.h"
#include "web/web_int.h"

#define GROUPS_SHOWN 50 /* groups whose members are listed on the page */

static bool may(const sg_web_who *who, const char *op)
{
    const sg_op *o = sg_op_find(op);
    return o && sg_op_allowed(o, who->roles);
}

/* A POST form to /users/op with the CSRF token; the caller closes it. */
static void form_open(sg_buf *b, const sg_web_who *who, const char *op, const char *cls)
{
    sg_buf_appendf(b, "<form method=\"post\" action=\"/users/%s\"%s%s%s>", op, cls ? " class=\"" : "",
                   cls ? cls : "", cls ? "\"" : "");
    sg_html_csrf(b, who);
}

static void hidden(sg_buf *b, const char *name, const char *value)
{
    sg_buf_appendf(b, "<input type=\"hidden\" name=\"%s\" value=\"", name);
    sg_html_esc(b, value);
    sg_buf_appendf(b, "\">");
}

static void users_section(sg_web *w, sg_http_req *req, const sg_web_who *who, sg_buf *b)
{
    const char *match = sg_http_query(req, "match");
    json_t *args = json_pack("{s:s, s:i}", "match", match ? match : "", "limit", 200), *r = NULL;
    sg_op_error e = {0};
    int rc = sg_web_call(w, req, who, SG_VIA_WEB, "user.list", args, &r, &e);
    json_decref(args);
    sg_buf_appendf(b, "<section class=\"panel\" aria-labelledby=\"users-h\"><h2 id=\"users-h\">Internal users</h2>"
                      "<div class=\"body\"><form method=\"get\" action=\"/users\" class=\"toolbar\" role=\"search\">"
                      "<div><label for=\"match\">Search</label><input type=\"search\" id=\"match\" name=\"match\" "
                      "maxlength=\"254\" value=\"");
    sg_html_esc(b, match ? match : "");
    sg_buf_appendf(b, "\"></div><div><button type=\"submit\">Search</button></div></form>");
    if (rc < 0) {
        sg_html_notice(b, false, e.message);
        sg_buf_appendf(b, "</div></section>");
        return;
    }
    sg_buf_appendf(b, "<p class=\"hint\" id=\"users-total\">%lld users%s</p>",
                   (long long)json_integer_value(json_object_get(r, "total")), match && *match ? " match" : "");
    sg_buf_appendf(b, "<table id=\"users\"><thead><tr><th scope=\"col\">Address</th><th scope=\"col\">Name</th>"
                      "<th scope=\"col\">State</th><th scope=\"col\">Created</th><th scope=\"col\">"
                      "<span class=\"sr-only\">Actions</span></th></tr></thead><tbody>");
    bool del = may(who, "user.delete");
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(r, "items"), i, x)
    {
        const char *addr = json_string_value(json_object_get(x, "address"));
        const char *state = json_string_value(json_object_get(x, "state"));
        sg_buf_appendf(b, "<tr><td><strong>");
        sg_html_esc(b, addr);
        sg_buf_appendf(b, "</strong></td><td>");
        sg_html_value(b, json_object_get(x, "name"));
        sg_buf_appendf(b, "</td><td><span class=\"pill %s\">", state && strcmp(state, "active") == 0 ? "ok" : "warn");
        sg_html_esc(b, state);
        sg_buf_appendf(b, "</span></td><td>");
        sg_html_time(b, json_object_get(x, "created"));
        sg_buf_appendf(b, "</td><td>");
        if (del) {
            form_open(b, who, "user.delete", "inline");
            hidden(b, "address", addr);
            sg_buf_appendf(b, "<button type=\"submit\" class=\"danger\" aria-label=\"Delete ");
            sg_html_esc(b, addr);
            sg_buf_appendf(b, "\">Delete</button></form>");
        }
        sg_buf_appendf(b, "</td></tr>");
    }
    sg_buf_appendf(b, "</tbody></table></div></section>");
    json_decref(r);
    if (!may(who, "user.create"))
        return;
    sg_buf_appendf(b, "<section class=\"panel\" aria-labelledby=\"add-user-h\"><h2 id=\"add-user-h\">Add a user</h2>"
                      "<div class=\"body\">");
    form_open(b, who, "user.create", NULL);
    sg_buf_appendf(b, "<div class=\"toolbar\"><div><label for=\"u-address\">Address</label><input type=\"email\" "
                      "id=\"u-address\" name=\"address\" required maxlength=\"254\"></div>"
                      "<div><label for=\"u-name\">Display name</label><input type=\"text\" id=\"u-name\" "
                      "name=\"name\" maxlength=\"128\"></div>"
                      "<div><label for=\"u-aliases\">Aliases</label><input type=\"text\" id=\"u-aliases\" "
                      "name=\"aliases\" maxlength=\"4096\" aria-describedby=\"u-aliases-hint\"></div></div>"
                      "<p><button type=\"submit\" class=\"primary\">Add user</button><span class=\"hint\" "
                      "id=\"u-aliases-hint\">Aliases: other addresses of the user, comma-separated.</span></p>"
                      "</form></div></section>");
}

/* One group's row: name, description, members (each with a remove button when allowed). */
static void group_row(sg_web *w, sg_http_req *req, const sg_web_who *who, sg_buf *b, const json_t *g, bool members)
{
    const char *name = json_string_value(json_object_get(g, "name"));
    sg_buf_appendf(b, "<tr><td><strong>");
    sg_html_esc(b, name);
    sg_buf_appendf(b, "</strong></td><td>");
    sg_html_value(b, json_object_get(g, "description"));
    sg_buf_appendf(b, "</td><td>");
    json_t *r = NULL, *args = json_pack("{s:s}", "name", name ? name : "");
    sg_op_error e = {0};
    if (members && sg_web_call(w, req, who, SG_VIA_WEB, "group.show", args, &r, &e) == 0) {
        bool rm = may(who, "group.member-remove");
        sg_buf_appendf(b, "<ul class=\"members\">");
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(r, "member_list"), i, m)
        {
            sg_buf_appendf(b, "<li>");
            sg_html_value(b, m);
            if (rm) {
                form_open(b, who, "group.member-remove", "inline");
                hidden(b, "name", name);
                hidden(b, "address", json_string_value(m));
                sg_buf_appendf(b, "<button type=\"submit\" class=\"link\" aria-label=\"Remove ");
                sg_html_value(b, m);
                sg_buf_appendf(b, " from ");
                sg_html_esc(b, name);
                sg_buf_appendf(b, "\">remove</button></form>");
            }
            sg_buf_appendf(b, "</li>");
        }
        sg_buf_appendf(b, "</ul>");
    } else {
        sg_buf_appendf(b, "%lld", (long long)json_integer_value(json_object_get(g, "members")));
    }
    json_decref(args);
    json_decref(r);
    sg_buf_appendf(b, "</td><td>");
    if (may(who, "group.delete")) {
        form_open(b, who, "group.delete", "inline");
        hidden(b, "name", name);
        sg_buf_appendf(b, "<button type=\"submit\" class=\"danger\" aria-label=\"Delete group ");
        sg_html_esc(b, name);
        sg_buf_appendf(b, "\">Delete</button></form>");
    }
    sg_buf_appendf(b, "</td></tr>");
}

static void groups_section(sg_web *w, sg_http_req *req, const sg_web_who *who, sg_buf *b)
{
    json_t *args = json_pack("{s:i}", "limit", 200), *r = NULL;
    sg_op_error e = {0};
    int rc = sg_web_call(w, req, who, SG_VIA_WEB, "group.list", args, &r, &e);
    json_decref(args);
    sg_buf_appendf(b, "<section class=\"panel\" aria-labelledby=\"groups-h\"><h2 id=\"groups-h\">Groups</h2>"
                      "<div class=\"body\"><p class=\"hint\">Rules name a group with <code>from_group</code> / "
                      "<code>to_group</code> after declaring it <code>{ name = \"...\"; source = \"store\"; }</code>"
                      " (docs/policy.md).</p>");
    if (rc < 0) {
        sg_html_notice(b, false, e.message);
        sg_buf_appendf(b, "</div></section>");
        return;
    }
    sg_buf_appendf(b, "<table id=\"groups\"><thead><tr><th scope=\"col\">Group</th><th scope=\"col\">Description</th>"
                      "<th scope=\"col\">Members</th><th scope=\"col\"><span class=\"sr-only\">Actions</span></th>"
                      "</tr></thead><tbody>");
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(r, "items"), i, g)
        group_row(w, req, who, b, g, i < GROUPS_SHOWN);
    sg_buf_appendf(b, "</tbody></table></div></section>");
    if (may(who, "group.member-add") && json_array_size(json_object_get(r, "items"))) {
        sg_buf_appendf(b, "<section class=\"panel\" aria-labelledby=\"add-member-h\"><h2 id=\"add-member-h\">"
                          "Add a member</h2><div class=\"body\">");
        form_open(b, who, "group.member-add", NULL);
        sg_buf_appendf(b, "<div class=\"toolbar\"><div><label for=\"m-group\">Group</label><select id=\"m-group\" "
                          "name=\"name\">");
        json_array_foreach(json_object_get(r, "items"), i, g)
        {
            sg_buf_appendf(b, "<option>");
            sg_html_value(b, json_object_get(g, "name"));
            sg_buf_appendf(b, "</option>");
        }
        sg_buf_appendf(b, "</select></div><div><label for=\"m-address\">User address or alias</label><input "
                          "type=\"email\" id=\"m-address\" name=\"address\" required maxlength=\"254\"></div></div>"
                          "<p><button type=\"submit\" class=\"primary\">Add member</button></p></form></div>"
                          "</section>");
    }
    json_decref(r);
    if (!may(who, "group.create"))
        return;
    sg_buf_appendf(b, "<section class=\"panel\" aria-labelledby=\"add-group-h\"><h2 id=\"add-group-h\">Add a group"
                      "</h2><div class=\"body\">");
    form_open(b, who, "group.create", NULL);
    sg_buf_appendf(b, "<div class=\"toolbar\"><div><label for=\"g-name\">Name</label><input type=\"text\" "
                      "id=\"g-name\" name=\"name\" required maxlength=\"64\" pattern=\"[A-Za-z0-9._\\-]+\"></div>"
                      "<div><label for=\"g-desc\">Description</label><input type=\"text\" id=\"g-desc\" "
                      "name=\"description\" maxlength=\"256\"></div></div>"
                      "<p><button type=\"submit\" class=\"primary\">Add group</button></p></form></div></section>");
}

static void render(sg_web *w, sg_http_req *req, const sg_web_who *who, int status, const char *notice, bool ok)
{
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    sg_html_begin(&b, "Users and groups", who, "users");
    if (notice)
        sg_html_notice(&b, ok, notice);
    if (may(who, "user.list"))
        users_section(w, req, who, &b);
    if (may(who, "group.list"))
        groups_section(w, req, who, &b);
    sg_html_end(&b);
    sg_web_send_page(req, status, &b, NULL);
}

/* The changes this page makes: POST /users/<op>, with the form fields that op takes. */
static const struct {
    const char *op, *fields[4], *done;
} actions[] = {
    {"user.create", {"address", "name", "aliases"}, "User added."},
    {"user.delete", {"address"}, "User deleted."},
    {"group.create", {"name", "description"}, "Group added."},
    {"group.delete", {"name"}, "Group deleted."},
    {"group.member-add", {"name", "address"}, "Member added."},
    {"group.member-remove", {"name", "address"}, "Member removed."},
};

void sg_web_page_users(sg_web *w, sg_http_req *req, const sg_web_who *who)
{
    if (strcmp(req->method, "POST") != 0) {
        if (strcmp(req->path, "/users") != 0)
            sg_web_page_error(req, who, 404, "No such page.");
        else
            render(w, req, who, 200, NULL, true);
        return;
    }
    size_t k = 0;
    while (k < sizeof actions / sizeof actions[0] &&
           !(strncmp(req->path, "/users/", 7) == 0 && strcmp(req->path + 7, actions[k].op) == 0))
        k++;
    if (k == sizeof actions / sizeof actions[0]) {
        sg_web_page_error(req, who, 404, "No such action.");
        return;
    }
    sg_form *f = sg_web_form_post(w, req, who, actions[k].op, "");
    if (!f)
        return;
    json_t *args = json_object(), *r = NULL;
    for (int i = 0; i < 4 && actions[k].fields[i]; i++) {
        const char *v = sg_form_get(f, actions[k].fields[i]);
        if (v && *v) /* an empty optional field is not sent: the operation's default applies */
            json_object_set_new(args, actions[k].fields[i], json_string(v));
    }
    sg_op_error e = {0};
    if (sg_web_call(w, req, who, SG_VIA_WEB, actions[k].op, args, &r, &e) < 0)
        render(w, req, who, sg_web_status(e.code), e.message, false);
    else
        render(w, req, who, 200, actions[k].done, true);
    json_decref(args);
    json_decref(r);
    sg_form_free(f);
}
