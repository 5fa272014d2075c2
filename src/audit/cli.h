/* cli.h - the `sealgate audit` verbs of the tamper-evident log (cli.c). Owner: src/audit. */
#ifndef SG_AUDIT_CLI_H
#define SG_AUDIT_CLI_H

#include <stdbool.h>

#include "lib/config.h"

/* True when argv ("audit" VERB ...) is one of ours. */
bool sg_audit_cli_serves(int argc, char **argv);
int sg_audit_cli(const sg_config *cfg, int argc, char **argv);

#endif
