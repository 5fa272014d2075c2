/* sqlite_pgp.c - the SQLite backend's pgp calls (store/pgp_rows.h). Owner: src/store.
 * PLACEHOLDER of the store skeleton. */
#include "store/pgp_rows.h"
#include "store/sqlite/sqlite_int.h"

const struct sg_store_pgp_ops sg_sqlite_pgp_ops = {0};
