/* ops_settings.c - the effective settings an operator reads (and, with the settings editor,
 * will change): listeners, relay and next hop, networks, TLS, limits, as check-config answers
 * them under "settings", one object per section of the configuration file with the file's
 * key names (docs/configuration.md). Owner: src/admin.
 * SECURITY: only what an Auditor may see: file paths of TLS keys, never their contents; the
 * store is shown by check-config through sg_store_describe (no password). */
#include "admin/ops_int.h"

static const char *tls_mode_name(int m)
{
    static const char *const names[] = {"none", "may", "encrypt", "verify", "fingerprint"};
    return m >= 0 && m < (int)(sizeof names / sizeof names[0]) ? names[m] : "unknown";
}

static json_t *strlist(const sg_strlist *l)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < l->n; i++)
        json_array_append_new(a, json_string(l->v[i]));
    return a;
}

json_t *sg_op_settings_json(const sg_config *c)
{
    json_t *smtpd = json_pack(
        "{s:s?, s:s?, s:s?, s:b, s:I, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:o}", "listen",
        c->smtpd.listen, "tls_cert", c->smtpd.tls_cert, "tls_key", c->smtpd.tls_key, "tls_autogenerate",
        c->smtpd.tls_autogenerate, "max_message_size", (json_int_t)c->smtpd.max_message_size,
        "max_recipients", c->smtpd.max_recipients, "max_line_length", c->smtpd.max_line_length,
        "max_command_length", c->smtpd.max_command_length, "max_sessions", c->smtpd.max_sessions,
        "max_sessions_per_ip", c->smtpd.max_sessions_per_ip, "idle_timeout", c->smtpd.idle_timeout,
        "session_timeout", c->smtpd.session_timeout, "max_errors", c->smtpd.max_errors, "bare_newline",
        c->smtpd.bare_newline == SG_BARE_NORMALIZE ? "normalize" : "reject", "client_networks",
        strlist(&c->smtpd.client_networks));
    json_t *relay = json_pack(
        "{s:s?, s:s, s:s?, s:o, s:o, s:i, s:i, s:i, s:i, s:i, s:i, s:s?}", "next_hop", c->relay.next_hop,
        "tls", tls_mode_name(c->relay.tls), "tls_ca_file", c->relay.tls_ca_file, "tls_match",
        strlist(&c->relay.tls_match), "tls_fingerprints", strlist(&c->relay.tls_fingerprints),
        "max_connections", c->relay.max_connections, "connect_timeout", c->relay.connect_timeout,
        "command_timeout", c->relay.command_timeout, "retry_min", c->relay.retry_min, "retry_max",
        c->relay.retry_max, "queue_lifetime", c->relay.queue_lifetime, "helo_name", c->relay.helo_name);
    json_t *web =
        json_pack("{s:b, s:s?, s:i, s:i, s:I, s:i, s:i, s:i, s:i, s:b}", "enabled", c->web.enabled, "listen",
                  c->web.listen, "max_connections", c->web.max_connections, "max_per_ip", c->web.max_per_ip,
                  "max_body", (json_int_t)c->web.max_body, "idle_timeout", c->web.idle_timeout,
                  "session_idle", c->web.session_idle, "session_lifetime", c->web.session_lifetime,
                  "hsts_max_age", c->web.hsts_max_age, "publish", c->web.publish);
    json_t *sink = json_pack("{s:b, s:s?}", "enabled", c->sink.enabled, "listen", c->sink.listen);
    json_t *top =
        json_pack("{s:s?, s:o}", "hostname", c->hostname, "internal_domains", strlist(&c->internal_domains));
    if (!smtpd || !relay || !web || !sink || !top) {
        json_decref(smtpd);
        json_decref(relay);
        json_decref(web);
        json_decref(sink);
        json_decref(top);
        return NULL;
    }
    return json_pack("{s:o, s:o, s:o, s:o, s:o}", "general", top, "smtpd", smtpd, "relay", relay, "web", web,
                     "sink", sink);
}
