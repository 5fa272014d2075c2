/* sqlite_revocation.c - the SQLite backend's revocation calls (store/revocation_rows.h):
 * tables x509_crls (newest CRL per issuer) and x509_ocsp (last verified answer per
 * certificate), migrations 3 and 4 of sqlite_store.c. Owner: src/store.
 * Every statement is a cached one (sq_stmt): the reads run for every certificate of every
 * chain validated, and the writes follow each fetch. */
#include <stdlib.h>
#include <string.h>

#include "store/revocation_rows.h"
#include "store/sqlite/sqlite_int.h"

/* Steps st, which returns no row, and gives it back. 0, or -1 with what failed. */
static int run(sg_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sq_fail(s, what);
    sq_done(s, st);
    return rc;
}

static int put_crl(sg_store *s, const char *issuer_fpr, const sg_store_crl *row)
{
    sqlite3_stmt *st =
        sq_stmt(s, "INSERT OR REPLACE INTO x509_crls (issuer_fpr, der, this_update, next_update,"
                   " number, url, fetched) VALUES (?,?,?,?,?,?,?)");
    if (!st)
        return -1;
    if (row->der_len > INT32_MAX) {
        sq_done(s, st);
        return sg_store_fail(s, "store: CRL too large");
    }
    sqlite3_bind_text(st, 1, issuer_fpr, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, row->der ? (const void *)row->der : "", (int)row->der_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, row->this_update);
    sqlite3_bind_int64(st, 4, row->next_update);
    sqlite3_bind_int64(st, 5, row->number);
    if (row->url)
        sqlite3_bind_text(st, 6, row->url, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 6);
    sqlite3_bind_int64(st, 7, row->fetched);
    return run(s, st, "storing a CRL");
}

static int get_crl(sg_store *s, const char *issuer_fpr, sg_store_crl *row)
{
    memset(row, 0, sizeof *row);
    sqlite3_stmt *st = sq_stmt(s, "SELECT der, this_update, next_update, number, url, fetched FROM x509_crls"
                                  " WHERE issuer_fpr = ?");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, issuer_fpr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        rc = rc == SQLITE_DONE ? 1 : sq_fail(s, "reading a CRL");
        sq_done(s, st);
        return rc;
    }
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    const void *der = sqlite3_column_blob(st, 0);
    const unsigned char *url = sqlite3_column_text(st, 4);
    size_t ulen = url ? (size_t)sqlite3_column_bytes(st, 4) + 1 : 0;
    uint8_t *own = malloc(n + ulen + 1);
    if (!own) {
        sq_done(s, st);
        return sg_store_fail(s, "store: out of memory reading a CRL");
    }
    if (n)
        memcpy(own, der, n);
    if (url)
        memcpy(own + n, url, ulen);
    row->own = own;
    row->der = own;
    row->der_len = n;
    row->url = url ? (const char *)own + n : NULL;
    row->this_update = sqlite3_column_int64(st, 1);
    row->next_update = sqlite3_column_int64(st, 2);
    row->number = sqlite3_column_int64(st, 3);
    row->fetched = sqlite3_column_int64(st, 5);
    sq_done(s, st);
    return 0;
}

static int put_ocsp(sg_store *s, const char *fpr, const sg_store_ocsp *row)
{
    sqlite3_stmt *st = sq_stmt(s, "INSERT OR REPLACE INTO x509_ocsp (fpr, status, revoked_at, this_update,"
                                  " until, fetched, url, response) VALUES (?,?,?,?,?,?,?,?)");
    if (!st)
        return -1;
    if (row->response_len > INT32_MAX) {
        sq_done(s, st);
        return sg_store_fail(s, "store: OCSP response too large");
    }
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, row->status == SG_STORE_OCSP_REVOKED);
    sqlite3_bind_int64(st, 3, row->revoked_at);
    sqlite3_bind_int64(st, 4, row->this_update);
    sqlite3_bind_int64(st, 5, row->until);
    sqlite3_bind_int64(st, 6, row->fetched);
    sqlite3_bind_text(st, 7, row->url ? row->url : "", -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 8, row->response ? (const void *)row->response : "", (int)row->response_len,
                      SQLITE_STATIC);
    return run(s, st, "storing an OCSP answer");
}

static int get_ocsp(sg_store *s, const char *fpr, int64_t now, sg_store_ocsp *row)
{
    memset(row, 0, sizeof *row);
    sqlite3_stmt *st = sq_stmt(s, "SELECT status, revoked_at, this_update, until, fetched FROM x509_ocsp"
                                  " WHERE fpr = ? AND until > ?");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        row->status = sqlite3_column_int(st, 0) ? SG_STORE_OCSP_REVOKED : SG_STORE_OCSP_GOOD;
        row->revoked_at = sqlite3_column_int64(st, 1);
        row->this_update = sqlite3_column_int64(st, 2);
        row->until = sqlite3_column_int64(st, 3);
        row->fetched = sqlite3_column_int64(st, 4);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? 1 : sq_fail(s, "reading an OCSP answer");
    }
    sq_done(s, st);
    return rc;
}

static int forget(sg_store *s, const char *fpr)
{
    static const char *const sql[] = {"DELETE FROM x509_crls WHERE issuer_fpr = ?",
                                      "DELETE FROM x509_ocsp WHERE fpr = ?"};
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        sqlite3_stmt *st = sq_stmt(s, sql[i]);
        if (!st)
            return -1;
        sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
        if (run(s, st, "forgetting revocation data") < 0)
            return -1;
    }
    return 0;
}

const struct sg_store_revocation_ops sg_sqlite_revocation_ops = {
    .put_crl = put_crl,
    .get_crl = get_crl,
    .put_ocsp = put_ocsp,
    .get_ocsp = get_ocsp,
    .forget = forget,
};
