/* revocation_rows.c - the public revocation calls (revocation_rows.h): each dispatches to the
 * backend's table, so a backend is added without touching a caller. Owner: src/store. */
#include <stdlib.h>
#include <string.h>

#include "store/revocation_rows.h"
#include "store/store_int.h"

int sg_store_revocation_put_crl(sg_store *s, const char *issuer_fpr, const sg_store_crl *row)
{
    return s->be->revocation->put_crl(s, issuer_fpr, row);
}

int sg_store_revocation_get_crl(sg_store *s, const char *issuer_fpr, sg_store_crl *row)
{
    return s->be->revocation->get_crl(s, issuer_fpr, row);
}

void sg_store_crl_free(sg_store_crl *row)
{
    free(row->own);
    memset(row, 0, sizeof *row);
}

int sg_store_revocation_put_ocsp(sg_store *s, const char *fpr, const sg_store_ocsp *row)
{
    return s->be->revocation->put_ocsp(s, fpr, row);
}

int sg_store_revocation_get_ocsp(sg_store *s, const char *fpr, int64_t now, sg_store_ocsp *row)
{
    return s->be->revocation->get_ocsp(s, fpr, now, row);
}

int sg_store_revocation_forget(sg_store *s, const char *fpr)
{
    return s->be->revocation->forget(s, fpr);
}
