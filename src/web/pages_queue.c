/* pages_queue.c - the portal's queue: the list with a state filter and the hold, release,
 * retry and delete buttons (CSRF-protected forms that call the queue operations), and one
 * message's details. Owner: src/web.
 * SECURITY: queue ids come from the path and are passed to the operations, which validate them;
 * the moves themselves run in cryptd (SG_RUN_CRYPTD): this role cannot enter a spool state. */
#include <stdio.h>
#include <string.h>

#include "web/form.h"
#include "web/web_int.h"

static const char *const states[] = {"", "incoming", "active", "hold", "outgoing", "deferred", "dsn", "corrupt", NULL};
static const char *const actions[] = {"hold", "release", "retry", "delete", NULL};

static const char *str(const json_t *o, const char *const *keys)
{
    for (; *keys; keys++) {
        const json_t *v = json_object_get(o, *keys);
        if (json_is_string(v))
            return json_string_value(v);
    }
    return NULL;
}

/* The buttons that apply to a message in state. */
static void buttons(sg_buf *b, const sg_web_who *who, const char *id, const char *state)
{
    sg_buf_appendf(b, "<div class=\"actions\">");
    for (int i = 0; actions[i]; i++) {
        const char *a = actions[i];
        bool fits = !state || (!strcmp(a, "release") ? !strcmp(state, "hold")
                               : !strcmp(a, "hold")  ? strcmp(state, "hold") != 0 && strcmp(state, "corrupt") != 0
                               : !strcmp(a, "retry") ? !strcmp(state, "deferred")
                                                     : true);
        char opname[32];
        snprintf(opname, sizeof opname, "queue.%s", a);
        const sg_op *op = sg_op_find(opname);
        if (!fits || !op || !sg_op_allowed(op, who->roles))
            continue;
        sg_buf_appendf(b, "<form class=\"inline\" method=\"post\" action=\"/queue/");
        sg_html_esc(b, id);
        sg_buf_appendf(b, "/%s\"%s>", a, strcmp(a, "delete") == 0 ? " data-confirm=\"Delete this message for good?\"" : "");
        sg_html_csrf(b, who);
        sg_buf_appendf(b, "<button type=\"submit\" class=\"%s\" aria-label=\"%s ", strcmp(a, "delete") == 0 ? "danger" : "",
                       a);
        sg_html_esc(b, id);
        sg_buf_appendf(b, "\">%c%s</button></form>", a[0] - 32, a + 1);
    }
    sg_buf_appendf(b, "</div>");
}

/* The states this process cannot read (queue.list's unreadable_states: the web role started as
 * root enters no spool state), named above the list, so that an empty list is never taken for
 * an empty queue. */
static void unreadable(const json_t *r, sg_buf *b)
{
    char names[256] = "";
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(r, "unreadable_states"), i, v)
    {
        size_t n = strlen(names);
        snprintf(names + n, sizeof names - n, "%s%s", n ? ", " : "", json_is_string(v) ? json_string_value(v) : "?");
    }
    if (names[0]) {
        char msg[512];
        snprintf(msg, sizeof msg,
                 "The portal cannot read these states, so their messages are not listed here: %s "
                 "(they belong to cryptd and the relay; use sealgate queue list on the gateway).",
                 names);
        sg_html_notice(b, false, msg);
    }
}

static void list(sg_web *w, sg_http_req *req, const sg_web_who *who)
{
    const char *state = sg_http_query(req, "state"), *done = sg_http_query(req, "done"), *id = sg_http_query(req, "id");
    bool known = false;
    for (int i = 0; state && states[i]; i++)
        known |= strcmp(state, states[i]) == 0;
    if (state && !known)
        state = NULL;
    json_t *args = state && *state ? json_pack("{s:s}", "state", state) : NULL, *r = NULL;
    sg_op_error e = {0};
    int rc = sg_web_call(w, req, who, SG_VIA_WEB, "queue.list", args, &r, &e);
    json_decref(args);
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    sg_html_begin(&b, "Queue", who, "queue");
    for (int i = 0; done && actions[i]; i++)
        if (strcmp(done, actions[i]) == 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "Message %.64s: %s done.", id ? id : "", actions[i]);
            sg_html_notice(&b, true, msg);
        }
    sg_buf_appendf(&b, "<form class=\"toolbar\" method=\"get\" action=\"/queue\"><div><label for=\"state\">State</label>"
                       "<select id=\"state\" name=\"state\" data-autosubmit>");
    for (int i = 0; states[i]; i++) {
        sg_buf_appendf(&b, "<option value=\"%s\"%s>%s</option>", states[i],
                       state && strcmp(state, states[i]) == 0 ? " selected" : "", states[i][0] ? states[i] : "all states");
    }
    sg_buf_appendf(&b, "</select></div><button type=\"submit\">Filter</button></form>");
    if (rc < 0) {
        sg_html_notice(&b, false, e.message);
    } else {
        unreadable(r, &b);
        json_t *items = json_object_get(r, "items");
        sg_buf_appendf(&b, "<section class=\"panel\"><h2>Messages (%lld)</h2>",
                       (long long)json_integer_value(json_object_get(r, "total")));
        if (!json_array_size(items)) {
            sg_buf_appendf(&b, "<p class=\"empty\">No message listed.</p>");
        } else {
            sg_buf_appendf(&b, "<table><thead><tr><th scope=\"col\">Queue id</th><th scope=\"col\">State</th>"
                               "<th scope=\"col\">Sender</th><th scope=\"col\">Recipients</th><th scope=\"col\" "
                               "class=\"num\">Size</th><th scope=\"col\" class=\"num\">Age</th><th scope=\"col\">"
                               "Last error</th><th scope=\"col\">Actions</th>"
                               "</tr></thead><tbody>");
            size_t i;
            json_t *x;
            json_array_foreach(items, i, x)
            {
                const char *qid = str(x, (const char *const[]){"id", "queue_id", NULL});
                const char *st = str(x, (const char *const[]){"state", NULL});
                sg_buf_appendf(&b, "<tr><td class=\"mono\"><a href=\"/queue/");
                sg_html_esc(&b, qid);
                sg_buf_appendf(&b, "\">");
                sg_html_esc(&b, qid);
                sg_buf_appendf(&b, "</a></td><td><span class=\"pill %s\">",
                               st && !strcmp(st, "hold") ? "warn" : st && !strcmp(st, "corrupt") ? "bad" : "info");
                sg_html_esc(&b, st);
                sg_buf_appendf(&b, "</span></td><td>");
                sg_html_value(&b, json_object_get(x, "sender") ? json_object_get(x, "sender") : json_object_get(x, "from"));
                sg_buf_appendf(&b, "</td><td>");
                sg_html_value(&b, json_object_get(x, "recipients") ? json_object_get(x, "recipients")
                                                                    : json_object_get(x, "rcpt"));
                sg_buf_appendf(&b, "</td><td class=\"num\">");
                sg_html_value(&b, json_object_get(x, "size"));
                sg_buf_appendf(&b, "</td><td class=\"num\">");
                if (json_is_integer(json_object_get(x, "age")))
                    sg_html_age(&b, json_integer_value(json_object_get(x, "age")));
                sg_buf_appendf(&b, "</td><td>");
                sg_html_value(&b, json_object_get(x, "reason") ? json_object_get(x, "reason")
                                                                : json_object_get(x, "last_error"));
                sg_buf_appendf(&b, "</td><td>");
                if (qid)
                    buttons(&b, who, qid, st);
                sg_buf_appendf(&b, "</td></tr>");
            }
            sg_buf_appendf(&b, "</tbody></table>");
        }
        sg_buf_appendf(&b, "</section>");
    }
    json_decref(r);
    sg_html_end(&b);
    sg_web_send_page(req, 200, &b, NULL);
}

static void show(sg_web *w, sg_http_req *req, const sg_web_who *who, const char *id)
{
    json_t *r = sg_web_call_or_page(w, req, who, "queue.show", "id", id);
    if (!r)
        return;
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    char title[96];
    snprintf(title, sizeof title, "Message %.64s", id);
    sg_html_begin(&b, title, who, "queue");
    sg_buf_appendf(&b, "<p><a href=\"/queue\">&larr; Queue</a></p><section class=\"panel\"><h2>Envelope</h2>"
                       "<div class=\"body\"><dl class=\"facts\">");
    const char *k;
    json_t *v;
    const char *headers = NULL;
    json_object_foreach(r, k, v)
    {
        if (strcmp(k, "headers") == 0 && json_is_string(v)) {
            headers = json_string_value(v);
            continue;
        }
        if (strcmp(k, "created") == 0) {
            sg_buf_appendf(&b, "<dt>created</dt><dd>");
            sg_html_time(&b, v);
            sg_buf_appendf(&b, "</dd>");
            continue;
        }
        if (strcmp(k, "rcpt") == 0 && json_is_array(v)) {
            sg_buf_appendf(&b, "<dt>recipients</dt><dd>");
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x)
            {
                sg_buf_appendf(&b, "%s<span class=\"mono\">", i ? "<br>" : "");
                sg_html_value(&b, json_is_object(x) ? json_object_get(x, "addr") : x);
                sg_buf_appendf(&b, "</span>");
            }
            sg_buf_appendf(&b, "</dd>");
            continue;
        }
        sg_html_fact(&b, k, v);
    }
    sg_buf_appendf(&b, "</dl></div></section><section class=\"panel\"><h2>Actions</h2><div class=\"body\">");
    buttons(&b, who, id, str(r, (const char *const[]){"state", NULL}));
    sg_buf_appendf(&b, "</div></section>");
    if (headers) {
        sg_buf_appendf(&b, "<section class=\"panel\"><h2>Headers</h2><div class=\"body\"><pre class=\"headers\">");
        sg_html_esc(&b, headers);
        sg_buf_appendf(&b, "</pre></div></section>");
    }
    json_decref(r);
    sg_html_end(&b);
    sg_web_send_page(req, 200, &b, NULL);
}

static void act(sg_web *w, sg_http_req *req, const sg_web_who *who, const char *id, const char *action)
{
    char opname[32];
    snprintf(opname, sizeof opname, "queue.%s", action);
    sg_form *f = sg_web_form_post(w, req, who, opname, id);
    if (!f)
        return;
    sg_form_free(f);
    json_t *args = json_pack("{s:s}", "id", id), *r = NULL;
    sg_op_error e = {0};
    int rc = sg_web_call(w, req, who, SG_VIA_WEB, opname, args, &r, &e);
    json_decref(args);
    json_decref(r);
    if (rc < 0) {
        sg_web_page_error(req, who, sg_web_status(e.code), e.message);
        return;
    }
    /* Only queue ids the operation accepted reach this point: safe in a Location. */
    char loc[160];
    snprintf(loc, sizeof loc, "/queue?done=%s&id=%.64s", action, id);
    sg_web_redirect(req, loc, NULL);
}

void sg_web_page_queue(sg_web *w, sg_http_req *req, const sg_web_who *who)
{
    const char *rest = req->path + strlen("/queue");
    if (!*rest || strcmp(rest, "/") == 0) {
        list(w, req, who);
        return;
    }
    char id[72], action[16] = "";
    if (sscanf(rest, "/%71[0-9A-Za-z._-]/%15[a-z]", id, action) < 1) {
        sg_web_page_error(req, who, 404, "No such page.");
        return;
    }
    size_t used = 1 + strlen(id) + (action[0] ? 1 + strlen(action) : 0);
    if (strlen(rest) != used) {
        sg_web_page_error(req, who, 404, "No such page.");
        return;
    }
    if (!action[0] && strcmp(req->method, "GET") == 0) {
        show(w, req, who, id);
        return;
    }
    for (int i = 0; action[0] && actions[i]; i++)
        if (strcmp(action, actions[i]) == 0 && strcmp(req->method, "POST") == 0) {
            act(w, req, who, id, action);
            return;
        }
    sg_web_page_error(req, who, 404, "No such page.");
}
