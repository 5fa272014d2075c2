/* ops_certs.c - the certificate operations that need no KEK: cert.list, show, export, delete,
 * trust, untrust, ca.export (the local CA's certificate) and ca.revoke (marking a certificate
 * the local CA issued revoked: its next CRL, signed by ca.crl in cryptd, lists it). Owner: src/admin. The
 * certificate store is opened public-only; import (PKCS#12), key export and the CA's signing
 * operations need the KEK and are not here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/ops_handlers.h"
#include "admin/ops_int.h"
#include "keys/ca.h"
#include "keys/certstore.h"

static sg_certstore *open_cs(sg_op_ctx *ctx, sg_op_error *err)
{
    sg_certstore *cs = sg_certstore_open(ctx->store, NULL, 0);
    if (!cs)
        sg_op_fail(err, SG_OP_INTERNAL, NULL, "cannot open the certificate store");
    return cs;
}

/* Answers for the certstore's 0 / 1 / -1 (and 2 from set_trust). */
static int cs_result(sg_certstore *cs, int rc, const char *fpr, sg_op_error *err)
{
    if (rc == 0)
        return 0;
    if (rc == 1)
        return sg_op_fail(err, SG_OP_NOT_FOUND, "fpr", "no such certificate %.64s", fpr);
    if (rc == 2)
        return sg_op_fail(err, SG_OP_CONFLICT, "fpr", "%.64s is not a CA certificate", fpr);
    return sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", sg_certstore_error(cs));
}

static json_t *cert_json(const sg_cert_info *c)
{
    json_t *addrs = json_array();
    for (size_t i = 0; addrs && i < c->naddrs; i++)
        json_array_append_new(addrs, json_string(c->addrs[i]));
    json_t *o =
        json_pack("{s:s, s:s?, s:s?, s:s?, s:I, s:I, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:o}", "fpr", c->fpr,
                  "subject", c->subject, "issuer", c->issuer, "serial", c->serial, "not_before",
                  (json_int_t)c->not_before, "not_after", (json_int_t)c->not_after, "email_protection",
                  c->eku_email, "ca", c->is_ca, "trusted", c->trusted, "learned", c->learned, "local_ca",
                  c->local_ca, "revoked", c->revoked, "private_key", c->has_key, "addresses", addrs);
    if (o && c->key_usage >= 0)
        json_object_set_new(o, "key_usage", json_integer(c->key_usage));
    if (o && c->revoked)
        json_object_set_new(o, "revoked_at", json_integer(c->revoked_at));
    return o;
}

int sg_op_cert_list(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    sg_certstore *cs = open_cs(ctx, err);
    if (!cs)
        return -1;
    sg_cert_info *list;
    size_t n, limit, offset;
    const char *addr = sg_op_arg_str(args, "address");
    if (addr && !sg_cert_addr_ok(addr)) {
        sg_certstore_close(cs);
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, "address", "not an e-mail address: %.320s", addr);
    }
    int64_t total;
    sg_op_page(args, &limit, &offset);
    /* The store reads the page only (bench/web: 100,000 certificates). */
    if (sg_certstore_page(cs, addr, limit, offset, &list, &n, &total) < 0) {
        cs_result(cs, -1, NULL, err);
        sg_certstore_close(cs);
        return -1;
    }
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++)
        json_array_append_new(items, cert_json(&list[i]));
    sg_certstore_free_list(list, n);
    sg_certstore_close(cs);
    return sg_op_answer(sg_op_list_result(items, total, limit, offset), result, err);
}

/* The certificate's validation now for signing and for encryption (verdict, reason, what
 * revocation checking found), and the chain to its trust anchor (fingerprint and subject, leaf
 * first). The certstore was opened without a revocation policy: only CRLs already in the store
 * count and nothing is fetched, so showing a certificate never reaches the network. A store
 * error fails the call (fail closed: no verdict is made up). 0 or -1 with err. */
static int validation_json(sg_certstore *cs, json_t *o, const char *fpr, sg_op_error *err)
{
    X509 *x = sg_certstore_load_cert(cs, fpr);
    if (!x)
        return cs_result(cs, -1, fpr, err);
    static const struct {
        const char *name;
        int purpose;
    } purposes[] = {{"sign", SG_CERT_SIGN}, {"encrypt", SG_CERT_ENCRYPT}};
    json_t *val = json_object(), *chain = json_array();
    sg_cert_result best = {0};
    int rc = val && chain ? 0 : sg_op_fail(err, SG_OP_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; rc == 0 && i < sizeof purposes / sizeof purposes[0]; i++) {
        sg_cert_result r;
        sg_cert_validate_ex(cs, x, NULL, purposes[i].purpose, time(NULL), &r);
        if (r.verdict == SG_CERT_ERROR || r.store_error) {
            rc = sg_op_fail(err, SG_OP_INTERNAL, NULL, "validating %.64s: %s", fpr, r.reason);
            break;
        }
        json_object_set_new(val, purposes[i].name,
                            json_pack("{s:s, s:s, s:s}", "verdict", sg_cert_verdict_name(r.verdict), "reason",
                                      r.reason, "revocation", sg_rev_status_name(r.revocation)));
        if (r.nchain > best.nchain)
            best = r;
    }
    X509_free(x);
    for (int i = 0; rc == 0 && i < best.nchain; i++) {
        sg_cert_info ci;
        int g = sg_certstore_get(cs, best.chain[i], &ci);
        if (g < 0) {
            rc = cs_result(cs, -1, NULL, err);
            break;
        }
        json_array_append_new(chain, json_pack("{s:s, s:s?}", "fpr", best.chain[i], "subject",
                                               g == 0 ? ci.subject : NULL));
        if (g == 0)
            sg_cert_info_clear(&ci);
    }
    if (rc < 0) {
        json_decref(val);
        json_decref(chain);
        return -1;
    }
    json_object_set_new(o, "validation", val);
    json_object_set_new(o, "chain", chain);
    return 0;
}

int sg_op_cert_show(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *fpr = sg_op_arg_str(args, "fpr");
    sg_certstore *cs = open_cs(ctx, err);
    if (!cs)
        return -1;
    sg_cert_info c;
    int rc = cs_result(cs, sg_certstore_get(cs, fpr, &c), fpr, err);
    json_t *o = rc < 0 ? NULL : cert_json(&c);
    if (rc == 0)
        sg_cert_info_clear(&c);
    if (o && validation_json(cs, o, fpr, err) < 0) {
        json_decref(o);
        o = NULL;
        rc = -1;
    }
    sg_certstore_close(cs);
    if (rc < 0)
        return -1;
    return sg_op_answer(o, result, err);
}

/* The certificate fpr as PEM (or DER in base64) into a result. */
static int export(sg_certstore *cs, const char *fpr, bool der, json_t **result, sg_op_error *err)
{
    uint8_t *out;
    size_t len;
    if (cs_result(cs, sg_certstore_export(cs, fpr, der, &out, &len), fpr, err) < 0)
        return -1;
    json_t *r = json_pack("{s:s}", "fpr", fpr);
    if (r && der)
        sg_op_args_set_bytes(r, "der_base64", out, len);
    else if (r)
        json_object_set_new(r, "pem", json_stringn((const char *)out, len));
    free(out);
    return sg_op_answer(r, result, err);
}

int sg_op_cert_export(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    sg_certstore *cs = open_cs(ctx, err);
    if (!cs)
        return -1;
    int rc = export(cs, sg_op_arg_str(args, "fpr"), sg_op_arg_bool(args, "der", false), result, err);
    sg_certstore_close(cs);
    return rc;
}

int sg_op_ca_export(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    (void)args;
    sg_certstore *cs = open_cs(ctx, err);
    if (!cs)
        return -1;
    char fpr[SG_CERT_FPR_LEN + 1];
    int rc = sg_ca_fpr(cs, fpr);
    if (rc == 0) {
        sg_op_set_target(ctx, "%s", fpr);
        rc = export(cs, fpr, false, result, err);
    } else {
        rc = rc == 1
                 ? sg_op_fail(err, SG_OP_NOT_FOUND, NULL, "there is no local CA (sealgate ca init makes one)")
                 : cs_result(cs, -1, NULL, err);
    }
    sg_certstore_close(cs);
    return rc;
}

int sg_op_ca_revoke(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *fpr = sg_op_arg_str(args, "fpr");
    char norm[SG_CERT_FPR_LEN + 1];
    if (sg_cert_fpr_norm(fpr, norm) < 0)
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, "fpr",
                          "fpr: give the certificate's SHA-256 fingerprint (64 hex digits)");
    sg_certstore *cs = open_cs(ctx, err);
    if (!cs)
        return -1;
    char ca[SG_CERT_FPR_LEN + 1];
    int rc = sg_ca_fpr(cs, ca);
    if (rc == 1)
        rc = sg_op_fail(err, SG_OP_NOT_FOUND, NULL, "there is no local CA (sealgate ca init makes one)");
    else if (rc < 0)
        rc = cs_result(cs, -1, NULL, err);
    else if ((rc = sg_ca_revoke(cs, fpr)) == 2 || rc == 3)
        rc = sg_op_fail(err, SG_OP_CONFLICT, "fpr", "%.64s: %s", fpr,
                        rc == 2 ? "not issued by the local CA" : "revoked already");
    else
        rc = cs_result(cs, rc, fpr, err);
    sg_certstore_close(cs);
    if (rc < 0)
        return -1;
    return sg_op_answer(json_pack("{s:s, s:s}", "fpr", fpr, "next",
                                  "sign a new CRL (ca.crl) to publish the revocation"),
                        result, err);
}

int sg_op_cert_delete(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *fpr = sg_op_arg_str(args, "fpr");
    sg_certstore *cs = open_cs(ctx, err);
    if (!cs)
        return -1;
    int rc = cs_result(cs, sg_certstore_delete(cs, fpr), fpr, err);
    sg_certstore_close(cs);
    return rc < 0 ? -1 : sg_op_answer(json_pack("{s:s}", "fpr", fpr), result, err);
}

static int trust(sg_op_ctx *ctx, const json_t *args, bool on, sg_op_error *err)
{
    const char *fpr = sg_op_arg_str(args, "fpr");
    sg_certstore *cs = open_cs(ctx, err);
    if (!cs)
        return -1;
    int rc = cs_result(cs, sg_certstore_set_trust(cs, fpr, on), fpr, err);
    sg_certstore_close(cs);
    return rc;
}

int sg_op_cert_trust(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    (void)result;
    return trust(ctx, args, true, err);
}

int sg_op_cert_untrust(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    (void)result;
    return trust(ctx, args, false, err);
}
