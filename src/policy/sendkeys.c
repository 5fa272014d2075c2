/* sendkeys.c - the sender's public keys for attach_keys (sendkeys.h). Owner: src/policy. */
#include "policy/sendkeys.h"

#include <stdlib.h>
#include <time.h>

static int pgp_key(const sg_engine_env *env, const char *addr, sg_buf *out)
{
    char fpr[SG_PGP_FPR_LEN + 1];
    uint8_t *key = NULL;
    size_t len = 0;
    pthread_mutex_lock(env->lock);
    int rc = sg_keystore_find_signing_key(env->ks, addr, NULL, fpr);
    if (rc == 0)
        rc = sg_keystore_export(env->ks, fpr, false, true, &key, &len) == 0 ? 0 : -1;
    pthread_mutex_unlock(env->lock);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    rc = sg_buf_append(out, key, len) < 0 ? -1 : 1;
    free(key);
    return rc;
}

/* The newest certificate of addr with its key held, not revoked, valid now. */
static int smime_cert(const sg_engine_env *env, const char *addr, sg_buf *out)
{
    if (!env->cs)
        return 0;
    sg_cert_info *list = NULL;
    size_t n = 0;
    uint8_t *der = NULL;
    size_t len = 0;
    int rc = 0;
    int64_t now = (int64_t)time(NULL);
    pthread_mutex_lock(env->lock);
    if (sg_certstore_list(env->cs, addr, &list, &n) < 0)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!list[i].has_key || list[i].revoked || list[i].is_ca || list[i].not_after < now || list[i].not_before > now)
            continue;
        rc = sg_certstore_export(env->cs, list[i].fpr, true, &der, &len) == 0 ? 1 : -1;
    }
    sg_certstore_free_list(list, n);
    pthread_mutex_unlock(env->lock);
    if (rc == 1 && sg_buf_append(out, der, len) < 0)
        rc = -1;
    free(der);
    return rc;
}

int sg_policy_public_key(const sg_engine_env *env, int method, const char *addr, sg_buf *out)
{
    const sg_engine *e = sg_engine_by_method(method);
    if (e && e->export_public)
        return e->export_public(addr, out);
    if (method == SG_METHOD_PGP)
        return pgp_key(env, addr, out);
    if (method == SG_METHOD_SMIME)
        return smime_cert(env, addr, out);
    return 0;
}
