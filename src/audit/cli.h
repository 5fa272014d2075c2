/* cli.h - the `sealgate audit` verbs of the tamper-evident log (cli.c). Owner: src/audit. */
#ifndef SG_AUDIT_CLI_H
#define SG_AUDIT_CLI_H

#include <stdbool.h>

#include "lib/config.h"
#include "store/store.h"

/* True when argv ("audit" VERB ...) is one of ours. */
bool sg_audit_cli_serves(int argc, char **argv);
int sg_audit_cli(const sg_config *cfg, int argc, char **argv);

/* peer_cli.c: `sealgate audit witness ...` (docs/notary.md): 0, 1 error, 2 usage, 3 a fork. */
int sg_audit_witness_cmd(const sg_config *cfg, sg_store *st, int argc, char **argv);

#endif
