/* ops_notary.c - audit.search and audit.show: the tamper-evident log's entries for people
 * (`sealgate audit search|show`, GET /api/v1/audit/log[/{entry}], the Auditor's portal page),
 * over src/audit/query.h. Owner: src/admin (issue 14).
 * SECURITY: read-only, for Administrators and Auditors (the table). The address key is read
 * only to hash a query address the way cryptd hashed the envelope (audit.hmac_addresses); it
 * never appears in an answer. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "admin/ops_handlers.h"
#include "admin/ops_int.h"
#include "audit/checkpoint.h"
#include "audit/mail.h"
#include "audit/query.h"
#include "store/notary_rows.h"

int sg_op_notary_search(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    size_t limit, offset;
    sg_op_page(args, &limit, &offset);
    uint8_t key[32];
    bool have_key = ctx->cfg && sg_tlog_hmac_load(ctx->cfg->base_dir, key) == 0;
    sg_tlog_query q = {.queue = sg_op_arg_str(args, "queue"),
                       .address = sg_op_arg_str(args, "address"),
                       .hmac = have_key ? key : NULL,
                       .outcome = sg_op_arg_str(args, "outcome"),
                       .kind = sg_op_arg_str(args, "kind"),
                       .since = sg_op_arg_int(args, "since", 0),
                       .until = sg_op_arg_int(args, "until", 0),
                       .limit = limit,
                       .offset = offset};
    json_t *items = json_array();
    int64_t total = 0;
    int rc = items ? sg_tlog_search(ctx->store, &q, items, &total) : -1;
    memset(key, 0, sizeof key);
    if (rc < 0) {
        json_decref(items);
        return sg_op_store_fail(ctx, err);
    }
    return sg_op_answer(sg_op_list_result(items, total, limit, offset), result, err);
}

int sg_op_notary_show(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *e = sg_op_arg_str(args, "entry");
    int64_t index = -1;
    size_t digits = strspn(e, "0123456789");
    if (digits && !e[digits] && digits < 18) {
        index = atoll(e);
    } else {
        int f = sg_store_log_find(ctx->store, e, &index);
        if (f < 0)
            return sg_op_store_fail(ctx, err);
        if (f == 1)
            return sg_op_fail(err, SG_OP_NOT_FOUND, "entry", "no log entry for queue id %s", e);
    }
    uint8_t pub[32];
    bool have_pub = ctx->cfg && sg_audit_pubkey_load(ctx->cfg->base_dir, pub) == 0;
    json_t *o;
    char why[300];
    int rc = sg_tlog_show(ctx->store, index, have_pub ? pub : NULL, &o, why, sizeof why);
    if (rc == 1)
        return sg_op_fail(err, SG_OP_NOT_FOUND, "entry", "no log entry %s", e);
    if (rc < 0)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", why);
    return sg_op_answer(o, result, err);
}
