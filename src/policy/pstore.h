/* pstore.h - the policy in the store: revisions of the rules text, the newest that parses is
 * in force. Owner: src/policy. The portal will edit through the same calls later.
 * Callers that share the store handle across threads hold their lock around every call. */
#ifndef SG_POLICY_PSTORE_H
#define SG_POLICY_PSTORE_H

#include <stddef.h>

#include "policy/policy.h"
#include "store/store.h"

/* Stores text as a new revision (the caller has checked it). 0 with *rev, or -1 with err. */
int sg_pstore_save(sg_store *st, const char *text, const char *source, long long *rev, char *err, size_t errlen);
/* The newest revision number, 0 when none was ever loaded; -1 on a store error. */
long long sg_pstore_newest(sg_store *st);
/* The text of revision rev (malloc'd) with its source and load time. 0, 1 when there is no
 * such revision, -1 on a store error. */
int sg_pstore_get(sg_store *st, long long rev, char **text, char **source, long long *loaded);

/* The policy in force: the newest revision that parses (the embedded default when none was
 * loaded). *rev gets its revision (0 for the default). When newer revisions are broken, the
 * first one's error is written to broken (so the caller can log it) and *broken_rev is set;
 * else broken_rev is 0. NULL with err only on a store error or when nothing parses. */
sg_policy *sg_pstore_active(sg_store *st, const char *const *internal, size_t ninternal, long long *rev,
                            long long *broken_rev, char *broken, size_t brokenlen);

#endif
