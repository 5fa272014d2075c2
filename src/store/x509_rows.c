/* x509_rows.c - the public x509 calls of the store (x509_rows.h): each dispatches to the
 * backend's table, so a new backend adds only its own file. Owner: src/store. */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "store/x509_rows.h"

void sg_store_x509_row_clear(sg_x509_row *r)
{
    free(r->subject);
    free(r->issuer);
    free(r->serial);
    for (size_t i = 0; i < r->naddrs; i++)
        free(r->addrs[i]);
    free(r->addrs);
    memset(r, 0, sizeof *r);
}

void sg_store_x509_rows_free(sg_x509_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sg_store_x509_row_clear(&rows[i]);
    free(rows);
}

int sg_store_x509_state(sg_store *s, const char *fpr, bool *have_cert, bool *have_key)
{
    return s->be->x509->state(s, fpr, have_cert, have_key);
}

int sg_store_x509_insert(sg_store *s, const sg_x509_row *r, const uint8_t *der, size_t der_len)
{
    return s->be->x509->insert(s, r, der, der_len);
}

int sg_store_x509_list(sg_store *s, const char *addr, sg_x509_row **rows, size_t *n)
{
    return s->be->x509->list(s, addr, rows, n);
}

int sg_store_x509_get(sg_store *s, const char *fpr, sg_x509_row *r)
{
    return s->be->x509->get(s, fpr, r);
}

int sg_store_x509_der(sg_store *s, const char *fpr, uint8_t **der, size_t *len)
{
    return s->be->x509->der(s, fpr, der, len);
}

int sg_store_x509_each_ca(sg_store *s, bool trusted, sg_x509_der_cb cb, void *ctx)
{
    return s->be->x509->each_ca(s, trusted, cb, ctx);
}

int sg_store_x509_set_trust(sg_store *s, const char *fpr, bool trusted)
{
    return s->be->x509->set_trust(s, fpr, trusted);
}

int sg_store_x509_unlearn(sg_store *s, const char *fpr)
{
    return s->be->x509->unlearn(s, fpr);
}

int sg_store_x509_delete(sg_store *s, const char *fpr)
{
    return s->be->x509->delete_cert(s, fpr);
}

int sg_store_x509_put_key(sg_store *s, const char *fpr, const uint8_t *wrapped, size_t len)
{
    return s->be->x509->put_key(s, fpr, wrapped, len);
}

int sg_store_x509_key(sg_store *s, const char *fpr, uint8_t **wrapped, size_t *len)
{
    return s->be->x509->key(s, fpr, wrapped, len);
}

int sg_store_x509_local_ca(sg_store *s, char fpr[SG_X509_FPR_LEN + 1])
{
    return s->be->x509->local_ca(s, fpr);
}

int sg_store_x509_revoke(sg_store *s, const char *fpr)
{
    return s->be->x509->revoke(s, fpr);
}

int sg_store_x509_each_revoked(sg_store *s, sg_x509_revoked_cb cb, void *ctx)
{
    return s->be->x509->each_revoked(s, cb, ctx);
}

int sg_store_x509_learn_put(sg_store *s, const char *addr, const char *fpr, const uint8_t *caps,
                            size_t caps_len, unsigned cap_flags, int64_t seen)
{
    return s->be->x509->learn_put(s, addr, fpr, caps, caps_len, cap_flags, seen);
}

int sg_store_x509_learn_stale(sg_store *s, const char *addr, int keep, char (*fprs)[SG_X509_FPR_LEN + 1],
                              size_t max)
{
    return s->be->x509->learn_stale(s, addr, keep, fprs, max);
}

int sg_store_x509_learn_forget(sg_store *s, const char *addr, const char *fpr)
{
    return s->be->x509->learn_forget(s, addr, fpr);
}

int sg_store_x509_caps(sg_store *s, const char *addr, sg_x509_learned *l)
{
    return s->be->x509->caps(s, addr, l);
}

int sg_store_x509_page(sg_store *s, const char *addr, size_t limit, size_t offset, sg_x509_row **rows, size_t *n,
                       int64_t *total)
{
    return s->be->x509->page(s, addr, limit, offset, rows, n, total);
}
