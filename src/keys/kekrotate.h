/* kekrotate.h - the KEK against the store: checking that it unwraps every secret, rotating it,
 * and finishing an interrupted rotation. Owner: src/keys.
 * SECURITY: rotation is ordered so that a kill at any instant leaves, for every secret, a KEK
 * file that unwraps it:
 *   1. the new KEK is written durably to keys/kek.new (0600, the cryptd user's);
 *   2. one store transaction re-wraps every secret from the old KEK to the new one;
 *   3. keys/kek.new is renamed over keys/kek (atomic), the directory fsync'd;
 *   4. a sweep re-wraps any secret another process wrote under the old KEK meanwhile.
 * Before 2 commits, keys/kek opens everything; after, keys/kek.new does (and keys/kek after 3).
 * sg_kek_recover decides, when keys/kek.new is found, which of the two the store's secrets are
 * wrapped under by trying them (AES-GCM says which key is right) and finishes or undoes. */
#ifndef SG_KEKROTATE_H
#define SG_KEKROTATE_H

#include <stddef.h>

#include "crypto/kek.h"
#include "store/store.h"

/* Takes the lock that serialises rotation, recovery, import and backup of the KEK of base_dir
 * (flock on the keys/ directory): an fd to close to release it, or -1 with errno. Every call below that
 * changes a KEK file expects its caller to hold it. */
int sg_kek_lock(const char *base_dir);

/* How many secrets the store holds (*total) and how many kek does not unwrap (*bad, the first
 * one's fingerprint in bad_fpr when not NULL, 130 bytes). 0, or -1 with err. */
int sg_kek_check(sg_store *st, const sg_kek *kek, size_t *total, size_t *bad, char *bad_fpr, char *err,
                 size_t errlen);

/* When <base_dir>/keys/kek.new exists: keeps whichever KEK unwraps the store's secrets, renaming
 * kek.new (with the owner and mode its writer gave it) into place or removing it; when some
 * secrets open only under each, re-wraps those under kek.new first. 0 nothing to do, 1
 * finished, 2 undone, -1 with err (a secret neither KEK unwraps: nothing is touched). */
int sg_kek_recover(const char *base_dir, sg_store *st, char *err, size_t errlen);

/* Called between the steps of a rotation (1: recovered, 2: kek.new written, 3: inside the
 * transaction after the first secret, 4: committed, 5: renamed); for the kill tests. */
typedef void (*sg_kek_step_fn)(int step);

/* Rotates the KEK of base_dir (see the header). *n = secrets re-wrapped. 0, or -1 with err. */
int sg_kek_rotate(const char *base_dir, sg_store *st, const char *owner, const char *group,
                  sg_kek_step_fn step, size_t *n, char *err, size_t errlen);

#endif
