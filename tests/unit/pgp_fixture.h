/* pgp_fixture.h - a throw-away store, KEK and keystore in a temp directory, and the OpenPGP
 * engine set up over them, for the OpenPGP unit tests (test_engine_pgp, test_unwrap).
 * Owner: src/cryptd (OpenPGP). Header-only: each test is one executable. */
#ifndef SG_PGP_FIXTURE_H
#define SG_PGP_FIXTURE_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"

typedef struct pgp_fixture {
    char dir[64];
    sg_config cfg;
    sg_store *st;
    sg_keystore *ks;
    pthread_mutex_t lock;
    sg_engine_env env;
    const sg_engine *e;
    char *doms[1];
    sg_strlist saved;
} pgp_fixture;

/* 0 with everything open, internal domain demo.test, the engine initialised; -1 otherwise. */
static int fixture_open(pgp_fixture *f)
{
    char path[128], kek[128], err[256];
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sg-test-pgp-XXXXXX");
    if (!mkdtemp(f->dir) || sg_config_load(&f->cfg, NULL, err, sizeof err) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/store.db", f->dir);
    snprintf(kek, sizeof kek, "%s/keys/kek", f->dir);
    f->doms[0] = "demo.test";
    f->saved = f->cfg.internal_domains;
    f->cfg.internal_domains.v = f->doms;
    f->cfg.internal_domains.n = 1;
    pthread_mutex_init(&f->lock, NULL);
    if (!(f->st = sg_store_open(path, err, sizeof err)) || !(f->ks = sg_keystore_open(f->st, kek, SG_KS_CREATE_KEK)))
        return -1;
    f->env = (sg_engine_env){.cfg = &f->cfg, .st = f->st, .ks = f->ks, .lock = &f->lock};
    sg_keystore_domain_address("demo.test", NULL, f->env.domain_addr, sizeof f->env.domain_addr);
    /* every registered engine: unwrap peels through all of them */
    for (size_t e = 0; sg_engines[e]; e++)
        if (sg_engines[e]->init(&f->env) < 0)
            return -1;
    f->e = sg_engine_by_method(SG_METHOD_PGP);
    return f->e ? 0 : -1;
}

/* Closes everything and removes the directory; 0 or -1. */
static int fixture_close(pgp_fixture *f)
{
    f->cfg.internal_domains = f->saved;
    sg_config_free(&f->cfg);
    if (f->ks)
        sg_keystore_close(f->ks);
    if (f->st)
        sg_store_close(f->st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
