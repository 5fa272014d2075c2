/* config_discovery.c - the "discovery" group of the configuration (docs/configuration.md,
 * docs/discovery.md). Owner: src/lib.
 * SECURITY: the defaults make no network request at all (sources = ["local"]); addresses on
 * loopback and private ranges stay refused unless allow_private says otherwise, and key
 * servers must be https:// or hkps:// (no plain HTTP). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/config_int.h"

void sg_discovery_defaults(sg_discovery_cfg *d)
{
    memset(d, 0, sizeof *d);
    d->all.sources[0] = SG_DSRC_LOCAL;
    d->all.nsources = 1;
    d->timeout = 3;
    d->max_size = 256L << 10;
    d->positive_ttl = 7 * 86400;
    d->negative_ttl = 3600;
    sg_discovery_ldap_defaults(&d->all.ldap);
}

const sg_discovery_where *sg_discovery_for(const sg_discovery_cfg *d, const char *domain)
{
    for (int i = 0; domain && i < d->ndomains; i++)
        if (strcasecmp(d->domains[i].domain, domain) == 0)
            return &d->domains[i];
    return &d->all;
}

static bool network(const sg_discovery_where *w)
{
    for (int i = 0; i < w->nsources; i++)
        if (w->sources[i] != SG_DSRC_LOCAL)
            return true;
    return false;
}

bool sg_discovery_uses_network(const sg_discovery_cfg *d)
{
    bool any = network(&d->all);
    for (int i = 0; !any && i < d->ndomains; i++)
        any = network(&d->domains[i]);
    return any;
}

static bool named(config_setting_t *s, const char *n)
{
    return strcmp(config_setting_name(s), n) == 0;
}

static bool is_list(config_setting_t *s, int max)
{
    int t = config_setting_type(s);
    return (t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST) && config_setting_length(s) <= max;
}

/* A list of at most max strings, each shorter than width, into out. */
static config_setting_t *strings(config_setting_t *s, char *out, size_t width, int max, int *n, char *msg,
                                 size_t msglen)
{
    if (!is_list(s, max)) {
        snprintf(msg, msglen, "discovery.%s: expected a list of at most %d strings", config_setting_name(s), max);
        return s;
    }
    *n = 0;
    for (int i = 0; i < config_setting_length(s); i++) {
        const char *v = config_setting_get_string_elem(s, i);
        if (!v || strlen(v) >= width) {
            snprintf(msg, msglen, "discovery.%s: element %d: expected a string of at most %zu bytes",
                     config_setting_name(s), i, width - 1);
            return s;
        }
        snprintf(out + (size_t)i * width, width, "%s", v);
        (*n)++;
    }
    return NULL;
}

static config_setting_t *where_setting(config_setting_t *s, sg_discovery_where *w, char *msg, size_t msglen)
{
    if (named(s, "sources")) {
        if (!is_list(s, SG_DISC_MAX_SOURCES)) {
            snprintf(msg, msglen, "discovery.sources: expected a list of \"local\", \"wkd\", \"keyserver\", \"ldap\"");
            return s;
        }
        w->nsources = 0;
        for (int i = 0; i < config_setting_length(s); i++) {
            const char *v = config_setting_get_string_elem(s, i);
            int src = !v                              ? 0
                      : strcmp(v, "local") == 0       ? SG_DSRC_LOCAL
                      : strcmp(v, "wkd") == 0         ? SG_DSRC_WKD
                      : strcmp(v, "keyserver") == 0   ? SG_DSRC_KEYSERVER
                      : strcmp(v, "ldap") == 0        ? SG_DSRC_LDAP
                                                      : 0;
            for (int j = 0; src && j < w->nsources; j++)
                if (w->sources[j] == src)
                    src = 0;
            if (!src) {
                snprintf(msg, msglen, "discovery.sources: element %d: \"local\", \"wkd\", \"keyserver\" or \"ldap\", each once", i);
                return s;
            }
            w->sources[w->nsources++] = src;
        }
        return NULL;
    }
    if (named(s, "keyservers")) {
        config_setting_t *bad = strings(s, &w->keyservers[0][0], sizeof w->keyservers[0], SG_DISC_MAX_SERVERS,
                                        &w->nkeyservers, msg, msglen);
        for (int i = 0; !bad && i < w->nkeyservers; i++)
            if (strncmp(w->keyservers[i], "https://", 8) != 0 && strncmp(w->keyservers[i], "hkps://", 7) != 0) {
                snprintf(msg, msglen, "discovery.keyservers: %s: https:// (VKS) or hkps:// (HKP) only",
                         w->keyservers[i]);
                bad = s;
            }
        return bad;
    }
    if (named(s, "ldap"))
        return sg_config_load_discovery_ldap(s, &w->ldap, msg, msglen);
    snprintf(msg, msglen, "discovery.%s: unknown setting", config_setting_name(s));
    return s;
}

config_setting_t *sg_config_int_in(config_setting_t *s, const char *group, long min, long max, long *out, char *msg,
                                   size_t msglen)
{
    int t = config_setting_type(s);
    long long v = config_setting_get_int64(s);
    if ((t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) || v < min || v > max) {
        snprintf(msg, msglen, "%s.%s: expected a number in %ld..%ld", group, config_setting_name(s), min, max);
        return s;
    }
    *out = (long)v;
    return NULL;
}

static config_setting_t *domains(config_setting_t *s, sg_discovery_cfg *d, char *msg, size_t msglen)
{
    if (config_setting_type(s) != CONFIG_TYPE_LIST || config_setting_length(s) > SG_DISC_MAX_DOMAINS) {
        snprintf(msg, msglen, "discovery.domains: expected a list of at most %d groups", SG_DISC_MAX_DOMAINS);
        return s;
    }
    for (int i = 0; i < config_setting_length(s); i++) {
        config_setting_t *g = config_setting_get_elem(s, i);
        sg_discovery_where *w = &d->domains[d->ndomains++];
        *w = d->all; /* what a domain does not say, it inherits (read after the defaults) */
        w->domain[0] = '\0';
        if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
            snprintf(msg, msglen, "discovery.domains: element %d: expected a group", i);
            return g;
        }
        for (int j = 0; j < config_setting_length(g); j++) {
            config_setting_t *e = config_setting_get_elem(g, j);
            if (named(e, "domain")) {
                const char *v = config_setting_get_string(e);
                if (!v || !*v || strlen(v) >= sizeof w->domain) {
                    snprintf(msg, msglen, "discovery.domains: domain: expected a domain name");
                    return e;
                }
                snprintf(w->domain, sizeof w->domain, "%s", v);
            } else {
                config_setting_t *bad = where_setting(e, w, msg, msglen);
                if (bad)
                    return bad;
            }
        }
        if (!w->domain[0]) {
            snprintf(msg, msglen, "discovery.domains: element %d: domain missing", i);
            return g;
        }
    }
    return NULL;
}

config_setting_t *sg_config_load_discovery(config_setting_t *g, sg_discovery_cfg *d, char *msg, size_t msglen)
{
    config_setting_t *doms = NULL, *bad = NULL;
    long v;
    for (int i = 0; !bad && i < config_setting_length(g); i++) {
        config_setting_t *s = config_setting_get_elem(g, i);
        if (named(s, "domains"))
            doms = s; /* after the defaults, which domains inherit */
        else if (named(s, "timeout")) {
            if (!(bad = sg_config_int_in(s, "discovery", 1, 60, &v, msg, msglen)))
                d->timeout = (int)v;
        } else if (named(s, "max_size")) {
            if (!(bad = sg_config_int_in(s, "discovery", 1024, 16L << 20, &v, msg, msglen)))
                d->max_size = v;
        } else if (named(s, "positive_ttl")) {
            if (!(bad = sg_config_int_in(s, "discovery", 1, 366L * 86400, &v, msg, msglen)))
                d->positive_ttl = (int)v;
        } else if (named(s, "negative_ttl")) {
            if (!(bad = sg_config_int_in(s, "discovery", 1, 30L * 86400, &v, msg, msglen)))
                d->negative_ttl = (int)v;
        } else if (named(s, "allow_private")) {
            if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
                snprintf(msg, msglen, "discovery.allow_private: expected true or false");
                bad = s;
            } else
                d->allow_private = config_setting_get_bool(s);
        } else if (named(s, "tls_ca_file")) {
            const char *f = config_setting_get_string(s);
            if (!f || strlen(f) >= sizeof d->tls_ca_file) {
                snprintf(msg, msglen, "discovery.tls_ca_file: expected a file name");
                bad = s;
            } else
                snprintf(d->tls_ca_file, sizeof d->tls_ca_file, "%s", f);
        } else if (named(s, "connect_to"))
            bad = strings(s, &d->connect_to[0][0], sizeof d->connect_to[0], SG_DISC_MAX_RESOLVE, &d->nconnect_to, msg,
                          msglen);
        else
            bad = where_setting(s, &d->all, msg, msglen);
    }
    if (!bad && doms)
        bad = domains(doms, d, msg, msglen);
    /* A domain that asks LDAP must say which server: found now, not at the first lookup. */
    for (int i = -1; !bad && i < d->ndomains; i++) {
        const sg_discovery_where *w = i < 0 ? &d->all : &d->domains[i];
        for (int j = 0; j < w->nsources && !bad; j++)
            if (w->sources[j] == SG_DSRC_LDAP && (!w->ldap.uri[0] || !w->ldap.base[0])) {
                snprintf(msg, msglen, "discovery%s%s: sources has \"ldap\" but ldap.uri or ldap.base is missing",
                         i < 0 ? "" : ".domains ", i < 0 ? "" : w->domain);
                bad = doms && i >= 0 ? doms : g;
            }
    }
    return bad;
}
