/* sqlite_pgp.c - the SQLite backend's pgp calls (store/pgp_rows.h): tables pgp_keys, pgp_uids,
 * pgp_secrets (migration 2). Owner: src/store.
 * The per-message selection and the lookups by fingerprint run on cached statements (sq_stmt);
 * the admin calls (writes, lists, the scan of every key) prepare theirs for one use, as the
 * keystore did before its SQL moved here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pgp_rows.h"
#include "store/sqlite/sqlite_int.h"

/* A statement for one use: sq_done finalizes it because it is not in the cache. */
static sqlite3_stmt *once(sg_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(sq_of(s)->db, sql, -1, &st, NULL) != SQLITE_OK) {
        sq_fail(s, "preparing a query");
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

/* Steps a statement without results and gives it back. 0 or -1. */
static int run(sg_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sq_fail(s, what);
    sq_done(s, st);
    return rc;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

static int put_key(sg_store *s, const sg_store_pgp_key *k, const uint8_t *pub, size_t publen, int64_t now)
{
    sqlite3_stmt *st =
        once(s, "INSERT INTO pgp_keys (fpr, keyid, alg, bits, created, expires, valid_until, revoked,"
                " revoke_reason, can_sign, can_encrypt, can_certify, enc_subkey, enc_until, imported,"
                " updated, pubkey) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?15,?16)"
                " ON CONFLICT (fpr) DO UPDATE SET keyid=?2, alg=?3, bits=?4, created=?5, expires=?6,"
                " valid_until=?7, revoked=?8, revoke_reason=?9, can_sign=?10, can_encrypt=?11,"
                " can_certify=?12, enc_subkey=?13, enc_until=?14, updated=?15, pubkey=?16");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, k->fpr, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, k->keyid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, k->alg, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, (int)k->bits);
    sqlite3_bind_int64(st, 5, k->created);
    sqlite3_bind_int64(st, 6, k->expires);
    sqlite3_bind_int64(st, 7, k->valid_until);
    sqlite3_bind_int(st, 8, k->revoked);
    if (k->revoke_reason)
        sqlite3_bind_text(st, 9, k->revoke_reason, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 10, k->can_sign);
    sqlite3_bind_int(st, 11, k->can_encrypt);
    sqlite3_bind_int(st, 12, k->can_certify);
    sqlite3_bind_int(st, 13, k->enc_subkey);
    sqlite3_bind_int64(st, 14, k->enc_until);
    sqlite3_bind_int64(st, 15, now);
    sqlite3_bind_blob(st, 16, pub, (int)publen, SQLITE_STATIC);
    if (run(s, st, "writing a key") < 0)
        return -1;
    if (!(st = once(s, "DELETE FROM pgp_uids WHERE fpr = ?")))
        return -1;
    sqlite3_bind_text(st, 1, k->fpr, -1, SQLITE_STATIC);
    if (run(s, st, "replacing a key's user IDs") < 0)
        return -1;
    for (size_t i = 0; i < k->nuids; i++) {
        if (!(st = once(s, "INSERT OR IGNORE INTO pgp_uids (fpr, uid, addr, valid) VALUES (?,?,?,?)")))
            return -1;
        sqlite3_bind_text(st, 1, k->fpr, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, k->uids[i].uid, -1, SQLITE_STATIC);
        if (k->uids[i].addr)
            sqlite3_bind_text(st, 3, k->uids[i].addr, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, k->uids[i].valid);
        if (run(s, st, "writing a user ID") < 0)
            return -1;
    }
    return 0;
}

static int put_secret(sg_store *s, const char *fpr, const uint8_t *wrapped, size_t len)
{
    sqlite3_stmt *st = once(s, "INSERT OR REPLACE INTO pgp_secrets (fpr, wrapped) VALUES (?, ?)");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, wrapped, (int)len, SQLITE_STATIC);
    return run(s, st, "writing a secret key");
}

static int delete_key(sg_store *s, const char *fpr)
{
    static const char *const sql[] = {"DELETE FROM pgp_secrets WHERE fpr = ?",
                                      "DELETE FROM pgp_uids WHERE fpr = ?",
                                      "DELETE FROM pgp_provenance WHERE fpr = ?",
                                      "DELETE FROM pgp_keys WHERE fpr = ?"};
    for (int i = 0; i < 4; i++) {
        sqlite3_stmt *st = once(s, sql[i]);
        if (!st)
            return -1;
        sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
        if (run(s, st, "deleting a key") < 0)
            return -1;
    }
    return sqlite3_changes(sq_of(s)->db) ? 0 : 1; /* of the last: the key row */
}

static int get_blob(sg_store *s, sqlite3_stmt *st, const char *fpr, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        rc = sq_col_bytes(s, st, 0, fpr, out, len);
    } else if (rc == SQLITE_DONE) {
        rc = 1;
    } else {
        rc = sq_fail(s, "reading key material");
    }
    sq_done(s, st);
    return rc;
}

static int get_public(sg_store *s, const char *fpr, uint8_t **out, size_t *len)
{
    return get_blob(s, sq_stmt(s, "SELECT pubkey FROM pgp_keys WHERE fpr = ?"), fpr, out, len);
}

static int get_wrapped(sg_store *s, const char *fpr, uint8_t **out, size_t *len)
{
    return get_blob(s, sq_stmt(s, "SELECT wrapped FROM pgp_secrets WHERE fpr = ?"), fpr, out, len);
}

static int has_secret(sg_store *s, const char *fpr)
{
    sqlite3_stmt *st = sq_stmt(s, "SELECT 1 FROM pgp_secrets WHERE fpr = ?");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    rc = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : sq_fail(s, "reading a secret key's presence");
    sq_done(s, st);
    return rc;
}

static int each_public(sg_store *s, void (*cb)(void *ctx, const uint8_t *pub, size_t len), void *ctx)
{
    sqlite3_stmt *st = once(s, "SELECT pubkey FROM pgp_keys");
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        cb(ctx, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    rc = rc == SQLITE_DONE ? 0 : sq_fail(s, "reading the keys");
    sq_done(s, st);
    return rc;
}

#define KEY_COLS                                                                                             \
    "k.fpr, k.keyid, k.alg, k.bits, k.created, k.expires, k.valid_until, k.revoked,"                         \
    " k.revoke_reason, k.can_sign, k.can_encrypt, k.can_certify, k.enc_subkey, k.enc_until,"                 \
    " EXISTS (SELECT 1 FROM pgp_secrets s WHERE s.fpr = k.fpr)"

/* The key row at st (KEY_COLS) with its user IDs, in stored order. 0 or -1 (then *k is
 * cleared). */
static int read_key(sg_store *s, sqlite3_stmt *st, sg_store_pgp_key *k)
{
    memset(k, 0, sizeof *k);
    sq_col_text(st, 0, k->fpr, sizeof k->fpr);
    sq_col_text(st, 1, k->keyid, sizeof k->keyid);
    sq_col_text(st, 2, k->alg, sizeof k->alg);
    k->bits = (unsigned)sqlite3_column_int(st, 3);
    k->created = sqlite3_column_int64(st, 4);
    k->expires = sqlite3_column_int64(st, 5);
    k->valid_until = sqlite3_column_int64(st, 6);
    k->revoked = sqlite3_column_int(st, 7);
    k->revoke_reason = col_dup(st, 8);
    k->can_sign = sqlite3_column_int(st, 9);
    k->can_encrypt = sqlite3_column_int(st, 10);
    k->can_certify = sqlite3_column_int(st, 11);
    k->enc_subkey = sqlite3_column_int(st, 12);
    k->enc_until = sqlite3_column_int64(st, 13);
    k->secret = sqlite3_column_int(st, 14);
    sqlite3_stmt *u = sq_stmt(s, "SELECT uid, addr, valid FROM pgp_uids WHERE fpr = ? ORDER BY rowid");
    if (!u) {
        sg_store_pgp_key_clear(k);
        return -1;
    }
    sqlite3_bind_text(u, 1, k->fpr, -1, SQLITE_STATIC);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(u)) == SQLITE_ROW) {
        if (k->nuids == cap) {
            cap = cap ? cap * 2 : 4;
            void *nv = realloc(k->uids, cap * sizeof *k->uids);
            if (!nv)
                break;
            k->uids = nv;
        }
        sg_store_pgp_uid *o = &k->uids[k->nuids++];
        o->uid = col_dup(u, 0);
        o->addr = col_dup(u, 1);
        o->valid = sqlite3_column_int(u, 2);
    }
    rc = rc == SQLITE_DONE ? 0 : rc == SQLITE_ROW ? sg_store_fail(s, "out of memory") : sq_fail(s, "reading user IDs");
    sq_done(s, u);
    if (rc < 0)
        sg_store_pgp_key_clear(k);
    return rc;
}

static int get(sg_store *s, const char *fpr, sg_store_pgp_key *k)
{
    memset(k, 0, sizeof *k);
    sqlite3_stmt *st = sq_stmt(s, "SELECT " KEY_COLS " FROM pgp_keys k WHERE k.fpr = ?");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    rc = rc == SQLITE_ROW ? read_key(s, st, k) : rc == SQLITE_DONE ? 1 : sq_fail(s, "reading a key");
    sq_done(s, st);
    return rc;
}

/* The keys of list (for addr or all), newest first, limit -1 for all of them from offset. */
static int list_from(sg_store *s, const char *addr, int64_t limit, int64_t offset, sg_store_pgp_key **keys,
                     size_t *n)
{
    *keys = NULL;
    *n = 0;
    sqlite3_stmt *st = once(s, addr ? "SELECT " KEY_COLS " FROM pgp_keys k WHERE k.fpr IN"
                                      " (SELECT fpr FROM pgp_uids WHERE addr = ?1)"
                                      " ORDER BY k.created DESC, k.fpr LIMIT ?2 OFFSET ?3"
                                    : "SELECT " KEY_COLS " FROM pgp_keys k ORDER BY k.created DESC, k.fpr"
                                      " LIMIT ?2 OFFSET ?3");
    if (!st)
        return -1;
    if (addr)
        sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, limit);
    sqlite3_bind_int64(st, 3, offset);
    size_t cap = 0;
    int rc = 0, step = SQLITE_DONE;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            void *nv = realloc(*keys, cap * sizeof **keys);
            if (!nv) {
                rc = sg_store_fail(s, "out of memory");
                break;
            }
            *keys = nv;
        }
        if ((rc = read_key(s, st, &(*keys)[*n])) == 0)
            (*n)++;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = sq_fail(s, "listing keys");
    sq_done(s, st);
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

/* A page reads only its rows (and their user IDs): bench/web's key lists with 100,000 keys
 * read every key and its user IDs for each page before. */
static int page(sg_store *s, const char *addr, size_t limit, size_t offset, sg_store_pgp_key **keys, size_t *n,
                int64_t *total)
{
    sqlite3_stmt *st = sq_stmt(s, addr ? "SELECT count(DISTINCT fpr) FROM pgp_uids WHERE addr = ?"
                                       : "SELECT count(*) FROM pgp_keys");
    if (!st)
        return -1;
    if (addr)
        sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *total = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    rc = rc == SQLITE_ROW ? 0 : sq_fail(s, "counting keys");
    sq_done(s, st);
    return rc < 0 ? -1 : list_from(s, addr, (int64_t)limit, (int64_t)offset, keys, n);
}

static int select_one(sg_store *s, const char *sql, const char *addr, int64_t now,
                      char fpr[SG_STORE_PGP_FPR_LEN + 1])
{
    sqlite3_stmt *st = sq_stmt(s, sql);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        sq_col_text(st, 0, fpr, SG_STORE_PGP_FPR_LEN + 1);
    rc = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : sq_fail(s, "selecting a key");
    sq_done(s, st);
    return rc;
}

/* valid_until already accounts for the primary's expiry and revocation (librnp computes it);
 * the revoked flag is checked too so a revocation can never be missed by a rounding of times.
 * The keys are found through the address index (IN): a correlated EXISTS made SQLite scan every
 * stored key per lookup, 1.7 ms per message with 1,000 keys (bench/pgp_select). */
#define VALID_FOR_ADDR                                                                                       \
    " k.revoked = 0 AND k.valid_until > ?2 AND k.fpr IN (SELECT u.fpr FROM pgp_uids u"                       \
    " WHERE u.addr = ?1 AND u.valid = 1)"

static int find_encryption(sg_store *s, const char *addr, int64_t now, char fpr[SG_STORE_PGP_FPR_LEN + 1])
{
    return select_one(s,
                      "SELECT k.fpr FROM pgp_keys k WHERE k.enc_subkey = 1 AND k.enc_until > ?2 AND" VALID_FOR_ADDR
                      " ORDER BY k.created DESC, k.fpr LIMIT 1",
                      addr, now, fpr);
}

static int find_own_signing(sg_store *s, const char *addr, int64_t now, char fpr[SG_STORE_PGP_FPR_LEN + 1])
{
    return select_one(s,
                      "SELECT k.fpr FROM pgp_keys k WHERE k.can_sign = 1 AND"
                      " EXISTS (SELECT 1 FROM pgp_secrets s WHERE s.fpr = k.fpr) AND" VALID_FOR_ADDR
                      " ORDER BY k.created DESC, k.fpr LIMIT 1",
                      addr, now, fpr);
}

const struct sg_store_pgp_ops sg_sqlite_pgp_ops = {
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
