/* discover_smime.c - S/MIME certificates for outgoing mail from the recipient domain's LDAP
 * server (discover.h sg_discover_smime, docs/discovery.md "LDAP"). Owner: src/keys.
 * SECURITY: the certificate values come from the network: each is parsed by OpenSSL on its own
 * and kept only when sg_cert_validate says it is valid for the recipient's address and for
 * encryption, chaining to a trust anchor of the certstore (never a new anchor: a certificate
 * that is its own issuer is refused by the learn path too). It is stored as a learned
 * certificate, used only while it keeps validating. The search runs in the fetch helper with no
 * lock held; the lock is taken for the cache, the validation and the store. A failed search or
 * a malformed answer is an error (-1), never "no certificate". */
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys/discover.h"
#include "keys/discover_ldap.h"
#include "lib/log.h"
#include "store/discovery_rows.h"

typedef struct pick {
    const sg_discover_env *e;
    const char *addr;
    char fpr[SG_CERT_FPR_LEN + 1];
    char why[200];
    bool kept;
} pick;

/* Validates and keeps one value (called with the lock held): 1 kept, 0 refused, -2 store error. */
static int take(void *ctx, const uint8_t *v, size_t l)
{
    pick *p = ctx;
    const unsigned char *q = v;
    X509 *x = l <= 65536 ? d2i_X509(NULL, &q, (long)l) : NULL;
    if (!x || q != v + l) {
        snprintf(p->why, sizeof p->why, "a value is not one DER certificate");
        X509_free(x);
        return 0;
    }
    char reason[200] = "";
    int verdict = sg_cert_validate(p->e->cs, x, p->addr, SG_CERT_ENCRYPT, time(NULL), reason, sizeof reason);
    int r = 0;
    if (verdict == SG_CERT_ERROR) {
        snprintf(p->why, sizeof p->why, "validation error: %.150s", reason);
        r = -2;
    } else if (verdict != SG_CERT_VALID) {
        snprintf(p->why, sizeof p->why, "%.30s: %.150s", sg_cert_verdict_name(verdict), reason);
    } else {
        int lr = sg_certstore_learn_x509(p->e->cs, x, NULL, p->addr, NULL, 0, time(NULL), p->fpr);
        if (lr == 0)
            r = 1, p->kept = true;
        else if (lr < 0)
            r = -2;
        else
            snprintf(p->why, sizeof p->why, "not kept: %s", sg_certstore_error(p->e->cs));
    }
    X509_free(x);
    return r;
}

static void cache(const sg_discover_env *e, const char *key, int result, const char *url, int ttl)
{
    int64_t now = (int64_t)time(NULL);
    sg_store_disc_cache c = {.result = result, .fetched = now, .expires = now + ttl};
    snprintf(c.key, sizeof c.key, "%s", key);
    snprintf(c.source, sizeof c.source, "ldap");
    snprintf(c.url, sizeof c.url, "%s", url);
    if (sg_store_disc_cache_put(e->st, &c) < 0)
        sg_warn(NULL, "event=discovery key=%s result=cache-error error=\"%s\"", key, sg_store_error(e->st));
}

int sg_discover_smime(const sg_discover_env *e, const char *addr, int64_t deadline_ms, char *err, size_t errlen)
{
    err[0] = '\0';
    const char *at = strrchr(addr, '@');
    if (!e->cs || !at || strlen(addr) > 300)
        return 0;
    const sg_discovery_where *where = sg_discovery_for(e->cfg, at + 1);
    bool ldap = false;
    for (int i = 0; i < where->nsources; i++)
        ldap = ldap || where->sources[i] == SG_DSRC_LDAP;
    if (!ldap)
        return 0; /* LDAP is the only source of certificates so far */
    char key[320];
    snprintf(key, sizeof key, "x509:%s", addr);
    for (char *c = key; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    sg_store_disc_cache c;
    pthread_mutex_lock(e->lock);
    int cached = sg_store_disc_cache_get(e->st, key, (int64_t)time(NULL), &c);
    pthread_mutex_unlock(e->lock);
    if (cached < 0) {
        snprintf(err, errlen, "store error reading the discovery cache");
        return -1;
    }
    if (cached == 0 && c.result != SG_DISC_FOUND) {
        sg_info(NULL, "event=discovery addr=%s kind=certificate result=not-found cached=yes", addr);
        return 0;
    }
    uint8_t *ans = NULL;
    size_t alen = 0;
    char url[512];
    if (sg_discover_ldap_fetch(&where->ldap, e->cfg, addr, deadline_ms - sg_discover_now_ms(), &ans, &alen, url, err,
                               errlen) < 0)
        return -1;
    pick p = {.e = e, .addr = key + 5};
    snprintf(p.why, sizeof p.why, "no entry with a certificate");
    pthread_mutex_lock(e->lock);
    int r = sg_ldap_answer_values(ans, alen, 0, take, &p);
    if (r >= 0) /* the number of values when none was kept: take returns 1 only when one was */
        r = p.kept ? 1 : 0;
    if (r == 1)
        cache(e, key, SG_DISC_FOUND, url, e->cfg->positive_ttl);
    else if (r >= 0)
        cache(e, key, SG_DISC_NOT_FOUND, url, e->cfg->negative_ttl);
    pthread_mutex_unlock(e->lock);
    free(ans);
    if (r == -1 || r == -2) {
        snprintf(err, errlen, "%.150s: %s", url, r == -1 ? "malformed answer from the fetch helper" : p.why);
        sg_warn(NULL, "event=discovery addr=%s kind=certificate source=ldap url=\"%s\" result=error error=\"%s\"", addr,
                url, err);
        return -1;
    }
    if (r == 1) {
        sg_info(NULL, "event=discovery addr=%s kind=certificate fpr=%s source=ldap url=\"%s\" result=imported"
                      " trust=learned", addr, p.fpr, url);
        return 1;
    }
    sg_info(NULL, "event=discovery addr=%s kind=certificate source=ldap url=\"%s\" result=not-found reason=\"%s\"", addr,
            url, p.why);
    return 0;
}
