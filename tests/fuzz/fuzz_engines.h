/* fuzz_engines.h - fixture shared by the fuzz targets that run the decrypt/verify entry point:
 * after fuzz_kek.h made the KEK, a store beside it, a fresh OpenPGP key for one address (and,
 * when asked, a local CA and an S/MIME certificate for it) and every engine initialised over
 * them. Owner: src/cryptd (OpenPGP). */
#ifndef SG_FUZZ_ENGINES_H
#define SG_FUZZ_ENGINES_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "fuzz_kek.h"
#include "keys/ca.h"
#include "mime/mime.h"

/* The embedded defaults make demo.test the internal domain. Aborts on any failure; fpr gets
 * the key's fingerprint. */
static void fuzz_engines_setup(sg_config *cfg, sg_engine_env *env, pthread_mutex_t *lock, const char *addr,
                               char fpr[SG_PGP_FPR_LEN + 1], bool smime)
{
    char path[160], err[256], cfpr[SG_CERT_FPR_LEN + 1];
    snprintf(path, sizeof path, "%.*s/store.db", (int)(strstr(kek_path, "/keys/kek") - kek_path), kek_path);
    if (sg_config_load(cfg, NULL, err, sizeof err) < 0)
        abort();
    sg_store *st = sg_store_open(path, err, sizeof err);
    sg_keystore *ks = st ? sg_keystore_open(st, kek_path, 0) : NULL;
    if (!ks || sg_keystore_generate(ks, addr, "ed25519", 0, NULL, fpr) < 0)
        abort();
    sg_certstore *cs = smime ? sg_certstore_open(st, kek_path, 0) : NULL;
    if (smime && (!cs || sg_ca_init(cs, "CN=Fuzz CA", 3650, false, cfpr) != 0 ||
                  sg_ca_issue(cs, addr, SG_CA_USAGE_SIGN | SG_CA_USAGE_ENCRYPT, 365, false, cfpr) != 0))
        abort();
    *env = (sg_engine_env){.cfg = cfg, .st = st, .ks = ks, .cs = cs, .lock = lock};
    snprintf(env->domain_addr, sizeof env->domain_addr, "sealgate@demo.test");
    sg_mime_init();
    for (size_t e = 0; sg_engines[e]; e++)
        if (sg_engines[e]->init(env) < 0)
            abort();
}

#endif
