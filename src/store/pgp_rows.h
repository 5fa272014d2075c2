/* pgp_rows.h - the store's typed calls for pgp data. Owner: src/store.
 * PLACEHOLDER of the store skeleton: the calls move in here from their module with the SQL. */
#ifndef SG_STORE_PGP_ROWS_H
#define SG_STORE_PGP_ROWS_H

#include "store/store.h"

/* What a backend provides for pgp data (store_int.h). */
struct sg_store_pgp_ops {
    int unused;
};

#endif
