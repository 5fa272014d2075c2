/* sqlite_policy.c - the SQLite backend's policy calls (store/policy_rows.h). Owner: src/store.
 * PLACEHOLDER of the store skeleton. */
#include "store/policy_rows.h"
#include "store/sqlite/sqlite_int.h"

const struct sg_store_policy_ops sg_sqlite_policy_ops = {0};
