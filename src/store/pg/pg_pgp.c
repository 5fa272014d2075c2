/* pg_pgp.c - the PostgreSQL backend's pgp calls (store/pgp_rows.h): tables pgp_keys,
 * pgp_uids, pgp_secrets (migration 2). Owner: src/store. The same queries as sqlite_pgp.c in
 * PostgreSQL's dialect, every one prepared once per connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg/pg_int.h"
#include "store/pgp_rows.h"

static int put_key(sg_store *s, const sg_store_pgp_key *k, const uint8_t *pub, size_t publen, int64_t now)
{
    pg_args a = {0};
    pa_text(&a, k->fpr);
    pa_text(&a, k->keyid);
    pa_text(&a, k->alg);
    pa_i64(&a, k->bits);
    pa_i64(&a, k->created);
    pa_i64(&a, k->expires);
    pa_i64(&a, k->valid_until);
    pa_i64(&a, k->revoked);
    pa_text(&a, k->revoke_reason);
    pa_i64(&a, k->can_sign);
    pa_i64(&a, k->can_encrypt);
    pa_i64(&a, k->can_certify);
    pa_i64(&a, k->enc_subkey);
    pa_i64(&a, k->enc_until);
    pa_i64(&a, now);
    pa_bytes(&a, pub, publen);
    if (pg_cmd(s,
               "INSERT INTO pgp_keys (fpr, keyid, alg, bits, created, expires, valid_until, revoked,"
               " revoke_reason, can_sign, can_encrypt, can_certify, enc_subkey, enc_until, imported,"
               " updated, pubkey) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$15,$16)"
               " ON CONFLICT (fpr) DO UPDATE SET keyid=$2, alg=$3, bits=$4, created=$5, expires=$6,"
               " valid_until=$7, revoked=$8, revoke_reason=$9, can_sign=$10, can_encrypt=$11,"
               " can_certify=$12, enc_subkey=$13, enc_until=$14, updated=$15, pubkey=$16",
               &a, "writing a key") < 0)
        return -1;
    pg_args d = {0};
    pa_text(&d, k->fpr);
    if (pg_cmd(s, "DELETE FROM pgp_uids WHERE fpr = $1", &d, "replacing a key's user IDs") < 0)
        return -1;
    for (size_t i = 0; i < k->nuids; i++) {
        pg_args u = {0};
        pa_text(&u, k->fpr);
        pa_text(&u, k->uids[i].uid);
        pa_text(&u, k->uids[i].addr);
        pa_i64(&u, k->uids[i].valid);
        if (pg_cmd(s,
                   "INSERT INTO pgp_uids (fpr, uid, addr, valid) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING",
                   &u, "writing a user ID") < 0)
            return -1;
    }
    return 0;
}

static int put_secret(sg_store *s, const char *fpr, const uint8_t *wrapped, size_t len)
{
    pg_args a = {0};
    pa_text(&a, fpr);
    pa_bytes(&a, wrapped, len);
    return pg_cmd(s,
                  "INSERT INTO pgp_secrets (fpr, wrapped) VALUES ($1, $2)"
                  " ON CONFLICT (fpr) DO UPDATE SET wrapped = excluded.wrapped",
                  &a, "writing a secret key") < 0
               ? -1
               : 0;
}

static int delete_key(sg_store *s, const char *fpr)
{
    static const char *const sql[] = {"DELETE FROM pgp_secrets WHERE fpr = $1",
                                      "DELETE FROM pgp_uids WHERE fpr = $1",
                                      "DELETE FROM pgp_provenance WHERE fpr = $1",
                                      "DELETE FROM pgp_keys WHERE fpr = $1"};
    int64_t n = 0;
    for (int i = 0; i < 4; i++) {
        pg_args a = {0};
        pa_text(&a, fpr);
        if ((n = pg_cmd(s, sql[i], &a, "deleting a key")) < 0)
            return -1;
    }
    return n ? 0 : 1; /* of the last: the key row */
}

static int get_blob(sg_store *s, const char *sql, const char *fpr, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    pg_args a = {0};
    pa_text(&a, fpr);
    PGresult *r = pg_run(s, sql, &a, "reading key material");
    if (!r)
        return -1;
    int rc = PQntuples(r) ? pg_col_bytes(s, r, 0, 0, fpr, out, len) : 1;
    PQclear(r);
    return rc;
}

static int get_public(sg_store *s, const char *fpr, uint8_t **out, size_t *len)
{
    return get_blob(s, "SELECT pubkey FROM pgp_keys WHERE fpr = $1", fpr, out, len);
}

static int get_wrapped(sg_store *s, const char *fpr, uint8_t **out, size_t *len)
{
    return get_blob(s, "SELECT wrapped FROM pgp_secrets WHERE fpr = $1", fpr, out, len);
}

static int has_secret(sg_store *s, const char *fpr)
{
    pg_args a = {0};
    pa_text(&a, fpr);
    PGresult *r =
        pg_run(s, "SELECT 1 FROM pgp_secrets WHERE fpr = $1", &a, "reading a secret key's presence");
    if (!r)
        return -1;
    int rc = PQntuples(r) ? 0 : 1;
    PQclear(r);
    return rc;
}

static int each_public(sg_store *s, void (*cb)(void *ctx, const uint8_t *pub, size_t len), void *ctx)
{
    PGresult *r = pg_run(s, "SELECT pubkey FROM pgp_keys", NULL, "reading the keys");
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++)
        cb(ctx, (const uint8_t *)PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));
    PQclear(r);
    return 0;
}

#define KEY_COLS                                                                                             \
    "k.fpr, k.keyid, k.alg, k.bits, k.created, k.expires, k.valid_until, k.revoked,"                         \
    " k.revoke_reason, k.can_sign, k.can_encrypt, k.can_certify, k.enc_subkey, k.enc_until,"                 \
    " EXISTS (SELECT 1 FROM pgp_secrets s WHERE s.fpr = k.fpr)"

/* Row i of r (KEY_COLS) with its user IDs in stored order. 0 or -1 (then *k is cleared). */
static int read_key(sg_store *s, const PGresult *r, int i, sg_store_pgp_key *k)
{
    memset(k, 0, sizeof *k);
    pg_col_text(r, i, 0, k->fpr, sizeof k->fpr);
    pg_col_text(r, i, 1, k->keyid, sizeof k->keyid);
    pg_col_text(r, i, 2, k->alg, sizeof k->alg);
    k->bits = (unsigned)pg_col_i64(r, i, 3);
    k->created = pg_col_i64(r, i, 4);
    k->expires = pg_col_i64(r, i, 5);
    k->valid_until = pg_col_i64(r, i, 6);
    k->revoked = pg_col_i64(r, i, 7);
    k->revoke_reason = pg_col_dup(r, i, 8);
    k->can_sign = pg_col_i64(r, i, 9);
    k->can_encrypt = pg_col_i64(r, i, 10);
    k->can_certify = pg_col_i64(r, i, 11);
    k->enc_subkey = pg_col_i64(r, i, 12);
    k->enc_until = pg_col_i64(r, i, 13);
    k->secret = pg_col_i64(r, i, 14);
    pg_args a = {0};
    pa_text(&a, k->fpr);
    PGresult *u = pg_run(s, "SELECT uid, addr, valid FROM pgp_uids WHERE fpr = $1 ORDER BY rowid", &a,
                         "reading user IDs");
    if (!u) {
        sg_store_pgp_key_clear(k);
        return -1;
    }
    int n = PQntuples(u);
    if (n && !(k->uids = calloc((size_t)n, sizeof *k->uids))) {
        PQclear(u);
        sg_store_pgp_key_clear(k);
        return sg_store_fail(s, "out of memory");
    }
    for (int j = 0; j < n; j++, k->nuids++) {
        k->uids[j].uid = pg_col_dup(u, j, 0);
        k->uids[j].addr = pg_col_dup(u, j, 1);
        k->uids[j].valid = pg_col_i64(u, j, 2);
    }
    PQclear(u);
    return 0;
}

static int get(sg_store *s, const char *fpr, sg_store_pgp_key *k)
{
    memset(k, 0, sizeof *k);
    pg_args a = {0};
    pa_text(&a, fpr);
    PGresult *r = pg_run(s, "SELECT " KEY_COLS " FROM pgp_keys k WHERE k.fpr = $1", &a, "reading a key");
    if (!r)
        return -1;
    int rc = PQntuples(r) ? read_key(s, r, 0, k) : 1;
    PQclear(r);
    return rc;
}

/* The keys of list (for addr or all), newest first; limit < 0: all of them from offset. */
static int list_from(sg_store *s, const char *addr, int64_t limit, int64_t offset, sg_store_pgp_key **keys,
                     size_t *n)
{
    *keys = NULL;
    *n = 0;
    pg_args a = {0};
    pa_text(&a, addr);
    if (limit < 0)
        pa_text(&a, NULL); /* LIMIT NULL: no limit */
    else
        pa_i64(&a, limit);
    pa_i64(&a, offset);
    PGresult *r = pg_run(s,
                         "SELECT " KEY_COLS " FROM pgp_keys k WHERE $1::text IS NULL OR k.fpr IN"
                         " (SELECT fpr FROM pgp_uids WHERE addr = $1)"
                         " ORDER BY k.created DESC, k.fpr COLLATE \"C\" LIMIT $2 OFFSET $3",
                         &a, "listing keys");
    if (!r)
        return -1;
    int rows = PQntuples(r), rc = 0;
    if (rows && !(*keys = calloc((size_t)rows, sizeof **keys)))
        rc = sg_store_fail(s, "out of memory");
    for (int i = 0; rc == 0 && i < rows; i++)
        if ((rc = read_key(s, r, i, &(*keys)[*n])) == 0)
            (*n)++;
    PQclear(r);
    if (rc < 0) {
        sg_store_pgp_free_list(*keys, *n);
        *keys = NULL;
        *n = 0;
    }
    return rc;
}

static int list(sg_store *s, const char *addr, sg_store_pgp_key **keys, size_t *n)
{
    return list_from(s, addr, -1, 0, keys, n);
}

static int page(sg_store *s, const char *addr, size_t limit, size_t offset, sg_store_pgp_key **keys, size_t *n,
                int64_t *total)
{
    pg_args a = {0};
    pa_text(&a, addr);
    PGresult *r = pg_run(s,
                         "SELECT CASE WHEN $1::text IS NULL THEN (SELECT count(*) FROM pgp_keys)"
                         " ELSE (SELECT count(DISTINCT fpr) FROM pgp_uids WHERE addr = $1) END",
                         &a, "counting keys");
    if (!r)
        return -1;
    *total = pg_col_i64(r, 0, 0);
    PQclear(r);
    return list_from(s, addr, (int64_t)limit, (int64_t)offset, keys, n);
}

static int select_one(sg_store *s, const char *sql, const char *addr, int64_t now,
                      char fpr[SG_STORE_PGP_FPR_LEN + 1])
{
    pg_args a = {0};
    pa_text(&a, addr);
    pa_i64(&a, now);
    PGresult *r = pg_run(s, sql, &a, "selecting a key");
    if (!r)
        return -1;
    int rc = PQntuples(r) ? 0 : 1;
    if (rc == 0)
        pg_col_text(r, 0, 0, fpr, SG_STORE_PGP_FPR_LEN + 1);
    PQclear(r);
    return rc;
}

/* As sqlite_pgp.c: valid_until accounts for expiry and revocation; the revoked flag too. */
#define VALID_FOR_ADDR                                                                                       \
    " k.revoked = 0 AND k.valid_until > $2 AND k.fpr IN (SELECT u.fpr FROM pgp_uids u"                       \
    " WHERE u.addr = $1 AND u.valid = 1)"

static int find_encryption(sg_store *s, const char *addr, int64_t now, char fpr[SG_STORE_PGP_FPR_LEN + 1])
{
    return select_one(
        s,
        "SELECT k.fpr FROM pgp_keys k WHERE k.enc_subkey = 1 AND k.enc_until > $2 AND" VALID_FOR_ADDR
        " ORDER BY k.created DESC, k.fpr COLLATE \"C\" LIMIT 1",
        addr, now, fpr);
}

static int find_own_signing(sg_store *s, const char *addr, int64_t now, char fpr[SG_STORE_PGP_FPR_LEN + 1])
{
    return select_one(s,
                      "SELECT k.fpr FROM pgp_keys k WHERE k.can_sign = 1 AND"
                      " EXISTS (SELECT 1 FROM pgp_secrets s WHERE s.fpr = k.fpr) AND" VALID_FOR_ADDR
                      " ORDER BY k.created DESC, k.fpr COLLATE \"C\" LIMIT 1",
                      addr, now, fpr);
}

const struct sg_store_pgp_ops sg_pg_pgp_ops = {
    .put_key = put_key,
    .put_secret = put_secret,
    .delete_key = delete_key,
    .get_public = get_public,
    .get_wrapped = get_wrapped,
    .has_secret = has_secret,
    .each_public = each_public,
    .get = get,
    .list = list,
    .page = page,
    .find_encryption = find_encryption,
    .find_own_signing = find_own_signing,
};
