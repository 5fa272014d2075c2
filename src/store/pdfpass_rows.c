/* pdfpass_rows.c - the public pdf-password calls (pdfpass_rows.h): each dispatches to the
 * backend. Owner: src/store. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store/pdfpass_rows.h"
#include "store/store_int.h"

void sg_pdfpass_row_free(sg_pdfpass_row *r)
{
    if (r->wrapped)
        memset(r->wrapped, 0, r->wrapped_len);
    free(r->wrapped);
    free(r->verifier);
    memset(r, 0, sizeof *r);
}

int sg_store_pdfpass_get(sg_store *s, const char *sender, const char *rcpt, bool with_wrapped,
                         sg_pdfpass_row *out)
{
    memset(out, 0, sizeof *out);
    return s->be->pdfpass->get(s, sender, rcpt, with_wrapped, out);
}

int sg_store_pdfpass_add(sg_store *s, const char *sender, const char *rcpt, const sg_pdfpass_row *row)
{
    return s->be->pdfpass->add(s, sender, rcpt, row);
}

int sg_store_pdfpass_delete(sg_store *s, const char *sender, const char *rcpt)
{
    return s->be->pdfpass->del(s, sender, rcpt);
}
