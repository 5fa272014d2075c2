/* ops_keys.c - the OpenPGP key operations that need no KEK: key.list, show, export (public),
 * import (public keys only), delete. Owner: src/admin. The keystore is opened public-only (no
 * KEK path), so these can run in the web role; importing secret keys, generate, revoke and
 * secret export need the KEK and are not here (cryptd over the control socket, or the CLI). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin/ops_handlers.h"
#include "admin/ops_int.h"
#include "keys/keystore.h"
#include "store/discovery_rows.h"

static sg_keystore *open_ks(sg_op_ctx *ctx, sg_op_error *err)
{
    sg_keystore *ks = sg_keystore_open(ctx->store, NULL, 0);
    if (!ks)
        sg_op_fail(err, SG_OP_INTERNAL, NULL, "cannot open the keystore");
    return ks;
}

static json_t *time_or_null(int64_t t)
{
    return t > 0 && t < INT64_MAX ? json_integer(t) : json_null();
}

/* Where a key came from (docs/discovery.md "Trust levels"): no row means an operator imported
 * it or the gateway made it (verified). A store error fails the call: it is never shown as a
 * trust level (fail closed: "unknown" would read as a fact about the key). 0 or -1 with err. */
static int provenance_json(sg_op_ctx *ctx, json_t *o, const char *fpr, sg_op_error *err)
{
    sg_store_provenance p;
    int r = sg_store_provenance_get(ctx->store, fpr, &p);
    if (r < 0)
        return sg_op_store_fail(ctx, err);
    json_object_set_new(o, "trust", json_string(r == 0 ? sg_trust_name(p.trust) : "verified"));
    if (r == 0) {
        json_object_set_new(o, "source", json_string(p.source));
        json_object_set_new(o, "source_url", json_string(p.url));
        json_object_set_new(o, "source_time", json_integer(p.time));
    }
    return 0;
}

/* A key as JSON, or NULL with err (out of memory, or its provenance could not be read). */
static json_t *key_json(sg_op_ctx *ctx, const sg_pgp_key *k, bool details, sg_op_error *err)
{
    json_t *uids = json_array();
    for (size_t i = 0; uids && i < k->nuids; i++)
        json_array_append_new(uids, json_pack("{s:s?, s:s?, s:b}", "uid", k->uids[i].uid, "address",
                                              k->uids[i].addr, "valid", k->uids[i].valid));
    json_t *o = json_pack("{s:s, s:s, s:i, s:o, s:o, s:b, s:b, s:b, s:o}", "fpr", k->fpr, "algorithm", k->alg,
                          "bits", (int)k->bits, "created", time_or_null(k->created), "expires",
                          time_or_null(k->expires), "secret", k->secret, "revoked", k->revoked,
                          "encryption_subkey", k->enc_subkey, "uids", uids);
    if (!o) {
        sg_op_fail(err, SG_OP_INTERNAL, NULL, "out of memory");
        return NULL;
    }
    if (provenance_json(ctx, o, k->fpr, err) < 0) {
        json_decref(o);
        return NULL;
    }
    if (details) {
        json_object_set_new(o, "keyid", json_string(k->keyid));
        json_object_set_new(o, "can_sign", json_boolean(k->can_sign));
        json_object_set_new(o, "can_certify", json_boolean(k->can_certify));
        json_object_set_new(o, "can_encrypt", json_boolean(k->can_encrypt));
        json_object_set_new(o, "encryption_until", time_or_null(k->enc_until));
        if (k->revoked)
            json_object_set_new(o, "revoke_reason", json_string(k->revoke_reason ? k->revoke_reason : ""));
    }
    return o;
}

/* The subkeys of a key for key.show: algorithm, size, usage, validity. 0 or -1 with err (a
 * key whose bytes do not parse fails the call: its details would be a guess). */
static int subkeys_json(sg_keystore *ks, json_t *o, const char *fpr, sg_op_error *err)
{
    sg_pgp_subkey *s;
    size_t n;
    if (sg_keystore_subkeys(ks, fpr, &s, &n) != 0)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", sg_keystore_error(ks));
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *usage = json_array();
        if (s[i].can_sign)
            json_array_append_new(usage, json_string("sign"));
        if (s[i].can_encrypt)
            json_array_append_new(usage, json_string("encrypt"));
        if (s[i].can_auth)
            json_array_append_new(usage, json_string("authenticate"));
        json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:o, s:o, s:o, s:b, s:o}", "fpr", s[i].fpr, "algorithm",
                                           s[i].alg, "bits", (int)s[i].bits, "created", time_or_null(s[i].created),
                                           "expires", time_or_null(s[i].expires), "valid_until",
                                           s[i].valid_until == INT64_MAX ? json_null() : json_integer(s[i].valid_until),
                                           "revoked", s[i].revoked, "usage", usage));
    }
    free(s);
    if (!a)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "out of memory");
    json_object_set_new(o, "subkeys", a);
    return 0;
}

int sg_op_key_list(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    sg_keystore *ks = open_ks(ctx, err);
    if (!ks)
        return -1;
    sg_pgp_key *keys;
    size_t n, limit, offset;
    int64_t total;
    sg_op_page(args, &limit, &offset);
    /* The store reads the page only (bench/web: 100,000 keys). */
    if (sg_keystore_page(ks, sg_op_arg_str(args, "address"), limit, offset, &keys, &n, &total) < 0) {
        sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", sg_keystore_error(ks));
        sg_keystore_close(ks);
        return -1;
    }
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        json_t *o = key_json(ctx, &keys[i], false, err);
        if (!o) {
            json_decref(items);
            sg_keystore_free_list(keys, n);
            sg_keystore_close(ks);
            return -1;
        }
        json_array_append_new(items, o);
    }
    sg_keystore_free_list(keys, n);
    sg_keystore_close(ks);
    return sg_op_answer(sg_op_list_result(items, total, limit, offset), result, err);
}

int sg_op_key_show(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *fpr = sg_op_arg_str(args, "fpr");
    sg_keystore *ks = open_ks(ctx, err);
    if (!ks)
        return -1;
    sg_pgp_key k;
    int rc = sg_keystore_get(ks, fpr, &k);
    if (rc != 0) {
        rc = rc == 1 ? sg_op_fail(err, SG_OP_NOT_FOUND, "fpr", "no such key %.64s", fpr)
                     : sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", sg_keystore_error(ks));
        sg_keystore_close(ks);
        return rc;
    }
    json_t *o = key_json(ctx, &k, true, err);
    sg_pgp_key_clear(&k);
    if (o && subkeys_json(ks, o, fpr, err) < 0) {
        json_decref(o);
        o = NULL;
    }
    sg_keystore_close(ks);
    return o ? sg_op_answer(o, result, err) : -1;
}

int sg_op_key_export(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *fpr = sg_op_arg_str(args, "fpr");
    bool binary = sg_op_arg_bool(args, "binary", false);
    sg_keystore *ks = open_ks(ctx, err);
    if (!ks)
        return -1;
    uint8_t *out;
    size_t len;
    int rc = sg_keystore_export(ks, fpr, false, !binary, &out, &len);
    if (rc != 0) {
        rc = rc == 1 ? sg_op_fail(err, SG_OP_NOT_FOUND, "fpr", "no such key %.64s", fpr)
                     : sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", sg_keystore_error(ks));
        sg_keystore_close(ks);
        return rc;
    }
    sg_keystore_close(ks);
    json_t *r = json_pack("{s:s}", "fpr", fpr);
    if (r && binary)
        sg_op_args_set_bytes(r, "data_base64", out, len);
    else if (r)
        json_object_set_new(r, "armored", json_stringn((const char *)out, len));
    free(out);
    return sg_op_answer(r, result, err);
}

int sg_op_key_delete(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *fpr = sg_op_arg_str(args, "fpr");
    sg_keystore *ks = open_ks(ctx, err);
    if (!ks)
        return -1;
    int rc = sg_keystore_delete(ks, fpr);
    if (rc != 0)
        rc = rc == 1 ? sg_op_fail(err, SG_OP_NOT_FOUND, "fpr", "no such key %.64s", fpr)
                     : sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", sg_keystore_error(ks));
    sg_keystore_close(ks);
    return rc < 0 ? -1 : sg_op_answer(json_pack("{s:s}", "fpr", fpr), result, err);
}

static void import_item(void *arg, const sg_import_result *r)
{
    json_t *it = json_pack("{s:s, s:s?, s:s?, s:s?}", "status", sg_import_status_name(r->status), "fpr", r->fpr,
                           "uid", r->uid, "reason", r->reason);
    if (it)
        json_array_append_new(arg, it);
}

/* Public keys (armored or binary) from bytes, for the portal's upload or paste. The keystore
 * is opened without the KEK, so a secret part in the bytes is not taken (the item says so):
 * secret keys are imported with the CLI on the gateway. Each key is an item with its status;
 * bytes with no key at all are one rejected item. */
int sg_op_key_import(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    uint8_t *data;
    size_t len;
    if (sg_op_arg_bytes(args, "data", &data, &len) != 0)
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, "data", "data must be base64");
    sg_keystore *ks = open_ks(ctx, err);
    json_t *items = json_array();
    int rejected = ks && items ? sg_keystore_import(ks, data, len, import_item, items) : -1;
    free(data);
    if (rejected < 0) {
        if (ks)
            sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", items ? sg_keystore_error(ks) : "out of memory");
        json_decref(items);
        if (ks)
            sg_keystore_close(ks);
        return -1;
    }
    sg_keystore_close(ks);
    if (!json_array_size(items)) {
        json_array_append_new(items, json_pack("{s:s, s:s}", "status", "rejected", "reason", "no OpenPGP key found"));
        rejected = 1;
    }
    sg_op_set_detail(ctx, "keys=%zu rejected=%d", json_array_size(items), rejected);
    return sg_op_answer(json_pack("{s:o, s:i}", "items", items, "rejected", rejected), result, err);
}
