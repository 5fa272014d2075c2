/* explain_run.c - sg_policy_explain_run (explain_run.h): the engines initialised for public
 * look-ups, the facts taken from the message, the policy evaluated and explained. Owner:
 * src/policy. Moved here from src/cli/cli_policy.c so the CLI and the policy.explain operation
 * share it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "keys/certstore.h"
#include "keys/discover.h"
#include "keys/keystore.h"
#include "mime/mime.h"
#include "policy/engkeys.h"
#include "policy/explain.h"
#include "policy/explain_run.h"
#include "policy/facts.h"
#include "store/discovery_rows.h"

/* Opens what the engines need for public lookups and initialises them. */
static int engines_up(const sg_config *cfg, sg_store *st, sg_keystore **ks, sg_certstore **cs,
                      pthread_mutex_t *lock, sg_engine_env *env)
{
    *ks = sg_keystore_open(st, NULL, 0);
    *cs = sg_certstore_open(st, NULL, 0);
    if (!*ks)
        return -1;
    *env = (sg_engine_env){.cfg = cfg, .st = st, .ks = *ks, .cs = *cs, .lock = lock};
    sg_keystore_domain_address(cfg->internal_domains.n ? cfg->internal_domains.v[0] : NULL, cfg->hostname,
                               env->domain_addr, sizeof env->domain_addr);
    for (size_t i = 0; sg_engines[i]; i++)
        if (sg_engines[i]->init && sg_engines[i]->init(env) < 0)
            return -1;
    return 0;
}

/* Per recipient: the OpenPGP key that would be used, its source and trust level, or the
 * lookups that would run for it (docs/discovery.md). Nothing is fetched. */
static void explain_keys(const sg_engine_env *env, const char *const *to, size_t nto, FILE *o)
{
    fprintf(o, "\nkeys (OpenPGP)\n");
    sg_discover_env de = {.cfg = &env->cfg->discovery, .st = env->st, .ks = env->ks, .cs = env->cs, .lock = env->lock};
    for (size_t i = 0; i < nto; i++) {
        char fpr[SG_PGP_FPR_LEN + 1], plan[1500];
        sg_store_provenance p;
        pthread_mutex_lock(env->lock);
        int r = sg_keystore_find_encryption_key(env->ks, to[i], fpr);
        int pr = r == 0 ? sg_store_provenance_get(env->st, fpr, &p) : 1;
        pthread_mutex_unlock(env->lock);
        const char *at = strrchr(to[i], '@');
        if (r < 0 || pr < 0)
            fprintf(o, "  %s: key lookup failed (store error)\n", to[i]);
        else if (r == 0 && pr == 1)
            fprintf(o, "  %s: %s, trust verified (imported by an operator)\n", to[i], fpr);
        else if (r == 0)
            fprintf(o, "  %s: %s, trust %s, from %s %s at %lld\n", to[i], fpr, sg_trust_name(p.trust), p.source, p.url,
                    (long long)p.time);
        else if (at && sg_config_is_internal_domain(env->cfg, at + 1))
            fprintf(o, "  %s: no key (internal domain: no lookup)\n", to[i]);
        else {
            sg_discover_plan(&de, to[i], plan, sizeof plan);
            fprintf(o, "  %s: no key; lookups that would run: %s\n", to[i], plan);
        }
    }
}

int sg_policy_explain_run(const sg_config *cfg, sg_store *st, const sg_policy *p, const char *from,
                          const char *const *to, size_t nto, const char *subject, const char *msg, size_t len,
                          FILE *out, char *err, size_t errlen)
{
    /* The engines keep the environment they were started with in process globals (their init
     * functions): in a process that serves several requests at once (the web role's threads)
     * one explanation runs at a time, or one would look keys up in another's closed stores. */
    static pthread_mutex_t one_at_a_time = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&one_at_a_time);
    sg_mime_init();
    sg_keystore *ks = NULL;
    sg_certstore *cs = NULL;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    sg_engine_env env;
    int rc = -1;
    sg_pfacts_holder h;
    memset(&h, 0, sizeof h);
    sg_pdecision *dec = NULL;
    if (engines_up(cfg, st, &ks, &cs, &lock, &env) < 0) {
        snprintf(err, errlen, "cannot open the key stores");
        goto out;
    }
    if (sg_pfacts_from_message(&h, from, msg ? msg : "", msg ? len : 0) < 0) {
        snprintf(err, errlen, "cannot read the message");
        goto out;
    }
    if (!msg)
        h.f.from = from; /* no message: the sender given is the From too */
    if (subject)
        h.f.subject = subject;
    sg_pkeys k;
    sg_policy_engine_keys(&k);
    if (!(dec = calloc(nto ? nto : 1, sizeof *dec))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (sg_policy_eval(p, &h.f, &k, to, nto, dec) < 0) {
        snprintf(err, errlen, "a key lookup failed; cryptd would keep this message and try again");
        goto out;
    }
    sg_policy_explain(p, &h.f, &k, dec, nto, out);
    explain_keys(&env, to, nto, out);
    rc = 0;
out:
    free(dec);
    sg_pfacts_free(&h);
    sg_certstore_close(cs);
    sg_keystore_close(ks);
    pthread_mutex_unlock(&one_at_a_time);
    return rc;
}
