/* discover.c - key discovery for outgoing mail (discover.h, docs/discovery.md). Owner: src/keys.
 * SECURITY: see discover.h; what a server answers is filtered by discover_filter.c before the
 * keystore sees it, and a verified recipient's key is never replaced by a discovered one. */
#include "keys/discover.h"

#include <ctype.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "keys/discover_filter.h"
#include "keys/discover_ldap.h"
#include "lib/log.h"
#include "lib/zbase32.h"
#include "net/fetch_helper.h"
#include "net/http_fetch.h"
#include "store/discovery_rows.h"

/* Bounded copy, truncating (URLs and names here are far shorter than the fields). */
static void copy(char *dst, size_t n, const char *src)
{
    size_t l = strnlen(src, n - 1);
    memcpy(dst, src, l);
    dst[l] = '\0';
}

int64_t sg_discover_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sg_wkd_hash(const char *local, char out[33])
{
    char low[256];
    size_t n = strlen(local);
    if (n == 0 || n >= sizeof low)
        return -1;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)local[i]);
    uint8_t md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)low, n, md);
    return sg_zbase32_encode(md, sizeof md, out, 33) == 32 ? 0 : -1;
}

/* addr split into a lower-cased copy, its local part and its domain; the domain must be a
 * plain host name (it becomes part of a URL), the local part is percent-encoded for ?l=. */
typedef struct who {
    char addr[520], local[256], domain[256], local_q[768], addr_q[960];
} who;

static void pct(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    for (; *in && o + 4 < outlen; in++) {
        unsigned char c = (unsigned char)*in;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, outlen - o, "%%%02X", c);
    }
    out[o] = '\0';
}

static int split(const char *addr, who *w)
{
    const char *at = strrchr(addr, '@');
    size_t ll = at ? (size_t)(at - addr) : 0, dl = at ? strlen(at + 1) : 0;
    /* The bounds keep every URL built from the address whole (never a truncated host). */
    if (!at || ll == 0 || ll > 120 || dl == 0 || dl > 200)
        return -1;
    memcpy(w->local, addr, ll);
    w->local[ll] = '\0';
    for (size_t i = 0; i < dl; i++) {
        char c = (char)tolower((unsigned char)at[1 + i]);
        if (!isalnum((unsigned char)c) && c != '-' && c != '.')
            return -1;
        w->domain[i] = c;
    }
    w->domain[dl] = '\0';
    if (w->domain[0] == '.' || w->domain[0] == '-' || strstr(w->domain, ".."))
        return -1;
    snprintf(w->addr, sizeof w->addr, "%s@%s", w->local, w->domain);
    for (char *p = w->addr; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    pct(w->local, w->local_q, sizeof w->local_q);
    pct(w->addr, w->addr_q, sizeof w->addr_q);
    return 0;
}

enum { R_FOUND = 1, R_NONE = 0, R_ERROR = -1 };

typedef struct lookup {
    const sg_discover_env *e;
    const who *w;
    int64_t deadline;
    char connect[SG_DISC_MAX_RESOLVE * 301];
    /* the outcome */
    uint8_t *key;
    size_t keylen;
    char fpr[SG_PGP_FPR_LEN + 1], source[16], url[512];
    char err[256];
    bool domain_without_wkd;
} lookup;

/* One GET: R_FOUND with l->key when an acceptable key came back, R_NONE for a definitive
 * "nothing" (404/410, or only unacceptable keys), R_ERROR otherwise; *rc the fetch status. */
static int ask(lookup *l, const char *source, const char *url, int *rc_out)
{
    const sg_discovery_cfg *c = l->e->cfg;
    int64_t left = l->deadline - sg_discover_now_ms();
    if (left <= 0) {
        snprintf(l->err, sizeof l->err, "%s: not asked, discovery.timeout (%d s) is over", url, c->timeout);
        *rc_out = SG_FETCH_UNREACHABLE;
        return R_ERROR;
    }
    if (sg_fetch_helper_pid() == 0 || sg_fetch_helper_lost()) {
        snprintf(l->err, sizeof l->err, "fetch helper not running");
        *rc_out = SG_FETCH_UNREACHABLE;
        return R_ERROR;
    }
    static const int ports[] = {443};
    sg_fetch_limits lim = {.timeout_ms = left,
                           .max_size = (size_t)c->max_size,
                           .ports = ports,
                           .nports = 1,
                           .ca_file = c->tls_ca_file,
                           .flags = SG_FETCH_F_HTTPS_ONLY | (c->allow_private ? 0 : SG_FETCH_F_PUBLIC_ONLY),
                           .connect_to = l->connect[0] ? l->connect : NULL};
    uint8_t *body = NULL;
    size_t blen = 0;
    char ferr[SG_FETCH_MAX_ERR];
    int rc = sg_http_fetch(url, NULL, NULL, 0, &lim, &body, &blen, ferr, sizeof ferr);
    *rc_out = rc;
    if (rc == SG_FETCH_NOT_FOUND) {
        sg_info(NULL, "event=discovery addr=%s source=%s url=\"%s\" result=not-found", l->w->addr, source, url);
        return R_NONE;
    }
    if (rc != SG_FETCH_OK) {
        snprintf(l->err, sizeof l->err, "%.150s: %.100s", url, ferr);
        sg_warn(NULL, "event=discovery addr=%s source=%s url=\"%s\" result=error error=\"%s\"", l->w->addr, source,
                url, ferr);
        return R_ERROR;
    }
    uint8_t *min = NULL;
    size_t mlen = 0;
    char fpr[SG_PGP_FPR_LEN + 1], why[200];
    int f = sg_discover_filter(body, blen, l->w->addr, (int64_t)time(NULL), &min, &mlen, fpr, why, sizeof why);
    free(body);
    if (f < 0) {
        snprintf(l->err, sizeof l->err, "out of memory");
        return R_ERROR;
    }
    if (f == 0) {
        sg_warn(NULL, "event=discovery addr=%s source=%s url=\"%s\" result=refused reason=\"%s\"", l->w->addr, source,
                url, why);
        return R_NONE;
    }
    l->key = min;
    l->keylen = mlen;
    copy(l->fpr, sizeof l->fpr, fpr);
    copy(l->source, sizeof l->source, source);
    copy(l->url, sizeof l->url, url);
    return R_FOUND;
}

static void wkd_urls(const who *w, bool advanced, char *url, size_t n)
{
    char hash[33] = "";
    sg_wkd_hash(w->local, hash);
    if (advanced)
        snprintf(url, n, "https://openpgpkey.%.200s/.well-known/openpgpkey/%.200s/hu/%s?l=%.400s", w->domain, w->domain, hash,
                 w->local_q);
    else
        snprintf(url, n, "https://%.200s/.well-known/openpgpkey/hu/%s?l=%.400s", w->domain, hash, w->local_q);
}

static void server_url(const who *w, const char *server, char *url, size_t n)
{
    if (strncmp(server, "hkps://", 7) == 0)
        snprintf(url, n, "https://%s/pks/lookup?op=get&options=mr&search=%s", server + 7, w->addr_q);
    else
        snprintf(url, n, "%s/vks/v1/by-email/%s", server, w->addr_q);
}

/* WKD: the advanced method; the direct method only when openpgpkey.DOMAIN does not resolve. */
static int wkd(lookup *l, bool domain_known_without)
{
    if (domain_known_without)
        return R_NONE;
    char url[1024];
    int rc;
    wkd_urls(l->w, true, url, sizeof url);
    int r = ask(l, "wkd", url, &rc);
    if (rc != SG_FETCH_NO_HOST)
        return r;
    wkd_urls(l->w, false, url, sizeof url);
    r = ask(l, "wkd", url, &rc);
    if (rc == SG_FETCH_NO_HOST) {
        l->domain_without_wkd = true; /* neither host exists: the domain has no WKD */
        return R_NONE;
    }
    return r;
}

static int keyservers(lookup *l, const sg_discovery_where *where)
{
    int out = R_NONE;
    for (int i = 0; i < where->nkeyservers; i++) {
        char url[1024];
        int rc;
        server_url(l->w, where->keyservers[i], url, sizeof url);
        int r = ask(l, "keyserver", url, &rc);
        if (r == R_FOUND)
            return r;
        if (r == R_ERROR)
            out = R_ERROR;
    }
    return out;
}

/* The domain's LDAP server (discover_ldap.h), bounded by what is left of the message's wait. */
static int ldap_source(lookup *l, const sg_discovery_where *where)
{
    int64_t left = l->deadline - sg_discover_now_ms();
    if (left <= 0) {
        snprintf(l->err, sizeof l->err, "ldap: not asked, discovery.timeout (%d s) is over", l->e->cfg->timeout);
        return R_ERROR;
    }
    char fpr[SG_PGP_FPR_LEN + 1], url[512];
    int r = sg_discover_ldap(&where->ldap, l->e->cfg, l->w->addr, left, &l->key, &l->keylen, fpr, url, l->err,
                             sizeof l->err);
    if (r == 1) {
        copy(l->fpr, sizeof l->fpr, fpr);
        copy(l->source, sizeof l->source, "ldap");
        copy(l->url, sizeof l->url, url);
        return R_FOUND;
    }
    return r == 0 ? R_NONE : R_ERROR;
}

/* Is a key of the recipient's held that an operator imported (verified)? */
static int has_verified(const sg_discover_env *e, const char *addr, const char *except)
{
    sg_pgp_key *keys = NULL;
    size_t n = 0;
    if (sg_keystore_list(e->ks, addr, &keys, &n) < 0)
        return -1;
    int v = 0;
    for (size_t i = 0; i < n && !v; i++) {
        if (strcasecmp(keys[i].fpr, except) == 0)
            continue;
        sg_store_provenance p;
        int r = sg_store_provenance_get(e->st, keys[i].fpr, &p);
        if (r < 0)
            v = -1;
        else if (r == 1 || p.trust >= SG_TRUST_VERIFIED)
            v = 1;
    }
    sg_keystore_free_list(keys, n);
    return v;
}

static void count_import(void *ctx, const sg_import_result *r)
{
    if (r->status == SG_IMPORT_REJECTED)
        ++*(int *)ctx;
}

/* Keeps what was found (under the lock): imported with its provenance, or pending. */
static int keep(const sg_discover_env *e, const lookup *l, char *err, size_t errlen)
{
    int64_t now = (int64_t)time(NULL);
    sg_store_disc_cache c = {.result = SG_DISC_FOUND, .fetched = now, .expires = now + e->cfg->positive_ttl};
    copy(c.key, sizeof c.key, l->w->addr);
    copy(c.fpr, sizeof c.fpr, l->fpr);
    copy(c.source, sizeof c.source, l->source);
    copy(c.url, sizeof c.url, l->url);
    int rc = -1;
    pthread_mutex_lock(e->lock);
    int verified = has_verified(e, l->w->addr, l->fpr);
    sg_store_provenance old;
    int had = verified < 0 ? -1 : sg_store_provenance_get(e->st, l->fpr, &old);
    sg_pgp_key cur;
    int exists = had < 0 ? -1 : sg_keystore_get(e->ks, l->fpr, &cur);
    if (exists == 0)
        sg_pgp_key_clear(&cur);
    if (verified < 0 || had < 0 || exists < 0) {
        snprintf(err, errlen, "store error: %s", sg_store_error(e->st));
    } else if (verified) {
        c.result = SG_DISC_PENDING;
        sg_warn(NULL, "event=discovery addr=%s fpr=%s source=%s url=\"%s\" result=pending"
                      " reason=\"a verified key of this recipient exists: not replaced automatically\"",
                l->w->addr, l->fpr, l->source, l->url);
        rc = sg_store_disc_cache_put(e->st, &c) < 0 ? -1 : 0;
    } else {
        int rejected = 0;
        sg_store_provenance p = {.trust = SG_TRUST_DISCOVERED, .time = now};
        copy(p.fpr, sizeof p.fpr, l->fpr);
        copy(p.source, sizeof p.source, l->source);
        copy(p.url, sizeof p.url, l->url);
        /* A key the operator had imported already (no provenance row) stays verified. */
        bool operator_key = exists == 0 && had == 1;
        /* The provenance row first, the key after it: a key without a row counts as verified,
         * so the other order would let a failed second write (or another process looking in
         * between) see a discovered key as verified. A row left without its key by a failed
         * import only ever lowers a trust level, the safe direction. */
        int pr = operator_key ? 0 : sg_store_provenance_put(e->st, &p);
        int ir = pr < 0 ? -1 : sg_keystore_import(e->ks, l->key, l->keylen, count_import, &rejected);
        if (pr < 0) {
            snprintf(err, errlen, "store error: %s", sg_store_error(e->st));
        } else if (ir != 0 || rejected) {
            snprintf(err, errlen, "import of %s failed: %s", l->fpr, sg_keystore_error(e->ks));
        } else if (sg_store_disc_cache_put(e->st, &c) < 0) {
            snprintf(err, errlen, "store error: %s", sg_store_error(e->st));
        } else {
            sg_info(NULL, "event=discovery addr=%s fpr=%s source=%s url=\"%s\" result=imported trust=%s", l->w->addr,
                    l->fpr, l->source, l->url, operator_key ? "verified" : "discovered");
            rc = 1;
        }
    }
    pthread_mutex_unlock(e->lock);
    return rc;
}

static void cache_none(const sg_discover_env *e, const char *key, const char *source)
{
    int64_t now = (int64_t)time(NULL);
    sg_store_disc_cache c = {.result = SG_DISC_NOT_FOUND, .fetched = now, .expires = now + e->cfg->negative_ttl};
    copy(c.key, sizeof c.key, key);
    copy(c.source, sizeof c.source, source);
    pthread_mutex_lock(e->lock);
    if (sg_store_disc_cache_put(e->st, &c) < 0)
        sg_warn(NULL, "event=discovery key=%s result=cache-error error=\"%s\"", key, sg_store_error(e->st));
    pthread_mutex_unlock(e->lock);
}

static bool has_network(const sg_discovery_where *where)
{
    for (int i = 0; i < where->nsources; i++)
        if (where->sources[i] != SG_DSRC_LOCAL)
            return true;
    return false;
}

int sg_discover_pgp(const sg_discover_env *e, const char *addr, int64_t deadline_ms, char *err, size_t errlen)
{
    who w;
    err[0] = '\0';
    if (split(addr, &w) < 0)
        return 0; /* not an address a lookup could be made for: nothing to find */
    const sg_discovery_where *where = sg_discovery_for(e->cfg, w.domain);
    if (!has_network(where))
        return 0;
    char dkey[320];
    snprintf(dkey, sizeof dkey, "@%s", w.domain);
    sg_store_disc_cache c, dc;
    int64_t now = (int64_t)time(NULL);
    pthread_mutex_lock(e->lock);
    int cached = sg_store_disc_cache_get(e->st, w.addr, now, &c);
    int dcached = cached < 0 ? -1 : sg_store_disc_cache_get(e->st, dkey, now, &dc);
    pthread_mutex_unlock(e->lock);
    if (cached < 0 || dcached < 0) {
        snprintf(err, errlen, "store error reading the discovery cache");
        return -1;
    }
    if (cached == 0 && c.result != SG_DISC_FOUND) {
        /* "not found" and "pending" stand until they expire; a cached "found" whose key is not
         * usable now (deleted, expired since) is looked up again. */
        sg_info(NULL, "event=discovery addr=%s result=%s cached=yes", w.addr,
                c.result == SG_DISC_PENDING ? "pending" : "not-found");
        return 0;
    }
    lookup l = {.e = e, .w = &w, .deadline = deadline_ms};
    for (int i = 0; i < e->cfg->nconnect_to; i++) {
        size_t o = strlen(l.connect);
        snprintf(l.connect + o, sizeof l.connect - o, "%s%s", o ? "\n" : "", e->cfg->connect_to[i]);
    }
    bool error = false;
    int r = R_NONE;
    for (int i = 0; i < where->nsources && r != R_FOUND; i++) {
        if (where->sources[i] == SG_DSRC_WKD) {
            if (dcached == 0)
                sg_info(NULL, "event=discovery addr=%s source=wkd result=no-wkd-for-domain cached=yes", w.addr);
            r = wkd(&l, dcached == 0);
        } else if (where->sources[i] == SG_DSRC_KEYSERVER) {
            r = keyservers(&l, where);
        } else if (where->sources[i] == SG_DSRC_LDAP) {
            r = ldap_source(&l, where);
        } else {
            continue;
        }
        error = error || r == R_ERROR;
    }
    if (l.domain_without_wkd)
        cache_none(e, dkey, "wkd");
    if (r == R_FOUND) {
        int k = keep(e, &l, err, errlen);
        free(l.key);
        return k;
    }
    if (error) {
        snprintf(err, errlen, "%s", l.err);
        return -1;
    }
    cache_none(e, w.addr, "all");
    sg_info(NULL, "event=discovery addr=%s result=not-found", w.addr);
    return 0;
}

int sg_discover_refresh_due(const sg_discover_env *e, const char *addr)
{
    who w;
    if (split(addr, &w) < 0 || !has_network(sg_discovery_for(e->cfg, w.domain)))
        return 0;
    char fpr[SG_PGP_FPR_LEN + 1];
    sg_store_provenance p;
    sg_store_disc_cache c;
    pthread_mutex_lock(e->lock);
    int r = sg_keystore_find_encryption_key(e->ks, w.addr, fpr);
    int pr = r == 0 ? sg_store_provenance_get(e->st, fpr, &p) : 1;
    int cr = pr == 0 ? sg_store_disc_cache_get(e->st, w.addr, (int64_t)time(NULL), &c) : 0;
    pthread_mutex_unlock(e->lock);
    if (r < 0 || pr < 0 || cr < 0)
        return -1;
    return r == 0 && pr == 0 && p.trust == SG_TRUST_DISCOVERED && cr == 1;
}

void sg_discover_plan(const sg_discover_env *e, const char *addr, char *out, size_t outlen)
{
    who w;
    out[0] = '\0';
    if (split(addr, &w) < 0) {
        snprintf(out, outlen, "none (not an address)");
        return;
    }
    const sg_discovery_where *where = sg_discovery_for(e->cfg, w.domain);
    if (!has_network(where)) {
        snprintf(out, outlen, "none (sources: local only)");
        return;
    }
    sg_store_disc_cache c;
    int64_t now = (int64_t)time(NULL);
    pthread_mutex_lock(e->lock);
    int cached = sg_store_disc_cache_get(e->st, w.addr, now, &c);
    pthread_mutex_unlock(e->lock);
    if (cached == 0 && c.result != SG_DISC_FOUND) {
        snprintf(out, outlen, "none: cached %s until %lld", c.result == SG_DISC_PENDING ? "pending" : "not found",
                 (long long)c.expires);
        return;
    }
    size_t o = 0;
    for (int i = 0; i < where->nsources && o < outlen; i++) {
        char url[1024];
        if (where->sources[i] == SG_DSRC_WKD) {
            wkd_urls(&w, true, url, sizeof url);
            o += (size_t)snprintf(out + o, outlen - o, "%swkd %s (then the direct method if openpgpkey.%s does not exist)",
                                  o ? "; " : "", url, w.domain);
        } else if (where->sources[i] == SG_DSRC_KEYSERVER) {
            for (int k = 0; k < where->nkeyservers && o < outlen; k++) {
                server_url(&w, where->keyservers[k], url, sizeof url);
                o += (size_t)snprintf(out + o, outlen - o, "%skeyserver %s", o ? "; " : "", url);
            }
        } else if (where->sources[i] == SG_DSRC_LDAP) {
            char filter[768] = "";
            sg_ldap_filter(where->ldap.filter, w.addr, filter, sizeof filter);
            o += (size_t)snprintf(out + o, outlen - o, "%sldap %s base \"%s\" filter %s", o ? "; " : "",
                                  where->ldap.uri, where->ldap.base, filter);
        }
    }
}
