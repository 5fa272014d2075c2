/* parse.c - reads a policy file (libconfig syntax, docs/policy.md) into the model of policy.h.
 * Owner: src/policy. Every error names the line of the setting at fault ("name:line: ..."),
 * and an unknown key is an error, so a typo never silently weakens a rule. The syntax layer is
 * libconfig's; this file checks names, types and values, and compiles the regular expressions. */
#include "policy/policy.h"

#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/engine.h"
#include "policy/parse_int.h"

struct px {
    const char *name;
    char *err;
    size_t errlen;
    bool failed;
};

__attribute__((format(printf, 3, 4))) static int fail(px *x, const config_setting_t *s, const char *fmt, ...)
{
    if (x->failed)
        return -1; /* the first error is the one reported */
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = s ? config_setting_source_line(s) : 0;
    if (line > 0)
        snprintf(x->err, x->errlen, "%s:%d: %s", x->name, line, msg);
    else /* the root, or the whole file: no line to name */
        snprintf(x->err, x->errlen, "%s: %s", x->name, msg);
    x->failed = true;
    return -1;
}

static const char *sname(const config_setting_t *s)
{
    const char *n = config_setting_name(s);
    return n ? n : "(element)";
}

static int get_string(px *x, const config_setting_t *s, char **out)
{
    const char *v = config_setting_get_string(s);
    if (!v)
        return fail(x, s, "'%s' must be a string", sname(s));
    free(*out);
    *out = strdup(v);
    return *out ? 0 : fail(x, s, "out of memory");
}

static int get_bool(px *x, const config_setting_t *s, int *out)
{
    if (config_setting_type(s) != CONFIG_TYPE_BOOL)
        return fail(x, s, "'%s' must be true or false", sname(s));
    *out = config_setting_get_bool(s) ? 1 : 0;
    return 0;
}

static int get_int(px *x, const config_setting_t *s, long long *out)
{
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
        return fail(x, s, "'%s' must be a whole number", sname(s));
    *out = config_setting_get_int64(s);
    if (*out < 0)
        return fail(x, s, "'%s' must not be negative", sname(s));
    return 0;
}

/* One name out of a table; returns its index or fails listing the choices. */
static int get_choice(px *x, const config_setting_t *s, const char *const *names, int n, int *out)
{
    const char *v = config_setting_get_string(s);
    for (int i = 0; v && i < n; i++)
        if (names[i] && strcmp(v, names[i]) == 0) {
            *out = i;
            return 0;
        }
    char choices[200] = "";
    for (int i = 0; i < n; i++)
        if (names[i])
            snprintf(choices + strlen(choices), sizeof choices - strlen(choices), "%s%s",
                     *choices ? ", " : "", names[i]);
    return fail(x, s, "'%s' must be one of: %s", sname(s), choices);
}

/* A string or a list/array of strings. */
static int get_list(px *x, const config_setting_t *s, sg_plist *l)
{
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        l->v = calloc(1, sizeof *l->v);
        if (!l->v || !(l->v[0] = strdup(config_setting_get_string(s))))
            return fail(x, s, "out of memory");
        l->n = 1;
        return 0;
    }
    if (!config_setting_is_aggregate(s) || config_setting_is_group(s))
        return fail(x, s, "'%s' must be a string or a list of strings", sname(s));
    int n = config_setting_length(s);
    if (n > SG_POLICY_MAX_LIST)
        return fail(x, s, "'%s' has more than %d elements", sname(s), SG_POLICY_MAX_LIST);
    l->v = calloc((size_t)n + 1, sizeof *l->v);
    if (!l->v)
        return fail(x, s, "out of memory");
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *v = config_setting_get_string(e);
        if (!v)
            return fail(x, e, "elements of '%s' must be strings", sname(s));
        if (!(l->v[l->n++] = strdup(v)))
            return fail(x, e, "out of memory");
    }
    return 0;
}

static int get_methods(px *x, const config_setting_t *s, int methods[4])
{
    sg_plist l = {0};
    int rc = get_list(x, s, &l);
    if (rc == 0 && (l.n == 0 || l.n > 3))
        rc = fail(x, s, "'%s' needs one to three methods", sname(s));
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        int m = sg_method_from_name(l.v[i]);
        if (m <= 0)
            rc = fail(x, s, "unknown method '%s' (smime, pgp, pdf)", l.v[i]);
        for (size_t k = 0; rc == 0 && k < i; k++)
            if (methods[k] == m)
                rc = fail(x, s, "method '%s' given twice", l.v[i]);
        methods[i] = m;
    }
    if (rc == 0)
        methods[l.n] = 0;
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i]);
    free(l.v);
    return rc;
}

static const char *const sign_names[] = {NULL, "sender", "domain"};
static const char *const fb_names[] = {"hold", "return", "plain"};
static const char *const mixed_names[] = {"restrictive", "liberal"};
static const char *const loc_names[] = {"external", "internal"};

/* A settings key shared by the global, domain and user levels: 1 when handled, 0 when the
 * name is not a settings key, -1 on error. */
static int settings_key(px *x, const config_setting_t *s, sg_psettings *ps)
{
    const char *n = config_setting_name(s);
    if (strcmp(n, "locality") == 0)
        return get_choice(x, s, loc_names, 2, &ps->locality) < 0 ? -1 : 1;
    if (strcmp(n, "methods") == 0)
        return get_methods(x, s, ps->methods) < 0 ? -1 : 1;
    if (strcmp(n, "sign") == 0)
        return get_choice(x, s, sign_names, 3, &ps->sign) < 0 ? -1 : 1;
    if (strcmp(n, "create_keys") == 0)
        return get_bool(x, s, &ps->create_keys) < 0 ? -1 : 1;
    if (strcmp(n, "fallback") == 0)
        return get_choice(x, s, fb_names, 3, &ps->fallback) < 0 ? -1 : 1;
    if (strcmp(n, "mixed") == 0)
        return get_choice(x, s, mixed_names, 2, &ps->mixed) < 0 ? -1 : 1;
    if (strcmp(n, "notify_sender") == 0)
        return get_bool(x, s, &ps->notify_sender) < 0 ? -1 : 1;
    return 0;
}

static void settings_unset(sg_psettings *ps)
{
    memset(ps, 0, sizeof *ps);
    ps->locality = ps->create_keys = ps->fallback = ps->mixed = ps->notify_sender = -1;
}

static int need_group(px *x, const config_setting_t *s)
{
    return config_setting_is_group(s) ? 0 : fail(x, s, "'%s' must be a group { ... }", sname(s));
}

static int need_list(px *x, const config_setting_t *s)
{
    return config_setting_is_list(s) || config_setting_is_array(s)
               ? 0
               : fail(x, s, "'%s' must be a list ( ... )", sname(s));
}

static int parse_keywords(px *x, const config_setting_t *g, sg_policy *p)
{
    if (need_group(x, g) < 0)
        return -1;
    for (int i = 0; i < config_setting_length(g); i++) {
        config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        int k;
        for (k = 0; k < SG_KW__COUNT; k++)
            if (strcmp(config_setting_name(s), sg_policy_keyword_name(k)) == 0)
                break;
        if (k == SG_KW__COUNT)
            return fail(x, s,
                        "unknown keyword '%s' (encrypt, sign, send_keys, send_keys_pgp, send_keys_smime, pdf)",
                        config_setting_name(s));
        if (get_string(x, s, &p->keywords[k]) < 0)
            return -1;
        if (!*p->keywords[k])
            return fail(x, s, "keyword '%s' must not be empty", config_setting_name(s));
    }
    return 0;
}

static int parse_settings(px *x, const config_setting_t *g, sg_policy *p)
{
    if (need_group(x, g) < 0)
        return -1;
    for (int i = 0; i < config_setting_length(g); i++) {
        config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *n = config_setting_name(s);
        int rc = settings_key(x, s, &p->global);
        if (rc < 0)
            return -1;
        if (rc == 1)
            continue;
        if (strcmp(n, "internal_domains") == 0) {
            sg_plist l = {0};
            int rc2 = get_list(x, s, &l);
            char **v = rc2 == 0 ? realloc(p->internal.v, (p->internal.n + l.n + 1) * sizeof *v) : NULL;
            if (v) {
                memcpy(v + p->internal.n, l.v, l.n * sizeof *v);
                p->internal.v = v;
                p->internal.n += l.n;
                l.n = 0; /* the strings belong to p->internal now */
            }
            for (size_t k = 0; k < l.n; k++)
                free(l.v[k]);
            free(l.v);
            if (!v)
                return rc2 < 0 ? -1 : fail(x, s, "out of memory");
        } else if (strcmp(n, "admin") == 0) {
            if (get_string(x, s, &p->admin) < 0)
                return -1;
            if (!strchr(p->admin, '@'))
                return fail(x, s, "'admin' must be an address");
        } else if (strcmp(n, "keywords") == 0) {
            if (parse_keywords(x, s, p) < 0)
                return -1;
        } else if (strcmp(n, "locality") == 0) {
            return fail(x, s, "'locality' belongs to a domain or user entry, not to settings");
        } else {
            return fail(x, s, "unknown setting '%s'", n);
        }
    }
    if (p->global.locality >= 0)
        return fail(x, g, "'locality' belongs to a domain or user entry, not to settings");
    return 0;
}

/* domains = ( { domain = "x"; ... } ) and users = ( { address = "x"; ... } ). */
static int parse_entries(px *x, const config_setting_t *l, const char *key, sg_pentry **out, size_t *nout)
{
    if (need_list(x, l) < 0)
        return -1;
    int n = config_setting_length(l);
    if (n > SG_POLICY_MAX_LIST)
        return fail(x, l, "more than %d entries", SG_POLICY_MAX_LIST);
    *out = calloc((size_t)n + 1, sizeof **out);
    if (!*out)
        return fail(x, l, "out of memory");
    for (int i = 0; i < n; i++) {
        config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
        if (need_group(x, g) < 0)
            return -1;
        sg_pentry *e = &(*out)[(*nout)++];
        settings_unset(&e->s);
        e->line = config_setting_source_line(g);
        for (int k = 0; k < config_setting_length(g); k++) {
            config_setting_t *s = config_setting_get_elem(g, (unsigned)k);
            int rc = settings_key(x, s, &e->s);
            if (rc < 0)
                return -1;
            if (rc == 1)
                continue;
            if (strcmp(config_setting_name(s), key) != 0)
                return fail(x, s, "unknown key '%s' in a %s entry", config_setting_name(s), key);
            if (get_string(x, s, &e->pattern) < 0)
                return -1;
            if (strcmp(key, "address") == 0 && !strchr(e->pattern, '@'))
                return fail(x, s, "'address' must contain '@'");
            if (strcmp(key, "domain") == 0 && (strchr(e->pattern, '@') || !*e->pattern))
                return fail(x, s, "'domain' must be a domain name or pattern");
        }
        if (!e->pattern)
            return fail(x, g, "entry without '%s'", key);
    }
    return 0;
}

static int parse_groups(px *x, const config_setting_t *l, sg_policy *p)
{
    if (need_list(x, l) < 0)
        return -1;
    int n = config_setting_length(l);
    if (n > SG_POLICY_MAX_LIST)
        return fail(x, l, "more than %d groups", SG_POLICY_MAX_LIST);
    p->groups = calloc((size_t)n + 1, sizeof *p->groups);
    if (!p->groups)
        return fail(x, l, "out of memory");
    for (int i = 0; i < n; i++) {
        config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
        if (need_group(x, g) < 0)
            return -1;
        sg_pgroup *gr = &p->groups[p->ngroups++];
        gr->line = config_setting_source_line(g);
        for (int k = 0; k < config_setting_length(g); k++) {
            config_setting_t *s = config_setting_get_elem(g, (unsigned)k);
            const char *nm = config_setting_name(s);
            if (strcmp(nm, "name") == 0) {
                if (get_string(x, s, &gr->name) < 0)
                    return -1;
            } else if (strcmp(nm, "members") == 0) {
                sg_plist ml = {0};
                int rc = get_list(x, s, &ml);
                gr->members = ml.v;
                gr->n = ml.n;
                if (rc < 0)
                    return -1;
            } else if (strcmp(nm, "source") == 0) {
                const char *v = config_setting_get_string(s);
                if (!v || (strcmp(v, "store") != 0 && strcmp(v, "file") != 0))
                    return fail(x, s, "a group's source is \"store\" or \"file\"");
                gr->from_store = strcmp(v, "store") == 0;
            } else {
                return fail(x, s, "unknown key '%s' in a group (name, members, source)", nm);
            }
        }
        if (!gr->name)
            return fail(x, g, "group without 'name'");
        if (gr->from_store && gr->n)
            return fail(x, g, "a group with source = \"store\" takes its members from the store, not 'members'");
        for (size_t k = 0; k + 1 < p->ngroups; k++)
            if (strcasecmp(p->groups[k].name, gr->name) == 0)
                return fail(x, g, "group '%s' defined twice (first on line %d)", gr->name, p->groups[k].line);
    }
    return 0;
}

/* Conditions and actions are in rules.c; they share this file's helpers through these. */

int sg_px_fail(px *x, const config_setting_t *s, const char *msg)
{
    return fail(x, s, "%s", msg);
}
int sg_px_string(px *x, const config_setting_t *s, char **out)
{
    return get_string(x, s, out);
}
int sg_px_bool(px *x, const config_setting_t *s, int *out)
{
    return get_bool(x, s, out);
}
int sg_px_int(px *x, const config_setting_t *s, long long *out)
{
    return get_int(x, s, out);
}
int sg_px_list(px *x, const config_setting_t *s, sg_plist *l)
{
    return get_list(x, s, l);
}
int sg_px_methods(px *x, const config_setting_t *s, int methods[4])
{
    return get_methods(x, s, methods);
}
int sg_px_choice(px *x, const config_setting_t *s, const char *const *names, int n, int *out)
{
    return get_choice(x, s, names, n, out);
}
bool sg_px_failed(const px *x)
{
    return x->failed;
}

sg_policy *sg_policy_parse(const char *text, const char *name, const char *const *internal_domains,
                           size_t ninternal, char *err, size_t errlen)
{
    px x = {.name = name ? name : "policy", .err = err, .errlen = errlen};
    if (strlen(text) > SG_POLICY_MAX_TEXT) {
        snprintf(err, errlen, "%s: the policy is larger than %u bytes", x.name, SG_POLICY_MAX_TEXT);
        return NULL;
    }
    sg_policy *p = calloc(1, sizeof *p);
    config_t cf;
    config_init(&cf);
    if (!p)
        goto fail;
    settings_unset(&p->global);
    p->internal.v = calloc(ninternal + 1, sizeof *p->internal.v);
    if (!p->internal.v)
        goto fail;
    for (size_t i = 0; i < ninternal; i++)
        if (!(p->internal.v[p->internal.n++] = strdup(internal_domains[i])))
            goto fail;
    if (config_read_string(&cf, text) != CONFIG_TRUE) {
        snprintf(err, errlen, "%s:%d: %s", x.name, config_error_line(&cf), config_error_text(&cf));
        x.failed = true;
        goto fail;
    }
    config_setting_t *root = config_root_setting(&cf);
    for (int i = 0; i < config_setting_length(root); i++) {
        config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *n = config_setting_name(s);
        int rc;
        if (strcmp(n, "settings") == 0)
            rc = parse_settings(&x, s, p);
        else if (strcmp(n, "domains") == 0)
            rc = parse_entries(&x, s, "domain", &p->domains, &p->ndomains);
        else if (strcmp(n, "users") == 0)
            rc = parse_entries(&x, s, "address", &p->users, &p->nusers);
        else if (strcmp(n, "groups") == 0)
            rc = parse_groups(&x, s, p);
        else if (strcmp(n, "rules") == 0)
            rc = sg_px_rules(&x, s, p);
        else
            rc = fail(&x, s, "unknown section '%s' (settings, domains, users, groups, rules)", n);
        if (rc < 0)
            goto fail;
    }
    if (!config_lookup(&cf, "rules")) {
        fail(&x, root, "the policy has no 'rules' list");
        goto fail;
    }
    static const char *const kw_default[SG_KW__COUNT] = {"[encrypt]", "[sign]", "{send_keys}",
                                                         "{send_keys_pgp}", "{send_keys_smime}", "[pdf]"};
    for (int k = 0; k < SG_KW__COUNT; k++)
        if (!p->keywords[k] && !(p->keywords[k] = strdup(kw_default[k])))
            goto fail;
    config_destroy(&cf);
    return p;
fail:
    if (!x.failed)
        snprintf(err, errlen, "%s: out of memory", x.name);
    config_destroy(&cf);
    sg_policy_free(p);
    return NULL;
}
