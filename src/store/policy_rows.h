/* policy_rows.h - the store's typed calls for policy revisions (table policy). Owner: src/store.
 * Caller: policy/pstore.c, which decides which revision is in force; the store only keeps
 * them. Revisions are only ever added, numbered upwards from 1.
 * Returns: 0 done / found, 1 no such revision, -1 error with sg_store_error. */
#ifndef SG_STORE_POLICY_ROWS_H
#define SG_STORE_POLICY_ROWS_H

#include <stdint.h>

#include "store/store.h"

/* Adds text (as given) from source, loaded at time loaded, as a new revision: 0 with *rev, -1. */
int sg_store_policy_add(sg_store *s, const char *text, const char *source, int64_t loaded, int64_t *rev);
/* The newest revision number into *rev, 0 when none was ever added. 0 or -1. */
int sg_store_policy_newest(sg_store *s, int64_t *rev);
/* Revision rev: its text and (when source is not NULL) its source, malloc'd for the caller to
 * free, and (when loaded is not NULL) its load time. 0, 1, -1. */
int sg_store_policy_get(sg_store *s, int64_t rev, char **text, char **source, int64_t *loaded);

/* What a backend provides for policy data (store_int.h): the calls above, same contracts. */
struct sg_store_policy_ops {
    int (*add)(sg_store *s, const char *text, const char *source, int64_t loaded, int64_t *rev);
    int (*newest)(sg_store *s, int64_t *rev);
    int (*get)(sg_store *s, int64_t rev, char **text, char **source, int64_t *loaded);
};

#endif
