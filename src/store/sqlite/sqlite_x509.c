/* sqlite_x509.c - the SQLite backend's x509 calls (store/x509_rows.h). Owner: src/store.
 * PLACEHOLDER of the store skeleton. */
#include "store/x509_rows.h"
#include "store/sqlite/sqlite_int.h"

const struct sg_store_x509_ops sg_sqlite_x509_ops = {0};
