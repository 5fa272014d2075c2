/* rules.c - parses the rules list of a policy file: each rule's conditions ("if"), its action
 * chain ("then"), fallback, mixed-recipients mode and "continue". Owner: src/policy.
 * A chain is checked here so that evaluation never meets a chain that cannot run: nothing
 * after a final action (deliver, hold, return, delete), protection only before delivery. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/engine.h"
#include "policy/textpat.h"
#include "policy/parse_int.h"

#define FAILF(x, s, ...)                                                                                     \
    do {                                                                                                     \
        char m_[300];                                                                                        \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                                                \
        return sg_px_fail((x), (s), m_);                                                                     \
    } while (0)

static int compile(px *x, const config_setting_t *s, const char *text, regex_t *re)
{
    int rc = regcomp(re, text, REG_EXTENDED | REG_ICASE | REG_NOSUB);
    if (rc != 0) {
        char e[200];
        regerror(rc, re, e, sizeof e);
        FAILF(x, s, "bad regular expression \"%s\": %s", text, e);
    }
    return 0;
}

static int parse_header_cond(px *x, const config_setting_t *s, sg_pcond *c)
{
    /* header = { name = "X-Class"; value = "secret"; } or a list of such groups */
    int n = config_setting_is_group(s) ? 1 : config_setting_is_list(s) ? config_setting_length(s) : -1;
    if (n < 0)
        return sg_px_fail(x, s, "'header' must be { name = \"...\"; value = \"regex\"; } or a list of them");
    if (n > SG_POLICY_MAX_LIST)
        return sg_px_fail(x, s, "too many header conditions");
    c->headers = calloc((size_t)n + 1, sizeof *c->headers);
    if (!c->headers)
        return sg_px_fail(x, s, "out of memory");
    for (int i = 0; i < n; i++) {
        config_setting_t *g =
            config_setting_is_group(s) ? (config_setting_t *)s : config_setting_get_elem(s, (unsigned)i);
        if (!config_setting_is_group(g))
            return sg_px_fail(x, g, "each header condition must be { name = ...; value = ...; }");
        sg_phdr *h = &c->headers[c->nheaders++];
        for (int k = 0; k < config_setting_length(g); k++) {
            config_setting_t *m = config_setting_get_elem(g, (unsigned)k);
            const char *nm = config_setting_name(m);
            if (strcmp(nm, "name") == 0) {
                if (sg_px_string(x, m, &h->name) < 0)
                    return -1;
            } else if (strcmp(nm, "value") == 0) {
                if (sg_px_string(x, m, &h->re_text) < 0)
                    return -1;
                if (compile(x, m, h->re_text, &h->re) < 0) {
                    free(h->re_text);
                    h->re_text = NULL; /* nothing compiled to free */
                    return -1;
                }
            } else {
                FAILF(x, m, "unknown key '%s' in a header condition (name, value)", nm);
            }
        }
        if (!h->name || !*h->name)
            return sg_px_fail(x, g, "header condition without 'name'");
    }
    return 0;
}

/* A string or list of names, each one of count names, into a bit mask (bit i for name i). */
static int names_mask(px *x, const config_setting_t *s, const char *(*name)(int), int count, unsigned *mask)
{
    sg_plist l = {0};
    int rc = sg_px_list(x, s, &l);
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        int k;
        for (k = 0; k < count && strcmp(l.v[i], name(k)) != 0; k++)
            ;
        if (k == count) {
            char m[300];
            int n = snprintf(m, sizeof m, "'%s' must be one of", config_setting_name(s));
            for (int j = 0; j < count && n > 0 && (size_t)n < sizeof m; j++)
                n += snprintf(m + n, sizeof m - (size_t)n, "%s %s", j ? "," : ":", name(j));
            if (n > 0 && (size_t)n < sizeof m)
                snprintf(m + n, sizeof m - (size_t)n, " (not '%s')", l.v[i]);
            rc = sg_px_fail(x, s, m);
        }
        *mask |= 1u << k;
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i]);
    free(l.v);
    return rc;
}

static const char *keycond_name(int k)
{
    static const char *const names[] = {"any", "none", "smime", "pgp"};
    return names[k];
}

/* The words of decrypt's list: whom to tell (bits 0, 1), what to hold (SG_PHOLD_*). */
static const char *notify_name(int k)
{
    static const char *const names[] = {"sender", "recipient", "hold_embedded_ciphertext",
                                        "hold_unprotected_headers"};
    return names[k];
}

/* The AV verdicts the `scan` condition names; bit k is enum sg_av_verdict k + 1. */
static const char *scan_name(int k)
{
    static const char *const names[] = {"clean", "infected", "unscanned"};
    return names[k];
}

bool sg_prule_scans(const sg_prule *r)
{
    const sg_pcond *c = &r->c;
    return c->virus >= 0 || c->has_spam_score || c->scan || c->ntext || c->attachment_magic.n ||
           c->type_mismatch >= 0 || c->archive_member.n;
}

/* text: one PCRE2 pattern or a list of them. */
static int parse_text(px *x, const config_setting_t *s, sg_pcond *c)
{
    sg_plist l = {0};
    int rc = sg_px_list(x, s, &l);
    if (rc == 0 && !(c->text = calloc(l.n ? l.n : 1, sizeof *c->text)))
        rc = sg_px_fail(x, s, "out of memory");
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        char err[240], m[300];
        if (!(c->text[c->ntext] = sg_ptext_compile(l.v[i], err, sizeof err))) {
            snprintf(m, sizeof m, "text \"%.60s\": %.150s", l.v[i], err);
            rc = sg_px_fail(x, s, m);
        } else {
            c->ntext++;
        }
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i]);
    free(l.v);
    return rc;
}

static int parse_cond(px *x, const config_setting_t *g, sg_pcond *c)
{
    c->size_min = c->size_max = -1;
    c->encrypted = c->is_signed = c->virus = c->type_mismatch = -1;
    if (!config_setting_is_group(g))
        return sg_px_fail(x, g, "'if' must be a group { ... }");
    for (int i = 0; i < config_setting_length(g); i++) {
        config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *n = config_setting_name(s);
        int rc = 0;
        if (strcmp(n, "direction") == 0) {
            rc = names_mask(x, s, sg_policy_direction_name, SG_PDIR__COUNT, &c->directions);
        } else if (strcmp(n, "from") == 0) {
            rc = sg_px_list(x, s, &c->from);
        } else if (strcmp(n, "to") == 0) {
            rc = sg_px_list(x, s, &c->to);
        } else if (strcmp(n, "from_group") == 0) {
            rc = sg_px_list(x, s, &c->from_group);
        } else if (strcmp(n, "to_group") == 0) {
            rc = sg_px_list(x, s, &c->to_group);
        } else if (strcmp(n, "subject") == 0) {
            rc = sg_px_string(x, s, &c->subject_text);
            if (rc == 0 && (rc = compile(x, s, c->subject_text, &c->subject)) == 0)
                c->has_subject = true;
        } else if (strcmp(n, "header") == 0) {
            rc = parse_header_cond(x, s, c);
        } else if (strcmp(n, "keyword") == 0) {
            rc = names_mask(x, s, sg_policy_keyword_name, SG_KW__COUNT, &c->keywords);
        } else if (strcmp(n, "size_min") == 0) {
            rc = sg_px_int(x, s, &c->size_min);
        } else if (strcmp(n, "size_max") == 0) {
            rc = sg_px_int(x, s, &c->size_max);
        } else if (strcmp(n, "attachment_name") == 0) {
            rc = sg_px_list(x, s, &c->attachment_name);
        } else if (strcmp(n, "attachment_type") == 0) {
            rc = sg_px_list(x, s, &c->attachment_type);
        } else if (strcmp(n, "priority") == 0) {
            rc = sg_px_list(x, s, &c->priority);
        } else if (strcmp(n, "importance") == 0) {
            rc = sg_px_list(x, s, &c->importance);
        } else if (strcmp(n, "sensitivity") == 0) {
            rc = sg_px_list(x, s, &c->sensitivity);
        } else if (strcmp(n, "encrypted") == 0) {
            rc = sg_px_bool(x, s, &c->encrypted);
        } else if (strcmp(n, "signed") == 0) {
            rc = sg_px_bool(x, s, &c->is_signed);
        } else if (strcmp(n, "recipient_key") == 0) {
            rc = names_mask(x, s, keycond_name, 4, &c->rcpt_key);
        } else if (strcmp(n, "sender_key") == 0) {
            rc = names_mask(x, s, keycond_name, 4, &c->sender_key);
        } else if (strcmp(n, "virus") == 0) {
            rc = sg_px_bool(x, s, &c->virus);
        } else if (strcmp(n, "spam_score") == 0) {
            int t = config_setting_type(s);
            if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64 && t != CONFIG_TYPE_FLOAT)
                return sg_px_fail(x, s, "'spam_score' must be a number");
            c->spam_score = t == CONFIG_TYPE_FLOAT ? config_setting_get_float(s) : (double)config_setting_get_int64(s);
            c->has_spam_score = true;
        } else if (strcmp(n, "scan") == 0) {
            rc = names_mask(x, s, scan_name, 3, &c->scan);
        } else if (strcmp(n, "text") == 0) {
            rc = parse_text(x, s, c);
        } else if (strcmp(n, "attachment_magic") == 0) {
            rc = sg_px_list(x, s, &c->attachment_magic);
        } else if (strcmp(n, "type_mismatch") == 0) {
            rc = sg_px_bool(x, s, &c->type_mismatch);
        } else if (strcmp(n, "archive_member") == 0) {
            rc = sg_px_list(x, s, &c->archive_member);
        } else {
            FAILF(x, s, "unknown condition '%s'", n);
        }
        if (rc < 0)
            return -1;
    }
    if (c->size_min >= 0 && c->size_max >= 0 && c->size_min > c->size_max)
        return sg_px_fail(x, g, "size_min is larger than size_max: no message can match");
    return 0;
}

/* Action names as a chain element spells them; encrypt_sign expands to two actions. */
static int action_kind(const char *n)
{
    for (int k = 1; k < SG_ACT__COUNT; k++)
        if (strcmp(n, sg_policy_action_name(k)) == 0)
            return k;
    return 0;
}

static int add_action(px *x, const config_setting_t *s, sg_prule *r, int kind)
{
    if (r->nact >= SG_POLICY_MAX_ACTIONS)
        FAILF(x, s, "more than %d actions in one rule", SG_POLICY_MAX_ACTIONS);
    sg_paction *a = &r->act[r->nact++];
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->line = config_setting_source_line(s);
    return 0;
}

/* Actions whose argument is required text. */
static bool needs_arg(int k)
{
    return k == SG_ACT_ADD_HEADER || k == SG_ACT_REMOVE_HEADER || k == SG_ACT_ARCHIVE;
}

static int action_param(px *x, const config_setting_t *m, sg_paction *a)
{
    static const char *const sign_names[] = {NULL, "sender", "domain"};
    switch (a->kind) {
    case SG_ACT_ENCRYPT:
    case SG_ACT_ATTACH_KEYS:
        return sg_px_methods(x, m, a->methods);
    case SG_ACT_SIGN:
        return sg_px_choice(x, m, sign_names, 3, &a->sign);
    case SG_ACT_DECRYPT:
        return names_mask(x, m, notify_name, 4, &a->notify);
    case SG_ACT_ADD_HEADER:
    case SG_ACT_REMOVE_HEADER:
    case SG_ACT_ARCHIVE:
    case SG_ACT_NOTIFY_SENDER:
    case SG_ACT_ALERT_ADMIN:
    case SG_ACT_HOLD:
    case SG_ACT_RETURN:
    case SG_ACT_DELETE:
        if (sg_px_string(x, m, &a->arg) < 0)
            return -1;
        if (a->kind == SG_ACT_ADD_HEADER) {
            const char *colon = strchr(a->arg, ':');
            if (!colon || colon == a->arg || strpbrk(a->arg, "\r\n") ||
                strcspn(a->arg, " \t") < (size_t)(colon - a->arg))
                return sg_px_fail(x, m, "add_header must be \"Name: value\" on one line");
        }
        if (a->kind == SG_ACT_REMOVE_HEADER && (!*a->arg || strpbrk(a->arg, ": \t\r\n")))
            return sg_px_fail(x, m, "remove_header must be a field name");
        if (a->kind == SG_ACT_ARCHIVE && (!strchr(a->arg, '@') || strpbrk(a->arg, "<> \t\r\n")))
            return sg_px_fail(x, m, "archive must be an address");
        if (strpbrk(a->arg, "\r\n"))
            return sg_px_fail(x, m, "the text must be on one line");
        return 0;
    default: {
        char msg[200];
        snprintf(msg, sizeof msg, "'%s' takes no parameter; write it as a plain string",
                 sg_policy_action_name(a->kind));
        return sg_px_fail(x, m, msg);
    }
    }
}

static int parse_action(px *x, const config_setting_t *e, sg_prule *r)
{
    if (config_setting_type(e) == CONFIG_TYPE_STRING) {
        const char *n = config_setting_get_string(e);
        if (strcmp(n, "encrypt_sign") == 0)
            return add_action(x, e, r, SG_ACT_ENCRYPT) < 0 ? -1 : add_action(x, e, r, SG_ACT_SIGN);
        int k = action_kind(n);
        if (!k)
            FAILF(x, e, "unknown action '%s'", n);
        if (needs_arg(k))
            FAILF(x, e, "'%s' needs a value: { %s = \"...\"; }", n, n);
        return add_action(x, e, r, k);
    }
    if (!config_setting_is_group(e) || config_setting_length(e) != 1)
        return sg_px_fail(
            x, e, "an action is a name (\"deliver\") or one name with its value ({ archive = \"...\"; })");
    config_setting_t *m = config_setting_get_elem(e, 0);
    int k = action_kind(config_setting_name(m));
    if (!k)
        FAILF(x, m, "unknown action '%s'", config_setting_name(m));
    if (add_action(x, m, r, k) < 0)
        return -1;
    return action_param(x, m, &r->act[r->nact - 1]);
}

static bool is_final(int k)
{
    return k == SG_ACT_DELIVER || k == SG_ACT_HOLD || k == SG_ACT_RETURN || k == SG_ACT_DELETE;
}

/* A chain that cannot run as written is refused here, not discovered on live mail. */
static int check_chain(px *x, const config_setting_t *then, sg_prule *r)
{
    bool enc = false, sign = false, dec = false;
    for (size_t i = 0; i < r->nact; i++) {
        sg_paction *a = &r->act[i];
        if (is_final(a->kind) && i + 1 < r->nact) {
            char m[200];
            snprintf(m, sizeof m, "nothing can follow '%s' (line %d) in a chain",
                     sg_policy_action_name(a->kind), a->line);
            return sg_px_fail(x, then, m);
        }
        if ((a->kind == SG_ACT_ENCRYPT && enc) || (a->kind == SG_ACT_SIGN && sign) ||
            (a->kind == SG_ACT_DECRYPT && dec))
            return sg_px_fail(x, then, "an action of the chain is given twice");
        enc |= a->kind == SG_ACT_ENCRYPT;
        sign |= a->kind == SG_ACT_SIGN;
        dec |= a->kind == SG_ACT_DECRYPT;
    }
    if (dec && (enc || sign))
        return sg_px_fail(x, then, "one chain cannot both decrypt and protect; use two rules");
    if (r->nact == 0)
        return sg_px_fail(x, then, "'then' is empty");
    return 0;
}

/* A rule with continue = true adds its actions and lets later rules decide the end, so it has
 * no final action; any other rule without one delivers after its chain (docs/policy.md). */
static int finish_chain(px *x, const config_setting_t *then, sg_prule *r)
{
    bool final = is_final(r->act[r->nact - 1].kind);
    if (r->cont && final)
        return sg_px_fail(x, then,
                          "a rule with 'continue = true' cannot end in deliver, hold, return or delete");
    if (!r->cont && !final) {
        if (r->nact >= SG_POLICY_MAX_ACTIONS)
            return sg_px_fail(x, then, "too many actions");
        sg_paction *a = &r->act[r->nact++];
        memset(a, 0, sizeof *a);
        a->kind = SG_ACT_DELIVER;
        a->line = config_setting_source_line(then);
    }
    return 0;
}

static int parse_rule(px *x, const config_setting_t *g, sg_prule *r)
{
    static const char *const fb_names[] = {"hold", "return", "plain"};
    static const char *const mixed_names[] = {"restrictive", "liberal"};
    r->line = config_setting_source_line(g);
    r->fallback = r->mixed = -1;
    r->c.size_min = r->c.size_max = -1;
    r->c.encrypted = r->c.is_signed = r->c.virus = r->c.type_mismatch = -1;
    const config_setting_t *then = NULL;
    for (int i = 0; i < config_setting_length(g); i++) {
        config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *n = config_setting_name(s);
        int rc = 0;
        if (strcmp(n, "name") == 0) {
            rc = sg_px_string(x, s, &r->name);
        } else if (strcmp(n, "if") == 0) {
            rc = parse_cond(x, s, &r->c);
        } else if (strcmp(n, "then") == 0) {
            then = s;
            if (!config_setting_is_list(s) && !config_setting_is_array(s) &&
                config_setting_type(s) != CONFIG_TYPE_STRING)
                return sg_px_fail(x, s, "'then' must be a list of actions ( ... )");
            r->act = calloc(SG_POLICY_MAX_ACTIONS, sizeof *r->act);
            if (!r->act)
                return sg_px_fail(x, s, "out of memory");
            if (config_setting_type(s) == CONFIG_TYPE_STRING) {
                rc = parse_action(x, s, r);
            } else {
                for (int k = 0; rc == 0 && k < config_setting_length(s); k++)
                    rc = parse_action(x, config_setting_get_elem(s, (unsigned)k), r);
            }
            if (rc == 0)
                rc = check_chain(x, s, r);
        } else if (strcmp(n, "fallback") == 0) {
            rc = sg_px_choice(x, s, fb_names, 3, &r->fallback);
        } else if (strcmp(n, "mixed") == 0) {
            rc = sg_px_choice(x, s, mixed_names, 2, &r->mixed);
        } else if (strcmp(n, "continue") == 0) {
            int b;
            rc = sg_px_bool(x, s, &b);
            r->cont = b == 1;
        } else {
            char m[200];
            snprintf(m, sizeof m, "unknown key '%s' in a rule (name, if, then, fallback, mixed, continue)",
                     n);
            rc = sg_px_fail(x, s, m);
        }
        if (rc < 0)
            return -1;
    }
    if (!then)
        return sg_px_fail(x, g, "rule without 'then'");
    if (finish_chain(x, then, r) < 0)
        return -1;
    if (!r->name) {
        char n[32];
        snprintf(n, sizeof n, "line %d", r->line);
        if (!(r->name = strdup(n)))
            return sg_px_fail(x, g, "out of memory");
    }
    return 0;
}

static int check_groups(px *x, const config_setting_t *g, const sg_policy *p, const sg_plist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        size_t k;
        for (k = 0; k < p->ngroups && strcasecmp(p->groups[k].name, l->v[i]) != 0; k++)
            ;
        if (k == p->ngroups) {
            char m[200];
            snprintf(m, sizeof m, "unknown group '%s' (define it in 'groups' before 'rules')", l->v[i]);
            return sg_px_fail(x, g, m);
        }
    }
    return 0;
}

int sg_px_rules(px *x, const config_setting_t *l, sg_policy *p)
{
    if (!config_setting_is_list(l))
        return sg_px_fail(x, l, "'rules' must be a list ( { ... }, ... )");
    int n = config_setting_length(l);
    if (n > SG_POLICY_MAX_RULES)
        return sg_px_fail(x, l, "too many rules");
    p->rules = calloc((size_t)n + 1, sizeof *p->rules);
    if (!p->rules)
        return sg_px_fail(x, l, "out of memory");
    for (int i = 0; i < n; i++) {
        config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
        if (!config_setting_is_group(g))
            return sg_px_fail(x, g, "each rule must be a group { ... }");
        sg_prule *r = &p->rules[p->nrules++];
        if (parse_rule(x, g, r) < 0)
            return -1;
        if (check_groups(x, g, p, &r->c.from_group) < 0 || check_groups(x, g, p, &r->c.to_group) < 0)
            return -1;
        for (int k = 0; k + 1 < (int)p->nrules; k++)
            if (strcmp(p->rules[k].name, r->name) == 0) {
                char m[200];
                snprintf(m, sizeof m, "rule name '%s' used twice (first on line %d)", r->name,
                         p->rules[k].line);
                return sg_px_fail(x, g, m);
            }
    }
    return 0;
}
