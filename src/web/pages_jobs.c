/* pages_jobs.c - the portal's long operations (issue 18, admin/jobs.h): the list of jobs with a
 * progress bar each (job.list), one job's page (job.show) with its counts, estimate and result,
 * and a Cancel button (job.cancel), and the upload of a keyring imported as a job
 * (key.import-bulk), which answers with a redirect to the job's page. The bars are <progress>
 * elements rendered by the server; static/jobs.js (no inline script: the CSP allows none) polls
 * /api/v1/jobs/{id} once a second and updates the bar and the counts while the job runs.
 * Owner: src/web.
 * SECURITY: every change is a POST with the CSRF token (sg_web_form_post); a job id from the
 * path is hex only before it reaches an operation or a URL. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "web/form.h"
#include "web/web_int.h"

static bool job_id_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!isxdigit((unsigned char)s[n]) || n >= 32)
            return false;
    return n > 0;
}

static bool may(const sg_web_who *who, const char *op)
{
    const sg_op *o = sg_op_find(op);
    return o && sg_op_allowed(o, who->roles);
}

/* The bar and the counts of one job; data-* attributes for jobs.js. */
static void bar(sg_buf *b, const json_t *j)
{
    long long done = (long long)json_integer_value(json_object_get(j, "done")),
              total = (long long)json_integer_value(json_object_get(j, "total"));
    sg_buf_appendf(b, "<progress max=\"%lld\" value=\"%lld\" data-job-bar>%lld%%</progress> <span data-job-count>%lld of %lld</span>",
                   total > 0 ? total : 1, total > 0 ? done : 0,
                   (long long)json_integer_value(json_object_get(j, "percent")), done, total);
}

static void list_page(sg_web *w, sg_http_req *req, const sg_web_who *who, int status, const char *notice)
{
    json_t *args = json_pack("{s:i}", "limit", 50), *r = NULL;
    sg_op_error e = {0};
    int rc = sg_web_call(w, req, who, SG_VIA_WEB, "job.list", args, &r, &e);
    json_decref(args);
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    sg_html_begin(&b, "Jobs", who, "jobs");
    if (notice)
        sg_html_notice(&b, false, notice);
    if (rc < 0)
        sg_html_notice(&b, false, e.message);
    sg_buf_appendf(&b, "<section class=\"panel\" id=\"jobs\"><h2>Long operations</h2><table><thead><tr><th>Job</th>"
                       "<th>Operation</th><th>State</th><th>Progress</th><th>Started</th><th>By</th></tr></thead><tbody>");
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(r, "items"), i, x)
    {
        const char *id = json_string_value(json_object_get(x, "id"));
        sg_buf_appendf(&b, "<tr><td class=\"mono\"><a href=\"/jobs/");
        sg_html_esc(&b, id);
        sg_buf_appendf(&b, "\">");
        sg_html_esc(&b, id);
        sg_buf_appendf(&b, "</a></td><td>");
        sg_html_value(&b, json_object_get(x, "operation"));
        sg_buf_appendf(&b, "</td><td>");
        sg_html_value(&b, json_object_get(x, "state"));
        sg_buf_appendf(&b, "</td><td>");
        bar(&b, x);
        sg_buf_appendf(&b, "</td><td>");
        sg_html_time(&b, json_object_get(x, "started"));
        sg_buf_appendf(&b, "</td><td>");
        sg_html_value(&b, json_object_get(x, "actor"));
        sg_buf_appendf(&b, "</td></tr>");
    }
    if (!json_array_size(json_object_get(r, "items")))
        sg_buf_appendf(&b, "<tr><td colspan=\"6\">No jobs yet.</td></tr>");
    sg_buf_appendf(&b, "</tbody></table></section>");
    if (may(who, "key.import-bulk")) {
        sg_buf_appendf(&b, "<section class=\"panel\"><h2>Import a keyring</h2><div class=\"body\"><form method=\"post\" "
                           "action=\"/jobs/key-import\" enctype=\"multipart/form-data\">");
        sg_html_csrf(&b, who);
        sg_buf_appendf(&b, "<div class=\"toolbar\"><div><label for=\"file\">OpenPGP public keys (a keyring, armored "
                           "or binary)</label><input type=\"file\" id=\"file\" name=\"file\" required></div>"
                           "<button type=\"submit\" class=\"primary\">Import as a job</button></div>"
                           "<p class=\"hint\">The import runs in the background; its page shows the progress "
                           "and can stop it between two keys.</p></form></div></section>");
    }
    sg_html_end(&b);
    sg_web_send_page(req, status, &b, NULL);
    json_decref(r);
}

static void job_page(sg_web *w, sg_http_req *req, const sg_web_who *who, const char *id, const char *notice)
{
    json_t *j = sg_web_call_or_page(w, req, who, "job.show", "id", id);
    if (!j)
        return;
    const char *state = json_string_value(json_object_get(j, "state"));
    bool live = state && (!strcmp(state, "running") || !strcmp(state, "queued"));
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    sg_html_begin(&b, "Job", who, "jobs");
    if (notice)
        sg_html_notice(&b, true, notice);
    sg_buf_appendf(&b, "<section class=\"panel\" id=\"job\" data-job=\"%s\"%s><h2>", id, live ? " data-job-live" : "");
    sg_html_value(&b, json_object_get(j, "operation"));
    sg_buf_appendf(&b, " <span class=\"mono\">%s</span></h2><div class=\"body\"><p>", id);
    bar(&b, j);
    sg_buf_appendf(&b, "</p><dl class=\"facts\">");
    sg_html_fact(&b, "State", json_object_get(j, "state"));
    sg_buf_appendf(&b, "<dt>Time left</dt><dd data-job-eta>");
    if (json_is_integer(json_object_get(j, "estimate_seconds"))) {
        sg_buf_appendf(&b, "about ");
        sg_html_age(&b, json_integer_value(json_object_get(j, "estimate_seconds")));
    } else {
        sg_buf_appendf(&b, "-");
    }
    sg_buf_appendf(&b, "</dd><dt>Started</dt><dd>");
    sg_html_time(&b, json_object_get(j, "started"));
    sg_buf_appendf(&b, "</dd>");
    sg_html_fact(&b, "By", json_object_get(j, "actor"));
    sg_buf_appendf(&b, "<dt>Result</dt><dd data-job-result>");
    if (live)
        sg_buf_appendf(&b, "not yet: it runs");
    else
        sg_html_value(&b, json_object_get(j, "result"));
    sg_buf_appendf(&b, "</dd></dl>");
    if (live && may(who, "job.cancel")) {
        sg_buf_appendf(&b, "<form method=\"post\" action=\"/jobs/%s/cancel\" data-confirm=\"Stop this job? What it "
                           "finished stays.\">", id);
        sg_html_csrf(&b, who);
        sg_buf_appendf(&b, "<button type=\"submit\" class=\"danger\"%s>Cancel</button></form>",
                       json_is_true(json_object_get(j, "cancel_requested")) ? " disabled" : "");
    }
    sg_buf_appendf(&b, "<p><a href=\"/jobs\">All jobs</a></p></div></section><script src=\"/static/jobs.js\" defer></script>");
    sg_html_end(&b);
    sg_web_send_page(req, 200, &b, NULL);
    json_decref(j);
}

static void post_import(sg_web *w, sg_http_req *req, const sg_web_who *who)
{
    struct sg_form *f = sg_web_form_post(w, req, who, "key.import-bulk", "");
    if (!f)
        return;
    const sg_form_field *file = sg_form_field_get(f, "file");
    json_t *args = json_object(), *r = NULL;
    sg_op_args_set_bytes(args, "data", (const uint8_t *)(file ? file->value : ""), file ? file->len : 0);
    sg_op_error e = {0};
    int rc = sg_web_call(w, req, who, SG_VIA_WEB, "key.import-bulk", args, &r, &e);
    json_decref(args);
    sg_form_free(f);
    const char *id = rc == 0 ? json_string_value(json_object_get(r, "id")) : NULL;
    if (id && job_id_ok(id)) {
        char loc[64];
        snprintf(loc, sizeof loc, "/jobs/%s", id);
        sg_web_redirect(req, loc, NULL);
    } else {
        list_page(w, req, who, rc < 0 ? sg_web_status(e.code) : 500, rc < 0 ? e.message : "no job id");
    }
    json_decref(r);
}

static void post_cancel(sg_web *w, sg_http_req *req, const sg_web_who *who, const char *id)
{
    struct sg_form *f = sg_web_form_post(w, req, who, "job.cancel", id);
    if (!f)
        return;
    sg_form_free(f);
    json_t *args = json_pack("{s:s}", "id", id), *r = NULL;
    sg_op_error e = {0};
    int rc = sg_web_call(w, req, who, SG_VIA_WEB, "job.cancel", args, &r, &e);
    json_decref(args);
    json_decref(r);
    if (rc < 0)
        sg_web_page_error(req, who, sg_web_status(e.code), e.message);
    else
        job_page(w, req, who, id, "Asked to stop: it ends at its next safe point.");
}

void sg_web_page_jobs(sg_web *w, sg_http_req *req, const sg_web_who *who)
{
    const char *rest = req->path + strlen("/jobs");
    bool get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD"),
         post = !strcmp(req->method, "POST");
    char id[40] = "", action[16] = "";
    if ((!*rest || !strcmp(rest, "/")) && get) {
        list_page(w, req, who, 200, NULL);
        return;
    }
    if (!strcmp(rest, "/key-import") && post) {
        post_import(w, req, who);
        return;
    }
    int n = sscanf(rest, "/%32[0-9a-f]/%15[a-z]", id, action);
    size_t used = 1 + strlen(id) + (action[0] ? 1 + strlen(action) : 0);
    if (n < 1 || strlen(rest) != used || !job_id_ok(id))
        sg_web_page_error(req, who, 404, "No such page.");
    else if (!action[0] && get)
        job_page(w, req, who, id, NULL);
    else if (!strcmp(action, "cancel") && post)
        post_cancel(w, req, who, id);
    else
        sg_web_page_error(req, who, 404, "No such page.");
}
