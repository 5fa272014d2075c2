/* cli_cert.h - shared by cli_cert.c and cli_ca.c only. Owner: src/keys. */
#ifndef SG_CLI_CERT_H
#define SG_CLI_CERT_H

#include "keys/certstore.h"
#include "lib/config.h"

/* Opens (creating, migrating) the store like `sealgate start` does, and a certstore that
 * creates the KEK on first need. 0, or 1 after printing why. */
int sg_cli_certstore_open(const sg_config *cfg, sg_store **st, sg_certstore **cs);
void sg_cli_certstore_close(sg_store *st, sg_certstore *cs);
/* Reads a file (or standard input for "-"), capped. 0 or -1 with errno. */
int sg_cli_read_input(const char *path, char **data, size_t *len);

#endif
