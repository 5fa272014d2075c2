/* engkeys.c - key questions through the engines (engkeys.h). Owner: src/policy. */
#include "policy/engkeys.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"
#include "keys/discover.h"
#include "lib/log.h"

static int can_encrypt_to(void *ctx, const char *addr, int method)
{
    (void)ctx;
    const sg_engine *e = sg_engine_by_method(method);
    return e && e->can_encrypt_to ? e->can_encrypt_to(addr) : 0;
}

static int can_sign_as(void *ctx, const char *addr, int method)
{
    (void)ctx;
    const sg_engine *e = sg_engine_by_method(method);
    return e && e->can_sign_as && addr && *addr ? e->can_sign_as(addr) : 0;
}

static bool have_engine(void *ctx, int method)
{
    (void)ctx;
    return sg_engine_by_method(method) != NULL;
}

static int can_make_signer(void *ctx, int method)
{
    (void)ctx;
    const sg_engine *e = sg_engine_by_method(method);
    return e && e->can_make_signer ? e->can_make_signer() : 0;
}

void sg_policy_engine_keys(sg_pkeys *k)
{
    *k = (sg_pkeys){.can_encrypt_to = can_encrypt_to,
                    .can_sign_as = can_sign_as,
                    .have_engine = have_engine,
                    .can_make_signer = can_make_signer};
}

static int discovering_can_encrypt_to(void *ctx, const char *addr, int method)
{
    sg_pdiscovery *d = ctx;
    int r = can_encrypt_to(NULL, addr, method);
    const sg_config *cfg = d->env->cfg;
    const char *at = addr ? strrchr(addr, '@') : NULL;
    if (r < 0 || (method != SG_METHOD_PGP && method != SG_METHOD_SMIME) || !cfg || !at ||
        sg_config_is_internal_domain(cfg, at + 1))
        return r;
    sg_discover_env e = {.cfg = &cfg->discovery, .st = d->env->st, .ks = d->env->ks, .cs = d->env->cs, .lock = d->env->lock};
    char err[256];
    if (method == SG_METHOD_SMIME) {
        if (r == 1)
            return 1;
        int f = sg_discover_smime(&e, addr, d->deadline_ms, err, sizeof err);
        if (f < 0) {
            snprintf(d->err, sizeof d->err, "certificate discovery for %s did not finish: %s", addr, err);
            return -1;
        }
        return f == 1 ? can_encrypt_to(NULL, addr, method) : 0;
    }
    if (r == 1) {
        /* A discovered key past its lifetime is looked up again; until that succeeds the key
         * in hand (still valid) is used: a failed refresh never stops encryption. */
        int due = sg_discover_refresh_due(&e, addr);
        if (due < 0)
            return -1;
        if (due && sg_discover_pgp(&e, addr, d->deadline_ms, err, sizeof err) < 0)
            sg_warn(NULL, "event=discovery addr=%s result=refresh-failed action=key-in-hand error=\"%s\"", addr, err);
        return due ? can_encrypt_to(NULL, addr, method) : 1;
    }
    int f = sg_discover_pgp(&e, addr, d->deadline_ms, err, sizeof err);
    if (f < 0) {
        snprintf(d->err, sizeof d->err, "key discovery for %s did not finish: %s", addr, err);
        return -1;
    }
    return f == 1 ? can_encrypt_to(NULL, addr, method) : 0;
}

void sg_policy_discovering_keys(sg_pkeys *k, sg_pdiscovery *d, const sg_engine_env *env)
{
    sg_policy_engine_keys(k);
    d->env = env;
    d->err[0] = '\0';
    d->deadline_ms = sg_discover_now_ms() + (int64_t)(env->cfg ? env->cfg->discovery.timeout : 3) * 1000;
    k->ctx = d;
    k->can_encrypt_to = discovering_can_encrypt_to;
}
