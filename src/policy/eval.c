/* eval.c - evaluates the policy for each recipient and groups equal decisions (eval.h).
 * Owner: src/policy. Pure code: facts and key answers come from the caller.
 *
 * Fail closed: a protecting action that cannot be done (no key, no engine) never silently
 * becomes plain delivery. The rule's fallback decides: hold (the default), return, or plain
 * only where the rule (or the settings) say "plain"; the "liberal" mixed mode also lets such a
 * recipient have it unprotected, but only when another recipient of the same message and rule
 * does receive it protected. A key lookup error is not "no key": no fallback applies, the
 * whole evaluation fails (-1) and the caller keeps the message to try again. */
#include "policy/eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/engine.h"
#include "policy/content.h"
#include "policy/textpat.h"

const char *sg_pfacts_sender(const sg_pfacts *f)
{
    return f->from && *f->from ? f->from : f->env_from ? f->env_from : "";
}

static bool list_any(const sg_plist *l, const char *s)
{
    for (size_t i = 0; s && i < l->n; i++)
        if (sg_policy_glob(l->v[i], s))
            return true;
    return false;
}

static bool addr_any(const sg_plist *l, const char *a, const char *b)
{
    for (size_t i = 0; i < l->n; i++)
        if ((a && *a && sg_policy_addr_match(l->v[i], a)) || (b && *b && sg_policy_addr_match(l->v[i], b)))
            return true;
    return false;
}

static bool group_any(const sg_policy *p, const sg_plist *l, const char *a, const char *b)
{
    for (size_t i = 0; i < l->n; i++)
        if ((a && *a && sg_policy_in_group(p, l->v[i], a)) || (b && *b && sg_policy_in_group(p, l->v[i], b)))
            return true;
    return false;
}

static const char *header(const sg_pfacts *f, const char *name)
{
    for (size_t i = 0; i < f->nheaders; i++)
        if (f->headers[i].name && strcasecmp(f->headers[i].name, name) == 0)
            return f->headers[i].value ? f->headers[i].value : "";
    return NULL;
}

/* Priority: RFC 2156's Priority field, else the widespread X-Priority digit. */
static const char *priority(const sg_pfacts *f)
{
    const char *v = header(f, "Priority");
    if (v)
        return v;
    v = header(f, "X-Priority");
    if (!v)
        return NULL;
    while (*v == ' ' || *v == '\t')
        v++;
    return *v == '1' || *v == '2' ? "urgent" : *v == '4' || *v == '5' ? "non-urgent" : "normal";
}

static bool has_keyword(const sg_policy *p, const sg_pfacts *f, unsigned mask)
{
    for (int k = 0; k < SG_KW__COUNT; k++)
        if ((mask & (1u << k)) && f->subject && p->keywords[k] && strcasestr(f->subject, p->keywords[k]))
            return true;
    return false;
}

/* Which key material exists, as a mask of enum sg_keycond; -1 on a lookup error. */
static int key_mask(const sg_pkeys *k, const char *addr, bool sign)
{
    unsigned m = 0;
    static const int methods[] = {SG_METHOD_SMIME, SG_METHOD_PGP};
    for (size_t i = 0; i < 2; i++) {
        if (!k || (k->have_engine && !k->have_engine(k->ctx, methods[i])))
            continue;
        int (*fn)(void *, const char *, int) = sign ? k->can_sign_as : k->can_encrypt_to;
        int r = fn ? fn(k->ctx, addr, methods[i]) : 0;
        if (r < 0)
            return -1;
        if (r == 1)
            m |= methods[i] == SG_METHOD_SMIME ? SG_KC_SMIME : SG_KC_PGP;
    }
    return (int)(m ? m | SG_KC_ANY : SG_KC_NONE);
}

int sg_policy_rule_matches(const sg_policy *p, const sg_prule *r, const sg_pfacts *f, const sg_pkeys *k,
                           const char *rcpt, int direction, const char **why)
{
    const sg_pcond *c = &r->c;
    const char *from = f->from, *env = f->env_from;
    *why = NULL;
#define FAIL_IF(cond, name)                                                                                  \
    if (cond) {                                                                                              \
        *why = name;                                                                                         \
        return 0;                                                                                            \
    }
    FAIL_IF(c->directions && !(c->directions & (1u << direction)), "direction");
    FAIL_IF(c->from.n && !addr_any(&c->from, env, from), "from");
    FAIL_IF(c->to.n && !addr_any(&c->to, rcpt, NULL), "to");
    FAIL_IF(c->from_group.n && !group_any(p, &c->from_group, env, from), "from_group");
    FAIL_IF(c->to_group.n && !group_any(p, &c->to_group, rcpt, NULL), "to_group");
    FAIL_IF(c->has_subject && regexec(&c->subject, f->subject ? f->subject : "", 0, NULL, 0) != 0, "subject");
    if (c->nheaders) {
        bool any = false;
        for (size_t i = 0; i < c->nheaders && !any; i++)
            for (size_t h = 0; h < f->nheaders && !any; h++)
                any = f->headers[h].name && strcasecmp(f->headers[h].name, c->headers[i].name) == 0 &&
                      regexec(&c->headers[i].re, f->headers[h].value ? f->headers[h].value : "", 0, NULL,
                              0) == 0;
        FAIL_IF(!any, "header");
    }
    FAIL_IF(c->keywords && !has_keyword(p, f, c->keywords), "keyword");
    FAIL_IF(c->size_min >= 0 && f->size < (size_t)c->size_min, "size_min");
    FAIL_IF(c->size_max >= 0 && f->size > (size_t)c->size_max, "size_max");
    if (c->attachment_name.n || c->attachment_type.n) {
        bool name = !c->attachment_name.n, type = !c->attachment_type.n;
        for (size_t i = 0; i < f->nattach; i++) {
            name = name || list_any(&c->attachment_name, f->attach[i].name);
            type = type || list_any(&c->attachment_type, f->attach[i].type);
        }
        FAIL_IF(!name, "attachment_name");
        FAIL_IF(!type, "attachment_type");
    }
    FAIL_IF(c->priority.n && !list_any(&c->priority, priority(f)), "priority");
    FAIL_IF(c->importance.n && !list_any(&c->importance, header(f, "Importance")), "importance");
    FAIL_IF(c->sensitivity.n && !list_any(&c->sensitivity, header(f, "Sensitivity")), "sensitivity");
    FAIL_IF(c->encrypted >= 0 && c->encrypted != (int)f->encrypted, "encrypted");
    FAIL_IF(c->is_signed >= 0 && c->is_signed != (int)f->is_signed, "signed");
    if (c->rcpt_key) {
        int m = key_mask(k, rcpt, false);
        if (m < 0)
            return -1;
        FAIL_IF(!(c->rcpt_key & (unsigned)m), "recipient_key");
    }
    if (c->sender_key) {
        int m = key_mask(k, sg_pfacts_sender(f), true);
        if (m < 0)
            return -1;
        FAIL_IF(!(c->sender_key & (unsigned)m), "sender_key");
    }
    if (sg_prule_scans(r)) {
        const sg_pscan *s = f->scan;
        FAIL_IF(!s, "not scanned yet");
        FAIL_IF(c->virus >= 0 && c->virus != (s->av == SG_AV_INFECTED), "virus");
        FAIL_IF(c->has_spam_score && !(s->have_score && s->score >= c->spam_score), "spam_score");
        FAIL_IF(c->scan && !(s->av > 0 && (c->scan & (1u << (s->av - 1)))), "scan");
        const sg_pcontent *ct = s->content;
        if (c->ntext) {
            bool any = false;
            for (size_t i = 0; ct && i < c->ntext && !any; i++)
                for (size_t k = 0; k < ct->ntexts && !any; k++)
                    any = sg_ptext_match(c->text[i], ct->texts[k], ct->text_lens[k]) == 1;
            FAIL_IF(!any, "text");
        }
        if (c->attachment_magic.n) {
            bool any = false;
            for (size_t i = 0; ct && i < ct->ntypes && !any; i++)
                any = list_any(&c->attachment_magic, ct->types[i]);
            FAIL_IF(!any, "attachment_magic");
        }
        FAIL_IF(c->type_mismatch >= 0 && c->type_mismatch != (int)(ct && ct->mismatch), "type_mismatch");
        if (c->archive_member.n) {
            bool any = false;
            for (size_t i = 0; ct && i < ct->nmembers && !any; i++)
                any = list_any(&c->archive_member, ct->members[i]);
            FAIL_IF(!any, "archive_member");
        }
    }
#undef FAIL_IF
    return 1;
}

static bool engine_ok(const sg_pkeys *k, int m)
{
    return k && (!k->have_engine || k->have_engine(k->ctx, m));
}

/* The encryption method for rcpt: the first of the preference with a usable key. 1 found,
 * 0 none, -1 lookup error. */
static int pick_encrypt(const sg_pkeys *k, const int *methods, const char *rcpt, int *out)
{
    for (size_t i = 0; i < 3 && methods[i]; i++) {
        if (!engine_ok(k, methods[i]) || !k->can_encrypt_to)
            continue;
        int r = k->can_encrypt_to(k->ctx, rcpt, methods[i]);
        if (r != 0) {
            *out = methods[i];
            return r;
        }
    }
    return 0;
}

/* The signing method when nothing is encrypted: the first of the preference the sender has a
 * key for, else the first whose engine can sign without one (creates a key, or signs with the
 * domain identity; S/MIME can only with a local CA). */
static int pick_sign(const sg_pkeys *k, const int *methods, const char *sender, int *out)
{
    int first = 0;
    for (size_t i = 0; i < 3 && methods[i]; i++) {
        if (!engine_ok(k, methods[i]))
            continue;
        int r = k->can_sign_as ? k->can_sign_as(k->ctx, sender, methods[i]) : 0;
        if (r < 0)
            return -1;
        if (r == 1) {
            *out = methods[i];
            return 1;
        }
        int m = k->can_make_signer ? k->can_make_signer(k->ctx, methods[i]) : 1;
        if (m < 0)
            return -1;
        if (!first && m == 1)
            first = methods[i];
    }
    *out = first;
    return first ? 1 : 0;
}

/* Builds dec's chain from the accumulated rule chains and resolves protection. Returns 0,
 * 1 when protection is infeasible (dec->reason says why: the fallback decides), or -1 on a key
 * lookup error (which no fallback may turn into delivery). */
static int resolve(const sg_policy *p, const sg_pfacts *f, const sg_pkeys *k, const char *rcpt,
                   sg_pdecision *d)
{
    sg_psettings rs, ss;
    const char *sender = sg_pfacts_sender(f);
    sg_policy_settings_for(p, rcpt, &rs);
    sg_policy_settings_for(p, sender, &ss);
    const sg_paction *enc = NULL, *sign = NULL;
    bool create = false, opened_first = false; /* a decrypt before the encrypt (the sandwich) */
    for (size_t i = 0; i < d->nchain; i++) {
        int kind = d->chain[i]->kind;
        if (kind == SG_ACT_DECRYPT && !enc)
            opened_first = true;
        if (kind == SG_ACT_ENCRYPT)
            enc = d->chain[i];
        else if (kind == SG_ACT_SIGN)
            sign = d->chain[i];
        else if (kind == SG_ACT_CREATE_KEY)
            create = true;
        else if (kind == SG_ACT_NOTIFY_SENDER)
            d->notify = true;
        else if (kind == SG_ACT_HOLD)
            d->outcome = SG_OUT_HOLD;
        else if (kind == SG_ACT_RETURN)
            d->outcome = SG_OUT_RETURN;
        else if (kind == SG_ACT_DELETE)
            d->outcome = SG_OUT_DELETE;
        if (kind == SG_ACT_HOLD || kind == SG_ACT_RETURN || kind == SG_ACT_DELETE) {
            snprintf(d->reason, sizeof d->reason, "%s", d->chain[i]->arg ? d->chain[i]->arg : "by policy");
            d->notify = d->notify || kind != SG_ACT_HOLD || ss.notify_sender;
        }
    }
    bool sender_internal = sg_policy_locality(p, f->env_from) == SG_LOC_INTERNAL;
    d->create_key = sender_internal && (create || ss.create_keys == 1);
    int infeasible = 0;
    if (enc && f->encrypted && !opened_first) {
        snprintf(d->reason, sizeof d->reason, "already encrypted: not encrypted again");
    } else if (enc) {
        int m = 0, r = pick_encrypt(k, enc->methods[0] ? enc->methods : rs.methods, rcpt, &m);
        if (r < 0)
            return -1;
        if (r == 1) {
            d->encrypt = true;
            d->method = m;
        } else {
            snprintf(d->reason, sizeof d->reason, "no usable key or certificate for %s", rcpt);
            infeasible = 1;
        }
    }
    if (sign) {
        d->sign = sign->sign ? sign->sign : ss.sign;
        if (!d->method) {
            int m = 0, r = pick_sign(k, enc && enc->methods[0] ? enc->methods : rs.methods, sender, &m);
            if (r < 0)
                return -1;
            if (r == 1) {
                d->method = m;
            } else if (!infeasible) {
                snprintf(d->reason, sizeof d->reason, "no engine can sign for %s", sender);
                infeasible = 1;
            }
        }
    }
    return infeasible;
}

/* Drops an action from the chain (protection the fallback let go). */
static void drop(sg_pdecision *d, int kind)
{
    size_t o = 0;
    for (size_t i = 0; i < d->nchain; i++)
        if (d->chain[i]->kind != kind)
            d->chain[o++] = d->chain[i];
    d->nchain = o;
}

static void make_key(const sg_pdecision *d)
{
    sg_pdecision *w = (sg_pdecision *)d;
    /* The pdf method makes one message per recipient (each pair has its own password): the
     * recipient leads the key, so no cut of a long key can merge two of them. */
    bool own = d->method == SG_METHOD_PDF && d->encrypt;
    int n = snprintf(w->key, sizeof w->key, "%s%so%d r%d m%d e%d s%d c%d f%d|", own ? d->rcpt : "", own ? "|" : "",
                     d->outcome, d->rule, d->method, d->encrypt, d->sign, d->create_key, d->fallback);
    for (size_t i = 0; i < d->nchain && n > 0 && (size_t)n < sizeof w->key; i++)
        n += snprintf(w->key + n, sizeof w->key - (size_t)n, "%p,", (const void *)d->chain[i]);
    /* An explicit hold/return/delete states one reason for everyone it catches; a fallback's
     * reason names the recipient, which must not split the group. */
    if (d->outcome != SG_OUT_DELIVER && !d->fallback && n > 0 && (size_t)n < sizeof w->key)
        snprintf(w->key + n, sizeof w->key - (size_t)n, "|%s", d->reason);
}

static int eval_one(const sg_policy *p, const sg_pfacts *f, const sg_pkeys *k, const char *rcpt,
                    sg_pdecision *d)
{
    memset(d, 0, sizeof *d);
    d->rcpt = rcpt;
    d->rule = -1;
    d->direction = sg_policy_direction(p, f->env_from, rcpt);
    for (size_t i = 0; i < p->nrules; i++) {
        const sg_prule *r = &p->rules[i];
        const char *why;
        int m = sg_policy_rule_matches(p, r, f, k, rcpt, d->direction, &why);
        if (m < 0)
            return -1;
        if (!m)
            continue;
        if (d->nmatched < SG_PMAX_MATCHED)
            d->matched[d->nmatched++] = (int)i;
        for (size_t a = 0; a < r->nact && d->nchain < sizeof d->chain / sizeof d->chain[0]; a++)
            d->chain[d->nchain++] = &r->act[a];
        d->rule = (int)i;
        if (!r->cont)
            break;
    }
    /* No rule decided: nothing matched, or only rules with continue = true, whose chains have
     * no final action. docs/policy.md: the message is delivered (unchanged, apart from what
     * those rules added). Without a final action the chain would send nothing and the message
     * accepted with 250 would be gone. */
    static const sg_paction implicit_deliver = {.kind = SG_ACT_DELIVER};
    int last = d->nchain ? d->chain[d->nchain - 1]->kind : -1;
    if (last != SG_ACT_DELIVER && last != SG_ACT_HOLD && last != SG_ACT_RETURN && last != SG_ACT_DELETE) {
        if (d->nchain >= sizeof d->chain / sizeof d->chain[0])
            return -1;
        d->chain[d->nchain++] = &implicit_deliver;
    }
    return 0;
}

int sg_policy_eval(const sg_policy *p, const sg_pfacts *f, const sg_pkeys *k, const char *const *rcpts,
                   size_t nrcpt, sg_pdecision *dec)
{
    int *bad = calloc(nrcpt ? nrcpt : 1, sizeof *bad);
    if (!bad)
        return -1;
    for (size_t i = 0; i < nrcpt; i++) {
        if (eval_one(p, f, k, rcpts[i], &dec[i]) < 0 || (bad[i] = resolve(p, f, k, rcpts[i], &dec[i])) < 0) {
            free(bad);
            return -1;
        }
    }
    const char *sender = sg_pfacts_sender(f);
    for (size_t i = 0; i < nrcpt; i++) {
        sg_pdecision *d = &dec[i];
        if (bad[i] && d->outcome == SG_OUT_DELIVER) {
            const sg_prule *r = d->rule >= 0 ? &p->rules[d->rule] : NULL;
            sg_psettings ss;
            sg_policy_settings_for(p, d->direction == SG_PDIR_INCOMING ? d->rcpt : sender, &ss);
            int fb = r && r->fallback >= 0 ? r->fallback : ss.fallback;
            int mixed = r && r->mixed >= 0 ? r->mixed : ss.mixed;
            bool peer_ok = false; /* another recipient of the same rule does get it protected */
            for (size_t j = 0; j < nrcpt && !peer_ok; j++)
                peer_ok = j != i && !bad[j] && dec[j].rule == d->rule && dec[j].outcome == SG_OUT_DELIVER;
            d->fallback = true;
            if (fb == SG_FB_PLAIN || (mixed == SG_MIXED_LIBERAL && peer_ok)) {
                size_t l = strlen(d->reason);
                if (l + 1 < sizeof d->reason)
                    snprintf(d->reason + l, sizeof d->reason - l, "; delivered %s (%s)",
                             d->method ? "signed, not encrypted" : "unprotected",
                             fb == SG_FB_PLAIN ? "fallback plain" : "mixed liberal");
                drop(d, SG_ACT_ENCRYPT);
                if (!d->method) {
                    drop(d, SG_ACT_SIGN);
                    d->sign = 0;
                }
            } else {
                /* What still runs for a message that is not delivered: copies and notices. */
                size_t o = 0;
                for (size_t a = 0; a < d->nchain; a++) {
                    int kind = d->chain[a]->kind;
                    if (kind == SG_ACT_ARCHIVE || kind == SG_ACT_ALERT_ADMIN || kind == SG_ACT_NOTIFY_SENDER)
                        d->chain[o++] = d->chain[a];
                }
                d->nchain = o;
                d->outcome = fb == SG_FB_RETURN ? SG_OUT_RETURN : SG_OUT_HOLD;
                d->notify = d->outcome == SG_OUT_RETURN || ss.notify_sender;
                d->encrypt = false;
                d->method = 0;
                d->sign = 0;
            }
        }
        if (d->outcome != SG_OUT_DELIVER) {
            /* Nothing is protected or delivered for this recipient: only actions that make
             * sense for a message that stays (archive copy, admin alert) keep their place. */
            d->encrypt = false;
            d->method = 0;
            d->sign = 0;
            d->create_key = false;
        }
        if (!d->encrypt && !d->sign)
            d->create_key = false;
        make_key(d);
    }
    free(bad);
    return 0;
}

size_t sg_policy_group(const sg_pdecision *dec, size_t n, size_t *group)
{
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < i && strcmp(dec[j].key, dec[i].key) != 0; j++)
            ;
        group[i] = j < i ? group[j] : ng++;
    }
    return ng;
}
