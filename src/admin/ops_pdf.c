/* ops_pdf.c - operations on the pdf method's passwords (issue 12, docs/pdf.md): an
 * administrator's reset of one (internal sender, external recipient) pair. Owner: src/admin.
 * A reset forgets the pair's wrapped password and verifier: the reply portal stops accepting
 * the old password at once, and the next message between them makes a new one, which the
 * sender is told (as for a first message). Needs no KEK: it only deletes a row.
 * SECURITY: audited like every operation (the pair is the target); the password is never
 * shown here. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "admin/ops_handlers.h"
#include "admin/ops_int.h"
#include "store/pdfpass_rows.h"

static void lower(const char *in, char *out, size_t n)
{
    size_t i = 0;
    for (; in && in[i] && i + 1 < n; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

int sg_op_pdf_reset(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    char sender[330], rcpt[330];
    lower(sg_op_arg_str(args, "sender"), sender, sizeof sender);
    lower(sg_op_arg_str(args, "rcpt"), rcpt, sizeof rcpt);
    if (!strchr(sender, '@') || !strchr(rcpt, '@'))
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, strchr(sender, '@') ? "rcpt" : "sender",
                          "an e-mail address is needed");
    sg_op_set_target(ctx, "%s -> %s", sender, rcpt);
    int rc = sg_store_pdfpass_delete(ctx->store, sender, rcpt);
    if (rc < 0)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "store: %s", sg_store_error(ctx->store));
    if (rc == 1)
        return sg_op_fail(err, SG_OP_NOT_FOUND, "rcpt", "no pdf password for %s from %s", rcpt, sender);
    return sg_op_answer(json_pack("{s:s, s:s, s:b}", "sender", sender, "rcpt", rcpt, "reset", 1), result, err);
}
