/* cli_audit.c - one audit event for each CLI command that still runs its own code (not the
 * operation table) and changes something or exports a secret: key import|generate|revoke,
 * export --secret; cert import|trust|untrust, export --key; ca init|issue|crl;
 * policy load. Owner: src/cli. The table's verbs write theirs through sg_admin_call; these
 * write one here until they move into the table, so that every change from the CLI is on
 * record.
 * SECURITY: the event names the verb and its first word when that is not an option (a file,
 * an address, a fingerprint), never an option's value: `cert import FILE --password P` records
 * FILE, not P. */
#include <string.h>

#include "admin/audit.h"
#include "admin/roles.h"
#include "cli/cli_control.h"
#include "cli/cli_ops.h"
#include "cli/cli_store.h"

/* The audit name of argv's command, or NULL when it is not one to record. */
static const char *audited(int argc, char **argv)
{
    static const struct {
        const char *area, *verb, *needs, *op; /* needs: an option that must be present */
    } cmds[] = {
        {"key", "import", NULL, "key.import"},
        {"key", "generate", NULL, "key.generate"},
        {"key", "revoke", NULL, "key.revoke"},
        {"key", "export", "--secret", "key.export-secret"},
        {"cert", "import", NULL, "cert.import"},
        {"cert", "trust", NULL, "cert.trust"},
        {"cert", "untrust", NULL, "cert.untrust"},
        {"cert", "export", "--key", "cert.export-key"},
        {"ca", "init", NULL, "ca.init"},
        {"ca", "issue", NULL, "ca.issue"},
        {"ca", "crl", NULL, "ca.crl"},
        {"policy", "load", NULL, "policy.load"},
    };
    if (argc < 2)
        return NULL;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[0], cmds[i].area) != 0 || strcmp(argv[1], cmds[i].verb) != 0)
            continue;
        bool present = !cmds[i].needs;
        for (int k = 2; !present && k < argc; k++)
            present = strcmp(argv[k], cmds[i].needs) == 0;
        return present ? cmds[i].op : NULL;
    }
    return NULL;
}

void sg_cli_audit_own(const sg_config *cfg, int argc, char **argv, int rc)
{
    const char *op = audited(argc, argv);
    if (!op || sg_cli_remote_audited()) /* went to the running gateway: audited there (cli_control.h) */
        return;
    if (sg_cli_serves(argc, argv)) /* a table verb: sg_admin_call wrote its one event */
        return;
    sg_store *st = sg_cli_store_open(cfg);
    sg_op_ctx ctx;
    sg_cli_op_ctx(cfg, st, &ctx);
    char detail[64];
    snprintf(detail, sizeof detail, "the CLI's own code, exit status %d", rc);
    /* Without a store the event goes to the log (sg_audit_event_write), not nowhere. */
    sg_audit_event(st, ctx.actor, ctx.roles, op, argc > 2 && argv[2][0] != '-' ? argv[2] : "",
                   rc == 0   ? "ok"
                   : rc == 2 ? sg_op_code_name(SG_OP_INVALID_ARGUMENT)
                             : sg_op_code_name(SG_OP_INTERNAL),
                   ctx.client, detail);
    sg_store_close(st);
}
