/* config.c - configuration loading with libconfig. Owner: src/lib.
 * Defaults are set in code first so a missing key is never an error; unknown keys are errors,
 * because a misspelt limit that silently falls back to a default is a security problem. */
#include "lib/config.h"

#include <ctype.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/config_int.h"
#include "lib/fpr.h"

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = strdup(v);
}

static void list_set(sg_strlist *l, const char *const *v, size_t n)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = calloc(n ? n : 1, sizeof *l->v);
    l->n = n;
    for (size_t i = 0; i < n; i++)
        l->v[i] = strdup(v[i]);
}

void sg_config_free(sg_config *c);

void sg_revocation_defaults(sg_revocation_cfg *r)
{
    memset(r, 0, sizeof *r);
    r->methods[0] = SG_REV_METHOD_OCSP;
    r->methods[1] = SG_REV_METHOD_CRL;
    r->nmethods = 2;
    r->unreachable = SG_REV_SOFT_FAIL;
    r->fetch = true;
    r->timeout = 10;
    r->crl_max_size = 8L << 20;
    r->ocsp_max_size = 64L << 10;
    r->ocsp_max_age = 7 * 86400;
    r->retry_after = 300;
    snprintf(r->helper_user, sizeof r->helper_user, "nobody");
    snprintf(r->helper_group, sizeof r->helper_group, "nogroup");
    r->ports[0] = 80;
    r->ports[1] = 443;
    r->nports = 2;
}

static void defaults(sg_config *c)
{
    memset(c, 0, sizeof *c);
    set_str(&c->hostname, "sealgate.demo.test");
    set_str(&c->base_dir, "run");
    set_str(&c->spool_dir, "spool");
    set_str(&c->store_path, "store/sealgate.db");
    set_str(&c->pid_file, "sealgate.pid");
    c->log_level = 1;
    static const char *const domains[] = {"demo.test"};
    list_set(&c->internal_domains, domains, 1);
    set_str(&c->users.smtpd, "sealgate-smtpd");
    set_str(&c->users.cryptd, "sealgate-cryptd");
    set_str(&c->users.relay, "sealgate-relay");
    set_str(&c->users.sink, "sealgate-sink");
    set_str(&c->users.group, "sealgate");
    set_str(&c->users.web, "sealgate-web");
    set_str(&c->users.store_group, "sealgate-store");
    set_str(&c->smtpd.listen, "127.0.0.1:10025");
    set_str(&c->smtpd.tls_cert, "tls/cert.pem");
    set_str(&c->smtpd.tls_key, "tls/key.pem");
    c->smtpd.tls_autogenerate = true;
    c->smtpd.max_message_size = 50u * 1024 * 1024;
    c->smtpd.max_recipients = 1000;
    c->smtpd.max_line_length = 998;
    c->smtpd.max_command_length = 2048;
    c->smtpd.max_sessions = 4000;
    c->smtpd.max_sessions_per_ip = 50; /* Postfix's default; 2,000 let one client take half */
    c->smtpd.idle_timeout = 300;
    c->smtpd.session_timeout = 3600;
    c->smtpd.max_errors = 10;
    c->smtpd.bare_newline = SG_BARE_REJECT;
    c->smtpd.commit_batch = 64;
    static const char *const nets[] = {"127.0.0.0/8", "::1/128"};
    list_set(&c->smtpd.client_networks, nets, 2);
    c->cryptd.workers = 0;
    c->cryptd.max_layers = 8;
    c->cryptd.pgp_inline = false;
    c->cryptd.pgp_max_plaintext = SG_PGP_MAX_PLAINTEXT_DEFAULT;
    c->cryptd.pgp_max_ratio = SG_PGP_MAX_RATIO_DEFAULT;
    list_set(&c->cryptd.pgp_archive_keys, NULL, 0);
    static const char *const protected[] = {"From", "To", "Cc", "Date", "Message-ID", "Reply-To", "In-Reply-To",
                                            "References"};
    list_set(&c->cryptd.protected_headers, protected, sizeof protected / sizeof protected[0]);
    set_str(&c->cryptd.outer_subject, "...");
    set_str(&c->relay.next_hop, "127.0.0.1:10027");
    c->relay.tls = SG_TLS_MAY;
    c->relay.max_connections = 10;
    c->relay.connect_timeout = 30;
    c->relay.command_timeout = 300;
    c->relay.retry_min = 60;
    c->relay.retry_max = 3600;
    c->relay.queue_lifetime = 5 * 24 * 3600;
    c->sink.enabled = true;
    set_str(&c->sink.listen, "127.0.0.1:10027");
    set_str(&c->sink.maildir, "sink");
    c->web.enabled = true;
    set_str(&c->web.listen, "127.0.0.1:8443");
    c->web.max_connections = 64;
    c->web.max_per_ip = 16;
    c->web.max_body = 1u << 20;
    c->web.idle_timeout = 60;
    c->web.session_idle = 1800;
    c->web.session_lifetime = 8 * 3600;
    c->web.hsts_max_age = 31536000;
    sg_revocation_defaults(&c->revocation);
    sg_discovery_defaults(&c->discovery);
    sg_pdf_cfg_defaults(&c->pdf);
    c->audit.checkpoint_every = 1000;
    c->audit.mail_entries = true;
    c->audit.checkpoint_seconds = 60;
    /* PKCS#1 v1.5 is what every S/MIME receiver must support (RFC 8551 2.3); OAEP is opt-in. */
    c->smime.rsa_padding = SG_SMIME_RSA_PKCS1;
    c->smime.rsa_signature = SG_SMIME_SIG_PKCS1;
    c->smime.signing = SG_SMIME_SIGN_CLEAR;
    c->smime.digest = SG_SMIME_SHA256;
    list_set(&c->smime.gcm_for, NULL, 0);
    c->scan.max_size = 25u << 20;
    c->scan.timeout = 60;
}

/* ---- typed readers: each checks the type and reports file:line on mismatch ---- */

typedef struct ctx {
    const char *file;
    char *err;
    size_t errlen;
    int failed;
} ctx;

static void fail(ctx *x, const config_setting_t *s, const char *fmt, ...)
{
    if (x->failed++)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(x->err, x->errlen, "%s:%d: %s", x->file, s ? config_setting_source_line(s) : 0, msg);
}

static void rd_str(ctx *x, config_setting_t *s, char **dst)
{
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return fail(x, s, "%s: expected a string", config_setting_name(s));
    set_str(dst, config_setting_get_string(s));
}

static void rd_int(ctx *x, config_setting_t *s, long long min, long long max, long long *out)
{
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
        return fail(x, s, "%s: expected a number", config_setting_name(s));
    long long v = config_setting_get_int64(s);
    if (v < min || v > max)
        return fail(x, s, "%s: %lld is out of range %lld..%lld", config_setting_name(s), v, min, max);
    *out = v;
}

static void rd_i(ctx *x, config_setting_t *s, long long min, long long max, int *dst)
{
    long long v = *dst;
    rd_int(x, s, min, max, &v);
    *dst = (int)v;
}

static void rd_bool(ctx *x, config_setting_t *s, bool *dst)
{
    if (config_setting_type(s) != CONFIG_TYPE_BOOL)
        return fail(x, s, "%s: expected true or false", config_setting_name(s));
    *dst = config_setting_get_bool(s);
}

static void rd_list(ctx *x, config_setting_t *s, sg_strlist *dst)
{
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return fail(x, s, "%s: expected a list of strings", config_setting_name(s));
    int n = config_setting_length(s);
    const char **v = calloc(n ? n : 1, sizeof *v);
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(s, i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING) {
            free(v);
            return fail(x, s, "%s: expected a list of strings", config_setting_name(s));
        }
        v[i] = config_setting_get_string(e);
    }
    list_set(dst, v, n);
    free(v);
}

/* A list of OpenPGP v4 fingerprints (40 hex digits), stored upper-case. */
static void rd_fprs(ctx *x, config_setting_t *s, sg_strlist *dst)
{
    rd_list(x, s, dst);
    for (size_t i = 0; !x->failed && i < dst->n; i++) {
        char *f = dst->v[i];
        bool ok = strlen(f) == 40;
        for (char *p = f; ok && *p; p++) {
            ok = isxdigit((unsigned char)*p);
            *p = (char)toupper((unsigned char)*p);
        }
        if (!ok)
            return fail(x, s, "%s: \"%s\" is not a 40-digit fingerprint", config_setting_name(s), f);
    }
}

/* A list of header field names (RFC 5322 ftext), not Content-* (those describe the body). */
static void rd_field_names(ctx *x, config_setting_t *s, sg_strlist *dst)
{
    rd_list(x, s, dst);
    for (size_t i = 0; !x->failed && i < dst->n; i++) {
        const char *f = dst->v[i];
        bool ok = *f && strncasecmp(f, "Content-", 8) != 0;
        for (const char *p = f; ok && *p; p++)
            ok = *p > 32 && *p < 127 && *p != ':';
        if (!ok)
            return fail(x, s, "%s: \"%s\" is not a header field name (Content-* excluded)", config_setting_name(s),
                        f);
    }
}

/* A string that becomes a header line: no CR or LF. */
static void rd_line(ctx *x, config_setting_t *s, char **dst)
{
    rd_str(x, s, dst);
    if (!x->failed && *dst && strpbrk(*dst, "\r\n"))
        fail(x, s, "%s: must be one line", config_setting_name(s));
}

static void rd_enum(ctx *x, config_setting_t *s, const char *const *names, int *dst)
{
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return fail(x, s, "%s: expected a string", config_setting_name(s));
    const char *v = config_setting_get_string(s);
    for (int i = 0; names[i]; i++)
        if (strcmp(v, names[i]) == 0) {
            *dst = i;
            return;
        }
    fail(x, s, "%s: unknown value \"%s\"", config_setting_name(s), v);
}

static bool is(config_setting_t *s, const char *name)
{
    return strcmp(config_setting_name(s), name) == 0;
}

static void rd_group(ctx *x, config_setting_t *g, const char *name)
{
    if (!config_setting_is_group(g))
        fail(x, g, "%s: expected a group { ... }", name);
}

static void load_smtpd(ctx *x, sg_config *c, config_setting_t *g)
{
    static const char *const bare[] = {"reject", "normalize", NULL};
    for (int i = 0; i < config_setting_length(g); i++) {
        config_setting_t *s = config_setting_get_elem(g, i);
        long long sz = (long long)c->smtpd.max_message_size;
        if (is(s, "listen"))
            rd_str(x, s, &c->smtpd.listen);
        else if (is(s, "tls_cert"))
            rd_str(x, s, &c->smtpd.tls_cert);
        else if (is(s, "tls_key"))
            rd_str(x, s, &c->smtpd.tls_key);
        else if (is(s, "tls_autogenerate"))
            rd_bool(x, s, &c->smtpd.tls_autogenerate);
        else if (is(s, "max_message_size")) {
            rd_int(x, s, 1024, 1LL << 34, &sz);
            c->smtpd.max_message_size = (size_t)sz;
        } else if (is(s, "max_recipients"))
            rd_i(x, s, 1, 100000, &c->smtpd.max_recipients);
        else if (is(s, "max_line_length"))
            rd_i(x, s, 998, 1 << 20, &c->smtpd.max_line_length);
        else if (is(s, "max_command_length"))
            rd_i(x, s, 510, 1 << 16, &c->smtpd.max_command_length);
        else if (is(s, "max_sessions"))
            rd_i(x, s, 1, 1000000, &c->smtpd.max_sessions);
        else if (is(s, "max_sessions_per_ip"))
            rd_i(x, s, 1, 1000000, &c->smtpd.max_sessions_per_ip);
        else if (is(s, "idle_timeout"))
            rd_i(x, s, 1, 86400, &c->smtpd.idle_timeout);
        else if (is(s, "session_timeout"))
            rd_i(x, s, 1, 7 * 86400, &c->smtpd.session_timeout);
        else if (is(s, "max_errors"))
            rd_i(x, s, 1, 1000, &c->smtpd.max_errors);
        else if (is(s, "bare_newline"))
            rd_enum(x, s, bare, &c->smtpd.bare_newline);
        else if (is(s, "commit_batch"))
            rd_i(x, s, 1, 4096, &c->smtpd.commit_batch);
        else if (is(s, "client_networks"))
            rd_list(x, s, &c->smtpd.client_networks);
        else
            fail(x, s, "smtpd.%s: unknown setting", config_setting_name(s));
    }
}

/* relay.tls: Postfix's level names. "secure" is "verify" here (sealgate does no MX lookup, so
 * the names to check never come from DNS); "must" is the name of issue 9's time, when it meant
 * "encrypted, not verified": it now means verified, as the name promises. */
static void load_web(ctx *x, sg_config *c, config_setting_t *g)
{
    for (int j = 0; !x->failed && j < config_setting_length(g); j++) {
        config_setting_t *u = config_setting_get_elem(g, j);
        long long v;
        if (is(u, "enabled"))
            rd_bool(x, u, &c->web.enabled);
        else if (is(u, "listen"))
            rd_str(x, u, &c->web.listen);
        else if (is(u, "max_connections"))
            rd_i(x, u, 1, 10000, &c->web.max_connections);
        else if (is(u, "max_per_ip"))
            rd_i(x, u, 1, 10000, &c->web.max_per_ip);
        else if (is(u, "max_body")) {
            v = (long long)c->web.max_body; /* 4 KiB .. 64 MiB: one uploaded key file or policy */
            rd_int(x, u, 4096, 64ll << 20, &v);
            c->web.max_body = (size_t)v;
        } else if (is(u, "idle_timeout"))
            rd_i(x, u, 5, 3600, &c->web.idle_timeout);
        else if (is(u, "session_idle"))
            rd_i(x, u, 1, 86400, &c->web.session_idle);
        else if (is(u, "session_lifetime"))
            rd_i(x, u, 1, 7 * 86400, &c->web.session_lifetime);
        else if (is(u, "hsts_max_age"))
            rd_i(x, u, 0, 2 * 31536000, &c->web.hsts_max_age);
        else if (is(u, "publish"))
            rd_bool(x, u, &c->web.publish);
        else
            fail(x, u, "web.%s: unknown setting", config_setting_name(u));
    }
}

static void rd_tls_level(ctx *x, config_setting_t *s, int *dst)
{
    static const char *const names[] = {"none", "may", "encrypt", "verify", "fingerprint", "secure", "must", NULL};
    static const int levels[] = {SG_TLS_NONE,        SG_TLS_MAY,    SG_TLS_ENCRYPT, SG_TLS_VERIFY,
                                 SG_TLS_FINGERPRINT, SG_TLS_VERIFY, SG_TLS_VERIFY};
    if (config_setting_type(s) == CONFIG_TYPE_STRING && strncmp(config_setting_get_string(s), "dane", 4) == 0)
        return fail(x, s, "tls: \"%s\" is not supported yet (no DNSSEC-validating resolver); use \"verify\" "
                    "with tls_ca_file, or \"fingerprint\"", config_setting_get_string(s));
    int i = -1;
    rd_enum(x, s, names, &i);
    if (i >= 0)
        *dst = levels[i];
}

/* relay.tls_fingerprints: each one SHA-256, stored as 64 lower-case hex digits. */
static void rd_sha256_list(ctx *x, config_setting_t *s, sg_strlist *dst)
{
    rd_list(x, s, dst);
    for (size_t i = 0; !x->failed && i < dst->n; i++) {
        char hex[SG_FPR_SHA256_HEX];
        if (sg_fpr_sha256_parse(dst->v[i], hex) < 0)
            return fail(x, s, "%s: \"%s\" is not a SHA-256 fingerprint (64 hex digits, ':' between pairs "
                        "allowed)", config_setting_name(s), dst->v[i]);
        memcpy(dst->v[i], hex, sizeof hex); /* never longer than what it replaces */
    }
}

static void load_relay(ctx *x, sg_config *c, config_setting_t *g)
{
    for (int i = 0; i < config_setting_length(g); i++) {
        config_setting_t *s = config_setting_get_elem(g, i);
        if (is(s, "next_hop"))
            rd_str(x, s, &c->relay.next_hop);
        else if (is(s, "tls"))
            rd_tls_level(x, s, &c->relay.tls);
        else if (is(s, "tls_ca_file"))
            rd_str(x, s, &c->relay.tls_ca_file);
        else if (is(s, "tls_match"))
            rd_list(x, s, &c->relay.tls_match);
        else if (is(s, "tls_fingerprints"))
            rd_sha256_list(x, s, &c->relay.tls_fingerprints);
        else if (is(s, "max_connections"))
            rd_i(x, s, 1, 1000, &c->relay.max_connections);
        else if (is(s, "connect_timeout"))
            rd_i(x, s, 1, 3600, &c->relay.connect_timeout);
        else if (is(s, "command_timeout"))
            rd_i(x, s, 1, 3600, &c->relay.command_timeout);
        else if (is(s, "retry_min"))
            rd_i(x, s, 1, 86400, &c->relay.retry_min);
        else if (is(s, "retry_max"))
            rd_i(x, s, 1, 7 * 86400, &c->relay.retry_max);
        else if (is(s, "queue_lifetime"))
            rd_i(x, s, 1, 60 * 86400, &c->relay.queue_lifetime);
        else if (is(s, "helo_name"))
            rd_str(x, s, &c->relay.helo_name);
        else
            fail(x, s, "relay.%s: unknown setting", config_setting_name(s));
    }
}

/* A string into a fixed buffer (settings copied by value into other modules). */
static void rd_fixed(ctx *x, config_setting_t *s, char *dst, size_t n)
{
    char *v = NULL;
    rd_str(x, s, &v);
    if (v && strlen(v) >= n)
        fail(x, s, "%s: longer than %zu bytes", config_setting_name(s), n - 1);
    else if (v)
        snprintf(dst, n, "%s", v);
    free(v);
}

static void load_revocation(ctx *x, sg_revocation_cfg *r, config_setting_t *g)
{
    static const char *const unreach[] = {"soft-fail", "hard-fail", NULL};
    static const char *const methods[] = {"ocsp", "crl", NULL};
    for (int i = 0; !x->failed && i < config_setting_length(g); i++) {
        config_setting_t *s = config_setting_get_elem(g, i);
        long long v;
        if (is(s, "methods")) {
            int t = config_setting_type(s), n = config_setting_length(s);
            if ((t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) || n > 2)
                return fail(x, s, "revocation.methods: expected a list of \"ocsp\" and \"crl\"");
            r->nmethods = 0;
            for (int j = 0; j < n; j++) {
                int m = -1;
                rd_enum(x, config_setting_get_elem(s, j), methods, &m);
                if (x->failed)
                    return;
                if (j == 1 && m == r->methods[0])
                    return fail(x, s, "revocation.methods: each method once");
                r->methods[r->nmethods++] = m;
            }
        } else if (is(s, "unreachable"))
            rd_enum(x, s, unreach, &r->unreachable);
        else if (is(s, "fetch"))
            rd_bool(x, s, &r->fetch);
        else if (is(s, "timeout"))
            rd_i(x, s, 1, 300, &r->timeout);
        else if (is(s, "crl_max_size")) {
            v = r->crl_max_size;
            rd_int(x, s, 1024, 1LL << 30, &v);
            r->crl_max_size = (long)v;
        } else if (is(s, "ocsp_max_size")) {
            v = r->ocsp_max_size;
            rd_int(x, s, 512, 1LL << 24, &v);
            r->ocsp_max_size = (long)v;
        } else if (is(s, "ocsp_max_age"))
            rd_i(x, s, 60, 366 * 86400, &r->ocsp_max_age);
        else if (is(s, "retry_after"))
            rd_i(x, s, 0, 86400, &r->retry_after);
        else if (is(s, "tls_ca_file"))
            rd_fixed(x, s, r->tls_ca_file, sizeof r->tls_ca_file);
        else if (is(s, "helper_user"))
            rd_fixed(x, s, r->helper_user, sizeof r->helper_user);
        else if (is(s, "helper_group"))
            rd_fixed(x, s, r->helper_group, sizeof r->helper_group); else if (is(s, "allowed_ports")) {
            int t = config_setting_type(s), n = config_setting_length(s);
            if ((t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) || n > SG_REV_MAX_PORTS)
                return fail(x, s, "revocation.allowed_ports: expected a list of at most %d ports",
                            SG_REV_MAX_PORTS);
            r->nports = 0;
            for (int j = 0; j < n && !x->failed; j++)
                rd_i(x, config_setting_get_elem(s, j), 1, 65535, &r->ports[r->nports++]);
        } else
            fail(x, s, "revocation.%s: unknown setting", config_setting_name(s));
    }
}

static void load_smime(ctx *x, sg_config *c, config_setting_t *g)
{
    static const char *const padding[] = {"pkcs1", "oaep", NULL};
    static const char *const sig[] = {"pkcs1", "pss", NULL};
    static const char *const signing[] = {"clear", "opaque", NULL};
    static const char *const digest[] = {"sha256", "sha384", "sha512", NULL};
    for (int i = 0; i < config_setting_length(g); i++) {
        config_setting_t *s = config_setting_get_elem(g, i);
        if (is(s, "rsa_padding"))
            rd_enum(x, s, padding, &c->smime.rsa_padding);
        else if (is(s, "rsa_signature"))
            rd_enum(x, s, sig, &c->smime.rsa_signature);
        else if (is(s, "signing"))
            rd_enum(x, s, signing, &c->smime.signing);
        else if (is(s, "digest"))
            rd_enum(x, s, digest, &c->smime.digest);
        else if (is(s, "gcm_for"))
            rd_list(x, s, &c->smime.gcm_for);
        else if (is(s, "encrypt_to_sender"))
            rd_bool(x, s, &c->smime.encrypt_to_sender);
        else
            fail(x, s, "smime.%s: unknown setting", config_setting_name(s));
    }
}

static void load_scan(ctx *x, sg_config *c, config_setting_t *g)
{
    static const char *const on_error[] = {"defer", "hold", NULL};
    c->scan.enabled = true;
    for (int i = 0; !x->failed && i < config_setting_length(g); i++) {
        config_setting_t *s = config_setting_get_elem(g, i);
        long long v = (long long)c->scan.max_size;
        if (is(s, "clamd")) {
            rd_line(x, s, &c->scan.clamd);
            if (!x->failed && strncmp(c->scan.clamd, "unix:/", 6) != 0 && strncmp(c->scan.clamd, "tcp:", 4) != 0)
                fail(x, s, "scan.clamd: expected \"unix:/PATH\" or \"tcp:HOST:PORT\"");
        } else if (is(s, "rspamd")) {
            rd_line(x, s, &c->scan.rspamd);
            if (!x->failed && strncmp(c->scan.rspamd, "http://", 7) != 0)
                fail(x, s, "scan.rspamd: expected \"http://HOST:PORT\"");
        } else if (is(s, "spamd")) {
            rd_line(x, s, &c->scan.spamd);
            if (!x->failed && strncmp(c->scan.spamd, "unix:/", 6) != 0 && strncmp(c->scan.spamd, "tcp:", 4) != 0)
                fail(x, s, "scan.spamd: expected \"unix:/PATH\" or \"tcp:HOST:PORT\"");
        } else if (is(s, "max_size")) {
            rd_int(x, s, 1024, 1LL << 28, &v);
            c->scan.max_size = (size_t)v;
        } else if (is(s, "on_error"))
            rd_enum(x, s, on_error, &c->scan.on_error);
        else if (is(s, "timeout"))
            rd_i(x, s, 1, 600, &c->scan.timeout);
        else
            fail(x, s, "scan.%s: unknown setting", config_setting_name(s));
    }
    if (!x->failed && c->scan.rspamd && c->scan.spamd)
        fail(x, g, "scan: rspamd and spamd are alternatives, configure one of them");
}

static void load_file(ctx *x, sg_config *c, config_t *cf)
{
    static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
    config_setting_t *root = config_root_setting(cf);
    for (int i = 0; i < config_setting_length(root); i++) {
        config_setting_t *s = config_setting_get_elem(root, i);
        if (is(s, "hostname"))
            rd_str(x, s, &c->hostname);
        else if (is(s, "base_dir"))
            rd_str(x, s, &c->base_dir);
        else if (is(s, "spool_dir"))
            rd_str(x, s, &c->spool_dir);
        else if (is(s, "store"))
            rd_str(x, s, &c->store_path);
        else if (is(s, "store_password_file"))
            rd_str(x, s, &c->store_password_file);
        else if (is(s, "pid_file"))
            rd_str(x, s, &c->pid_file);
        else if (is(s, "log_level"))
            rd_enum(x, s, levels, &c->log_level);
        else if (is(s, "internal_domains"))
            rd_list(x, s, &c->internal_domains);
        else if (is(s, "users")) {
            rd_group(x, s, "users");
            for (int j = 0; !x->failed && j < config_setting_length(s); j++) {
                config_setting_t *u = config_setting_get_elem(s, j);
                if (is(u, "smtpd"))
                    rd_str(x, u, &c->users.smtpd);
                else if (is(u, "cryptd"))
                    rd_str(x, u, &c->users.cryptd);
                else if (is(u, "relay"))
                    rd_str(x, u, &c->users.relay);
                else if (is(u, "sink"))
                    rd_str(x, u, &c->users.sink);
                else if (is(u, "group"))
                    rd_str(x, u, &c->users.group);
                else if (is(u, "web"))
                    rd_str(x, u, &c->users.web);
                else if (is(u, "store_group"))
                    rd_str(x, u, &c->users.store_group);
                else
                    fail(x, u, "users.%s: unknown setting", config_setting_name(u));
            }
        } else if (is(s, "smtpd")) {
            rd_group(x, s, "smtpd");
            if (!x->failed)
                load_smtpd(x, c, s);
        } else if (is(s, "cryptd")) {
            rd_group(x, s, "cryptd");
            for (int j = 0; !x->failed && j < config_setting_length(s); j++) {
                config_setting_t *u = config_setting_get_elem(s, j);
                if (is(u, "workers"))
                    rd_i(x, u, 0, 256, &c->cryptd.workers);
                else if (is(u, "max_layers"))
                    rd_i(x, u, 1, 64, &c->cryptd.max_layers);
                else if (is(u, "pgp_inline"))
                    rd_bool(x, u, &c->cryptd.pgp_inline);
                else if (is(u, "pgp_compression"))
                    rd_i(x, u, 0, 9, &c->cryptd.pgp_compression);
                else if (is(u, "pgp_max_plaintext")) {
                    long long v = (long long)c->cryptd.pgp_max_plaintext; /* 1 MiB .. one layer's output bound */
                    rd_int(x, u, 1 << 20, 512ll << 20, &v);
                    c->cryptd.pgp_max_plaintext = (size_t)v;
                } else if (is(u, "pgp_max_ratio"))
                    rd_i(x, u, 1, 64, &c->cryptd.pgp_max_ratio);
                else if (is(u, "pgp_archive_keys"))
                    rd_fprs(x, u, &c->cryptd.pgp_archive_keys);
                else if (is(u, "protected_headers"))
                    rd_field_names(x, u, &c->cryptd.protected_headers);
                else if (is(u, "outer_subject"))
                    rd_line(x, u, &c->cryptd.outer_subject);
                else
                    fail(x, u, "cryptd.%s: unknown setting", config_setting_name(u));
            }
        } else if (is(s, "relay")) {
            rd_group(x, s, "relay");
            if (!x->failed)
                load_relay(x, c, s);
        } else if (is(s, "sink")) {
            rd_group(x, s, "sink");
            for (int j = 0; !x->failed && j < config_setting_length(s); j++) {
                config_setting_t *u = config_setting_get_elem(s, j);
                if (is(u, "enabled"))
                    rd_bool(x, u, &c->sink.enabled);
                else if (is(u, "listen"))
                    rd_str(x, u, &c->sink.listen);
                else if (is(u, "maildir"))
                    rd_str(x, u, &c->sink.maildir);
                else
                    fail(x, u, "sink.%s: unknown setting", config_setting_name(u));
            }
        } else if (is(s, "web")) {
            rd_group(x, s, "web");
            if (!x->failed)
                load_web(x, c, s);
        } else if (is(s, "revocation")) {
            rd_group(x, s, "revocation");
            if (!x->failed)
                load_revocation(x, &c->revocation, s);
        } else if (is(s, "discovery")) {
            rd_group(x, s, "discovery");
            char msg[200];
            config_setting_t *bad = x->failed ? NULL : sg_config_load_discovery(s, &c->discovery, msg, sizeof msg);
            if (bad)
                fail(x, bad, "%s", msg);
        } else if (is(s, "pdf")) {
            rd_group(x, s, "pdf");
            char msg[200];
            config_setting_t *bad = x->failed ? NULL : sg_config_load_pdf(s, &c->pdf, msg, sizeof msg);
            if (bad)
                fail(x, bad, "%s", msg);
        } else if (is(s, "smime")) {
            rd_group(x, s, "smime");
            if (!x->failed)
                load_smime(x, c, s);
        } else if (is(s, "audit")) {
            rd_group(x, s, "audit");
            for (int j = 0; !x->failed && j < config_setting_length(s); j++) {
                config_setting_t *u = config_setting_get_elem(s, j);
                long long v = 0;
                if (is(u, "checkpoint_every")) {
                    rd_int(x, u, 1, 1000000000, &v);
                    c->audit.checkpoint_every = (long)v;
                } else if (is(u, "checkpoint_seconds")) {
                    rd_int(x, u, 1, 86400, &v);
                    c->audit.checkpoint_seconds = (long)v;
                } else if (is(u, "hmac_addresses")) {
                    rd_bool(x, u, &c->audit.hmac_addresses);
                } else if (is(u, "publish")) {
                    rd_bool(x, u, &c->audit.publish);
                } else if (is(u, "mail_entries")) {
                    rd_bool(x, u, &c->audit.mail_entries);
                } else {
                    fail(x, u, "audit.%s: unknown setting", config_setting_name(u));
                }
            }
        } else if (is(s, "scan")) {
            rd_group(x, s, "scan");
            if (!x->failed)
                load_scan(x, c, s);
        } else {
            fail(x, s, "%s: unknown setting", config_setting_name(s));
        }
    }
}

/* Makes *p absolute against base (which is absolute). */
static void absolutize(char **p, const char *base)
{
    if ((*p)[0] == '/')
        return;
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s/%s", base, *p);
    set_str(p, buf);
}

static int validate(ctx *x, sg_config *c)
{
    free(c->smtpd.client_cidrs);
    c->smtpd.client_cidrs = calloc(c->smtpd.client_networks.n + 1, sizeof(sg_cidr));
    for (size_t i = 0; i < c->smtpd.client_networks.n; i++)
        if (sg_cidr_parse(c->smtpd.client_networks.v[i], &c->smtpd.client_cidrs[i]) < 0) {
            snprintf(x->err, x->errlen, "%s: smtpd.client_networks: \"%s\" is not a network", x->file,
                     c->smtpd.client_networks.v[i]);
            return -1;
        }
    struct sockaddr_storage ss;
    socklen_t sl;
    const char *eps[] = {c->smtpd.listen, c->relay.next_hop, c->sink.listen, c->web.listen};
    const char *names[] = {"smtpd.listen", "relay.next_hop", "sink.listen", "web.listen"};
    for (int i = 0; i < 4; i++)
        if (sg_endpoint_parse(eps[i], &ss, &sl) < 0) {
            snprintf(x->err, x->errlen, "%s: %s: \"%s\" is not host:port", x->file, names[i], eps[i]);
            return -1;
        }
    /* A TLS setting the level does not use would be a promise not kept: refuse it. */
    const char *unused = NULL;
    if (c->relay.tls == SG_TLS_FINGERPRINT && c->relay.tls_fingerprints.n == 0)
        unused = "relay.tls = \"fingerprint\" needs relay.tls_fingerprints";
    else if (c->relay.tls != SG_TLS_FINGERPRINT && c->relay.tls_fingerprints.n > 0)
        unused = "relay.tls_fingerprints is used only with relay.tls = \"fingerprint\"";
    else if (c->relay.tls != SG_TLS_VERIFY && c->relay.tls_match.n > 0)
        unused = "relay.tls_match is used only with relay.tls = \"verify\"";
    else if (c->relay.tls == SG_TLS_NONE && c->relay.tls_ca_file)
        unused = "relay.tls_ca_file is not used with relay.tls = \"none\"";
    if (unused) {
        snprintf(x->err, x->errlen, "%s: %s", x->file, unused);
        return -1;
    }
    for (size_t i = 0; i < c->relay.tls_match.n; i++)
        if (!c->relay.tls_match.v[i][0] || strpbrk(c->relay.tls_match.v[i], " /:[]")) {
            snprintf(x->err, x->errlen, "%s: relay.tls_match: \"%s\" is not a host name", x->file,
                     c->relay.tls_match.v[i]);
            return -1;
        }
    if (c->relay.retry_max < c->relay.retry_min) {
        snprintf(x->err, x->errlen, "%s: relay.retry_max is below relay.retry_min", x->file);
        return -1;
    }
    return 0;
}

static int config_load(sg_config *c, const char *path, char *err, size_t errlen)
{
    defaults(c);
    ctx x = {.file = path ? path : "(defaults)", .err = err, .errlen = errlen};
    char dir[PATH_MAX];
    if (!getcwd(dir, sizeof dir)) {
        snprintf(err, errlen, "getcwd failed");
        return -1;
    }
    if (path) {
        config_t cf;
        config_init(&cf);
        if (!config_read_file(&cf, path)) {
            if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
                snprintf(err, errlen, "%s: cannot read the file", path);
            else
                snprintf(err, errlen, "%s:%d: %s", path, config_error_line(&cf), config_error_text(&cf));
            config_destroy(&cf);
            return -1;
        }
        load_file(&x, c, &cf);
        config_destroy(&cf);
        if (x.failed)
            return -1;
        set_str(&c->path, path);
        /* Relative paths in a file are relative to the file's directory. */
        char *slash = strrchr(c->path, '/');
        if (slash && path[0] == '/') {
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - c->path), c->path);
        } else if (slash) {
            size_t l = strlen(dir);
            snprintf(dir + l, sizeof dir - l, "/%.*s", (int)(slash - c->path), c->path);
        }
    }
    absolutize(&c->base_dir, dir);
    /* Resolve symlinks: roles dropped to their own users must not need to traverse the path the
     * administrator used (e.g. ./run linked from a checkout in /root to /var/lib/...). */
    char real[PATH_MAX];
    if (realpath(c->base_dir, real))
        set_str(&c->base_dir, real);
    absolutize(&c->spool_dir, c->base_dir);
    /* A libpq URI is no path. */
    if (strncmp(c->store_path, "postgresql://", 13) != 0 && strncmp(c->store_path, "postgres://", 11) != 0)
        absolutize(&c->store_path, c->base_dir);
    if (c->store_password_file)
        absolutize(&c->store_password_file, c->base_dir);
    absolutize(&c->pid_file, c->base_dir);
    absolutize(&c->smtpd.tls_cert, c->base_dir);
    absolutize(&c->smtpd.tls_key, c->base_dir);
    absolutize(&c->sink.maildir, c->base_dir);
    if (c->relay.tls_ca_file)
        absolutize(&c->relay.tls_ca_file, c->base_dir);
    if (c->revocation.tls_ca_file[0] && c->revocation.tls_ca_file[0] != '/') {
        char *p = strdup(c->revocation.tls_ca_file);
        absolutize(&p, c->base_dir);
        if (strlen(p) < sizeof c->revocation.tls_ca_file)
            snprintf(c->revocation.tls_ca_file, sizeof c->revocation.tls_ca_file, "%s", p);
        free(p);
    }
    if (c->discovery.tls_ca_file[0] && c->discovery.tls_ca_file[0] != '/') {
        char *p = strdup(c->discovery.tls_ca_file);
        absolutize(&p, c->base_dir);
        if (strlen(p) < sizeof c->discovery.tls_ca_file)
            snprintf(c->discovery.tls_ca_file, sizeof c->discovery.tls_ca_file, "%s", p);
        free(p);
    }
    if (!c->relay.helo_name)
        set_str(&c->relay.helo_name, c->hostname);
    return validate(&x, c);
}

int sg_config_load(sg_config *c, const char *path, char *err, size_t errlen)
{
    int rc = config_load(c, path, err, errlen);
    if (rc < 0)
        sg_config_free(c); /* a refused reload must not leak the half-built configuration */
    return rc;
}

const char *sg_config_default_path(const char *explicit_path)
{
    if (explicit_path)
        return explicit_path;
    const char *env = getenv("SEALGATE_CONFIG");
    return env && *env ? env : NULL;
}

static void list_free(sg_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

void sg_config_free(sg_config *c)
{
    char **strs[] = {&c->path,          &c->hostname,       &c->base_dir,        &c->spool_dir,
                     &c->store_path,    &c->pid_file,       &c->users.smtpd,     &c->users.cryptd,
                     &c->users.relay,   &c->users.sink,     &c->users.group,     &c->smtpd.listen,
                     &c->smtpd.tls_cert,
                     &c->smtpd.tls_key, &c->relay.next_hop, &c->relay.helo_name, &c->sink.listen,
                     &c->sink.maildir,  &c->cryptd.outer_subject, &c->relay.tls_ca_file,
                     &c->users.web,     &c->users.store_group, &c->web.listen,
                     &c->store_password_file, &c->scan.clamd,    &c->scan.rspamd,
                     &c->scan.spamd};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        free(*strs[i]);
    list_free(&c->internal_domains);
    list_free(&c->smtpd.client_networks);
    list_free(&c->smime.gcm_for);
    list_free(&c->relay.tls_match);
    list_free(&c->relay.tls_fingerprints);
    list_free(&c->cryptd.pgp_archive_keys);
    list_free(&c->cryptd.protected_headers);
    free(c->smtpd.client_cidrs);
    memset(c, 0, sizeof *c);
}

bool sg_config_is_internal_domain(const sg_config *c, const char *domain)
{
    for (size_t i = 0; i < c->internal_domains.n; i++)
        if (strcasecmp(domain, c->internal_domains.v[i]) == 0)
            return true;
    return false;
}

bool sg_config_client_allowed(const sg_config *c, const struct sockaddr *sa)
{
    for (size_t i = 0; i < c->smtpd.client_networks.n; i++)
        if (sg_cidr_match(&c->smtpd.client_cidrs[i], sa))
            return true;
    return false;
}
