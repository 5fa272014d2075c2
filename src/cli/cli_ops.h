/* cli_ops.h - the CLI as a front end of the operation table (admin/ops.h): the verbs it serves
 * through sg_admin_call, how their words and options become arguments, and how results print.
 * Owner: src/cli.
 * SECURITY: the CLI's caller is whoever can open the store file and the spool (root or the
 * gateway's users): file permissions are the boundary, so the CLI acts as an Administrator
 * named after the Unix user, and every call writes its audit event like any other front end. */
#ifndef SG_CLI_OPS_H
#define SG_CLI_OPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "admin/ops.h"
#include "lib/config.h"

/* Prints a successful result; returns the exit status (0, or 1 when the result reports a
 * partial failure such as `queue retry all` with failed moves). */
typedef int (*sg_cli_printer)(const sg_op *op, const json_t *result);

typedef struct sg_cli_verb {
    const char *op;            /* the operation's name in the table */
    const char *positional[3]; /* arguments taken as words after the verb, in order (NULL ends) */
    sg_cli_printer print;      /* NULL: the result as JSON */
} sg_cli_verb;

/* Every operation the CLI serves through the table. tests/unit/test_admin_ops.c checks it
 * against the table both ways. */
extern const sg_cli_verb sg_cli_verbs[];
extern const size_t sg_cli_verbs_count;

/* Whether the command argv[0..] is served through the table: one of sg_cli_verbs, or an unknown
 * verb of an area the table serves whole (answered with that area's usage). Verbs the CLI
 * still serves with its own code (`key import`, `policy check` ...) are not. */
bool sg_cli_serves(int argc, char **argv);
/* Runs `sealgate WORDS [ARGS] [--json]` (argv[0] is the first word), plus `sealgate admin ops
 * [--markdown|--json]` (the table itself). Returns the exit status: 0, 2 for usage and
 * invalid arguments, 1 otherwise. */
int sg_cli_run(const sg_config *cfg, int argc, char **argv);
/* The context of the local caller (the Unix user as Administrator, client "local"). */
void sg_cli_op_ctx(const sg_config *cfg, sg_store *st, sg_op_ctx *ctx);

/* cli_audit.c: the audit event of a command that still runs the CLI's own code (argv[0] is
 * the area), after it ran with exit status rc; nothing for read-only ones. */
void sg_cli_audit_own(const sg_config *cfg, int argc, char **argv, int rc);

/* cli_print.c: the printers of sg_cli_verbs. */
int sg_cli_print_json(const sg_op *op, const json_t *result);
int sg_cli_print_queue_list(const sg_op *op, const json_t *result);
int sg_cli_print_queue_show(const sg_op *op, const json_t *result);
int sg_cli_print_queue_moved(const sg_op *op, const json_t *result);
int sg_cli_print_account(const sg_op *op, const json_t *result);
int sg_cli_print_accounts(const sg_op *op, const json_t *result);
int sg_cli_print_token(const sg_op *op, const json_t *result);
int sg_cli_print_tokens(const sg_op *op, const json_t *result);
int sg_cli_print_sessions(const sg_op *op, const json_t *result);
int sg_cli_print_events(const sg_op *op, const json_t *result);
int sg_cli_print_log_entries(const sg_op *op, const json_t *result);
int sg_cli_print_log_entry(const sg_op *op, const json_t *result);
int sg_cli_print_done(const sg_op *op, const json_t *result);
int sg_cli_print_status(const sg_op *op, const json_t *result);
int sg_cli_print_cluster(const sg_op *op, const json_t *result);
int sg_cli_print_metrics(const sg_op *op, const json_t *result);
int sg_cli_print_jobs(const sg_op *op, const json_t *result);
int sg_cli_print_job(const sg_op *op, const json_t *result);
int sg_cli_print_users(const sg_op *op, const json_t *result);
int sg_cli_print_user(const sg_op *op, const json_t *result);
int sg_cli_print_groups(const sg_op *op, const json_t *result);
int sg_cli_print_group(const sg_op *op, const json_t *result);
int sg_cli_print_keys(const sg_op *op, const json_t *result);
int sg_cli_print_key(const sg_op *op, const json_t *result);
int sg_cli_print_deleted(const sg_op *op, const json_t *result);
int sg_cli_print_certs(const sg_op *op, const json_t *result);
int sg_cli_print_cert(const sg_op *op, const json_t *result);
int sg_cli_print_pem(const sg_op *op, const json_t *result);
int sg_cli_print_ca_revoked(const sg_op *op, const json_t *result);
int sg_cli_print_policy(const sg_op *op, const json_t *result);
int sg_cli_print_revisions(const sg_op *op, const json_t *result);
int sg_cli_print_loaded(const sg_op *op, const json_t *result);

#endif
