/* pgp_rows.c - the public pgp calls (pgp_rows.h): each dispatches to the backend. Owner:
 * src/store. */
#include <stdlib.h>
#include <string.h>

#include "store/pgp_rows.h"
#include "store/store_int.h"

void sg_store_pgp_key_clear(sg_store_pgp_key *k)
{
    for (size_t i = 0; i < k->nuids; i++) {
        free(k->uids[i].uid);
        free(k->uids[i].addr);
    }
    free(k->uids);
    free(k->revoke_reason);
    memset(k, 0, sizeof *k);
}

void sg_store_pgp_free_list(sg_store_pgp_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sg_store_pgp_key_clear(&keys[i]);
    free(keys);
}

int sg_store_pgp_put_key(sg_store *s, const sg_store_pgp_key *k, const uint8_t *pub, size_t publen,
                         int64_t now)
{
    return s->be->pgp->put_key(s, k, pub, publen, now);
}

int sg_store_pgp_put_secret(sg_store *s, const char *fpr, const uint8_t *wrapped, size_t len)
{
    return s->be->pgp->put_secret(s, fpr, wrapped, len);
}

int sg_store_pgp_delete(sg_store *s, const char *fpr)
{
    return s->be->pgp->delete_key(s, fpr);
}

int sg_store_pgp_get_public(sg_store *s, const char *fpr, uint8_t **out, size_t *len)
{
    return s->be->pgp->get_public(s, fpr, out, len);
}

int sg_store_pgp_get_wrapped(sg_store *s, const char *fpr, uint8_t **out, size_t *len)
{
    return s->be->pgp->get_wrapped(s, fpr, out, len);
}

int sg_store_pgp_has_secret(sg_store *s, const char *fpr)
{
    return s->be->pgp->has_secret(s, fpr);
}

int sg_store_pgp_each_public(sg_store *s, void (*cb)(void *ctx, const uint8_t *pub, size_t len), void *ctx)
{
    return s->be->pgp->each_public(s, cb, ctx);
}

int sg_store_pgp_get(sg_store *s, const char *fpr, sg_store_pgp_key *k)
{
    return s->be->pgp->get(s, fpr, k);
}

int sg_store_pgp_list(sg_store *s, const char *addr, sg_store_pgp_key **keys, size_t *n)
{
    return s->be->pgp->list(s, addr, keys, n);
}

int sg_store_pgp_find_encryption(sg_store *s, const char *addr, int64_t now,
                                 char fpr[SG_STORE_PGP_FPR_LEN + 1])
{
    return s->be->pgp->find_encryption(s, addr, now, fpr);
}

int sg_store_pgp_find_own_signing(sg_store *s, const char *addr, int64_t now,
                                  char fpr[SG_STORE_PGP_FPR_LEN + 1])
{
    return s->be->pgp->find_own_signing(s, addr, now, fpr);
}

int sg_store_pgp_page(sg_store *s, const char *addr, size_t limit, size_t offset, sg_store_pgp_key **keys,
                      size_t *n, int64_t *total)
{
    return s->be->pgp->page(s, addr, limit, offset, keys, n, total);
}
