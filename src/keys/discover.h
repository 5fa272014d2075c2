/* discover.h - key discovery for outgoing mail: WKD, then VKS/HKP key servers, per recipient
 * domain in the configured order (docs/discovery.md). Owner: src/keys.
 * SECURITY: every HTTP request goes through the fetch helper (src/net/fetch_helper.h: a child
 * forked before any key was loaded); when it is not running, a lookup fails instead of fetching
 * in this process. HTTPS only, port 443, no redirects, answers capped at discovery.max_size,
 * each request bounded by what is left of the message's wait; loopback and private addresses
 * are refused unless discovery.allow_private. No store lock is held while a request runs: the
 * lock is taken for the cache read, and again for the import and cache write. A failed lookup
 * (network, TLS, timeout, oversized, redirect) is an error (-1), never "no key". */
#ifndef SG_DISCOVER_H
#define SG_DISCOVER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "keys/certstore.h"
#include "keys/keystore.h"
#include "lib/config.h"
#include "store/store.h"

typedef struct sg_discover_env {
    const sg_discovery_cfg *cfg;
    sg_store *st;
    sg_keystore *ks;
    sg_certstore *cs;      /* S/MIME discovery (sg_discover_smime); NULL: none */
    pthread_mutex_t *lock; /* guards st, ks and cs */
} sg_discover_env;

/* Looks addr's OpenPGP key up and imports it (reduced, at trust level discovered). deadline_ms
 * is CLOCK_MONOTONIC milliseconds (sg_discover_now_ms) after which nothing more is asked.
 * 1 a key was imported, 0 definitively none (not found, refused keys, or kept pending beside a
 * verified key), -1 the lookup did not finish or failed: err says why. */
int sg_discover_pgp(const sg_discover_env *e, const char *addr, int64_t deadline_ms, char *err, size_t errlen);

/* Looks addr's S/MIME certificate up in the domain's LDAP server (discover_smime.c) and
 * keeps the first one that validates for addr and encryption against a trust anchor of the
 * certstore (as a learned certificate). Same results as sg_discover_pgp. */
int sg_discover_smime(const sg_discover_env *e, const char *addr, int64_t deadline_ms, char *err, size_t errlen);

/* addr's usable key came from discovery and its lookup is older than discovery.positive_ttl:
 * 1 (look it up again: sg_discover_pgp), 0 not due (or an operator's key), -1 store error. */
int sg_discover_refresh_due(const sg_discover_env *e, const char *addr);

/* What a lookup for addr would do now, for `policy explain`: the cached result, or the sources
 * and URLs that would be asked, in order. No network. */
void sg_discover_plan(const sg_discover_env *e, const char *addr, char *out, size_t outlen);

/* The WKD hash of a local part: z-base-32 of SHA-1 of the lower-cased local part (32 chars). */
int sg_wkd_hash(const char *local, char out[33]);

int64_t sg_discover_now_ms(void);

#endif
