/* policy_rows.h - the store's typed calls for policy data. Owner: src/store.
 * PLACEHOLDER of the store skeleton: the calls move in here from their module with the SQL. */
#ifndef SG_STORE_POLICY_ROWS_H
#define SG_STORE_POLICY_ROWS_H

#include "store/store.h"

/* What a backend provides for policy data (store_int.h). */
struct sg_store_policy_ops {
    int unused;
};

#endif
