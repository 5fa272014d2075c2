/* pg_revocation.c - the PostgreSQL backend's revocation calls (store/revocation_rows.h):
 * x509_crls (newest CRL per issuer) and x509_ocsp (last verified answer per certificate).
 * Owner: src/store. */
#include <stdlib.h>
#include <string.h>

#include "store/pg/pg_int.h"
#include "store/revocation_rows.h"

static int put_crl(sg_store *s, const char *issuer_fpr, const sg_store_crl *row)
{
    if (row->der_len > INT32_MAX)
        return sg_store_fail(s, "store: CRL too large");
    pg_args a = {0};
    pa_text(&a, issuer_fpr);
    pa_bytes(&a, row->der ? (const void *)row->der : "", row->der_len);
    pa_i64(&a, row->this_update);
    pa_i64(&a, row->next_update);
    pa_i64(&a, row->number);
    pa_text(&a, row->url);
    pa_i64(&a, row->fetched);
    return pg_cmd(s,
                  "INSERT INTO x509_crls (issuer_fpr, der, this_update, next_update, number, url, fetched)"
                  " VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (issuer_fpr) DO UPDATE SET der = excluded.der,"
                  " this_update = excluded.this_update, next_update = excluded.next_update,"
                  " number = excluded.number, url = excluded.url, fetched = excluded.fetched",
                  &a, "storing a CRL") < 0
               ? -1
               : 0;
}

static int get_crl(sg_store *s, const char *issuer_fpr, sg_store_crl *row)
{
    memset(row, 0, sizeof *row);
    pg_args a = {0};
    pa_text(&a, issuer_fpr);
    PGresult *r = pg_run(s,
                         "SELECT der, this_update, next_update, number, url, fetched FROM x509_crls"
                         " WHERE issuer_fpr = $1",
                         &a, "reading a CRL");
    if (!r)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 1;
    }
    size_t n = (size_t)PQgetlength(r, 0, 0);
    int has_url = !PQgetisnull(r, 0, 4);
    size_t ulen = has_url ? (size_t)PQgetlength(r, 0, 4) + 1 : 0;
    uint8_t *own = malloc(n + ulen + 1);
    if (!own) {
        PQclear(r);
        return sg_store_fail(s, "store: out of memory reading a CRL");
    }
    if (n)
        memcpy(own, PQgetvalue(r, 0, 0), n);
    if (has_url)
        memcpy(own + n, PQgetvalue(r, 0, 4), ulen);
    row->own = own;
    row->der = own;
    row->der_len = n;
    row->url = has_url ? (const char *)own + n : NULL;
    row->this_update = pg_col_i64(r, 0, 1);
    row->next_update = pg_col_i64(r, 0, 2);
    row->number = pg_col_i64(r, 0, 3);
    row->fetched = pg_col_i64(r, 0, 5);
    PQclear(r);
    return 0;
}

static int put_ocsp(sg_store *s, const char *fpr, const sg_store_ocsp *row)
{
    if (row->response_len > INT32_MAX)
        return sg_store_fail(s, "store: OCSP response too large");
    pg_args a = {0};
    pa_text(&a, fpr);
    pa_i64(&a, row->status == SG_STORE_OCSP_REVOKED);
    pa_i64(&a, row->revoked_at);
    pa_i64(&a, row->this_update);
    pa_i64(&a, row->until);
    pa_i64(&a, row->fetched);
    pa_text(&a, row->url ? row->url : "");
    pa_bytes(&a, row->response ? (const void *)row->response : "", row->response_len);
    return pg_cmd(
               s,
               "INSERT INTO x509_ocsp (fpr, status, revoked_at, this_update, until, fetched, url, response)"
               " VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (fpr) DO UPDATE SET status = excluded.status,"
               " revoked_at = excluded.revoked_at, this_update = excluded.this_update,"
               " until = excluded.until, fetched = excluded.fetched, url = excluded.url,"
               " response = excluded.response",
               &a, "storing an OCSP answer") < 0
               ? -1
               : 0;
}

static int get_ocsp(sg_store *s, const char *fpr, int64_t now, sg_store_ocsp *row)
{
    memset(row, 0, sizeof *row);
    pg_args a = {0};
    pa_text(&a, fpr);
    pa_i64(&a, now);
    PGresult *r = pg_run(s,
                         "SELECT status, revoked_at, this_update, until, fetched FROM x509_ocsp"
                         " WHERE fpr = $1 AND until > $2",
                         &a, "reading an OCSP answer");
    if (!r)
        return -1;
    int rc = 1;
    if (PQntuples(r) > 0) {
        row->status = pg_col_i64(r, 0, 0) ? SG_STORE_OCSP_REVOKED : SG_STORE_OCSP_GOOD;
        row->revoked_at = pg_col_i64(r, 0, 1);
        row->this_update = pg_col_i64(r, 0, 2);
        row->until = pg_col_i64(r, 0, 3);
        row->fetched = pg_col_i64(r, 0, 4);
        rc = 0;
    }
    PQclear(r);
    return rc;
}

static int forget(sg_store *s, const char *fpr)
{
    static const char *const sql[] = {"DELETE FROM x509_crls WHERE issuer_fpr = $1",
                                      "DELETE FROM x509_ocsp WHERE fpr = $1"};
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        pg_args a = {0};
        pa_text(&a, fpr);
        if (pg_cmd(s, sql[i], &a, "forgetting revocation data") < 0)
            return -1;
    }
    return 0;
}

const struct sg_store_revocation_ops sg_pg_revocation_ops = {
    .put_crl = put_crl,
    .get_crl = get_crl,
    .put_ocsp = put_ocsp,
    .get_ocsp = get_ocsp,
    .forget = forget,
};
