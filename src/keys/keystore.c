/* keystore.c - the managed OpenPGP keystore (see keystore.h). Owner: src/keys.
 * SECURITY: secret keys are unwrapped here only in calls that need them (export --secret,
 * revoke, load_secret, certification by the domain key) and only in processes that can read
 * the KEK (cryptd, admin CLI). Unwrapped bytes are wiped before release; they are never written
 * anywhere but into a librnp context in memory.
 * Why the tables keep derived facts (validity, encryption subkey, addresses): recipient
 * selection is a query, not a parse of every key per message. They are recomputed from the key
 * material by librnp on every import, update and revoke. */
#include "keys/keystore.h"

#include <ctype.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/kek.h"
#include "keys/keystore_int.h"

int ks_fail(sg_keystore *ks, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ks->err, sizeof ks->err, fmt, ap);
    va_end(ap);
    return -1;
}

sg_keystore *sg_keystore_open(sg_store *st, const char *kek_path, unsigned flags)
{
    static atomic_uint_least64_t next_id = 1;
    sg_keystore *ks = calloc(1, sizeof *ks);
    if (!ks)
        return NULL;
    ks->id = atomic_fetch_add(&next_id, 1);
    ks->st = st;
    ks->db = sg_store_db(st);
    ks->flags = flags;
    if (kek_path && !(ks->kek_path = strdup(kek_path))) {
        free(ks);
        return NULL;
    }
    return ks;
}

void sg_keystore_close(sg_keystore *ks)
{
    if (!ks)
        return;
    sg_kek_wipe(&ks->kek);
    for (size_t i = 0; i < sizeof ks->cached / sizeof ks->cached[0]; i++)
        sqlite3_finalize(ks->cached[i].st);
    free(ks->kek_path);
    free(ks);
}

const char *sg_keystore_error(const sg_keystore *ks)
{
    return ks->err[0] ? ks->err : "unknown error";
}

const char *sg_import_status_name(int status)
{
    static const char *const n[] = {"imported", "updated", "unchanged", "rejected"};
    return status >= 0 && status <= SG_IMPORT_REJECTED ? n[status] : "?";
}

/* Loaded on first need so that public-only users (list, selection) never touch the KEK. */
int ks_need_kek(sg_keystore *ks)
{
    if (ks->have_kek)
        return 0;
    if (!ks->kek_path)
        return ks_fail(ks, "no key-encryption key configured");
    if ((ks->flags & SG_KS_CREATE_KEK) && sg_kek_create(ks->kek_path) < 0 && errno != EEXIST)
        return ks_fail(ks, "cannot create %s: %s", ks->kek_path, strerror(errno));
    if (sg_kek_load(ks->kek_path, &ks->kek) < 0)
        return ks_fail(ks, "cannot load key-encryption key %s: %s", ks->kek_path,
                       errno == EPERM ? "readable by group or others" : strerror(errno));
    ks->have_kek = true;
    return 0;
}

void ks_upper_fpr(const char *in, char out[SG_PGP_FPR_LEN + 1])
{
    size_t i = 0;
    for (; in[i] && i < SG_PGP_FPR_LEN; i++)
        out[i] = (char)toupper((unsigned char)in[i]);
    out[i] = '\0';
}

/* ---- rows ---- */

static int get_blob(sg_keystore *ks, const char *sql, const char *fpr, uint8_t **out, size_t *len)
{
    sqlite3_stmt *st;
    *out = NULL;
    *len = 0;
    if (sqlite3_prepare_v2(ks->db, sql, -1, &st, NULL) != SQLITE_OK)
        return ks_fail(ks, "store: %s", sqlite3_errmsg(ks->db));
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int n = sqlite3_column_bytes(st, 0);
        const void *b = sqlite3_column_blob(st, 0);
        if (n > 0 && b && (*out = malloc((size_t)n))) {
            memcpy(*out, b, (size_t)n);
            *len = (size_t)n;
            rc = 0;
        } else {
            rc = ks_fail(ks, "store: empty or unreadable key material for %s", fpr);
        }
    } else if (rc == SQLITE_DONE) {
        rc = 1;
    } else {
        rc = ks_fail(ks, "store: %s", sqlite3_errmsg(ks->db));
    }
    sqlite3_finalize(st);
    return rc;
}

static int get_public(sg_keystore *ks, const char *fpr, uint8_t **out, size_t *len)
{
    return get_blob(ks, "SELECT pubkey FROM pgp_keys WHERE fpr = ?", fpr, out, len);
}

static int exec(sg_keystore *ks, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(ks->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        ks_fail(ks, "store: %s", msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int run(sg_keystore *ks, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : ks_fail(ks, "store: %s", sqlite3_errmsg(ks->db));
    sqlite3_finalize(st);
    return rc;
}

static sqlite3_stmt *prep(sg_keystore *ks, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(ks->db, sql, -1, &st, NULL) != SQLITE_OK) {
        ks_fail(ks, "store: %s", sqlite3_errmsg(ks->db));
        return NULL;
    }
    return st;
}

/* Writes the key row and its user IDs (inside the caller's transaction). */
static int put_key(sg_keystore *ks, const sg_pgp_key *k, const uint8_t *pub, size_t publen)
{
    sqlite3_stmt *st =
        prep(ks, "INSERT INTO pgp_keys (fpr, keyid, alg, bits, created, expires, valid_until, revoked,"
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
    sqlite3_bind_int64(st, 15, (sqlite3_int64)time(NULL));
    sqlite3_bind_blob(st, 16, pub, (int)publen, SQLITE_STATIC);
    if (run(ks, st) < 0)
        return -1;
    if (!(st = prep(ks, "DELETE FROM pgp_uids WHERE fpr = ?")))
        return -1;
    sqlite3_bind_text(st, 1, k->fpr, -1, SQLITE_STATIC);
    if (run(ks, st) < 0)
        return -1;
    for (size_t i = 0; i < k->nuids; i++) {
        if (!(st = prep(ks, "INSERT OR IGNORE INTO pgp_uids (fpr, uid, addr, valid) VALUES (?,?,?,?)")))
            return -1;
        sqlite3_bind_text(st, 1, k->fpr, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, k->uids[i].uid, -1, SQLITE_STATIC);
        if (k->uids[i].addr)
            sqlite3_bind_text(st, 3, k->uids[i].addr, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, k->uids[i].valid);
        if (run(ks, st) < 0)
            return -1;
    }
    return 0;
}

/* Wraps the secret export of fpr in p and stores it (inside the caller's transaction). */
static int put_secret(sg_keystore *ks, sg_pgp *p, const char *fpr)
{
    uint8_t *sec = NULL, *wrapped = NULL;
    size_t seclen = 0, wlen = 0;
    if (ks_need_kek(ks) < 0)
        return -1;
    if (sg_pgp_export(p, fpr, SG_PGP_EXPORT_SECRET, &sec, &seclen) < 0)
        return ks_fail(ks, "cannot export the secret key of %s", fpr);
    int rc = sg_kek_wrap(&ks->kek, fpr, sec, seclen, &wrapped, &wlen);
    sg_pgp_free_secret(sec, seclen);
    if (rc < 0)
        return ks_fail(ks, "cannot wrap the secret key of %s", fpr);
    sqlite3_stmt *st = prep(ks, "INSERT OR REPLACE INTO pgp_secrets (fpr, wrapped) VALUES (?, ?)");
    if (!st) {
        free(wrapped);
        return -1;
    }
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, wrapped, (int)wlen, SQLITE_STATIC);
    rc = run(ks, st);
    free(wrapped);
    return rc;
}

bool ks_has_secret(sg_keystore *ks, const char *fpr)
{
    sqlite3_stmt *st = prep(ks, "SELECT 1 FROM pgp_secrets WHERE fpr = ?");
    if (!st)
        return false;
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    bool r = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return r;
}

/* Exports the public key fpr of p (canonical form: what librnp writes), inspects it, and
 * stores both; optionally the secret too. One transaction. */
int ks_save(sg_keystore *ks, sg_pgp *p, const char *fpr, bool with_secret)
{
    uint8_t *pub = NULL;
    size_t publen = 0;
    sg_pgp_key k;
    if (sg_pgp_export(p, fpr, 0, &pub, &publen) < 0)
        return ks_fail(ks, "cannot export %s", fpr);
    if (sg_pgp_inspect(p, fpr, &k) != 0) {
        free(pub);
        return ks_fail(ks, "cannot inspect %s", fpr);
    }
    int rc = exec(ks, "BEGIN IMMEDIATE");
    if (rc == 0)
        rc = put_key(ks, &k, pub, publen);
    if (rc == 0 && with_secret)
        rc = put_secret(ks, p, fpr);
    if (rc == 0)
        rc = exec(ks, "COMMIT");
    else
        sqlite3_exec(ks->db, "ROLLBACK", NULL, NULL, NULL);
    sg_pgp_key_clear(&k);
    free(pub);
    return rc;
}

sg_pgp *sg_keystore_load_secret(sg_keystore *ks, const char *fpr_in)
{
    char fpr[SG_PGP_FPR_LEN + 1];
    ks_upper_fpr(fpr_in, fpr);
    uint8_t *pub = NULL, *wrapped = NULL, *sec = NULL;
    size_t publen, wlen, seclen = 0;
    sg_pgp *p = NULL;
    if (ks_need_kek(ks) < 0 || get_public(ks, fpr, &pub, &publen) != 0)
        goto out;
    int rc = get_blob(ks, "SELECT wrapped FROM pgp_secrets WHERE fpr = ?", fpr, &wrapped, &wlen);
    if (rc != 0) {
        if (rc == 1)
            ks_fail(ks, "no secret key held for %s", fpr);
        goto out;
    }
    if (sg_kek_unwrap(&ks->kek, fpr, wrapped, wlen, &sec, &seclen) < 0) {
        ks_fail(ks, "secret key of %s does not unwrap (wrong KEK or tampered row)", fpr);
        goto out;
    }
    /* Public first, then secret: the public row carries later updates (revocations, new
     * signatures) that the secret blob, wrapped at generation or import, may lack. */
    if (!(p = sg_pgp_new()) || sg_pgp_load(p, pub, publen) < 0 || sg_pgp_load(p, sec, seclen) < 0) {
        ks_fail(ks, "cannot load the key material of %s", fpr);
        sg_pgp_free(p);
        p = NULL;
    }
out:
    sg_kek_free_plain(sec, seclen);
    free(wrapped);
    free(pub);
    return p;
}

uint64_t sg_keystore_id(const sg_keystore *ks)
{
    return ks->id;
}

/* A statement of the per-message path, prepared on its first use and kept; the caller resets
 * it (sqlite3_reset) when done. sql must be a string literal. */
static sqlite3_stmt *cached(sg_keystore *ks, const char *sql)
{
    size_t n = sizeof ks->cached / sizeof ks->cached[0], i = 0;
    for (; i < n && ks->cached[i].sql; i++)
        if (ks->cached[i].sql == sql)
            return ks->cached[i].st;
    if (i == n)
        return prep(ks, sql); /* not expected: the caller's reset then leaves it to finalize */
    if (!(ks->cached[i].st = prep(ks, sql)))
        return NULL;
    ks->cached[i].sql = sql;
    return ks->cached[i].st;
}

static bool is_cached(const sg_keystore *ks, const sqlite3_stmt *st)
{
    for (size_t i = 0; i < sizeof ks->cached / sizeof ks->cached[0]; i++)
        if (ks->cached[i].st == st)
            return true;
    return false;
}

/* Done with a statement from cached(): kept for the next use, or finalized if it was not kept. */
static void done_cached(sg_keystore *ks, sqlite3_stmt *st)
{
    if (is_cached(ks, st)) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    } else {
        sqlite3_finalize(st);
    }
}

int sg_keystore_generation(sg_keystore *ks, int64_t *gen)
{
    if (sg_store_generation(ks->st, SG_GEN_PGP, gen) < 0)
        return ks_fail(ks, "%s", sg_store_error(ks->st));
    return 0;
}

/* ---- import ---- */

static void report(sg_import_cb cb, void *ctx, int status, const char *fpr, const sg_pgp_key *k,
                   const char *reason)
{
    if (!cb)
        return;
    sg_import_result r = {status, fpr, k && k->nuids ? k->uids[0].uid : NULL, reason};
    cb(ctx, &r);
}

/* Why a (merged) key is not acceptable, or NULL. Expired keys are acceptable: they are stored
 * and marked, and selection skips them. */
static const char *unacceptable(sg_pgp *p, const sg_pgp_key *k)
{
    const char *weak = sg_pgp_weakness(p, k->fpr);
    if (weak)
        return weak;
    if (k->revoked)
        return NULL; /* keep revocations: they must reach the store to stop its use */
    if (k->valid_until == 0)
        return "no valid self-signature";
    for (size_t i = 0; i < k->nuids; i++)
        if (k->uids[i].valid)
            return NULL;
    return k->expires && k->expires <= time(NULL) ? NULL : "no user ID bound by a valid self-signature";
}

static int import_one(sg_keystore *ks, sg_pgp *in, const char *fpr, sg_import_cb cb, void *ctx)
{
    uint8_t *old = NULL, *inpub = NULL, *merged = NULL;
    size_t oldlen = 0, inlen = 0, mlen = 0;
    sg_pgp_key ink, k;
    sg_pgp *m = NULL;
    int rc = -1;
    memset(&k, 0, sizeof k);
    if (sg_pgp_inspect(in, fpr, &ink) != 0)
        return ks_fail(ks, "cannot inspect %s", fpr);
    int have = get_public(ks, fpr, &old, &oldlen);
    if (have < 0)
        goto out;
    /* Merge in a fresh context: stored material first, then the input. librnp keeps only
     * signatures that verify, so an attacker's garbage cannot replace valid bindings. */
    if (sg_pgp_export(in, fpr, 0, &inpub, &inlen) < 0 || !(m = sg_pgp_new()) ||
        (have == 0 && sg_pgp_load(m, old, oldlen) < 0) || sg_pgp_load(m, inpub, inlen) < 0 ||
        sg_pgp_export(m, fpr, 0, &merged, &mlen) < 0 || sg_pgp_inspect(m, fpr, &k) != 0) {
        report(cb, ctx, SG_IMPORT_REJECTED, fpr, &ink, "unreadable key material");
        rc = 1;
        goto out;
    }
    const char *why = unacceptable(m, &k);
    if (why) {
        report(cb, ctx, SG_IMPORT_REJECTED, fpr, &k, why);
        rc = 1;
        goto out;
    }
    int status = have == 1                                            ? SG_IMPORT_IMPORTED
                 : (mlen == oldlen && memcmp(merged, old, mlen) == 0) ? SG_IMPORT_UNCHANGED
                                                                      : SG_IMPORT_UPDATED;
    const char *note = NULL;
    bool take_secret = false;
    if (ink.secret && ink.secret_locked)
        note = "secret key is passphrase-protected: public part only";
    else if (ink.secret && !ks_has_secret(ks, fpr))
        take_secret = true;
    if (take_secret) {
        /* The secret comes from the input context; the merged public view is saved alongside. */
        uint8_t *sec = NULL;
        size_t seclen = 0;
        if (sg_pgp_export(in, fpr, SG_PGP_EXPORT_SECRET, &sec, &seclen) < 0 ||
            sg_pgp_load(m, sec, seclen) < 0) {
            sg_pgp_free_secret(sec, seclen);
            report(cb, ctx, SG_IMPORT_REJECTED, fpr, &k, "unreadable secret key");
            rc = 1;
            goto out;
        }
        sg_pgp_free_secret(sec, seclen);
        if (status == SG_IMPORT_UNCHANGED)
            status = SG_IMPORT_UPDATED;
        note = "with secret key";
    }
    if (status != SG_IMPORT_UNCHANGED && ks_save(ks, m, fpr, take_secret) < 0)
        goto out;
    report(cb, ctx, status, fpr, &k, note);
    rc = 0;
out:
    sg_pgp_key_clear(&ink);
    sg_pgp_key_clear(&k);
    sg_pgp_free(m);
    free(old);
    free(inpub);
    free(merged);
    return rc;
}

/* Standalone signatures (a revocation certificate): applied to stored keys, each key whose
 * canonical export changed is saved and reported as updated; signatures the keys already have
 * are reported once as unchanged. Returns the number of reports, 0 when nothing applied. All public keys are
 * loaded; this is an admin action, and a store of some thousand keys loads in well under a second. */
static int import_signatures(sg_keystore *ks, const uint8_t *data, size_t len, sg_import_cb cb, void *ctx)
{
    sqlite3_stmt *st = prep(ks, "SELECT pubkey FROM pgp_keys");
    sg_pgp *p = sg_pgp_new();
    char(*fprs)[SG_PGP_FPR_LEN + 1] = NULL;
    size_t n = 0;
    int rc = -1, updated = 0, known = 0;
    if (!st || !p)
        goto out;
    while (sqlite3_step(st) == SQLITE_ROW)
        sg_pgp_load(p, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    if (sg_pgp_load_signatures(p, data, len, &known) <= 0 || sg_pgp_primaries(p, &fprs, &n) < 0) {
        rc = 0;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t *old = NULL, *now = NULL;
        size_t oldlen = 0, nowlen = 0;
        if (get_public(ks, fprs[i], &old, &oldlen) == 0 && sg_pgp_export(p, fprs[i], 0, &now, &nowlen) == 0 &&
            (nowlen != oldlen || memcmp(now, old, nowlen) != 0)) {
            sg_pgp_key k;
            if (ks_save(ks, p, fprs[i], false) == 0 && sg_pgp_inspect(p, fprs[i], &k) == 0) {
                report(cb, ctx, SG_IMPORT_UPDATED, fprs[i], &k, k.revoked ? "revoked" : NULL);
                sg_pgp_key_clear(&k);
                updated++;
            }
        }
        free(old);
        free(now);
    }
    if (updated == 0 && known > 0) {
        /* The same revocation certificate imported twice is not an error. */
        report(cb, ctx, SG_IMPORT_UNCHANGED, NULL, NULL, "signature already known");
        updated = known;
    }
    rc = updated;
out:
    sqlite3_finalize(st);
    sg_pgp_free(p);
    free(fprs);
    return rc;
}

int sg_keystore_import(sg_keystore *ks, const uint8_t *data, size_t len, sg_import_cb cb, void *ctx)
{
    sg_pgp *in = sg_pgp_new();
    char(*fprs)[SG_PGP_FPR_LEN + 1] = NULL;
    size_t n = 0;
    int rejected = 0;
    if (!in)
        return ks_fail(ks, "out of memory");
    /* A load error is not fatal: what did parse is in the context, the rest is reported. */
    sg_pgp_load(in, data, len);
    if (sg_pgp_primaries(in, &fprs, &n) < 0) {
        sg_pgp_free(in);
        return ks_fail(ks, "out of memory");
    }
    if (n == 0) {
        int u = import_signatures(ks, data, len, cb, ctx);
        if (u < 0) {
            rejected = -1;
        } else if (u == 0) {
            report(cb, ctx, SG_IMPORT_REJECTED, NULL, NULL,
                   "no OpenPGP key, and no new signature on a stored key");
            rejected = 1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        int r = import_one(ks, in, fprs[i], cb, ctx);
        if (r < 0) {
            rejected = -1;
            break;
        }
        rejected += r;
    }
    free(fprs);
    sg_pgp_free(in);
    return rejected;
}

/* ---- reading ---- */

#define KEY_COLS                                                                                             \
    "k.fpr, k.keyid, k.alg, k.bits, k.created, k.expires, k.valid_until, k.revoked,"                         \
    " k.revoke_reason, k.can_sign, k.can_encrypt, k.can_certify, k.enc_subkey, k.enc_until,"                 \
    " EXISTS (SELECT 1 FROM pgp_secrets s WHERE s.fpr = k.fpr)"

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

static int row_to_key(sg_keystore *ks, sqlite3_stmt *st, sg_pgp_key *k)
{
    memset(k, 0, sizeof *k);
    snprintf(k->fpr, sizeof k->fpr, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(k->keyid, sizeof k->keyid, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(k->alg, sizeof k->alg, "%s", (const char *)sqlite3_column_text(st, 2));
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
    sqlite3_stmt *u = prep(ks, "SELECT uid, addr, valid FROM pgp_uids WHERE fpr = ? ORDER BY rowid");
    if (!u)
        return -1;
    sqlite3_bind_text(u, 1, k->fpr, -1, SQLITE_STATIC);
    size_t cap = 0;
    while (sqlite3_step(u) == SQLITE_ROW) {
        if (k->nuids == cap) {
            cap = cap ? cap * 2 : 4;
            void *nv = realloc(k->uids, cap * sizeof *k->uids);
            if (!nv) {
                sqlite3_finalize(u);
                return ks_fail(ks, "out of memory");
            }
            k->uids = nv;
        }
        sg_pgp_uid *o = &k->uids[k->nuids++];
        o->uid = col_dup(u, 0);
        o->addr = col_dup(u, 1);
        o->valid = sqlite3_column_int(u, 2);
    }
    sqlite3_finalize(u);
    return 0;
}

void sg_keystore_free_list(sg_pgp_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sg_pgp_key_clear(&keys[i]);
    free(keys);
}

/* The stored form of an address: the domain lower-cased, the local part exact. */
static char *norm_addr(const char *address)
{
    char *a = NULL;
    if (strchr(address, '<') || !strchr(address, ' '))
        a = sg_pgp_uid_address(address);
    return a;
}

int sg_keystore_list(sg_keystore *ks, const char *address, sg_pgp_key **keys, size_t *n)
{
    *keys = NULL;
    *n = 0;
    char *addr = NULL;
    if (address && !(addr = norm_addr(address)))
        return 0; /* not an address: nothing can match */
    sqlite3_stmt *st = prep(ks, address ? "SELECT " KEY_COLS " FROM pgp_keys k WHERE k.fpr IN"
                                          " (SELECT fpr FROM pgp_uids WHERE addr = ?)"
                                          " ORDER BY k.created DESC, k.fpr"
                                        : "SELECT " KEY_COLS " FROM pgp_keys k"
                                          " ORDER BY k.created DESC, k.fpr");
    if (!st) {
        free(addr);
        return -1;
    }
    if (addr)
        sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
    size_t cap = 0;
    int rc = 0;
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            void *nv = realloc(*keys, cap * sizeof **keys);
            if (!nv) {
                rc = ks_fail(ks, "out of memory");
                break;
            }
            *keys = nv;
        }
        rc = row_to_key(ks, st, &(*keys)[*n]);
        (*n)++;
    }
    sqlite3_finalize(st);
    free(addr);
    if (rc < 0) {
        sg_keystore_free_list(*keys, *n);
        *keys = NULL;
        *n = 0;
    }
    return rc;
}

int sg_keystore_get(sg_keystore *ks, const char *fpr_in, sg_pgp_key *k)
{
    char fpr[SG_PGP_FPR_LEN + 1];
    ks_upper_fpr(fpr_in, fpr);
    memset(k, 0, sizeof *k);
    sqlite3_stmt *st = prep(ks, "SELECT " KEY_COLS " FROM pgp_keys k WHERE k.fpr = ?");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_ROW ? row_to_key(ks, st, k) : 1;
    sqlite3_finalize(st);
    if (rc < 0)
        sg_pgp_key_clear(k);
    return rc;
}

int sg_keystore_export(sg_keystore *ks, const char *fpr_in, bool secret, bool armored, uint8_t **out,
                       size_t *len)
{
    char fpr[SG_PGP_FPR_LEN + 1];
    ks_upper_fpr(fpr_in, fpr);
    uint8_t *pub = NULL;
    size_t publen = 0;
    int rc = get_public(ks, fpr, &pub, &publen);
    if (rc == 1)
        ks_fail(ks, "no such key %s", fpr);
    if (rc != 0)
        return rc;
    sg_pgp *p = NULL;
    if (secret) {
        if (!ks_has_secret(ks, fpr)) {
            free(pub);
            ks_fail(ks, "no secret key held for %s", fpr);
            return 1;
        }
        p = sg_keystore_load_secret(ks, fpr);
    } else if ((p = sg_pgp_new()) && sg_pgp_load(p, pub, publen) < 0) {
        sg_pgp_free(p);
        p = NULL;
    }
    free(pub);
    if (!p)
        return ks->err[0] ? -1 : ks_fail(ks, "cannot load %s", fpr);
    rc = sg_pgp_export(p, fpr, (secret ? SG_PGP_EXPORT_SECRET : 0) | (armored ? SG_PGP_EXPORT_ARMOR : 0), out,
                       len);
    sg_pgp_free(p);
    return rc < 0 ? ks_fail(ks, "cannot export %s", fpr) : 0;
}

int sg_keystore_delete(sg_keystore *ks, const char *fpr_in)
{
    char fpr[SG_PGP_FPR_LEN + 1];
    ks_upper_fpr(fpr_in, fpr);
    static const char *const sql[] = {"DELETE FROM pgp_secrets WHERE fpr = ?",
                                      "DELETE FROM pgp_uids WHERE fpr = ?",
                                      "DELETE FROM pgp_keys WHERE fpr = ?"};
    if (exec(ks, "BEGIN IMMEDIATE") < 0)
        return -1;
    int changed = 0;
    for (int i = 0; i < 3; i++) {
        sqlite3_stmt *st = prep(ks, sql[i]);
        if (!st) {
            sqlite3_exec(ks->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        sqlite3_bind_text(st, 1, fpr, -1, SQLITE_STATIC);
        if (run(ks, st) < 0) {
            sqlite3_exec(ks->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        changed = sqlite3_changes(ks->db);
    }
    if (exec(ks, "COMMIT") < 0)
        return -1;
    return changed ? 0 : 1;
}

/* ---- selection ---- */

static int select_one(sg_keystore *ks, const char *sql, const char *address, char fpr[SG_PGP_FPR_LEN + 1])
{
    char *addr = norm_addr(address);
    if (!addr)
        return 1;
    sqlite3_stmt *st = cached(ks, sql);
    if (!st) {
        free(addr);
        return -1;
    }
    sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
    int rc = 1;
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        snprintf(fpr, SG_PGP_FPR_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 0));
        rc = 0;
    } else if (s != SQLITE_DONE) {
        rc = ks_fail(ks, "store: %s", sqlite3_errmsg(ks->db));
    }
    done_cached(ks, st);
    free(addr);
    return rc;
}

/* valid_until already accounts for the primary's expiry and revocation (librnp computes it);
 * the revoked flag is checked too so a revocation can never be missed by a rounding of times.
 * The keys are found through the address index (IN): a correlated EXISTS made SQLite scan every
 * stored key per lookup, 1.7 ms per message with 1,000 keys (bench/pgp_select). */
#define VALID_FOR_ADDR                                                                                       \
    " k.revoked = 0 AND k.valid_until > ?2 AND k.fpr IN (SELECT u.fpr FROM pgp_uids u"                       \
    " WHERE u.addr = ?1 AND u.valid = 1)"

int sg_keystore_find_encryption_key(sg_keystore *ks, const char *address, char fpr[SG_PGP_FPR_LEN + 1])
{
    return select_one(
        ks,
        "SELECT k.fpr FROM pgp_keys k WHERE k.enc_subkey = 1 AND k.enc_until > ?2 AND" VALID_FOR_ADDR
        " ORDER BY k.created DESC, k.fpr LIMIT 1",
        address, fpr);
}

int ks_find_own_signing_key(sg_keystore *ks, const char *address, char fpr[SG_PGP_FPR_LEN + 1])
{
    return select_one(ks,
                      "SELECT k.fpr FROM pgp_keys k WHERE k.can_sign = 1 AND"
                      " EXISTS (SELECT 1 FROM pgp_secrets s WHERE s.fpr = k.fpr) AND" VALID_FOR_ADDR
                      " ORDER BY k.created DESC, k.fpr LIMIT 1",
                      address, fpr);
}

int sg_keystore_find_signing_key(sg_keystore *ks, const char *address, const char *domain_addr,
                                 char fpr[SG_PGP_FPR_LEN + 1])
{
    int rc = ks_find_own_signing_key(ks, address, fpr);
    if (rc == 1 && domain_addr)
        rc = ks_find_own_signing_key(ks, domain_addr, fpr);
    return rc;
}
