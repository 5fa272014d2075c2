/* pstore.c - policy revisions in the store (pstore.h). Owner: src/policy.
 * Revisions are only ever added, so the history of what ran when stays; the text is kept as
 * written (comments and all), so `policy show` gives back what the administrator loaded. */
#include "policy/pstore.h"
#include "policy/ugroups.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/policy_rows.h"

int sg_pstore_save(sg_store *st, const char *text, const char *source, long long *rev, char *err,
                   size_t errlen)
{
    int64_t r;
    if (sg_store_policy_add(st, text, source, (int64_t)time(NULL), &r) < 0) {
        snprintf(err, errlen, "%s", sg_store_error(st));
        return -1;
    }
    *rev = (long long)r;
    return 0;
}

long long sg_pstore_newest(sg_store *st)
{
    int64_t rev;
    return sg_store_policy_newest(st, &rev) < 0 ? -1 : (long long)rev;
}

int sg_pstore_get(sg_store *st, long long rev, char **text, char **source, long long *loaded)
{
    int64_t when;
    int rc = sg_store_policy_get(st, (int64_t)rev, text, source, &when);
    if (rc == 0 && loaded)
        *loaded = (long long)when;
    return rc;
}

/* p with its store groups filled, or NULL (p freed) with why on a store error. */
static sg_policy *fill(sg_policy *p, sg_store *st, char *why, size_t whylen)
{
    if (sg_policy_fill_store_groups(p, st, why, whylen) == 0)
        return p;
    sg_policy_free(p);
    return NULL;
}

sg_policy *sg_pstore_active(sg_store *st, const char *const *internal, size_t ninternal, long long *rev,
                            long long *broken_rev, char *broken, size_t brokenlen)
{
    *broken_rev = 0;
    long long newest = sg_pstore_newest(st);
    if (newest < 0) {
        snprintf(broken, brokenlen, "store: cannot read the policy");
        return NULL;
    }
    /* Newest first; a broken revision (loaded by a tool that did not check, or written by an
     * older version's syntax) leaves the previous good one in force. */
    for (long long r = newest; r > 0; r--) {
        char *text = NULL, *source = NULL, err[512], name[64];
        int g = sg_pstore_get(st, r, &text, &source, NULL);
        if (g < 0) {
            snprintf(broken, brokenlen, "store: cannot read policy revision %lld", r);
            return NULL;
        }
        if (g == 1)
            continue; /* revisions are never deleted today; a gap is not an error */
        snprintf(name, sizeof name, "policy revision %lld", r);
        sg_policy *p = sg_policy_parse(text, name, internal, ninternal, err, sizeof err);
        free(text);
        free(source);
        if (p) {
            *rev = r;
            return fill(p, st, broken, brokenlen);
        }
        if (!*broken_rev) {
            *broken_rev = r;
            snprintf(broken, brokenlen, "%s", err);
        }
    }
    *rev = 0;
    char err[512];
    sg_policy *p =
        sg_policy_parse(sg_policy_default_text, "default policy", internal, ninternal, err, sizeof err);
    if (!p && !*broken_rev)
        snprintf(broken, brokenlen, "%s", err);
    return p ? fill(p, st, broken, brokenlen) : NULL;
}
