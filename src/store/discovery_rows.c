/* discovery_rows.c - the public discovery calls (discovery_rows.h), dispatched to the
 * backend's table. Owner: src/store. */
#include "store/discovery_rows.h"
#include "store/store_int.h"

int sg_store_disc_cache_put(sg_store *s, const sg_store_disc_cache *c)
{
    return s->be->discovery->cache_put(s, c);
}

int sg_store_disc_cache_get(sg_store *s, const char *key, int64_t now, sg_store_disc_cache *c)
{
    return s->be->discovery->cache_get(s, key, now, c);
}

int sg_store_provenance_put(sg_store *s, const sg_store_provenance *p)
{
    return s->be->discovery->prov_put(s, p);
}

int sg_store_provenance_get(sg_store *s, const char *fpr, sg_store_provenance *p)
{
    return s->be->discovery->prov_get(s, fpr, p);
}

const char *sg_trust_name(int trust)
{
    return trust == SG_TRUST_HARVESTED ? "harvested" : trust == SG_TRUST_DISCOVERED ? "discovered" : "verified";
}
