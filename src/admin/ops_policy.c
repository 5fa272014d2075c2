/* ops_policy.c - the policy operations: policy.show, check, load, explain, revisions,
 * rollback. Owner: src/admin.
 * check and explain change nothing; load adds a revision (after the same check), which cryptd
 * applies within a second. An invalid rules text is an answer of check ({"valid": false,
 * "error": "name:line: ..."}) and an invalid_argument of load, so the portal can show the line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/ops_handlers.h"
#include "admin/ops_int.h"
#include "policy/explain_run.h"
#include "policy/pstore.h"

static const char *const *internal(const sg_op_ctx *ctx)
{
    return (const char *const *)ctx->cfg->internal_domains.v;
}

/* The policy in force (*rev its revision, 0 the default), or NULL with err. A newer revision
 * that does not parse goes into broken (when not NULL) as "broken_rev" and "broken_error". */
static sg_policy *active(sg_op_ctx *ctx, long long *rev, json_t *broken, sg_op_error *err)
{
    char why[600];
    long long bad = 0;
    sg_policy *p =
        sg_pstore_active(ctx->store, internal(ctx), ctx->cfg->internal_domains.n, rev, &bad, why, sizeof why);
    if (!p) {
        sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", why);
    } else if (bad && broken) {
        json_object_set_new(broken, "broken_rev", json_integer(bad));
        json_object_set_new(broken, "broken_error", json_string(why));
    }
    return p;
}

/* Revision rev's text and where it came from (0: the embedded default) into a result. */
static json_t *revision(sg_op_ctx *ctx, long long rev, sg_op_error *err)
{
    if (rev == 0)
        return json_pack("{s:I, s:s, s:s, s:n}", "rev", (json_int_t)0, "text", sg_policy_default_text,
                         "source", "the embedded default policy", "loaded");
    char *text, *source;
    long long loaded;
    int rc = sg_pstore_get(ctx->store, rev, &text, &source, &loaded);
    if (rc != 0) {
        if (rc == 1)
            sg_op_fail(err, SG_OP_NOT_FOUND, "rev", "no policy revision %lld", rev);
        else
            sg_op_store_fail(ctx, err);
        return NULL;
    }
    json_t *r = json_pack("{s:I, s:s, s:s, s:I}", "rev", (json_int_t)rev, "text", text, "source", source,
                          "loaded", (json_int_t)loaded);
    if (!r)
        sg_op_fail(err, SG_OP_INTERNAL, NULL, "revision %lld is not valid UTF-8 text", rev);
    free(text);
    free(source);
    return r;
}

int sg_op_policy_show(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    long long rev = sg_op_arg_int(args, "rev", -1);
    json_t *broken = json_object();
    if (!broken)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "out of memory");
    if (rev < 0) {
        sg_policy *p = active(ctx, &rev, broken, err);
        if (!p) {
            json_decref(broken);
            return -1;
        }
        sg_policy_free(p);
        sg_op_set_target(ctx, "%lld", rev);
    }
    json_t *r = revision(ctx, rev, err);
    if (r)
        json_object_update(r, broken); /* the CLI warns of a newer revision that is not in force */
    json_decref(broken);
    return r ? sg_op_answer(r, result, err) : -1;
}

int sg_op_policy_check(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *text = sg_op_arg_str(args, "text");
    if (!text) {
        long long rev;
        sg_policy *p = active(ctx, &rev, NULL, err);
        if (!p)
            return -1;
        json_t *r =
            json_pack("{s:b, s:I, s:I}", "valid", 1, "rev", (json_int_t)rev, "rules", (json_int_t)p->nrules);
        sg_policy_free(p);
        return sg_op_answer(r, result, err);
    }
    char why[600];
    sg_policy *p =
        sg_policy_parse(text, "policy", internal(ctx), ctx->cfg->internal_domains.n, why, sizeof why);
    json_t *r = p ? json_pack("{s:b, s:I}", "valid", 1, "rules", (json_int_t)p->nrules)
                  : json_pack("{s:b, s:s}", "valid", 0, "error", why);
    sg_policy_free(p);
    return sg_op_answer(r, result, err);
}

int sg_op_policy_load(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *text = sg_op_arg_str(args, "text"), *source = sg_op_arg_str(args, "source");
    char why[600];
    sg_policy *p = sg_policy_parse(text, source ? source : "policy", internal(ctx),
                                   ctx->cfg->internal_domains.n, why, sizeof why);
    if (!p)
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, "text", "%s", why);
    size_t nrules = p->nrules;
    sg_policy_free(p);
    char src[300];
    snprintf(src, sizeof src, "%s by %s", source ? source : "the operation layer",
             ctx->actor ? ctx->actor : "-");
    long long rev;
    if (sg_pstore_save(ctx->store, text, src, &rev, why, sizeof why) < 0)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", why);
    sg_op_set_target(ctx, "%lld", rev);
    return sg_op_answer(json_pack("{s:I, s:I}", "rev", (json_int_t)rev, "rules", (json_int_t)nrules), result,
                        err);
}

#define MAX_RCPTS 1000

int sg_op_policy_explain(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    /* "to" is comma-separated; split into a copy. */
    char *tos = strdup(sg_op_arg_str(args, "to")), *save = NULL;
    const char *to[MAX_RCPTS];
    size_t nto = 0;
    for (char *r = tos ? strtok_r(tos, ", ", &save) : NULL; r && nto < MAX_RCPTS;
         r = strtok_r(NULL, ", ", &save))
        to[nto++] = r;
    if (!nto) {
        free(tos);
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, "to", "at least one recipient is needed");
    }
    uint8_t *msg = NULL;
    size_t len = 0;
    if (sg_op_arg_bytes(args, "message", &msg, &len) < 0) {
        free(tos);
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, "message", "not valid base64");
    }
    long long rev;
    sg_policy *p = active(ctx, &rev, NULL, err);
    char *text = NULL, why[256];
    size_t tlen = 0;
    FILE *out = p ? open_memstream(&text, &tlen) : NULL;
    int rc = -1;
    if (p && !out)
        sg_op_fail(err, SG_OP_INTERNAL, NULL, "out of memory");
    if (out) {
        rc = sg_policy_explain_run(ctx->cfg, ctx->store, p, sg_op_arg_str(args, "from"), to, nto,
                                   sg_op_arg_str(args, "subject"), (const char *)msg, len, out, why,
                                   sizeof why);
        fclose(out);
        if (rc < 0)
            sg_op_fail(err, SG_OP_UNAVAILABLE, NULL, "%s", why);
    }
    json_t *r = rc == 0 ? json_pack("{s:I, s:s%}", "rev", (json_int_t)rev, "explanation", text, tlen) : NULL;
    free(text);
    free(msg);
    free(tos);
    sg_policy_free(p);
    if (rc < 0)
        return -1;
    return r ? sg_op_answer(r, result, err)
             : sg_op_fail(err, SG_OP_INTERNAL, NULL, "the explanation is not valid UTF-8 text");
}

/* The revisions, newest first, a page of them: number, source, load time and size (not the
 * text: policy.show ?rev= gives that). Revision 0 (the embedded default) is listed last. */
int sg_op_policy_revisions(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    size_t limit, offset;
    sg_op_page(args, &limit, &offset);
    long long newest = sg_pstore_newest(ctx->store);
    if (newest < 0)
        return sg_op_store_fail(ctx, err);
    json_t *items = json_array();
    if (!items)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "out of memory");
    /* Revisions are numbered 1..newest without gaps (sg_pstore_save), so a page is a range. */
    for (long long rev = newest - (long long)offset; rev >= 0 && json_array_size(items) < limit; rev--) {
        json_t *r = revision(ctx, rev, err);
        if (!r) {
            if (err->code == SG_OP_NOT_FOUND) { /* a gap after all: skip it */
                memset(err, 0, sizeof *err);
                continue;
            }
            json_decref(items);
            return -1;
        }
        size_t size = strlen(json_string_value(json_object_get(r, "text")));
        json_object_set_new(r, "size", json_integer((json_int_t)size));
        json_object_del(r, "text");
        json_array_append_new(items, r);
    }
    return sg_op_answer(sg_op_list_result(items, newest + 1, limit, offset), result, err);
}

/* Roll back to revision rev: its text, checked again (the internal domains may have changed),
 * becomes a new revision, so the history only grows and the roll-back itself can be undone. */
int sg_op_policy_rollback(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    /* A path argument, so a string: digits only, no sign, no space. */
    const char *s = sg_op_arg_str(args, "rev");
    char *end = NULL;
    errno = 0;
    long long rev = s && *s >= '0' && *s <= '9' ? strtoll(s, &end, 10) : -1;
    if (rev < 0 || !end || *end || errno)
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, "rev", "rev must be a revision number");
    json_t *old = revision(ctx, rev, err);
    if (!old)
        return -1;
    char src[64];
    snprintf(src, sizeof src, "roll-back to revision %lld", rev);
    json_t *load = json_pack("{s:O, s:s}", "text", json_object_get(old, "text"), "source", src);
    json_decref(old);
    if (!load)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "out of memory");
    int rc = sg_op_policy_load(ctx, load, result, err);
    json_decref(load);
    if (rc == 0)
        json_object_set_new(*result, "from_rev", json_integer((json_int_t)rev));
    return rc;
}
