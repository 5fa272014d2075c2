/* sqlite_x509.c - the SQLite backend's x509 calls (store/x509_rows.h): x509_certs,
 * x509_addrs, x509_keys and x509_learned; the delete of a certificate also clears its rows in
 * the revocation cache (x509_crls, x509_ocsp). Owner: src/store.
 * Every statement comes from the store's cache (sq_stmt): certificate selection, loading,
 * validation's CA lists and learning run per message. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite_int.h"
#include "store/x509_rows.h"

/* Steps a statement that returns no row and gives it back: 0, or -1 with why. */
static int run(sg_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sq_fail(s, what);
    sq_done(s, st);
    return rc;
}

/* Binds bytes for one step (as the text binds: valid until the statement is given back); a
 * length over INT_MAX is refused, not cut. */
static int bind_bytes(sg_store *s, sqlite3_stmt *st, int i, const uint8_t *p, size_t len)
{
    if (len > INT_MAX)
        return sg_store_fail(s, "store: %zu bytes are too many for one value", len);
    return sqlite3_bind_blob(st, i, p, (int)len, SQLITE_STATIC) == SQLITE_OK ? 0
                                                                             : sq_fail(s, "binding a value");
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return strdup(t ? (const char *)t : "");
}

/* "No row changed" as 1, for the updates of one row by fpr. */
static int changed(sg_store *s)
{
    return sqlite3_changes(sq_of(s)->db) > 0 ? 0 : 1;
}

static int sq_x509_state(sg_store *s, const char *fpr, bool *have_cert, bool *have_key)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT (SELECT count(*) FROM x509_certs WHERE fpr = ?1),"
                                  " (SELECT count(*) FROM x509_keys WHERE fpr = ?1)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : sq_fail(s, "reading a certificate's state");
    if (rc == 0) {
        *have_cert = sqlite3_column_int(st, 0) > 0;
        *have_key = sqlite3_column_int(st, 1) > 0;
    }
    sq_done(s, st);
    return rc;
}

static int sq_x509_insert(sg_store *s, const sg_x509_row *r, const uint8_t *der, size_t der_len)
{
    sqlite3_stmt *st = sq_stmt(s, "INSERT INTO x509_certs (fpr, der, subject, issuer, serial, not_before,"
                                  " not_after, key_usage, eku_email, is_ca, trusted, local_ca, learned,"
                                  " imported) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,strftime('%s','now'))");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, r->fpr, -1, SQLITE_STATIC);
    if (bind_bytes(s, st, 2, der, der_len) < 0) {
        sq_done(s, st);
        return -1;
    }
    sqlite3_bind_text(st, 3, r->subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->issuer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, r->serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, r->not_before);
    sqlite3_bind_int64(st, 7, r->not_after);
    sqlite3_bind_int64(st, 8, r->key_usage);
    sqlite3_bind_int(st, 9, r->eku_email);
    sqlite3_bind_int(st, 10, r->is_ca);
    sqlite3_bind_int(st, 11, r->trusted);
    sqlite3_bind_int(st, 12, r->local_ca);
    sqlite3_bind_int(st, 13, r->learned);
    int rc = run(s, st, "storing a certificate");
    for (size_t i = 0; rc == 0 && i < r->naddrs; i++) {
        const char *at = strchr(r->addrs[i], '@');
        if (!at)
            return sg_store_fail(s, "store: not an address: %s", r->addrs[i]);
        if (!(st = sq_stmt(s, "INSERT OR IGNORE INTO x509_addrs (fpr, addr, domain) VALUES (?,?,?)")))
            return -1;
        sqlite3_bind_text(st, 1, r->fpr, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, r->addrs[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, at + 1, -1, SQLITE_STATIC);
        rc = run(s, st, "storing a certificate's address");
    }
    return rc;
}

static int read_addrs(sg_store *s, sg_x509_row *r)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT addr FROM x509_addrs WHERE fpr = ? ORDER BY addr");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, r->fpr, -1, SQLITE_STATIC);
    int step = SQLITE_DONE, rc = 0;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        char **v = realloc(r->addrs, (r->naddrs + 1) * sizeof *v);
        if (v)
            r->addrs = v;
        if (!v || !(v[r->naddrs] = col_dup(st, 0)))
            rc = sg_store_fail(s, "store: out of memory");
        else
            r->naddrs++;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = sq_fail(s, "reading a certificate's addresses");
    sq_done(s, st);
    return rc;
}

#define CERT_COLS                                                                                            \
    "c.fpr, c.subject, c.issuer, c.serial, c.not_before, c.not_after, c.key_usage, c.eku_email, c.is_ca,"    \
    " c.trusted, c.learned, c.local_ca, c.revoked, c.revoked_at,"                                            \
    " EXISTS (SELECT 1 FROM x509_keys k WHERE k.fpr = c.fpr)"

/* The row st stands on (columns CERT_COLS) with its addresses: 0, or -1 (r cleared). */
static int read_row(sg_store *s, sqlite3_stmt *st, sg_x509_row *r)
{
    memset(r, 0, sizeof *r);
    sq_col_text(st, 0, r->fpr, SG_X509_FPR_LEN + 1);
    r->subject = col_dup(st, 1);
    r->issuer = col_dup(st, 2);
    r->serial = col_dup(st, 3);
    r->not_before = sqlite3_column_int64(st, 4);
    r->not_after = sqlite3_column_int64(st, 5);
    r->key_usage = sqlite3_column_int64(st, 6);
    r->eku_email = sqlite3_column_int(st, 7);
    r->is_ca = sqlite3_column_int(st, 8);
    r->trusted = sqlite3_column_int(st, 9);
    r->learned = sqlite3_column_int(st, 10);
    r->local_ca = sqlite3_column_int(st, 11);
    r->revoked = sqlite3_column_int(st, 12);
    r->revoked_at = sqlite3_column_int64(st, 13);
    r->has_key = sqlite3_column_int(st, 14);
    int rc =
        r->subject && r->issuer && r->serial ? read_addrs(s, r) : sg_store_fail(s, "store: out of memory");
    if (rc < 0)
        sg_store_x509_row_clear(r);
    return rc;
}

/* The certificates of list (for addr or all), newest first; limit -1: all from offset. Rows
 * grow by doubling (one realloc per row made a list of 100,000 quadratic). */
static int list_from(sg_store *s, const char *addr, int64_t limit, int64_t offset, sg_x509_row **rows, size_t *n)
{
    *rows = NULL;
    *n = 0;
    sqlite3_stmt *st =
        sq_stmt(s, addr ? "SELECT " CERT_COLS " FROM x509_certs c WHERE c.fpr IN"
                          " (SELECT fpr FROM x509_addrs WHERE addr = ?1) ORDER BY c.not_before DESC, c.fpr"
                          " LIMIT ?2 OFFSET ?3"
                        : "SELECT " CERT_COLS " FROM x509_certs c ORDER BY c.not_before DESC, c.fpr"
                          " LIMIT ?2 OFFSET ?3");
    if (!st)
        return -1;
    if (addr)
        sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, limit);
    sqlite3_bind_int64(st, 3, offset);
    size_t cap = 0;
    int step = SQLITE_DONE, rc = 0;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            sg_x509_row *v = realloc(*rows, (cap = cap ? cap * 2 : 16) * sizeof *v);
            if (!v) {
                rc = sg_store_fail(s, "store: out of memory");
                break;
            }
            *rows = v;
        }
        if ((rc = read_row(s, st, &(*rows)[*n])) == 0)
            (*n)++;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = sq_fail(s, "listing certificates");
    sq_done(s, st);
    if (rc < 0) {
        sg_store_x509_rows_free(*rows, *n);
        *rows = NULL;
        *n = 0;
    }
    return rc;
}

static int sq_x509_list(sg_store *s, const char *addr, sg_x509_row **rows, size_t *n)
{
    return list_from(s, addr, -1, 0, rows, n);
}

static int sq_x509_page(sg_store *s, const char *addr, size_t limit, size_t offset, sg_x509_row **rows,
                        size_t *n, int64_t *total)
{
    sqlite3_stmt *st = sq_stmt(s, addr ? "SELECT count(DISTINCT fpr) FROM x509_addrs WHERE addr = ?"
                                       : "SELECT count(*) FROM x509_certs");
    if (!st)
        return -1;
    if (addr)
        sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *total = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    rc = rc == SQLITE_ROW ? 0 : sq_fail(s, "counting certificates");
    sq_done(s, st);
    return rc < 0 ? -1 : list_from(s, addr, (int64_t)limit, (int64_t)offset, rows, n);
}

static int sq_x509_get(sg_store *s, const char *fpr, sg_x509_row *r)
{
    memset(r, 0, sizeof *r);
    sqlite3_stmt *st = sq_stmt(s, "SELECT " CERT_COLS " FROM x509_certs c WHERE c.fpr = ?");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    rc = rc == SQLITE_ROW ? read_row(s, st, r) : rc == SQLITE_DONE ? 1 : sq_fail(s, "reading a certificate");
    sq_done(s, st);
    return rc;
}

/* The bytes of the one row of sql (a literal with fpr as its parameter): 0, 1 none, -1. */
static int one_blob(sg_store *s, const char *sql, const char *fpr, const char *what, uint8_t **out,
                    size_t *len)
{
    *out = NULL;
    *len = 0;
    sqlite3_stmt *st = sq_stmt(s, sql);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    rc = rc == SQLITE_ROW ? sq_col_bytes(s, st, 0, fpr, out, len) : rc == SQLITE_DONE ? 1 : sq_fail(s, what);
    sq_done(s, st);
    return rc;
}

static int sq_x509_der(sg_store *s, const char *fpr, uint8_t **der, size_t *len)
{
    return one_blob(s, "SELECT der FROM x509_certs WHERE fpr = ?", fpr, "reading a certificate", der, len);
}

static int sq_x509_key(sg_store *s, const char *fpr, uint8_t **wrapped, size_t *len)
{
    return one_blob(s, "SELECT wrapped FROM x509_keys WHERE fpr = ?", fpr, "reading a private key", wrapped,
                    len);
}

static int sq_x509_each_ca(sg_store *s, bool trusted, sg_x509_der_cb cb, void *ctx)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT der FROM x509_certs WHERE trusted = ? AND is_ca = 1");
    if (!st)
        return -1;
    sqlite3_bind_int(st, 1, trusted);
    int step = SQLITE_DONE, rc = 0;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *der = sqlite3_column_blob(st, 0);
        rc = cb(ctx, der, der ? (size_t)sqlite3_column_bytes(st, 0) : 0);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = sq_fail(s, "reading CA certificates");
    sq_done(s, st);
    return rc;
}

static int sq_x509_set_trust(sg_store *s, const char *fpr, bool trusted)
{
    sqlite3_stmt *st = sq_stmt(s, "UPDATE x509_certs SET trusted = ? WHERE fpr = ?");
    if (!st)
        return -1;
    sqlite3_bind_int(st, 1, trusted);
    sqlite3_bind_text(st, 2, fpr, -1, SQLITE_STATIC);
    return run(s, st, "setting trust") < 0 ? -1 : changed(s);
}

static int sq_x509_unlearn(sg_store *s, const char *fpr)
{
    sqlite3_stmt *st = sq_stmt(s, "UPDATE x509_certs SET learned = 0 WHERE fpr = ? AND learned = 1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    return run(s, st, "updating a certificate") < 0 ? -1 : changed(s);
}

static int sq_x509_delete(sg_store *s, const char *fpr)
{
    /* The certificate's row last: its change count says whether there was one. x509_crls and
     * x509_ocsp belong to the revocation cache (sqlite_revocation.c); a certificate leaves
     * nothing behind there either. */
    static const char *const sql[] = {
        "DELETE FROM x509_addrs WHERE fpr = ?",       "DELETE FROM x509_keys WHERE fpr = ?",
        "DELETE FROM x509_crls WHERE issuer_fpr = ?", "DELETE FROM x509_learned WHERE fpr = ?",
        "DELETE FROM x509_ocsp WHERE fpr = ?",        "DELETE FROM x509_certs WHERE fpr = ?"};
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        sqlite3_stmt *st = sq_stmt(s, sql[i]);
        if (!st)
            return -1;
        sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
        if (run(s, st, "deleting a certificate") < 0)
            return -1;
    }
    return changed(s);
}

static int sq_x509_put_key(sg_store *s, const char *fpr, const uint8_t *wrapped, size_t len)
{
    sqlite3_stmt *st = sq_stmt(s, "INSERT OR REPLACE INTO x509_keys (fpr, wrapped) VALUES (?, ?)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    if (bind_bytes(s, st, 2, wrapped, len) < 0) {
        sq_done(s, st);
        return -1;
    }
    return run(s, st, "storing a private key");
}

static int sq_x509_local_ca(sg_store *s, char fpr[SG_X509_FPR_LEN + 1])
{
    sqlite3_stmt *st =
        sq_stmt(s, "SELECT fpr FROM x509_certs WHERE local_ca = 1 ORDER BY not_before DESC LIMIT 1");
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        sq_col_text(st, 0, fpr, SG_X509_FPR_LEN + 1);
    rc = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : sq_fail(s, "reading the local CA");
    sq_done(s, st);
    return rc;
}

static int sq_x509_revoke(sg_store *s, const char *fpr)
{
    sqlite3_stmt *st = sq_stmt(s, "UPDATE x509_certs SET revoked = 1, revoked_at = strftime('%s','now')"
                                  " WHERE fpr = ?");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    return run(s, st, "revoking a certificate") < 0 ? -1 : changed(s);
}

static int sq_x509_each_revoked(sg_store *s, sg_x509_revoked_cb cb, void *ctx)
{
    sqlite3_stmt *st =
        sq_stmt(s, "SELECT serial, revoked_at FROM x509_certs WHERE revoked = 1 AND local_ca = 0");
    if (!st)
        return -1;
    int step = SQLITE_DONE, rc = 0;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *serial = sqlite3_column_text(st, 0);
        rc = cb(ctx, serial ? (const char *)serial : "", sqlite3_column_int64(st, 1));
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = sq_fail(s, "reading revoked certificates");
    sq_done(s, st);
    return rc;
}

static int sq_x509_learn_put(sg_store *s, const char *addr, const char *fpr, const uint8_t *caps,
                             size_t caps_len, unsigned cap_flags, int64_t seen)
{
    /* A later message replaces the capabilities; an older one (out of order) does not. */
    sqlite3_stmt *st = sq_stmt(
        s,
        "INSERT INTO x509_learned (addr, fpr, caps, cap_flags, first_seen, last_seen)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (addr, fpr) DO UPDATE SET"
        " caps = CASE WHEN excluded.last_seen >= last_seen THEN excluded.caps ELSE caps END,"
        " cap_flags = CASE WHEN excluded.last_seen >= last_seen THEN excluded.cap_flags ELSE cap_flags END,"
        " first_seen = min(first_seen, excluded.first_seen),"
        " last_seen = max(last_seen, excluded.last_seen)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, fpr, -1, SQLITE_STATIC);
    if (caps && bind_bytes(s, st, 3, caps, caps_len) < 0) {
        sq_done(s, st);
        return -1;
    }
    sqlite3_bind_int64(st, 4, cap_flags);
    sqlite3_bind_int64(st, 5, seen);
    return run(s, st, "recording a signer");
}

static int sq_x509_learn_stale(sg_store *s, const char *addr, int keep, char (*fprs)[SG_X509_FPR_LEN + 1],
                               size_t max)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT l.fpr FROM x509_learned l JOIN x509_certs c ON c.fpr = l.fpr"
                                  " WHERE l.addr = ? AND c.learned = 1"
                                  " AND NOT EXISTS (SELECT 1 FROM x509_keys k WHERE k.fpr = l.fpr)"
                                  " ORDER BY l.last_seen DESC, l.fpr LIMIT -1 OFFSET ?");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, keep);
    size_t n = 0;
    int step = SQLITE_DONE;
    while (n < max && (step = sqlite3_step(st)) == SQLITE_ROW)
        sq_col_text(st, 0, fprs[n++], SG_X509_FPR_LEN + 1);
    int rc = step == SQLITE_ROW || step == SQLITE_DONE ? (int)n : sq_fail(s, "reading learned certificates");
    sq_done(s, st);
    return rc;
}

static int sq_x509_learn_forget(sg_store *s, const char *addr, const char *fpr)
{
    sqlite3_stmt *st = sq_stmt(s, "DELETE FROM x509_learned WHERE addr = ? AND fpr = ?");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, fpr, -1, SQLITE_STATIC);
    if (run(s, st, "forgetting a signer") < 0 ||
        !(st = sq_stmt(s, "SELECT count(*) FROM x509_learned WHERE fpr = ?")))
        return -1;
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : sq_fail(s, "counting signers");
    sq_done(s, st);
    return rc;
}

static int sq_x509_caps(sg_store *s, const char *addr, sg_x509_learned *l)
{
    memset(l, 0, sizeof *l);
    sqlite3_stmt *st = sq_stmt(s, "SELECT fpr, caps, first_seen, last_seen FROM x509_learned"
                                  " WHERE addr = ? ORDER BY last_seen DESC, fpr LIMIT 1");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        sq_col_text(st, 0, l->fpr, SG_X509_FPR_LEN + 1);
        l->first_seen = sqlite3_column_int64(st, 2);
        l->last_seen = sqlite3_column_int64(st, 3);
        /* No capabilities (NULL or empty) is a fact of the row, not an error. */
        rc = sqlite3_column_bytes(st, 1) > 0 ? sq_col_bytes(s, st, 1, l->fpr, &l->caps, &l->caps_len) : 0;
    } else {
        rc = rc == SQLITE_DONE ? 1 : sq_fail(s, "reading capabilities");
    }
    sq_done(s, st);
    return rc;
}

const struct sg_store_x509_ops sg_sqlite_x509_ops = {
    .state = sq_x509_state,
    .insert = sq_x509_insert,
    .list = sq_x509_list,
    .page = sq_x509_page,
    .get = sq_x509_get,
    .der = sq_x509_der,
    .each_ca = sq_x509_each_ca,
    .set_trust = sq_x509_set_trust,
    .unlearn = sq_x509_unlearn,
    .delete_cert = sq_x509_delete,
    .put_key = sq_x509_put_key,
    .key = sq_x509_key,
    .local_ca = sq_x509_local_ca,
    .revoke = sq_x509_revoke,
    .each_revoked = sq_x509_each_revoked,
    .learn_put = sq_x509_learn_put,
    .learn_stale = sq_x509_learn_stale,
    .learn_forget = sq_x509_learn_forget,
    .caps = sq_x509_caps,
};
