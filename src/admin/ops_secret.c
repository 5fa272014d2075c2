/* ops_secret.c - handlers of the operations that need the KEK (ops_secret.h). Owner: src/cryptd
 * (issue 18).
 * SECURITY: these unwrap or wrap private keys, so they run in cryptd (or in the CLI as root when
 * nothing runs, as before issue 18). No result carries private-key bytes: a generated key answers
 * its fingerprint, an issued certificate its fingerprint, a CRL its PEM (public), an import the
 * fingerprints and outcomes. In cryptd the KEK is never created here (it exists: cryptd loaded
 * it); the CLI creates it on first need, as `sealgate key generate` always did. */
#include <stdlib.h>
#include <string.h>

#include "admin/ops_int.h"
#include "admin/ops_secret.h"
#include "crypto/kek.h"
#include "keys/ca.h"
#include "keys/certstore.h"
#include "keys/keystore.h"

static int kek_path(sg_op_ctx *ctx, char *out, size_t n)
{
    sg_kek_path(ctx->cfg->base_dir, out, n);
    if (!ctx->in_cryptd)
        sg_kek_ensure(ctx->cfg->base_dir, ctx->cfg->users.cryptd, ctx->cfg->users.group);
    return 0;
}

int sg_op_key_generate(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    char kek[4096], domain[320], fpr[SG_PGP_FPR_LEN + 1];
    kek_path(ctx, kek, sizeof kek);
    sg_keystore *ks = sg_keystore_open(ctx->store, kek, ctx->in_cryptd ? 0 : SG_KS_CREATE_KEK);
    if (!ks)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "cannot open the keystore");
    const sg_config *cfg = ctx->cfg;
    sg_keystore_domain_address(cfg->internal_domains.n ? cfg->internal_domains.v[0] : NULL, cfg->hostname,
                               domain, sizeof domain);
    const char *algo = sg_op_arg_str(args, "algo");
    int64_t days = sg_op_arg_int(args, "expires", 0);
    int rc = sg_keystore_generate(ks, sg_op_arg_str(args, "address"), algo ? algo : "ed25519",
                                  (uint32_t)(days * 86400), domain, fpr);
    if (rc < 0)
        sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", sg_keystore_error(ks));
    sg_keystore_close(ks);
    if (rc < 0)
        return -1;
    sg_op_set_detail(ctx, "fpr=%s", fpr);
    return sg_op_answer(json_pack("{s:s}", "fpr", fpr), result, err);
}

/* The certificate store, with a local CA when need_ca: NULL with err filled otherwise. */
static sg_certstore *open_cs(sg_op_ctx *ctx, bool need_ca, sg_op_error *err)
{
    char kek[4096];
    kek_path(ctx, kek, sizeof kek);
    sg_certstore *cs = sg_certstore_open(ctx->store, kek, ctx->in_cryptd ? 0 : SG_CS_CREATE_KEK);
    if (!cs) {
        sg_op_fail(err, SG_OP_INTERNAL, NULL, "cannot open the certificate store");
        return NULL;
    }
    sg_certstore_set_revocation(cs, &ctx->cfg->revocation);
    char fpr[SG_CERT_FPR_LEN + 1];
    int r = need_ca ? sg_ca_fpr(cs, fpr) : 0;
    if (r != 0) {
        if (r > 0)
            sg_op_fail(err, SG_OP_NOT_FOUND, NULL, "there is no local CA (sealgate ca init)");
        else
            sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", sg_certstore_error(cs));
        sg_certstore_close(cs);
        return NULL;
    }
    return cs;
}

int sg_op_ca_issue(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    sg_certstore *cs = open_cs(ctx, true, err);
    if (!cs)
        return -1;
    const char *u = sg_op_arg_str(args, "usage");
    int usage = !u || !strcmp(u, "both") ? SG_CA_USAGE_SIGN | SG_CA_USAGE_ENCRYPT
                : !strcmp(u, "sign")     ? SG_CA_USAGE_SIGN
                                         : SG_CA_USAGE_ENCRYPT;
    char fpr[SG_CERT_FPR_LEN + 1];
    int rc = sg_ca_issue_urls(cs, sg_op_arg_str(args, "address"), usage, (int)sg_op_arg_int(args, "days", 730),
                              sg_op_arg_bool(args, "rsa", false), sg_op_arg_str(args, "crl_url"),
                              sg_op_arg_str(args, "ocsp_url"), fpr);
    if (rc != 0)
        sg_op_fail(err, SG_OP_CONFLICT, NULL, "%s", sg_certstore_error(cs));
    sg_certstore_close(cs);
    if (rc != 0)
        return -1;
    sg_op_set_detail(ctx, "fpr=%s", fpr);
    return sg_op_answer(json_pack("{s:s}", "fpr", fpr), result, err);
}

int sg_op_ca_crl(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    sg_certstore *cs = open_cs(ctx, true, err);
    if (!cs)
        return -1;
    uint8_t *pem;
    size_t len;
    int rc = sg_ca_crl(cs, (int)sg_op_arg_int(args, "days", 30), &pem, &len);
    if (rc != 0)
        sg_op_fail(err, SG_OP_CONFLICT, NULL, "%s", sg_certstore_error(cs));
    sg_certstore_close(cs);
    if (rc != 0)
        return -1;
    json_t *r = json_pack("{s:s%}", "crl", (const char *)pem, len);
    free(pem);
    return sg_op_answer(r, result, err);
}

static void import_item(void *arg, const sg_cert_import_result *r)
{
    json_t *items = arg;
    json_t *it = json_pack("{s:s, s:s?, s:s?, s:s?, s:b, s:i, s:s?}", "status",
                           sg_cert_import_status_name(r->status), "fpr", r->fpr, "subject", r->subject, "reason",
                           r->reason, "key", r->key, "trust", r->trust, "input", r->input);
    if (it)
        json_array_append_new(items, it);
}

int sg_op_cert_import(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    uint8_t *data;
    size_t len;
    int b = sg_op_arg_bytes(args, "data", &data, &len);
    if (b != 0)
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, "data", "data must be base64");
    sg_certstore *cs = open_cs(ctx, false, err);
    json_t *items = json_array();
    if (!cs || !items) {
        free(data);
        json_decref(items);
        if (cs)
            sg_certstore_close(cs);
        return cs ? sg_op_fail(err, SG_OP_INTERNAL, NULL, "out of memory") : -1;
    }
    const char *name = sg_op_arg_str(args, "name");
    sg_cert_input in = {.data = data, .len = len, .name = name ? name : "upload"};
    int rejected = sg_certstore_import_set(cs, &in, 1, sg_op_arg_str(args, "password"),
                                           sg_op_arg_bool(args, "trust", false) ? SG_CS_IMPORT_TRUST : 0,
                                           import_item, items);
    /* The bytes may hold a private key in the clear (an unencrypted PEM key): not kept. */
    OPENSSL_cleanse(data, len);
    free(data);
    if (rejected < 0) {
        sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", sg_certstore_error(cs));
        json_decref(items);
        sg_certstore_close(cs);
        return -1;
    }
    sg_certstore_close(cs);
    sg_op_set_detail(ctx, "certificates=%zu rejected=%d", json_array_size(items), rejected);
    return sg_op_answer(json_pack("{s:o, s:i}", "items", items, "rejected", rejected), result, err);
}

int sg_op_key_export_secret(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    char kek[4096];
    kek_path(ctx, kek, sizeof kek);
    sg_keystore *ks = sg_keystore_open(ctx->store, kek, 0);
    if (!ks)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "cannot open the keystore");
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = sg_keystore_export(ks, sg_op_arg_str(args, "fpr"), true, true, &out, &len);
    if (rc != 0)
        sg_op_fail(err, rc == 1 ? SG_OP_NOT_FOUND : SG_OP_INTERNAL, rc == 1 ? "fpr" : NULL, "%s",
                   sg_keystore_error(ks));
    sg_keystore_close(ks);
    if (rc != 0)
        return -1;
    json_t *r = json_pack("{s:s%}", "key", (const char *)out, len);
    sg_pgp_free_secret(out, len); /* wiped; the JSON copy lives only until the CLI printed it */
    return sg_op_answer(r, result, err);
}
