/* transform_policy.c - the policy transform (transform_policy.h): the policy in force and its
 * reload, then per message the decisions, the groups, holds and notices; a group's chain runs
 * in policy_chain.c, outputs are made in policy_out.c. Owner: src/policy.
 * SECURITY: runs in cryptd. It decides and orders; the engines sign, encrypt and decrypt.
 * Rules kept here: a key lookup error is never "no key": no fallback applies, the whole
 * message is deferred (cryptd keeps it and tries again) and the administrator alerted; a group
 * whose chain demanded protection is never emitted unprotected when the engine fails (the
 * group is held whatever the fallback says, the sender told, the administrator alerted); a
 * held group keeps the original bytes in hold/ (nothing is lost in any branch); sealgate's
 * stamp fields arriving from outside are removed before internal recipients see the message;
 * notices go out with MAIL FROM <> so they can never cause a loop of bounces, and are never
 * sent for a message from the null sender. */
#include "policy/transform_policy.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/policy_run.h"
#include "lib/log.h"
#include "mime/mime.h"
#include "policy/engkeys.h"
#include "policy/explain.h"
#include "policy/facts.h"
#include "policy/pstore.h"

/* The policy in force, shared by the workers; a reload swaps it, the last user frees it. */
typedef struct pol {
    sg_policy *p;
    long long rev;
    int64_t users_gen; /* the users generation its store groups were read at */
    int refs;
} pol;

static struct {
    const sg_engine_env *env;
    pthread_mutex_t mu; /* guards cur and seen */
    pol *cur;
    int64_t seen;       /* the policy generation of the last look at the revisions, good or not */
    int64_t seen_users; /* the users generation then: the policy's store groups were read at it */
} T = {.mu = PTHREAD_MUTEX_INITIALIZER};

static pol *acquire(void)
{
    pthread_mutex_lock(&T.mu);
    pol *p = T.cur;
    p->refs++;
    pthread_mutex_unlock(&T.mu);
    return p;
}

static void release(pol *p)
{
    pthread_mutex_lock(&T.mu);
    int left = --p->refs;
    pthread_mutex_unlock(&T.mu);
    if (left == 0) {
        sg_policy_free(p->p);
        free(p);
    }
}

static const char *const *internal(void)
{
    return (const char *const *)T.env->cfg->internal_domains.v;
}

int sg_transform_policy_reload(void)
{
    /* The store's generations say whether any revision was added, or any user, alias, group
     * or membership changed, since the last look (by any process); only then is the policy
     * read again (with its store groups, ugroups.c). */
    int64_t gen, ugen = 0;
    pthread_mutex_lock(T.env->lock);
    int g = sg_store_generation(T.env->st, SG_GEN_POLICY, &gen);
    if (g == 0)
        g = sg_store_generation(T.env->st, SG_GEN_USERS, &ugen);
    pthread_mutex_unlock(T.env->lock);
    if (g < 0) {
        sg_error(NULL, "event=policy-reload-failed error=\"cannot read the store\" action=keeping-policy");
        return -1;
    }
    pthread_mutex_lock(&T.mu);
    bool same = T.cur && gen == T.seen && ugen == T.seen_users;
    pthread_mutex_unlock(&T.mu);
    if (same)
        return 0;
    char broken[600];
    long long rev, broken_rev;
    pthread_mutex_lock(T.env->lock);
    sg_policy *p = sg_pstore_active(T.env->st, internal(), T.env->cfg->internal_domains.n, &rev, &broken_rev,
                                    broken, sizeof broken);
    pthread_mutex_unlock(T.env->lock);
    pthread_mutex_lock(&T.mu);
    T.seen = gen;
    T.seen_users = ugen;
    pthread_mutex_unlock(&T.mu);
    if (broken_rev)
        sg_error(NULL, "event=policy-refused rev=%lld error=\"%s\" action=keeping-policy", broken_rev,
                 broken);
    if (!p) {
        if (!broken_rev)
            sg_error(NULL, "event=policy-reload-failed error=\"%s\" action=keeping-policy", broken);
        return -1;
    }
    pthread_mutex_lock(&T.mu);
    pol *old = T.cur;
    if (old && old->rev == rev && ugen == old->users_gen) { /* a broken newer revision: the one in force stays */
        pthread_mutex_unlock(&T.mu);
        sg_policy_free(p);
        return -1;
    }
    pol *n = calloc(1, sizeof *n);
    if (!n) {
        pthread_mutex_unlock(&T.mu);
        sg_policy_free(p);
        return -1;
    }
    *n = (pol){.p = p, .rev = rev, .users_gen = ugen, .refs = 1};
    T.cur = n;
    pthread_mutex_unlock(&T.mu);
    if (old)
        release(old);
    sg_info(NULL, "event=policy-loaded rev=%lld rules=%zu%s", rev, p->nrules, rev ? "" : " source=default");
    return 1;
}

int sg_transform_policy_init(const sg_engine_env *env)
{
    sg_mime_init();
    T.env = env;
    for (size_t i = 0; sg_engines[i]; i++)
        if (sg_engines[i]->init && sg_engines[i]->init(env) < 0) {
            sg_error(NULL, "event=engine-init-failed engine=%s", sg_engines[i]->name);
            return -1;
        }
    sg_transform_policy_reload();
    return T.cur ? 0 : -1;
}

void sg_transform_policy_done(void)
{
    if (T.cur)
        release(T.cur);
    T.cur = NULL;
}

/* ---- one message ---- */

static void note(sg_notice_item *list, size_t *n, size_t max, const char *rcpt, const char *reason)
{
    if (*n < max)
        list[(*n)++] = (sg_notice_item){.rcpt = rcpt, .reason = reason};
}

#define NOTE(r, kind, rcpt, why)                                                                             \
    note((r)->kind, &(r)->n##kind, sizeof(r)->kind / sizeof(r)->kind[0], rcpt, why)

/* A group's decision and its direction, for the notary log (transform.h). */
static void note_decision(sg_transform_result *res, const char *rule, int direction, const char *desc)
{
    const char *dir = sg_policy_direction_name(direction);
    sg_transform_note(res->decisions, sizeof res->decisions, "%s|%s|%s", rule, dir, desc);
    size_t n = strlen(dir);
    for (const char *p = res->direction; *p; p += strcspn(p, ","), p += *p == ',')
        if (strncmp(p, dir, n) == 0 && (p[n] == ',' || !p[n]))
            return;
    size_t l = strlen(res->direction);
    snprintf(res->direction + l, sizeof res->direction - l, "%s%s", l ? "," : "", dir);
}

static int apply_group(sg_prun *r, sg_pdecision *dec, const size_t *group, size_t g)
{
    sg_pdecision *d = NULL;
    size_t n = 0;
    for (size_t i = 0; i < r->in->nrcpt; i++)
        if (group[i] == g) {
            d = d ? d : &dec[i];
            n++;
        }
    char desc[400], err[sizeof d->reason] = "";
    sg_policy_describe(d, desc, sizeof desc);
    const char *rule = d->rule >= 0 ? r->p->rules[d->rule].name : "(none)";
    sg_info(r->in->id, "event=policy group=%zu rcpts=%zu rule=\"%s\" decision=\"%s\"", g, n, rule,
            SG_LOG_STR(desc));
    note_decision(r->res, rule, d->direction, desc);
    if (d->outcome == SG_OUT_DELIVER) {
        size_t mark = r->res->nout, marked = r->narchived;
        unsigned done = r->res->done; /* a chain rolled back did nothing, for the metrics too */
        r->undec_notify = 0;
        if (sg_prun_chain(r, d, group, g, err, sizeof err) == 0)
            return 0;
        if (r->scan_defer) /* a scanner failed: the whole message waits (the caller defers it) */
            return 1;
        /* Fail closed: nothing of this group's chain goes out (not half of a split group, not
         * an archive copy of a message that was not sent), the message is kept for its
         * recipients and the sender is told. */
        sg_prun_rollback(r, mark);
        r->narchived = marked;
        r->res->done = done;
        /* An engine error is held whatever the rule's fallback says (never returned, never
         * plain), and the administrator, who can release or delete it, is alerted. */
        sg_error(r->in->id, "event=policy-action-failed group=%zu error=\"%s\" action=hold", g,
                 SG_LOG_STR(err));
        snprintf(d->reason, sizeof d->reason, "%s", err);
        d->outcome = SG_OUT_HOLD;
        d->notify = true;
        for (size_t i = 0; i < r->in->nrcpt; i++)
            if (group[i] == g && &dec[i] != d)
                snprintf(dec[i].reason, sizeof dec[i].reason, "%s", err);
        char admin[340];
        if (sg_prun_notice(r, SG_NOTICE_ALERT, sg_prun_admin(r, admin, sizeof admin), err, NULL, 0) < 0)
            return -1;
        if (d->direction == SG_PDIR_INCOMING) {
            /* Incoming mail held (e.g. EFAIL: no integrity protection): no notice to the
             * outside sender, which may be forged (backscatter) and would learn what the
             * gateway does with its crafted message. */
            for (size_t i = 0; i < r->in->nrcpt; i++)
                if (group[i] == g)
                    dec[i].notify = false;
            /* ... and whom the rule's decrypt names, by its explicit choice. */
            if (r->undec_notify &&
                sg_prun_tell_undecryptable(r, r->undec_notify, group, g, err,
                                           "It was not delivered; it is kept in quarantine.") < 0)
                return -1;
        }
    } else if (sg_prun_side_effects(r, d) < 0) {
        return -1;
    }
    if (d->outcome == SG_OUT_RETURN && !*r->in->from) {
        /* Returned to nobody would be lost: a message from <> is held instead. */
        d->outcome = SG_OUT_HOLD;
        char why[sizeof d->reason];
        snprintf(why, sizeof why, "not returned to the null sender: %.150s", d->reason);
        memcpy(d->reason, why, sizeof why);
    }
    for (size_t i = 0; i < r->in->nrcpt; i++) {
        if (group[i] != g || !dec[i].notify)
            continue;
        const char *rc = r->in->rcpt[i].addr, *why = dec[i].reason;
        if (d->outcome == SG_OUT_HOLD)
            NOTE(r, held, rc, why);
        else if (d->outcome == SG_OUT_RETURN)
            NOTE(r, returned, rc, why);
        else if (d->outcome == SG_OUT_DELETE)
            NOTE(r, deleted, rc, why);
    }
    r->res->fates |= d->outcome == SG_OUT_RETURN ? SG_FATE_RETURNED : d->outcome == SG_OUT_DELETE ? SG_FATE_DELETED : 0;
    if (d->outcome == SG_OUT_HOLD)
        return sg_prun_hold(r, group, g, d->reason);
    return 0; /* returned and deleted recipients get nothing; the notice carries the original */
}

/* Nothing to do for anyone: cryptd moves the input on by rename. */
static bool identity(const sg_prun *r, const sg_pdecision *dec, size_t ng)
{
    if (T.env->cfg->scan.enabled) /* every message goes through the scanning stage */
        return false;
    /* The pdf reply portal's stamp is set or removed in the chain (policy_chain.c). */
    if (r->in->pdf_reply || sg_mime_has_origin(r->data, r->len))
        return false;
    if (ng != 1 || dec[0].outcome != SG_OUT_DELIVER || dec[0].nchain != 1 ||
        dec[0].chain[0]->kind != SG_ACT_DELIVER)
        return false;
    return dec[0].direction == SG_PDIR_OUTGOING || dec[0].direction == SG_PDIR_EXTERNAL;
}

/* A key lookup failed (engine.h: -1, a store error): nothing is decided for anyone, whatever
 * the fallbacks say. cryptd keeps the message and tries again (res->defer, it logs the error);
 * the administrator gets an alert, at most one per ALERT_EVERY seconds while errors go on. */
#define ALERT_EVERY 600

static int defer_all(sg_prun *r, const char *why, int kind)
{
    sg_transform_result_free(r->res);
    r->res->defer = kind;
    snprintf(r->res->reason, sizeof r->res->reason, "%s", why);
    time_t now = time(NULL);
    pthread_mutex_lock(&T.mu);
    static time_t alerted;
    bool alert = !alerted || now - alerted >= ALERT_EVERY;
    if (alert)
        alerted = now;
    pthread_mutex_unlock(&T.mu);
    char admin[340];
    return alert ? sg_prun_notice(r, SG_NOTICE_ALERT, sg_prun_admin(r, admin, sizeof admin), why, NULL, 0) : 0;
}

/* A key lookup did not finish (docs/discovery.md): the message waits for its retry like any
 * deferred one. No alert: an unreachable server abroad is not the administrator's fault, and
 * the retries are logged; the message is never sent without the key that may exist. */
static int defer_discovery(sg_prun *r, const char *why)
{
    sg_transform_result_free(r->res);
    r->res->defer = 1;
    snprintf(r->res->reason, sizeof r->res->reason, "%.250s", why);
    sg_warn(r->in->id, "event=policy decision=defer reason=\"%s\"", why);
    return 0;
}

int sg_transform_policy(const sg_envelope *in, const char *data, size_t len, sg_transform_result *res)
{
    memset(res, 0, sizeof *res);
    res->policy_rev = -1;
    if (in->nrcpt == 0)
        return sg_transform_identity(in, data, len, res);
    pol *pp = acquire();
    sg_pfacts_holder fh;
    const char **rcpts = calloc(in->nrcpt, sizeof *rcpts);
    sg_pdecision *dec = calloc(in->nrcpt, sizeof *dec);
    size_t *group = calloc(in->nrcpt, sizeof *group);
    sg_prun *r = calloc(1, sizeof *r);
    int rc = -1;
    if (sg_pfacts_from_message(&fh, in->from, data, len) < 0 || !rcpts || !dec || !group || !r)
        goto out;
    for (size_t i = 0; i < in->nrcpt; i++)
        rcpts[i] = in->rcpt[i].addr;
    sg_pkeys k;
    sg_pdiscovery disc;
    sg_policy_discovering_keys(&k, &disc, T.env);
    *r = (sg_prun){.env = T.env, .in = in, .data = data, .len = len, .p = pp->p, .f = &fh.f, .res = res};
    if (sg_policy_eval(pp->p, &fh.f, &k, rcpts, in->nrcpt, dec) < 0) {
        rc = disc.err[0] ? defer_discovery(r, disc.err)
                         : defer_all(r, "a key lookup failed (store error): the message is kept and tried again", 1);
        goto out;
    }
    size_t ng = sg_policy_group(dec, in->nrcpt, group);
    if (identity(r, dec, ng)) {
        const char *rule = dec[0].rule >= 0 ? pp->p->rules[dec[0].rule].name : "(none)";
        sg_info(in->id, "event=policy groups=1 rule=\"%s\" decision=unchanged", rule);
        rc = sg_transform_identity(in, data, len, res);
        res->policy_rev = pp->rev;
        note_decision(res, rule, dec[0].direction, "deliver unchanged");
        goto out;
    }
    res->policy_rev = pp->rev;
    rc = 0;
    for (size_t g = 0; g < ng && rc == 0; g++)
        rc = apply_group(r, dec, group, g);
    if (rc == 1 && r->scan_defer) {
        rc = defer_all(r, "a content scanner failed: the message is kept and tried again", 2);
        goto out;
    }
    if (rc == 0 && r->nheld)
        rc = sg_prun_notice(r, SG_NOTICE_HELD, in->from, NULL, r->held, r->nheld);
    if (rc == 0 && r->nreturned)
        rc = sg_prun_notice(r, SG_NOTICE_RETURNED, in->from, NULL, r->returned, r->nreturned);
    if (rc == 0 && r->ndeleted)
        rc = sg_prun_notice(r, SG_NOTICE_DELETED, in->from, NULL, r->deleted, r->ndeleted);
    if (rc == 0)
        rc = sg_prun_merge_same(in, data, len, res);
out:
    if (rc < 0)
        sg_transform_result_free(res);
    sg_pfacts_free(&fh);
    free(rcpts);
    free(dec);
    free(group);
    free(r);
    release(pp);
    return rc;
}
