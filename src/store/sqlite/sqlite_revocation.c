/* sqlite_revocation.c - the SQLite backend's revocation calls (store/revocation_rows.h). Owner: src/store.
 * PLACEHOLDER of the store skeleton. */
#include "store/revocation_rows.h"
#include "store/sqlite/sqlite_int.h"

const struct sg_store_revocation_ops sg_sqlite_revocation_ops = {0};
