/* x509_validate.c - is a certificate good for S/MIME with this address, for this purpose, at
 * this time? (sg_cert_validate, see certstore.h). Owner: src/keys.
 * The chain is built by OpenSSL from the store's certificates: trusted CA certificates are the
 * anchors (partial chains allowed, because the admin's trust flag is the anchor, not a
 * self-signature), every other CA certificate is an untrusted intermediate. On top of OpenSSL's
 * checks come ours: emailProtection is required explicitly, the rfc822Name must match, and
 * revocation is checked last (revocation.c: OCSP and CRLs, cached in the store, fetched per the
 * certstore's revocation policy), so that nothing is fetched for a certificate that fails
 * anyway and every URL fetched comes from a certificate that chains to a trust anchor. */
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "keys/certstore.h"
#include "keys/certstore_int.h"
#include "keys/revocation.h"

const char *sg_cert_verdict_name(int v)
{
    static const char *const n[] = {"valid",
                                    "expired",
                                    "not yet valid",
                                    "untrusted chain",
                                    "no emailProtection",
                                    "key usage does not allow this purpose",
                                    "address mismatch",
                                    "revoked",
                                    "invalid",
                                    "error",
                                    "revocation unknown"};
    return v >= 0 && v <= SG_CERT_REVOCATION_UNKNOWN ? n[v] : "?";
}

static int verdict(int v, char *reason, size_t rlen, const char *detail)
{
    if (reason && rlen)
        snprintf(reason, rlen, "%s%s%s", sg_cert_verdict_name(v), detail && *detail ? ": " : "",
                 detail ? detail : "");
    return v;
}

static bool is_ec(X509 *x)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    return pk && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC;
}

/* OpenSSL's S/MIME-encrypt purpose demands keyEncipherment, which an EC key must not carry
 * (RFC 5480 3: ECDH uses keyAgreement). For EC leaves we check keyAgreement ourselves and let
 * OpenSSL check the CA certificates only. */
static bool leaf_key_usage_ok(X509 *x, int purpose)
{
    uint32_t ku = X509_get_key_usage(x);
    if (ku == UINT32_MAX)
        return true; /* no keyUsage extension: any */
    if (purpose == SG_CERT_SIGN)
        return ku & (X509v3_KU_DIGITAL_SIGNATURE | X509v3_KU_NON_REPUDIATION);
    return ku & (is_ec(x) ? X509v3_KU_KEY_AGREEMENT : X509v3_KU_KEY_ENCIPHERMENT);
}

static int map_error(X509_STORE_CTX *ctx, X509 *leaf, char *reason, size_t rlen)
{
    int err = X509_STORE_CTX_get_error(ctx), depth = X509_STORE_CTX_get_error_depth(ctx);
    const char *what = X509_verify_cert_error_string(err);
    char detail[160];
    snprintf(detail, sizeof detail, "%s (depth %d)", what, depth);
    switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return verdict(SG_CERT_EXPIRED, reason, rlen, depth ? detail : NULL);
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return verdict(SG_CERT_NOT_YET_VALID, reason, rlen, depth ? detail : NULL);
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return verdict(SG_CERT_UNTRUSTED, reason, rlen, what);
    case X509_V_ERR_INVALID_PURPOSE:
        if (depth == 0 && (X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) &&
            !(X509_get_extended_key_usage(leaf) & XKU_SMIME))
            return verdict(SG_CERT_NO_EMAIL_PROTECTION, reason, rlen, NULL);
        return verdict(depth == 0 ? SG_CERT_BAD_KEY_USAGE : SG_CERT_INVALID, reason, rlen,
                       depth ? detail : NULL);
    case X509_V_ERR_CERT_REVOKED:
        return verdict(SG_CERT_REVOKED, reason, rlen, NULL);
    default:
        return verdict(SG_CERT_INVALID, reason, rlen, detail);
    }
}

/* The revocation answer applied to a chain that passed every other check. */
static int apply_revocation(sg_certstore *cs, STACK_OF(X509) * chain, time_t at, sg_cert_result *r)
{
    char *reason = r->reason;
    size_t rlen = sizeof r->reason;
    rev_check_chain(cs, chain, at, r);
    const char *d = r->revocation_detail;
    if (r->store_error) /* fail closed: not even soft-fail accepts what could not be read */
        return verdict(SG_CERT_ERROR, reason, rlen, d);
    switch (r->revocation) {
    case SG_REV_REVOKED:
        return verdict(SG_CERT_REVOKED, reason, rlen, d);
    case SG_REV_UNKNOWN:
        if (cs->rev.unreachable == SG_REV_HARD_FAIL) {
            snprintf(reason, rlen, "revocation unknown: %s, hard-fail", d);
            return SG_CERT_REVOCATION_UNKNOWN;
        }
        r->soft_fail = true;
        snprintf(reason, rlen, "valid; revocation unknown: %s, soft-fail", d);
        return SG_CERT_VALID;
    case SG_REV_GOOD:
        snprintf(reason, rlen, "valid; revocation %s", d);
        return SG_CERT_VALID;
    default:
        if (cs->rev_set)
            snprintf(reason, rlen, "valid; revocation not checked: %s", d);
        else
            verdict(SG_CERT_VALID, reason, rlen, NULL);
        return SG_CERT_VALID;
    }
}

int sg_cert_validate(sg_certstore *cs, X509 *x, const char *address, int purpose, time_t at, char *reason,
                     size_t rlen)
{
    sg_cert_result r;
    int v = sg_cert_validate_ex(cs, x, address, purpose, at, &r);
    if (reason && rlen)
        snprintf(reason, rlen, "%s", r.reason);
    return v;
}

int sg_cert_validate_ex(sg_certstore *cs, X509 *x, const char *address, int purpose, time_t at,
                        sg_cert_result *res)
{
    memset(res, 0, sizeof *res);
    char *reason = res->reason;
    size_t rlen = sizeof res->reason;
    cs->err[0] = '\0'; /* so a failure below reports its own error, not an older one */
    STACK_OF(X509) *anchors = cs_load_cas(cs, true);
    STACK_OF(X509) *inter = anchors ? cs_load_cas(cs, false) : NULL;
    X509_STORE *xs = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int v = SG_CERT_ERROR;
    if (!anchors || !inter || !xs || !ctx) {
        verdict(v, reason, rlen, cs->err[0] ? cs->err : "out of memory");
        goto out;
    }
    for (int i = 0; i < sk_X509_num(anchors); i++)
        X509_STORE_add_cert(xs, sk_X509_value(anchors, i));
    if (!X509_STORE_CTX_init(ctx, xs, x, inter)) {
        verdict(v, reason, rlen, "out of memory");
        goto out;
    }
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, at); /* sets X509_V_FLAG_USE_CHECK_TIME */
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    bool own_ku = purpose == SG_CERT_ENCRYPT && is_ec(x);
    /* For EC encryption the leaf's keyUsage is ours to check (leaf_key_usage_ok); OpenSSL
     * still checks the CA certificates for S/MIME use under the sign purpose. */
    X509_STORE_CTX_set_purpose(ctx, purpose == SG_CERT_SIGN || own_ku ? X509_PURPOSE_SMIME_SIGN
                                                                      : X509_PURPOSE_SMIME_ENCRYPT);
    if (own_ku && !leaf_key_usage_ok(x, purpose)) {
        v = verdict(SG_CERT_BAD_KEY_USAGE, reason, rlen, NULL);
        goto out;
    }
    int ok = X509_verify_cert(ctx);
    if (ok != 1 && own_ku && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_INVALID_PURPOSE &&
        X509_STORE_CTX_get_error_depth(ctx) == 0 && (X509_get_key_usage(x) & X509v3_KU_KEY_AGREEMENT)) {
        /* The sign purpose failed on the leaf only for lack of digitalSignature, which an
         * encryption-only EC certificate rightly lacks: verify again without a purpose. */
        X509_STORE_CTX_cleanup(ctx);
        X509_STORE_CTX_init(ctx, xs, x, inter);
        param = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_time(param, at);
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
        ok = X509_verify_cert(ctx);
    }
    STACK_OF(X509) *built = X509_STORE_CTX_get0_chain(ctx);
    for (int i = 0; built && i < sk_X509_num(built) && res->nchain < SG_CERT_CHAIN_MAX; i++)
        if (sg_cert_fpr(sk_X509_value(built, i), res->chain[res->nchain]) == 0)
            res->nchain++;
    if (ok != 1) {
        v = map_error(ctx, x, reason, rlen);
        goto out;
    }
    /* Explicit emailProtection: the S/MIME Baseline Requirements demand it; a certificate
     * without EKU is not taken for S/MIME (docs/x509.md). */
    if (!(X509_get_extension_flags(x) & EXFLAG_XKUSAGE) || !(X509_get_extended_key_usage(x) & XKU_SMIME)) {
        v = verdict(SG_CERT_NO_EMAIL_PROTECTION, reason, rlen, NULL);
        goto out;
    }
    if (!leaf_key_usage_ok(x, purpose)) {
        v = verdict(SG_CERT_BAD_KEY_USAGE, reason, rlen, NULL);
        goto out;
    }
    if (address && !cs_cert_has_addr(x, address)) {
        v = verdict(SG_CERT_ADDRESS_MISMATCH, reason, rlen, address);
        goto out;
    }
    v = apply_revocation(cs, X509_STORE_CTX_get0_chain(ctx), at, res);
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(xs);
    sk_X509_pop_free(anchors, X509_free);
    sk_X509_pop_free(inter, X509_free);
    res->verdict = v;
    return v;
}
