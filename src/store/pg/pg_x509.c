/* pg_x509.c - the PostgreSQL backend's x509 calls (store/x509_rows.h): x509_certs,
 * x509_addrs, x509_keys and x509_learned; deleting a certificate also clears its rows in the
 * revocation cache (x509_crls, x509_ocsp). Owner: src/store. The same queries as
 * sqlite_x509.c in PostgreSQL's dialect, each prepared once per connection. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg/pg_int.h"
#include "store/x509_rows.h"

static void one_text(pg_args *a, const char *t)
{
    memset(a, 0, sizeof *a);
    pa_text(a, t);
}

static int x_state(sg_store *s, const char *fpr, bool *have_cert, bool *have_key)
{
    pg_args a;
    one_text(&a, fpr);
    PGresult *r = pg_run(s,
                         "SELECT (SELECT count(*) FROM x509_certs WHERE fpr = $1),"
                         " (SELECT count(*) FROM x509_keys WHERE fpr = $1)",
                         &a, "reading a certificate's state");
    if (!r)
        return -1;
    *have_cert = pg_col_i64(r, 0, 0) > 0;
    *have_key = pg_col_i64(r, 0, 1) > 0;
    PQclear(r);
    return 0;
}

static int x_insert(sg_store *s, const sg_x509_row *r, const uint8_t *der, size_t der_len)
{
    if (der_len > INT_MAX)
        return sg_store_fail(s, "store: %zu bytes are too many for one value", der_len);
    pg_args a = {0};
    pa_text(&a, r->fpr);
    pa_bytes(&a, der, der_len);
    pa_text(&a, r->subject);
    pa_text(&a, r->issuer);
    pa_text(&a, r->serial);
    pa_i64(&a, r->not_before);
    pa_i64(&a, r->not_after);
    pa_i64(&a, r->key_usage);
    pa_i64(&a, r->eku_email);
    pa_i64(&a, r->is_ca);
    pa_i64(&a, r->trusted);
    pa_i64(&a, r->local_ca);
    pa_i64(&a, r->learned);
    if (pg_cmd(s,
               "INSERT INTO x509_certs (fpr, der, subject, issuer, serial, not_before, not_after, key_usage,"
               " eku_email, is_ca, trusted, local_ca, learned, imported) VALUES"
               " ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13, floor(extract(epoch from now()))::bigint)",
               &a, "storing a certificate") < 0)
        return -1;
    for (size_t i = 0; i < r->naddrs; i++) {
        const char *at = strchr(r->addrs[i], '@');
        if (!at)
            return sg_store_fail(s, "store: not an address: %s", r->addrs[i]);
        pg_args b = {0};
        pa_text(&b, r->fpr);
        pa_text(&b, r->addrs[i]);
        pa_text(&b, at + 1);
        if (pg_cmd(s, "INSERT INTO x509_addrs (fpr, addr, domain) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING",
                   &b, "storing a certificate's address") < 0)
            return -1;
    }
    return 0;
}

static int read_addrs(sg_store *s, sg_x509_row *row)
{
    pg_args a;
    one_text(&a, row->fpr);
    PGresult *r = pg_run(s, "SELECT addr FROM x509_addrs WHERE fpr = $1 ORDER BY addr COLLATE \"C\"", &a,
                         "reading a certificate's addresses");
    if (!r)
        return -1;
    int n = PQntuples(r), rc = 0;
    if (n && !(row->addrs = calloc((size_t)n, sizeof *row->addrs)))
        rc = sg_store_fail(s, "store: out of memory");
    for (int i = 0; rc == 0 && i < n; i++) {
        if (!(row->addrs[i] = strdup(PQgetvalue(r, i, 0))))
            rc = sg_store_fail(s, "store: out of memory");
        else
            row->naddrs++;
    }
    PQclear(r);
    return rc;
}

#define CERT_COLS                                                                                            \
    "c.fpr, c.subject, c.issuer, c.serial, c.not_before, c.not_after, c.key_usage, c.eku_email, c.is_ca,"    \
    " c.trusted, c.learned, c.local_ca, c.revoked, c.revoked_at,"                                            \
    " EXISTS (SELECT 1 FROM x509_keys k WHERE k.fpr = c.fpr)"

static int read_row(sg_store *s, const PGresult *res, int i, sg_x509_row *r)
{
    memset(r, 0, sizeof *r);
    pg_col_text(res, i, 0, r->fpr, SG_X509_FPR_LEN + 1);
    r->subject = strdup(PQgetvalue(res, i, 1));
    r->issuer = strdup(PQgetvalue(res, i, 2));
    r->serial = strdup(PQgetvalue(res, i, 3));
    r->not_before = pg_col_i64(res, i, 4);
    r->not_after = pg_col_i64(res, i, 5);
    r->key_usage = pg_col_i64(res, i, 6);
    r->eku_email = pg_col_i64(res, i, 7);
    r->is_ca = pg_col_i64(res, i, 8);
    r->trusted = pg_col_i64(res, i, 9);
    r->learned = pg_col_i64(res, i, 10);
    r->local_ca = pg_col_i64(res, i, 11);
    r->revoked = pg_col_i64(res, i, 12);
    r->revoked_at = pg_col_i64(res, i, 13);
    r->has_key = pg_col_i64(res, i, 14);
    int rc =
        r->subject && r->issuer && r->serial ? read_addrs(s, r) : sg_store_fail(s, "store: out of memory");
    if (rc < 0)
        sg_store_x509_row_clear(r);
    return rc;
}

/* The certificates of list (for addr or all), newest first; limit < 0: all from offset. */
static int list_from(sg_store *s, const char *addr, int64_t limit, int64_t offset, sg_x509_row **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    pg_args a = {0};
    pa_text(&a, addr);
    if (limit < 0)
        pa_text(&a, NULL); /* LIMIT NULL: no limit */
    else
        pa_i64(&a, limit);
    pa_i64(&a, offset);
    PGresult *r = pg_run(s,
                         "SELECT " CERT_COLS " FROM x509_certs c WHERE $1::text IS NULL OR c.fpr IN"
                         " (SELECT fpr FROM x509_addrs WHERE addr = $1) ORDER BY c.not_before DESC,"
                         " c.fpr COLLATE \"C\" LIMIT $2 OFFSET $3",
                         &a, "listing certificates");
    if (!r)
        return -1;
    int nr = PQntuples(r), rc = 0;
    if (nr && !(*rows = calloc((size_t)nr, sizeof **rows)))
        rc = sg_store_fail(s, "store: out of memory");
    for (int i = 0; rc == 0 && i < nr; i++)
        if ((rc = read_row(s, r, i, &(*rows)[*n])) == 0)
            (*n)++;
    PQclear(r);
    if (rc < 0) {
        sg_store_x509_rows_free(*rows, *n);
        *rows = NULL;
        *n = 0;
    }
    return rc;
}

static int x_list(sg_store *s, const char *addr, sg_x509_row **rows, size_t *n)
{
    return list_from(s, addr, -1, 0, rows, n);
}

static int x_page(sg_store *s, const char *addr, size_t limit, size_t offset, sg_x509_row **rows, size_t *n,
                  int64_t *total)
{
    pg_args a = {0};
    pa_text(&a, addr);
    PGresult *r = pg_run(s,
                         "SELECT CASE WHEN $1::text IS NULL THEN (SELECT count(*) FROM x509_certs)"
                         " ELSE (SELECT count(DISTINCT fpr) FROM x509_addrs WHERE addr = $1) END",
                         &a, "counting certificates");
    if (!r)
        return -1;
    *total = pg_col_i64(r, 0, 0);
    PQclear(r);
    return list_from(s, addr, (int64_t)limit, (int64_t)offset, rows, n);
}

static int x_get(sg_store *s, const char *fpr, sg_x509_row *row)
{
    memset(row, 0, sizeof *row);
    pg_args a;
    one_text(&a, fpr);
    PGresult *r =
        pg_run(s, "SELECT " CERT_COLS " FROM x509_certs c WHERE c.fpr = $1", &a, "reading a certificate");
    if (!r)
        return -1;
    int rc = PQntuples(r) ? read_row(s, r, 0, row) : 1;
    PQclear(r);
    return rc;
}

static int one_blob(sg_store *s, const char *sql, const char *fpr, const char *what, uint8_t **out,
                    size_t *len)
{
    *out = NULL;
    *len = 0;
    pg_args a;
    one_text(&a, fpr);
    PGresult *r = pg_run(s, sql, &a, what);
    if (!r)
        return -1;
    int rc = PQntuples(r) ? pg_col_bytes(s, r, 0, 0, fpr, out, len) : 1;
    PQclear(r);
    return rc;
}

static int x_der(sg_store *s, const char *fpr, uint8_t **der, size_t *len)
{
    return one_blob(s, "SELECT der FROM x509_certs WHERE fpr = $1", fpr, "reading a certificate", der, len);
}

static int x_key(sg_store *s, const char *fpr, uint8_t **wrapped, size_t *len)
{
    return one_blob(s, "SELECT wrapped FROM x509_keys WHERE fpr = $1", fpr, "reading a private key", wrapped,
                    len);
}

static int x_each_ca(sg_store *s, bool trusted, sg_x509_der_cb cb, void *ctx)
{
    pg_args a = {0};
    pa_i64(&a, trusted);
    PGresult *r = pg_run(s, "SELECT der FROM x509_certs WHERE trusted = $1 AND is_ca = 1", &a,
                         "reading CA certificates");
    if (!r)
        return -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        int n = PQgetisnull(r, i, 0) ? 0 : PQgetlength(r, i, 0);
        rc = cb(ctx, n ? (const uint8_t *)PQgetvalue(r, i, 0) : NULL, (size_t)n);
    }
    PQclear(r);
    return rc;
}

/* An update of one row by fpr: 0 changed, 1 no such row, -1. */
static int update_one(sg_store *s, const char *sql, pg_args *a, const char *what)
{
    int64_t n = pg_cmd(s, sql, a, what);
    return n < 0 ? -1 : n > 0 ? 0 : 1;
}

static int x_set_trust(sg_store *s, const char *fpr, bool trusted)
{
    pg_args a = {0};
    pa_i64(&a, trusted);
    pa_text(&a, fpr);
    return update_one(s, "UPDATE x509_certs SET trusted = $1 WHERE fpr = $2", &a, "setting trust");
}

static int x_unlearn(sg_store *s, const char *fpr)
{
    pg_args a;
    one_text(&a, fpr);
    return update_one(s, "UPDATE x509_certs SET learned = 0 WHERE fpr = $1 AND learned = 1", &a,
                      "updating a certificate");
}

static int x_delete(sg_store *s, const char *fpr)
{
    /* The certificate's row last: its count says whether there was one. */
    static const char *const sql[] = {
        "DELETE FROM x509_addrs WHERE fpr = $1",       "DELETE FROM x509_keys WHERE fpr = $1",
        "DELETE FROM x509_crls WHERE issuer_fpr = $1", "DELETE FROM x509_learned WHERE fpr = $1",
        "DELETE FROM x509_ocsp WHERE fpr = $1",        "DELETE FROM x509_certs WHERE fpr = $1"};
    int64_t n = 0;
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        pg_args a;
        one_text(&a, fpr);
        if ((n = pg_cmd(s, sql[i], &a, "deleting a certificate")) < 0)
            return -1;
    }
    return n > 0 ? 0 : 1;
}

static int x_put_key(sg_store *s, const char *fpr, const uint8_t *wrapped, size_t len)
{
    if (len > INT_MAX)
        return sg_store_fail(s, "store: %zu bytes are too many for one value", len);
    pg_args a = {0};
    pa_text(&a, fpr);
    pa_bytes(&a, wrapped, len);
    return pg_cmd(s,
                  "INSERT INTO x509_keys (fpr, wrapped) VALUES ($1, $2)"
                  " ON CONFLICT (fpr) DO UPDATE SET wrapped = excluded.wrapped",
                  &a, "storing a private key") < 0
               ? -1
               : 0;
}

static int x_local_ca(sg_store *s, char fpr[SG_X509_FPR_LEN + 1])
{
    PGresult *r = pg_run(s, "SELECT fpr FROM x509_certs WHERE local_ca = 1 ORDER BY not_before DESC LIMIT 1",
                         NULL, "reading the local CA");
    if (!r)
        return -1;
    int rc = PQntuples(r) ? 0 : 1;
    if (rc == 0)
        pg_col_text(r, 0, 0, fpr, SG_X509_FPR_LEN + 1);
    PQclear(r);
    return rc;
}

/* Times are truncated to the second (floor), as SQLite's strftime('%s'): a cast would round a
 * revocation up into the next second, "after" a validation made in this one, which then
 * calls the certificate good (test_cluster caught it). */
static int x_revoke(sg_store *s, const char *fpr)
{
    pg_args a;
    one_text(&a, fpr);
    return update_one(
        s,
        "UPDATE x509_certs SET revoked = 1, revoked_at = floor(extract(epoch from now()))::bigint"
        " WHERE fpr = $1",
        &a, "revoking a certificate");
}

static int x_each_revoked(sg_store *s, sg_x509_revoked_cb cb, void *ctx)
{
    PGresult *r = pg_run(s, "SELECT serial, revoked_at FROM x509_certs WHERE revoked = 1 AND local_ca = 0",
                         NULL, "reading revoked certificates");
    if (!r)
        return -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++)
        rc = cb(ctx, PQgetvalue(r, i, 0), pg_col_i64(r, i, 1));
    PQclear(r);
    return rc;
}

static int x_learn_put(sg_store *s, const char *addr, const char *fpr, const uint8_t *caps, size_t caps_len,
                       unsigned cap_flags, int64_t seen)
{
    if (caps && caps_len > INT_MAX)
        return sg_store_fail(s, "store: %zu bytes are too many for one value", caps_len);
    pg_args a = {0};
    pa_text(&a, addr);
    pa_text(&a, fpr);
    pa_bytes(&a, caps, caps ? caps_len : 0);
    pa_i64(&a, cap_flags);
    pa_i64(&a, seen);
    /* A later message replaces the capabilities; an older one (out of order) does not. */
    return pg_cmd(s,
                  "INSERT INTO x509_learned AS l (addr, fpr, caps, cap_flags, first_seen, last_seen)"
                  " VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (addr, fpr) DO UPDATE SET"
                  " caps = CASE WHEN excluded.last_seen >= l.last_seen THEN excluded.caps ELSE l.caps END,"
                  " cap_flags = CASE WHEN excluded.last_seen >= l.last_seen THEN excluded.cap_flags"
                  " ELSE l.cap_flags END,"
                  " first_seen = least(l.first_seen, excluded.first_seen),"
                  " last_seen = greatest(l.last_seen, excluded.last_seen)",
                  &a, "recording a signer") < 0
               ? -1
               : 0;
}

static int x_learn_stale(sg_store *s, const char *addr, int keep, char (*fprs)[SG_X509_FPR_LEN + 1],
                         size_t max)
{
    pg_args a = {0};
    pa_text(&a, addr);
    pa_i64(&a, keep < 0 ? 0 : keep);
    PGresult *r = pg_run(s,
                         "SELECT l.fpr FROM x509_learned l JOIN x509_certs c ON c.fpr = l.fpr COLLATE \"C\""
                         " WHERE l.addr = $1 AND c.learned = 1"
                         " AND NOT EXISTS (SELECT 1 FROM x509_keys k WHERE k.fpr = l.fpr)"
                         " ORDER BY l.last_seen DESC, l.fpr COLLATE \"C\" OFFSET $2",
                         &a, "reading learned certificates");
    if (!r)
        return -1;
    size_t n = 0;
    for (int i = 0; n < max && i < PQntuples(r); i++)
        pg_col_text(r, i, 0, fprs[n++], SG_X509_FPR_LEN + 1);
    PQclear(r);
    return (int)n;
}

static int x_learn_forget(sg_store *s, const char *addr, const char *fpr)
{
    pg_args a = {0};
    pa_text(&a, addr);
    pa_text(&a, fpr);
    if (pg_cmd(s, "DELETE FROM x509_learned WHERE addr = $1 AND fpr = $2", &a, "forgetting a signer") < 0)
        return -1;
    pg_args b;
    one_text(&b, fpr);
    PGresult *r = pg_run(s, "SELECT count(*) FROM x509_learned WHERE fpr = $1", &b, "counting signers");
    if (!r)
        return -1;
    int n = (int)pg_col_i64(r, 0, 0);
    PQclear(r);
    return n;
}

static int x_caps(sg_store *s, const char *addr, sg_x509_learned *l)
{
    memset(l, 0, sizeof *l);
    pg_args a;
    one_text(&a, addr);
    PGresult *r = pg_run(s,
                         "SELECT fpr, caps, first_seen, last_seen FROM x509_learned"
                         " WHERE addr = $1 ORDER BY last_seen DESC, fpr COLLATE \"C\" LIMIT 1",
                         &a, "reading capabilities");
    if (!r)
        return -1;
    int rc = 1;
    if (PQntuples(r)) {
        pg_col_text(r, 0, 0, l->fpr, SG_X509_FPR_LEN + 1);
        l->first_seen = pg_col_i64(r, 0, 2);
        l->last_seen = pg_col_i64(r, 0, 3);
        /* No capabilities (NULL or empty) is a fact of the row, not an error. */
        rc = !PQgetisnull(r, 0, 1) && PQgetlength(r, 0, 1) > 0
                 ? pg_col_bytes(s, r, 0, 1, l->fpr, &l->caps, &l->caps_len)
                 : 0;
    }
    PQclear(r);
    return rc;
}

const struct sg_store_x509_ops sg_pg_x509_ops = {
    .state = x_state,
    .insert = x_insert,
    .list = x_list,
    .page = x_page,
    .get = x_get,
    .der = x_der,
    .each_ca = x_each_ca,
    .set_trust = x_set_trust,
    .unlearn = x_unlearn,
    .delete_cert = x_delete,
    .put_key = x_put_key,
    .key = x_key,
    .local_ca = x_local_ca,
    .revoke = x_revoke,
    .each_revoked = x_each_revoked,
    .learn_put = x_learn_put,
    .learn_stale = x_learn_stale,
    .learn_forget = x_learn_forget,
    .caps = x_caps,
};
