/* x509_rows.h - the store's typed calls for x509 data. Owner: src/store.
 * PLACEHOLDER of the store skeleton: the calls move in here from their module with the SQL. */
#ifndef SG_STORE_X509_ROWS_H
#define SG_STORE_X509_ROWS_H

#include "store/store.h"

/* What a backend provides for x509 data (store_int.h). */
struct sg_store_x509_ops {
    int unused;
};

#endif
