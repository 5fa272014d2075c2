/* pg_pdfpass.c - the PostgreSQL backend's pdf-password calls (store/pdfpass_rows.h): table
 * pdf_passwords (the last migration of pg_schema.c). Owner: src/store. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store/pdfpass_rows.h"
#include "store/pg/pg_int.h"

static int get(sg_store *s, const char *sender, const char *rcpt, bool with_wrapped, sg_pdfpass_row *out)
{
    pg_args a = {0};
    pa_text(&a, sender);
    pa_text(&a, rcpt);
    PGresult *r = pg_run(s, "SELECT wrapped, verifier, created FROM pdf_passwords WHERE sender = $1 AND rcpt = $2",
                         &a, "reading a pdf password");
    if (!r)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 1;
    }
    out->verifier = pg_col_dup(r, 0, 1);
    out->created = pg_col_i64(r, 0, 2);
    int rc = out->verifier ? 0 : sg_store_fail(s, "store: cannot read the pdf password of %s", rcpt);
    if (rc == 0 && with_wrapped)
        rc = pg_col_bytes(s, r, 0, 0, rcpt, &out->wrapped, &out->wrapped_len);
    PQclear(r);
    if (rc < 0)
        sg_pdfpass_row_free(out);
    return rc;
}

static int add(sg_store *s, const char *sender, const char *rcpt, const sg_pdfpass_row *row)
{
    pg_args a = {0};
    pa_text(&a, sender);
    pa_text(&a, rcpt);
    pa_bytes(&a, row->wrapped, row->wrapped_len);
    pa_text(&a, row->verifier);
    pa_i64(&a, row->created);
    int64_t n = pg_cmd(s, "INSERT INTO pdf_passwords (sender, rcpt, wrapped, verifier, created)"
                          " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                       &a, "adding a pdf password");
    return n < 0 ? -1 : n ? 0 : 1;
}

static int del(sg_store *s, const char *sender, const char *rcpt)
{
    pg_args a = {0};
    pa_text(&a, sender);
    pa_text(&a, rcpt);
    int64_t n = pg_cmd(s, "DELETE FROM pdf_passwords WHERE sender = $1 AND rcpt = $2", &a,
                       "deleting a pdf password");
    return n < 0 ? -1 : n ? 0 : 1;
}

const struct sg_store_pdfpass_ops sg_pg_pdfpass_ops = {.get = get, .add = add, .del = del};
