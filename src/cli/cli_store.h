/* cli_store.h - how the admin's CLI opens the store. Owner: src/cli. */
#ifndef SG_CLI_STORE_H
#define SG_CLI_STORE_H

#include "lib/config.h"
#include "store/store.h"

/* Opens (creating when needed) the store of cfg, with the owner and mode `sealgate start` gives
 * it (cryptd's user, 0600), so that a store the CLI created first is still cryptd's alone.
 * NULL after printing why on stderr. */
sg_store *sg_cli_store_open(const sg_config *cfg);

#endif
