/* revocation_rows.h - the store's typed calls for revocation data. Owner: src/store.
 * PLACEHOLDER of the store skeleton: the calls move in here from their module with the SQL. */
#ifndef SG_STORE_REVOCATION_ROWS_H
#define SG_STORE_REVOCATION_ROWS_H

#include "store/store.h"

/* What a backend provides for revocation data (store_int.h). */
struct sg_store_revocation_ops {
    int unused;
};

#endif
