/* engkeys.c - key questions through the engines (engkeys.h). Owner: src/policy. */
#include "policy/engkeys.h"

#include <stddef.h>

#include "engine/engine.h"

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
