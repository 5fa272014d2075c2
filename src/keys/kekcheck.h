/* kekcheck.h - one KEK for the cluster: a check value in the shared store (cluster_meta
 * "kek_check") that only the cluster's KEK opens, so that a node started with another KEK
 * refuses to run instead of wrapping new secrets the other nodes cannot open. Owner: src/keys.
 * The value is an AES-256-GCM wrap (crypto/kek.h) of a fixed text under the KEK: GCM's tag
 * says whether a KEK is the one that wrote it, and the value reveals nothing of the key.
 * Written by the first node that starts (sg_kek_cluster_check), replaced inside the
 * transaction of `sealgate kek rotate`. SECURITY: handles the KEK; cryptd's and the master's
 * code only. */
#ifndef SG_KEKCHECK_H
#define SG_KEKCHECK_H

#include <stddef.h>

#include "crypto/kek.h"
#include "store/store.h"

/* Sets the store's check value to kek's (rotation, inside its transaction). 0 or -1 with err. */
int sg_kek_check_set(sg_store *st, const sg_kek *kek, char *err, size_t errlen);
/* Whether kek is the cluster's: 0 yes (the value written now when the store had none), 1 no
 * (why in err), -1 error (err). */
int sg_kek_cluster_check(sg_store *st, const sg_kek *kek, char *err, size_t errlen);

#endif
