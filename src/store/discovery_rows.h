/* discovery_rows.h - the store's typed calls for key discovery (docs/discovery.md): the
 * lookup cache (table discovery_cache: one row per address, or per "@domain" for a domain
 * without WKD) and where each discovered key came from (table pgp_provenance). Owner: src/store.
 * Caller: src/keys/discover.c, which decides everything; the store only keeps rows.
 * Returns: 0 done / found, 1 no such row, -1 error with sg_store_error (never "not found"). */
#ifndef SG_STORE_DISCOVERY_ROWS_H
#define SG_STORE_DISCOVERY_ROWS_H

#include <stdint.h>

#include "store/store.h"

/* What a lookup found: a key (fpr), nothing, or a key kept pending (a verified key exists). */
enum sg_disc_result { SG_DISC_FOUND = 1, SG_DISC_NOT_FOUND = 2, SG_DISC_PENDING = 3 };

typedef struct sg_store_disc_cache {
    char key[320];    /* the address (lower case), or "@domain" */
    int result;       /* enum sg_disc_result */
    char fpr[41];     /* SG_DISC_FOUND / SG_DISC_PENDING: the key; else "" */
    char source[16];  /* "wkd", "keyserver" */
    char url[512];    /* where it was found or last asked */
    int64_t fetched;  /* when (Unix seconds) */
    int64_t expires;  /* the row is used until then */
} sg_store_disc_cache;

/* Trust levels of a key (docs/discovery.md): harvested < discovered < verified. A key with no
 * provenance row was imported by an operator or made by the gateway: verified. */
enum sg_trust { SG_TRUST_HARVESTED = 1, SG_TRUST_DISCOVERED = 2, SG_TRUST_VERIFIED = 3 };

typedef struct sg_store_provenance {
    char fpr[41];
    int trust; /* enum sg_trust */
    char source[16];
    char url[512];
    int64_t time;
} sg_store_provenance;

/* Writes (replacing) the cache row of c->key. 0 or -1. */
int sg_store_disc_cache_put(sg_store *s, const sg_store_disc_cache *c);
/* The row of key still valid at now: 0 and *c, 1 none (or expired), -1. */
int sg_store_disc_cache_get(sg_store *s, const char *key, int64_t now, sg_store_disc_cache *c);
/* Writes (replacing) fpr's provenance. 0 or -1. */
int sg_store_provenance_put(sg_store *s, const sg_store_provenance *p);
/* fpr's provenance: 0, 1 none (verified), -1. */
int sg_store_provenance_get(sg_store *s, const char *fpr, sg_store_provenance *p);

const char *sg_trust_name(int trust); /* "harvested", "discovered", "verified" */

struct sg_store_discovery_ops {
    int (*cache_put)(sg_store *s, const sg_store_disc_cache *c);
    int (*cache_get)(sg_store *s, const char *key, int64_t now, sg_store_disc_cache *c);
    int (*prov_put)(sg_store *s, const sg_store_provenance *p);
    int (*prov_get)(sg_store *s, const char *fpr, sg_store_provenance *p);
};

#endif
