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
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/kek.h"
#include "keys/keystore_int.h"
#include "store/pgp_rows.h"

_Static_assert(SG_STORE_PGP_FPR_LEN == SG_PGP_FPR_LEN, "the store keeps v4 fingerprints as the keystore does");

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

/* A store call failed: its reason becomes the keystore's error. Returns -1. */
static int ks_store_fail(sg_keystore *ks)
{
    return ks_fail(ks, "%s", sg_store_error(ks->st));
}

/* 0, 1 when the store has no such key, -1 (with the store's reason). */
static int get_public(sg_keystore *ks, const char *fpr, uint8_t **out, size_t *len)
{
    int rc = sg_store_pgp_get_public(ks->st, fpr, out, len);
    return rc < 0 ? ks_store_fail(ks) : rc;
}

/* Writes the key row and its user IDs (inside the caller's transaction). The row borrows k's
 * strings. */
static int put_key(sg_keystore *ks, const sg_pgp_key *k, const uint8_t *pub, size_t publen)
{
    sg_store_pgp_key r = {
        .bits = k->bits,
        .created = k->created,
        .expires = k->expires,
        .valid_until = k->valid_until,
        .revoked = k->revoked,
        .revoke_reason = k->revoke_reason,
        .can_sign = k->can_sign,
        .can_encrypt = k->can_encrypt,
        .can_certify = k->can_certify,
        .enc_subkey = k->enc_subkey,
        .enc_until = k->enc_until,
        .nuids = k->nuids,
    };
    snprintf(r.fpr, sizeof r.fpr, "%s", k->fpr);
    snprintf(r.keyid, sizeof r.keyid, "%s", k->keyid);
    snprintf(r.alg, sizeof r.alg, "%s", k->alg);
    if (k->nuids && !(r.uids = calloc(k->nuids, sizeof *r.uids)))
        return ks_fail(ks, "out of memory");
    for (size_t i = 0; i < k->nuids; i++)
        r.uids[i] = (sg_store_pgp_uid){k->uids[i].uid, k->uids[i].addr, k->uids[i].valid};
    int rc = sg_store_pgp_put_key(ks->st, &r, pub, publen, (int64_t)time(NULL));
    free(r.uids);
    return rc < 0 ? ks_store_fail(ks) : 0;
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
    /* Read again right before wrapping: a long-lived process must not wrap under a KEK that
     * `sealgate kek rotate` has replaced since it loaded it. */
    int rc = sg_kek_load(ks->kek_path, &ks->kek) < 0
                 ? -1
                 : sg_kek_wrap(&ks->kek, fpr, sec, seclen, &wrapped, &wlen);
    sg_pgp_free_secret(sec, seclen);
    if (rc < 0)
        return ks_fail(ks, "cannot wrap the secret key of %s", fpr);
    rc = sg_store_pgp_put_secret(ks->st, fpr, wrapped, wlen) < 0 ? ks_store_fail(ks) : 0;
    free(wrapped);
    return rc;
}

int ks_has_secret(sg_keystore *ks, const char *fpr)
{
    int rc = sg_store_pgp_has_secret(ks->st, fpr);
    return rc < 0 ? ks_store_fail(ks) : rc;
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
    int rc = sg_store_begin(ks->st) < 0 ? ks_store_fail(ks) : 0;
    if (rc == 0)
        rc = put_key(ks, &k, pub, publen);
    if (rc == 0 && with_secret)
        rc = put_secret(ks, p, fpr);
    if (rc == 0)
        rc = sg_store_commit(ks->st) < 0 ? ks_store_fail(ks) : 0;
    else
        sg_store_rollback(ks->st);
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
    int rc = sg_store_pgp_get_wrapped(ks->st, fpr, &wrapped, &wlen);
    if (rc != 0) {
        if (rc == 1)
            ks_fail(ks, "no secret key held for %s", fpr);
        else
            ks_store_fail(ks);
        goto out;
    }
    /* _fresh: `sealgate kek rotate` may have replaced the KEK while this process kept an older one. */
    if (sg_kek_unwrap_fresh(&ks->kek, ks->kek_path, fpr, wrapped, wlen, &sec, &seclen) < 0) {
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
    else if (ink.secret) {
        int held = ks_has_secret(ks, fpr);
        if (held < 0)
            goto out;
        take_secret = held == 1;
    }
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

static void load_public(void *p, const uint8_t *pub, size_t len)
{
    sg_pgp_load(p, pub, len);
}

/* Standalone signatures (a revocation certificate): applied to stored keys, each key whose
 * canonical export changed is saved and reported as updated; signatures the keys already have
 * are reported once as unchanged. Returns the number of reports, 0 when nothing applied, -1 on a
 * store error. All public keys are loaded; this is an admin action, and a store of some
 * thousand keys loads in well under a second. */
static int import_signatures(sg_keystore *ks, const uint8_t *data, size_t len, sg_import_cb cb, void *ctx)
{
    sg_pgp *p = sg_pgp_new();
    char(*fprs)[SG_PGP_FPR_LEN + 1] = NULL;
    size_t n = 0;
    int rc = -1, updated = 0, known = 0;
    if (!p) {
        ks_fail(ks, "out of memory");
        goto out;
    }
    if (sg_store_pgp_each_public(ks->st, load_public, p) < 0) {
        ks_store_fail(ks);
        goto out;
    }
    if (sg_pgp_load_signatures(p, data, len, &known) <= 0 || sg_pgp_primaries(p, &fprs, &n) < 0) {
        rc = 0;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t *old = NULL, *now = NULL;
        size_t oldlen = 0, nowlen = 0;
        /* A store error stops the import: a revocation that was not saved is never silent. */
        int have = get_public(ks, fprs[i], &old, &oldlen), saved = 0;
        if (have == 0 && sg_pgp_export(p, fprs[i], 0, &now, &nowlen) == 0 &&
            (nowlen != oldlen || memcmp(now, old, nowlen) != 0)) {
            sg_pgp_key k;
            if ((saved = ks_save(ks, p, fprs[i], false)) == 0 && sg_pgp_inspect(p, fprs[i], &k) == 0) {
                report(cb, ctx, SG_IMPORT_UPDATED, fprs[i], &k, k.revoked ? "revoked" : NULL);
                sg_pgp_key_clear(&k);
                updated++;
            }
        }
        free(old);
        free(now);
        if (have < 0 || saved < 0)
            goto out;
    }
    if (updated == 0 && known > 0) {
        /* The same revocation certificate imported twice is not an error. */
        report(cb, ctx, SG_IMPORT_UNCHANGED, NULL, NULL, "signature already known");
        updated = known;
    }
    rc = updated;
out:
    sg_pgp_free(p);
    free(fprs);
    return rc;
}

int sg_keystore_import(sg_keystore *ks, const uint8_t *data, size_t len, sg_import_cb cb, void *ctx)
{
    return sg_keystore_import_steps(ks, data, len, cb, ctx, NULL, NULL, NULL);
}

int sg_keystore_import_steps(sg_keystore *ks, const uint8_t *data, size_t len, sg_import_cb cb, void *ctx,
                             sg_import_step_fn step, void *step_ctx, size_t *done)
{
    if (done)
        *done = 0;
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
    size_t i = 0;
    for (; i < n; i++) {
        if (step && step(step_ctx, i, n))
            break;
        int r = import_one(ks, in, fprs[i], cb, ctx);
        if (r < 0) {
            rejected = -1;
            break;
        }
        rejected += r;
    }
    if (done)
        *done = n ? i : 0;
    if (step && i == n && n)
        step(step_ctx, n, n);
    free(fprs);
    sg_pgp_free(in);
    return rejected;
}

/* ---- reading ---- */

/* Moves a row read from the store into k (the strings change owner); r is left cleared. */
static int row_to_key(sg_keystore *ks, sg_store_pgp_key *r, sg_pgp_key *k)
{
    memset(k, 0, sizeof *k);
    if (r->nuids && !(k->uids = calloc(r->nuids, sizeof *k->uids))) {
        sg_store_pgp_key_clear(r);
        return ks_fail(ks, "out of memory");
    }
    snprintf(k->fpr, sizeof k->fpr, "%s", r->fpr);
    snprintf(k->keyid, sizeof k->keyid, "%s", r->keyid);
    snprintf(k->alg, sizeof k->alg, "%s", r->alg);
    k->bits = r->bits;
    k->created = r->created;
    k->expires = r->expires;
    k->valid_until = r->valid_until;
    k->revoked = r->revoked;
    k->revoke_reason = r->revoke_reason;
    k->can_sign = r->can_sign;
    k->can_encrypt = r->can_encrypt;
    k->can_certify = r->can_certify;
    k->enc_subkey = r->enc_subkey;
    k->enc_until = r->enc_until;
    k->secret = r->secret;
    for (size_t i = 0; i < r->nuids; i++)
        k->uids[i] = (sg_pgp_uid){r->uids[i].uid, r->uids[i].addr, r->uids[i].valid};
    k->nuids = r->nuids;
    free(r->uids);
    memset(r, 0, sizeof *r);
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

/* list and page: page when limit > 0 (with *total), else every key. */
static int list_rows(sg_keystore *ks, const char *address, size_t limit, size_t offset, sg_pgp_key **keys,
                     size_t *n, int64_t *total)
{
    *keys = NULL;
    *n = 0;
    *total = 0;
    char *addr = NULL;
    if (address && !(addr = norm_addr(address)))
        return 0; /* not an address: nothing can match */
    sg_store_pgp_key *rows = NULL;
    size_t nrows = 0;
    int rc = (limit ? sg_store_pgp_page(ks->st, addr, limit, offset, &rows, &nrows, total)
                    : sg_store_pgp_list(ks->st, addr, &rows, &nrows)) < 0
                 ? ks_store_fail(ks)
                 : 0;
    free(addr);
    if (rc == 0 && nrows && !(*keys = calloc(nrows, sizeof **keys)))
        rc = ks_fail(ks, "out of memory");
    for (size_t i = 0; rc == 0 && i < nrows; i++)
        if ((rc = row_to_key(ks, &rows[i], &(*keys)[i])) == 0)
            (*n)++;
    sg_store_pgp_free_list(rows, nrows);
    if (rc < 0) {
        sg_keystore_free_list(*keys, *n);
        *keys = NULL;
        *n = 0;
    }
    return rc;
}

int sg_keystore_list(sg_keystore *ks, const char *address, sg_pgp_key **keys, size_t *n)
{
    int64_t total;
    return list_rows(ks, address, 0, 0, keys, n, &total);
}

int sg_keystore_page(sg_keystore *ks, const char *address, size_t limit, size_t offset, sg_pgp_key **keys,
                     size_t *n, int64_t *total)
{
    return list_rows(ks, address, limit ? limit : 1, offset, keys, n, total);
}

int sg_keystore_get(sg_keystore *ks, const char *fpr_in, sg_pgp_key *k)
{
    char fpr[SG_PGP_FPR_LEN + 1];
    ks_upper_fpr(fpr_in, fpr);
    memset(k, 0, sizeof *k);
    sg_store_pgp_key r;
    int rc = sg_store_pgp_get(ks->st, fpr, &r);
    if (rc < 0)
        return ks_store_fail(ks);
    return rc == 0 ? row_to_key(ks, &r, k) : 1;
}

int sg_keystore_subkeys(sg_keystore *ks, const char *fpr_in, sg_pgp_subkey **subs, size_t *n)
{
    char fpr[SG_PGP_FPR_LEN + 1];
    ks_upper_fpr(fpr_in, fpr);
    *subs = NULL;
    *n = 0;
    uint8_t *pub = NULL;
    size_t publen = 0;
    int rc = get_public(ks, fpr, &pub, &publen);
    if (rc != 0)
        return rc;
    sg_pgp *p = sg_pgp_new();
    rc = p && sg_pgp_load(p, pub, publen) == 0 ? sg_pgp_subkeys(p, fpr, subs, n) : -1;
    free(pub);
    sg_pgp_free(p);
    /* The row exists, so a key missing from its own bytes is damage, not absence. */
    return rc == 0 ? 0 : ks_fail(ks, "the stored key %s does not parse", fpr);
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
        int held = ks_has_secret(ks, fpr);
        if (held != 0) {
            free(pub);
            if (held == 1)
                ks_fail(ks, "no secret key held for %s", fpr);
            return held;
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
    if (sg_store_begin(ks->st) < 0)
        return ks_store_fail(ks);
    int rc = sg_store_pgp_delete(ks->st, fpr);
    if (rc < 0) {
        ks_store_fail(ks);
        sg_store_rollback(ks->st);
        return -1;
    }
    if (sg_store_commit(ks->st) < 0)
        return ks_store_fail(ks);
    return rc;
}

/* ---- selection ---- */

/* The store's selection for the stored form of address at the current time. */
static int select_one(sg_keystore *ks,
                      int (*find)(sg_store *, const char *, int64_t, char[SG_STORE_PGP_FPR_LEN + 1]),
                      const char *address, char fpr[SG_PGP_FPR_LEN + 1])
{
    char *addr = norm_addr(address);
    if (!addr)
        return 1;
    int rc = find(ks->st, addr, (int64_t)time(NULL), fpr);
    free(addr);
    return rc < 0 ? ks_store_fail(ks) : rc;
}

int sg_keystore_find_encryption_key(sg_keystore *ks, const char *address, char fpr[SG_PGP_FPR_LEN + 1])
{
    return select_one(ks, sg_store_pgp_find_encryption, address, fpr);
}

int ks_find_own_signing_key(sg_keystore *ks, const char *address, char fpr[SG_PGP_FPR_LEN + 1])
{
    return select_one(ks, sg_store_pgp_find_own_signing, address, fpr);
}

int sg_keystore_find_signing_key(sg_keystore *ks, const char *address, const char *domain_addr,
                                 char fpr[SG_PGP_FPR_LEN + 1])
{
    int rc = ks_find_own_signing_key(ks, address, fpr);
    if (rc == 1 && domain_addr)
        rc = ks_find_own_signing_key(ks, domain_addr, fpr);
    return rc;
}
