/* model.c - the policy model's lookups: patterns, settings inheritance (global -> domain ->
 * user), locality and direction, groups, names, and freeing. Owner: src/policy. Pure code. */
#include "policy/policy.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/engine.h"
#include "policy/textpat.h"

static const char *const dir_names[SG_PDIR__COUNT] = {"outgoing", "incoming", "internal", "external"};
static const char *const act_names[SG_ACT__COUNT] = {
    "?",           "deliver",     "encrypt",       "sign",
    "decrypt",     "add_header",  "remove_header", "strip_keyword",
    "create_key",  "attach_keys", "archive",       "notify_sender",
    "alert_admin", "hold",        "return",        "delete"};
static const char *const fb_names[] = {"hold", "return", "plain"};
static const char *const kw_names[SG_KW__COUNT] = {"encrypt", "sign", "send_keys", "send_keys_pgp",
                                                   "send_keys_smime", "pdf"};

const char *sg_policy_direction_name(int d)
{
    return d >= 0 && d < SG_PDIR__COUNT ? dir_names[d] : "?";
}

const char *sg_policy_action_name(int kind)
{
    return kind > 0 && kind < SG_ACT__COUNT ? act_names[kind] : "?";
}

const char *sg_policy_fallback_name(int f)
{
    return f >= 0 && f <= SG_FB_PLAIN ? fb_names[f] : "?";
}

const char *sg_policy_keyword_name(int k)
{
    return k >= 0 && k < SG_KW__COUNT ? kw_names[k] : "?";
}

bool sg_policy_glob(const char *p, const char *s)
{
    /* Iterative matcher with one backtrack point: linear in practice, no recursion depth for
     * a hostile pattern to exploit. */
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*p == '*') {
            star = p++;
            resume = s;
        } else if (*p == '?' || (*p && tolower((unsigned char)*p) == tolower((unsigned char)*s))) {
            p++;
            s++;
        } else if (star) {
            p = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

const char *sg_policy_domain(const char *addr)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    return at ? at + 1 : "";
}

bool sg_policy_addr_match(const char *pattern, const char *addr)
{
    if (!pattern || !addr)
        return false;
    const char *at = strrchr(pattern, '@');
    if (at && at != pattern)
        return sg_policy_glob(pattern, addr);
    return sg_policy_glob(at ? at + 1 : pattern, sg_policy_domain(addr));
}

/* How specific a domain pattern is for a domain: -1 no match, else the pattern's length
 * (an exact name beats "*.example.org", a longer suffix beats a shorter one). */
static long domain_score(const char *pattern, const char *domain)
{
    if (!sg_policy_glob(pattern, domain))
        return -1;
    return (long)strlen(pattern) + (strchr(pattern, '*') ? 0 : 1000);
}

static void overlay(sg_psettings *dst, const sg_psettings *src)
{
    if (src->locality >= 0)
        dst->locality = src->locality;
    if (src->methods[0])
        memcpy(dst->methods, src->methods, sizeof dst->methods);
    if (src->sign)
        dst->sign = src->sign;
    if (src->create_keys >= 0)
        dst->create_keys = src->create_keys;
    if (src->fallback >= 0)
        dst->fallback = src->fallback;
    if (src->mixed >= 0)
        dst->mixed = src->mixed;
    if (src->notify_sender >= 0)
        dst->notify_sender = src->notify_sender;
}

void sg_policy_settings_for(const sg_policy *p, const char *addr, sg_psettings *out)
{
    /* Built-in values under the global level, so every field ends up set. */
    sg_psettings s = {.locality = SG_LOC_EXTERNAL,
                      .methods = {SG_METHOD_SMIME, SG_METHOD_PGP, 0},
                      .sign = SG_PSIGN_SENDER,
                      .create_keys = 1,
                      .fallback = SG_FB_HOLD,
                      .mixed = SG_MIXED_RESTRICTIVE,
                      .notify_sender = 1};
    const char *dom = sg_policy_domain(addr);
    for (size_t i = 0; i < p->internal.n; i++)
        if (sg_policy_glob(p->internal.v[i], dom))
            s.locality = SG_LOC_INTERNAL;
    overlay(&s, &p->global);
    const sg_pentry *best = NULL;
    long score = -1;
    for (size_t i = 0; i < p->ndomains; i++) {
        long sc = domain_score(p->domains[i].pattern, dom);
        if (sc > score) {
            score = sc;
            best = &p->domains[i];
        }
    }
    if (best)
        overlay(&s, &best->s);
    for (size_t i = 0; addr && *addr && i < p->nusers; i++)
        if (sg_policy_addr_match(p->users[i].pattern, addr)) {
            overlay(&s, &p->users[i].s);
            break; /* the first user entry that matches, in file order */
        }
    *out = s;
}

int sg_policy_locality(const sg_policy *p, const char *addr)
{
    if (!addr || !*addr)
        return SG_LOC_EXTERNAL; /* the null sender: bounces come from outside */
    sg_psettings s;
    sg_policy_settings_for(p, addr, &s);
    return s.locality;
}

int sg_policy_direction(const sg_policy *p, const char *sender, const char *rcpt)
{
    bool from_in = sg_policy_locality(p, sender) == SG_LOC_INTERNAL;
    bool to_in = sg_policy_locality(p, rcpt) == SG_LOC_INTERNAL;
    if (from_in)
        return to_in ? SG_PDIR_INTERNAL : SG_PDIR_OUTGOING;
    return to_in ? SG_PDIR_INCOMING : SG_PDIR_EXTERNAL;
}

bool sg_policy_in_group(const sg_policy *p, const char *group, const char *addr)
{
    for (size_t i = 0; i < p->ngroups; i++) {
        if (strcasecmp(p->groups[i].name, group) != 0)
            continue;
        for (size_t k = 0; k < p->groups[i].n; k++)
            if (sg_policy_addr_match(p->groups[i].members[k], addr))
                return true;
    }
    return false;
}

static void list_free(sg_plist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

static void cond_free(sg_pcond *c)
{
    list_free(&c->from);
    list_free(&c->to);
    list_free(&c->from_group);
    list_free(&c->to_group);
    list_free(&c->attachment_name);
    list_free(&c->attachment_type);
    list_free(&c->priority);
    list_free(&c->importance);
    list_free(&c->sensitivity);
    list_free(&c->attachment_magic);
    list_free(&c->archive_member);
    for (size_t i = 0; i < c->ntext; i++)
        sg_ptext_free(c->text[i]);
    free(c->text);
    if (c->has_subject)
        regfree(&c->subject);
    free(c->subject_text);
    for (size_t i = 0; i < c->nheaders; i++) {
        if (c->headers[i].re_text)
            regfree(&c->headers[i].re);
        free(c->headers[i].name);
        free(c->headers[i].re_text);
    }
    free(c->headers);
}

void sg_policy_free(sg_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->ndomains; i++)
        free(p->domains[i].pattern);
    free(p->domains);
    for (size_t i = 0; i < p->nusers; i++)
        free(p->users[i].pattern);
    free(p->users);
    for (size_t i = 0; i < p->ngroups; i++) {
        free(p->groups[i].name);
        for (size_t k = 0; k < p->groups[i].n; k++)
            free(p->groups[i].members[k]);
        free(p->groups[i].members);
    }
    free(p->groups);
    list_free(&p->internal);
    for (int k = 0; k < SG_KW__COUNT; k++)
        free(p->keywords[k]);
    free(p->admin);
    free(p->domain_addr);
    for (size_t i = 0; i < p->nrules; i++) {
        sg_prule *r = &p->rules[i];
        free(r->name);
        cond_free(&r->c);
        for (size_t a = 0; a < r->nact; a++)
            free(r->act[a].arg);
        free(r->act);
    }
    free(p->rules);
    free(p);
}
