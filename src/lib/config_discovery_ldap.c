/* config_discovery_ldap.c - the "ldap" group of discovery and of its domains: the LDAP server
 * asked for a domain's recipients (docs/discovery.md "LDAP"). Owner: src/lib.
 * SECURITY: only ldap:// (StartTLS is then mandatory) and ldaps:// URIs; the filter must hold
 * {address} exactly where the escaped address goes, so no other text of the address can reach
 * the filter; the bind password stays in its own file (read at lookup time, not kept here). */
#include <stdio.h>
#include <string.h>

#include "lib/config_int.h"

void sg_discovery_ldap_defaults(sg_discovery_ldap *l)
{
    memset(l, 0, sizeof *l);
    snprintf(l->filter, sizeof l->filter, "(mail={address})");
    snprintf(l->cert_attr, sizeof l->cert_attr, "userCertificate;binary");
    snprintf(l->pgp_attr, sizeof l->pgp_attr, "pgpKey");
    l->timeout = 3;
    l->size_limit = 4;
}

static config_setting_t *str(config_setting_t *s, char *out, size_t n, char *msg, size_t msglen)
{
    const char *v = config_setting_get_string(s);
    if (!v || strlen(v) >= n) {
        snprintf(msg, msglen, "discovery.ldap.%s: expected a string of at most %zu bytes", config_setting_name(s), n - 1);
        return s;
    }
    snprintf(out, n, "%s", v);
    return NULL;
}

static config_setting_t *num(config_setting_t *s, int min, int max, int *out, char *msg, size_t msglen)
{
    if (config_setting_type(s) != CONFIG_TYPE_INT || config_setting_get_int(s) < min ||
        config_setting_get_int(s) > max) {
        snprintf(msg, msglen, "discovery.ldap.%s: expected a number in %d..%d", config_setting_name(s), min, max);
        return s;
    }
    *out = config_setting_get_int(s);
    return NULL;
}

config_setting_t *sg_config_load_discovery_ldap(config_setting_t *g, sg_discovery_ldap *l, char *msg, size_t msglen)
{
    if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
        snprintf(msg, msglen, "discovery.ldap: expected a group");
        return g;
    }
    config_setting_t *bad = NULL;
    for (int i = 0; !bad && i < config_setting_length(g); i++) {
        config_setting_t *s = config_setting_get_elem(g, i);
        const char *n = config_setting_name(s);
        if (strcmp(n, "uri") == 0) {
            if (!(bad = str(s, l->uri, sizeof l->uri, msg, msglen)) && strncmp(l->uri, "ldap://", 7) != 0 &&
                strncmp(l->uri, "ldaps://", 8) != 0) {
                snprintf(msg, msglen, "discovery.ldap.uri: ldap:// (with StartTLS) or ldaps:// only");
                bad = s;
            }
        } else if (strcmp(n, "base") == 0)
            bad = str(s, l->base, sizeof l->base, msg, msglen);
        else if (strcmp(n, "filter") == 0) {
            const char *p = config_setting_get_string(s);
            if (!(bad = str(s, l->filter, sizeof l->filter, msg, msglen)) &&
                (!(p = strstr(l->filter, "{address}")) || strstr(p + 1, "{address}") || l->filter[0] != '(')) {
                snprintf(msg, msglen, "discovery.ldap.filter: a filter in parentheses with {address} once");
                bad = s;
            }
        } else if (strcmp(n, "bind_dn") == 0)
            bad = str(s, l->bind_dn, sizeof l->bind_dn, msg, msglen);
        else if (strcmp(n, "password_file") == 0)
            bad = str(s, l->password_file, sizeof l->password_file, msg, msglen);
        else if (strcmp(n, "certificate_attribute") == 0)
            bad = str(s, l->cert_attr, sizeof l->cert_attr, msg, msglen);
        else if (strcmp(n, "pgp_attribute") == 0)
            bad = str(s, l->pgp_attr, sizeof l->pgp_attr, msg, msglen);
        else if (strcmp(n, "timeout") == 0)
            bad = num(s, 1, 60, &l->timeout, msg, msglen);
        else if (strcmp(n, "size_limit") == 0)
            bad = num(s, 1, 100, &l->size_limit, msg, msglen);
        else {
            snprintf(msg, msglen, "discovery.ldap.%s: unknown setting", n);
            bad = s;
        }
    }
    return bad;
}
