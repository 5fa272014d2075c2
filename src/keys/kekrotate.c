/* kekrotate.c - KEK rotation and its recovery (kekrotate.h). Owner: src/keys.
 * SECURITY: the old and new KEKs are wiped on every path; nothing is renamed or removed before
 * the store proves (by unwrapping every secret) which KEK it needs. */
#include "keys/kekrotate.h"
#include "keys/kekcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <limits.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "store/backup.h"

int sg_kek_lock(const char *base_dir)
{
    /* The keys directory itself is locked, not a lock file: root and the KEK's owner (who may
     * both run the CLI) can open it, whoever made it first. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/keys", base_dir);
    if (sg_mkdirs(dir, 0700) < 0)
        return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

typedef struct check_ctx {
    const sg_kek *kek;
    size_t total, bad;
    char *bad_fpr;
} check_ctx;

static int check_one(void *ctx, const char *fpr, const uint8_t *w, size_t len, uint8_t **out, size_t *outlen)
{
    (void)out;
    (void)outlen;
    check_ctx *c = ctx;
    uint8_t *pt = NULL;
    size_t ptlen = 0;
    c->total++;
    if (sg_kek_unwrap(c->kek, fpr, w, len, &pt, &ptlen) < 0) {
        if (c->bad++ == 0 && c->bad_fpr)
            snprintf(c->bad_fpr, 130, "%s", fpr);
    }
    sg_kek_free_plain(pt, ptlen);
    return 0;
}

int sg_kek_check(sg_store *st, const sg_kek *kek, size_t *total, size_t *bad, char *bad_fpr, char *err,
                 size_t errlen)
{
    check_ctx c = {kek, 0, 0, bad_fpr};
    if (sg_store_secrets_each(st, check_one, &c) < 0) {
        snprintf(err, errlen, "%s", sg_store_error(st));
        return -1;
    }
    *total = c.total;
    *bad = c.bad;
    return 0;
}

enum { CUR_LEN = PATH_MAX, NEXT_LEN = PATH_MAX + 8 };

static void paths(const char *base_dir, char cur[CUR_LEN], char next[NEXT_LEN])
{
    sg_kek_path(base_dir, cur, CUR_LEN);
    snprintf(next, NEXT_LEN, "%s.new", cur);
}

typedef struct rewrap_ctx {
    const sg_kek *old, *neu;
    sg_kek_step_fn step;
    size_t n;
    bool sweep; /* leave rows the new KEK opens already */
    char fpr[130];
} rewrap_ctx;

static int rewrap_one(void *ctx, const char *fpr, const uint8_t *w, size_t len, uint8_t **out, size_t *outlen)
{
    rewrap_ctx *c = ctx;
    uint8_t *pt = NULL;
    size_t ptlen = 0;
    if (c->sweep && sg_kek_unwrap(c->neu, fpr, w, len, &pt, &ptlen) == 0) {
        sg_kek_free_plain(pt, ptlen);
        return 0;
    }
    if (sg_kek_unwrap(c->old, fpr, w, len, &pt, &ptlen) < 0) {
        snprintf(c->fpr, sizeof c->fpr, "%s", fpr);
        return 1;
    }
    int rc = sg_kek_wrap(c->neu, fpr, pt, ptlen, out, outlen);
    sg_kek_free_plain(pt, ptlen);
    if (rc < 0) {
        snprintf(c->fpr, sizeof c->fpr, "%s", fpr);
        return 2;
    }
    if (c->n++ == 0 && c->step && !c->sweep)
        c->step(3);
    return 0;
}

/* One transaction over every secret; 0, or -1 with err. */
static int rewrap_all(sg_store *st, rewrap_ctx *c, char *err, size_t errlen)
{
    if (sg_store_begin(st) < 0) {
        snprintf(err, errlen, "%s", sg_store_error(st));
        return -1;
    }
    int rc = sg_store_secrets_each(st, rewrap_one, c);
    /* The cluster's check value changes with the secrets, in the same transaction
     * (keys/kekcheck.h): a node still on the old KEK then refuses to start. */
    if (rc == 0 && !c->sweep && sg_kek_check_set(st, c->neu, err, errlen) < 0) {
        sg_store_rollback(st);
        return -1;
    }
    if (rc == 0 && sg_store_commit(st) == 0)
        return 0;
    if (rc < 0 || rc == 0)
        snprintf(err, errlen, "%s", sg_store_error(st));
    else
        snprintf(err, errlen, "the secret of %s %s: nothing changed", c->fpr,
                 rc == 1 ? "does not unwrap under the current KEK" : "cannot be wrapped");
    sg_store_rollback(st);
    return -1;
}

int sg_kek_recover(const char *base_dir, sg_store *st, char *err, size_t errlen)
{
    char cur[CUR_LEN], next[NEXT_LEN];
    paths(base_dir, cur, next);
    if (access(next, F_OK) < 0)
        return 0;
    sg_kek old, neu;
    int have_old = sg_kek_load(cur, &old) == 0, have_new = sg_kek_load(next, &neu) == 0, rc = -1;
    size_t total = 0, bad_old = 1, bad_new = 1;
    if (have_new && sg_kek_check(st, &neu, &total, &bad_new, NULL, err, errlen) < 0)
        goto out;
    if (have_old && sg_kek_check(st, &old, &total, &bad_old, NULL, err, errlen) < 0)
        goto out;
    /* Every secret under the new KEK (and some store has any): the transaction committed, only
     * the rename is missing. Otherwise the old KEK must open everything, and kek.new goes. */
    if (have_new && bad_new == 0 && (total > 0 || !have_old)) {
        if (rename(next, cur) < 0) {
            snprintf(err, errlen, "cannot rename %s to %s: %s", next, cur, strerror(errno));
            goto out;
        }
        rc = 1;
    } else if (have_old && bad_old == 0) {
        if (unlink(next) < 0) {
            snprintf(err, errlen, "cannot remove %s: %s", next, strerror(errno));
            goto out;
        }
        rc = 2;
    } else if (have_old && have_new) {
        /* Some under each: the rotation committed, then another process stored a secret under
         * the old KEK before the rename, and the kill came before the sweep. Finish the sweep
         * (it fails, touching nothing, if a secret opens under neither), then the rename. */
        rewrap_ctx sweep = {&old, &neu, NULL, 0, true, ""};
        if (rewrap_all(st, &sweep, err, errlen) < 0)
            goto out;
        if (rename(next, cur) < 0) {
            snprintf(err, errlen, "cannot rename %s to %s: %s", next, cur, strerror(errno));
            goto out;
        }
        rc = 1;
    } else {
        snprintf(err, errlen,
                 "neither %s nor %s unwraps every secret of the store: nothing changed; restore the KEK "
                 "from its export (sealgate kek import)",
                 cur, next);
        goto out;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/keys", base_dir);
    sg_fsync_dir(dir);
out:
    sg_kek_wipe(&old);
    sg_kek_wipe(&neu);
    return rc;
}

int sg_kek_rotate(const char *base_dir, sg_store *st, const char *owner, const char *group,
                  sg_kek_step_fn step, size_t *n, char *err, size_t errlen)
{
    char cur[CUR_LEN], next[NEXT_LEN];
    paths(base_dir, cur, next);
    if (sg_kek_recover(base_dir, st, err, errlen) < 0)
        return -1;
    if (step)
        step(1);
    sg_kek old, neu;
    int rc = -1;
    if (sg_kek_load(cur, &old) < 0) {
        snprintf(err, errlen, "cannot load the KEK %s: %s", cur, strerror(errno));
        return -1;
    }
    if (RAND_priv_bytes(neu.key, SG_KEK_LEN) != 1 || sg_kek_write(next, &neu, owner, group) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", next, strerror(errno));
        goto out;
    }
    if (step)
        step(2);
    rewrap_ctx c = {&old, &neu, step, 0, false, ""};
    if (rewrap_all(st, &c, err, errlen) < 0) {
        unlink(next);
        goto out;
    }
    *n = c.n;
    if (step)
        step(4);
    if (rename(next, cur) < 0) {
        /* The store is under the new KEK, which is in kek.new: recovery finishes this. */
        snprintf(err, errlen,
                 "re-wrapped, but cannot rename %s to %s: %s (the next start or rotation finishes it)", next,
                 cur, strerror(errno));
        goto out;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/keys", base_dir);
    sg_fsync_dir(dir);
    if (step)
        step(5);
    /* A process that loaded the old KEK just before the rename may have stored a secret under it
     * since the transaction: re-wrap those too while the old key is still at hand. */
    rewrap_ctx sweep = {&old, &neu, NULL, 0, true, ""};
    if (rewrap_all(st, &sweep, err, errlen) < 0)
        goto out;
    *n += sweep.n;
    rc = 0;
out:
    sg_kek_wipe(&old);
    sg_kek_wipe(&neu);
    return rc;
}
