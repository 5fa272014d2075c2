/* cli_control.h - the CLI's way into the running gateway: commands whose operation must run in
 * cryptd (admin/ops.h SG_RUN_CRYPTD: key generate, ca issue, ca crl, cert import) go over the
 * control socket when it answers, and work on the store directly when nothing runs.
 * Owner: src/cli (issue 18, control socket). */
#ifndef SG_CLI_CONTROL_H
#define SG_CLI_CONTROL_H

#include <jansson.h>
#include <stdbool.h>

#include "lib/config.h"

#define SG_CLI_LOCAL 2 /* the gateway does not run: do it here */

/* Runs op with args (stolen) in cryptd when the gateway runs: 0 with *result (json_decref it),
 * 1 after printing the error on stderr, SG_CLI_LOCAL when nothing listens on the socket. */
int sg_cli_remote(const sg_config *cfg, const char *op, json_t *args, json_t **result);

/* Whether a call of this process went through sg_admin_call to the gateway: its one audit event
 * is written then (by cryptd, or by that call when the socket failed), so the CLI's own event
 * for the command (cli_audit.c) is not written a second time. */
bool sg_cli_remote_audited(void);

/* sg_cli_remote for operations that answer {"fpr": ...}: prints the fingerprint. */
int sg_cli_remote_fpr(const sg_config *cfg, const char *op, json_t *args);

#endif
