/* pages_settings.c - the portal's Settings page (/settings): the configuration's validation
 * (check-config: ok, or its problems) and the effective settings by section of the file
 * (listeners, next hop, networks, TLS, limits), with the file's key names. Read-only: changes
 * are made in the file and applied by reload (docs/configuration.md). Owner: src/web.
 * SECURITY: shows what check-config answers (paths of TLS keys, never their contents; the
 * store without its password); every value is escaped. */
#include <string.h>

#include "web/web_int.h"

/* One section's settings as a facts list; arrays as comma-separated values. */
static void section(sg_buf *b, const char *name, const json_t *o)
{
    sg_buf_appendf(
        b,
        "<section class=\"panel\" id=\"settings-%s\"><h2 class=\"mono\">%s</h2><div class=\"body\">"
        "<dl class=\"facts\">",
        name, name);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        sg_buf_appendf(b, "<dt class=\"mono\">");
        sg_html_esc(b, k);
        sg_buf_appendf(b, "</dt><dd class=\"mono\">");
        if (json_is_array(v))
            json_array_size(v) ? sg_html_join(b, v, ", ") : sg_buf_appendf(b, "(none)");
        else if (json_is_null(v))
            sg_buf_appendf(b, "(not set)");
        else
            sg_html_value(b, v);
        sg_buf_appendf(b, "</dd>");
    }
    sg_buf_appendf(b, "</dl></div></section>");
}

void sg_web_page_settings(sg_web *w, sg_http_req *req, const sg_web_who *who)
{
    json_t *r = NULL;
    sg_op_error e = {0};
    if (sg_web_call(w, req, who, SG_VIA_WEB, "check-config", NULL, &r, &e) < 0) {
        sg_web_page_error(req, who, sg_web_status(e.code), e.message);
        return;
    }
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    sg_html_begin(&b, "Settings", who, "settings");
    json_t *problems = json_object_get(r, "problems");
    if (json_is_true(json_object_get(r, "ok"))) {
        sg_html_notice(&b, true, "The configuration is valid (check-config).");
    } else {
        sg_buf_appendf(
            &b, "<div class=\"notice bad\" id=\"problems\"><p>The configuration has problems:</p><ul>");
        size_t i;
        json_t *p;
        json_array_foreach(problems, i, p)
        {
            sg_buf_appendf(&b, "<li>");
            sg_html_value(&b, p);
            sg_buf_appendf(&b, "</li>");
        }
        sg_buf_appendf(&b, "</ul></div>");
    }
    sg_buf_appendf(&b, "<section class=\"panel\"><h2>Where</h2><div class=\"body\"><dl class=\"facts\">");
    sg_html_fact(&b, "configuration file", json_object_get(r, "config"));
    sg_html_fact(&b, "base_dir", json_object_get(r, "base_dir"));
    sg_html_fact(&b, "spool_dir", json_object_get(r, "spool_dir"));
    sg_html_fact(&b, "store", json_object_get(r, "store"));
    sg_buf_appendf(
        &b, "</dl><p class=\"hint\">Settings are changed in the configuration file and applied by a "
            "reload (<span class=\"mono\">systemctl reload sealgate</span> or SIGHUP to the master); a "
            "file that does not validate is refused and the running settings stay.</p></div></section>");
    json_t *settings = json_object_get(r, "settings");
    static const char *const order[] = {"general", "smtpd", "relay", "web", "sink"};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (json_is_object(json_object_get(settings, order[i])))
            section(&b, order[i], json_object_get(settings, order[i]));
    json_decref(r);
    sg_html_end(&b);
    sg_web_send_page(req, 200, &b, NULL);
}
