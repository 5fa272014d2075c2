/* ops_doc.c - the permission reference of docs/admin.md, printed from the table
 * (`sealgate admin ops --markdown`); tests/integration/test_admin_cli.py checks that the
 * document holds exactly this text. Owner: src/admin. */
#include <stdio.h>

#include "admin/ops.h"
#include "admin/roles.h"

void sg_ops_markdown(FILE *f)
{
    fputs("| Operation | REST | CLI | Roles (Administrator: all) | Auditor | Runs in | What it does |\n"
          "|---|---|---|---|---|---|---|\n",
          f);
    for (size_t i = 0; i < sg_ops_count; i++) {
        const sg_op *op = &sg_ops[i];
        char roles[200];
        sg_roles_format(op->roles & ~(uint32_t)(SG_ROLE_ADMIN | SG_ROLE_AUDITOR), roles, sizeof roles);
        fprintf(f, "| `%s` | `%s %s` | `sealgate", op->name, op->method, op->path);
        for (int k = 0; k < 4 && op->cli[k]; k++)
            fprintf(f, " %s", op->cli[k]);
        fprintf(f, "` | %s | %s | %s | %s |\n", roles[0] ? roles : "-", op->read_only ? "yes" : "no",
                op->where == SG_RUN_ANY      ? "any"
                : op->where == SG_RUN_CRYPTD ? "cryptd"
                : op->where == SG_RUN_SPOOL  ? "cryptd for the web role"
                                             : "local CLI",
                op->summary);
    }
}
