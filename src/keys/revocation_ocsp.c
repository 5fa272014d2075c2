/* revocation_ocsp.c - revocation by OCSP (RFC 6960): the responder URL from the certificate's
 * AIA, request over HTTP POST, response verification, and the store's OCSP answers as cache
 * (store/revocation_rows.h; see revocation.h). Owner: src/keys.
 * Why SHA-1 in the CertID: RFC 5019 responders (the common lightweight profile) must support
 * it and need not support others; it identifies, it does not protect. The nonce guards a
 * fresh request against a replayed answer; many responders ignore nonces (pre-signed
 * answers), so an absent nonce is accepted and freshness is checked by thisUpdate instead. */
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keys/certstore_int.h"
#include "net/http_fetch.h"
#include "keys/revocation.h"

static int gtime(const ASN1_GENERALIZEDTIME *t, int64_t *out)
{
    return cs_asn1_time((const ASN1_TIME *)t, out);
}

/* Signed by the issuer, or by a responder certificate the issuer issued for OCSP signing:
 * OpenSSL's OCSP_basic_verify checks exactly that when the issuer is the only anchor. */
static int verify_signer(OCSP_BASICRESP *bs, X509 *issuer)
{
    X509_STORE *st = X509_STORE_new();
    STACK_OF(X509) *certs = sk_X509_new_null();
    int ok = st && certs && X509_STORE_add_cert(st, issuer) && sk_X509_push(certs, issuer) &&
             X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN) && OCSP_basic_verify(bs, certs, st, 0) == 1;
    sk_X509_free(certs);
    X509_STORE_free(st);
    return ok ? 0 : -1;
}

int sg_ocsp_accept(const uint8_t *body, size_t len, OCSP_REQUEST *req, OCSP_CERTID *id, X509 *issuer, time_t now,
                   int max_age, sg_ocsp_answer *a, char *why, size_t wl)
{
    memset(a, 0, sizeof *a);
    const unsigned char *p = body;
    OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
    OCSP_BASICRESP *bs = NULL;
    int rc = -1;
    if (!resp || p != body + len) {
        snprintf(why, wl, "not an OCSP response");
        goto out;
    }
    int rs = OCSP_response_status(resp);
    if (rs != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        snprintf(why, wl, "responder says %s", OCSP_response_status_str(rs));
        goto out;
    }
    if (!(bs = OCSP_response_get1_basic(resp))) {
        snprintf(why, wl, "not a basic OCSP response");
        goto out;
    }
    if (req && OCSP_check_nonce(req, bs) == 0) {
        snprintf(why, wl, "nonce mismatch (replayed answer?)");
        goto out;
    }
    if (verify_signer(bs, issuer) < 0) {
        snprintf(why, wl, "response signature does not verify (neither the issuer nor its delegated responder)");
        goto out;
    }
    int status = -1, reason = -1;
    ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
    if (OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd, &nextupd) != 1) {
        snprintf(why, wl, "no answer for this certificate in the response");
        goto out;
    }
    int64_t tu, nu = 0;
    if (!thisupd || gtime(thisupd, &tu) < 0 || (nextupd && gtime(nextupd, &nu) < 0)) {
        snprintf(why, wl, "malformed thisUpdate/nextUpdate");
        goto out;
    }
    if (tu > (int64_t)now + SG_REV_LEEWAY) {
        snprintf(why, wl, "thisUpdate in the future");
        goto out;
    }
    if (tu < (int64_t)now - max_age - SG_REV_LEEWAY) {
        snprintf(why, wl, "answer older than revocation.ocsp_max_age");
        goto out;
    }
    if (nextupd && nu < (int64_t)now - SG_REV_LEEWAY) {
        snprintf(why, wl, "answer stale (nextUpdate passed)");
        goto out;
    }
    if (status == V_OCSP_CERTSTATUS_GOOD) {
        a->status = REV_GOOD;
    } else if (status == V_OCSP_CERTSTATUS_REVOKED && rev && gtime(rev, &a->revoked_at) == 0) {
        a->status = REV_REVOKED;
    } else {
        snprintf(why, wl, "responder does not know the certificate (status %s)", OCSP_cert_status_str(status));
        goto out;
    }
    a->this_update = tu;
    int64_t cap = tu + max_age;
    a->until = nextupd ? nu : (int64_t)now + SG_OCSP_NO_NEXT_CACHE;
    if (a->until > cap)
        a->until = cap;
    rc = 0;
out:
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    return rc;
}

static int answer(const sg_ocsp_answer *a, time_t at, const char *how, char *d, size_t dl)
{
    char t[32];
    if (a->status == REV_REVOKED && a->revoked_at <= (int64_t)at) {
        rev_fmt_time(a->revoked_at, t, sizeof t);
        snprintf(d, dl, "revoked since %s (OCSP, %s)", t, how);
        return REV_REVOKED;
    }
    rev_fmt_time(a->until, t, sizeof t);
    snprintf(d, dl, "good (OCSP, %s, valid until %s)", how, t);
    return REV_GOOD;
}

/* A cached answer usable at now: 1 (a filled), 0 none, -1 error (cs->err): an error is never
 * taken for "no cached answer". */
static int cached(sg_certstore *cs, const char *fpr, time_t now, sg_ocsp_answer *a)
{
    sg_store_ocsp row;
    int rc = sg_store_revocation_get_ocsp(cs->st, fpr, (int64_t)now, &row);
    if (rc < 0)
        return cs_fail(cs, "%s", sg_store_error(cs->st));
    if (rc == 1)
        return 0;
    a->status = row.status == SG_STORE_OCSP_REVOKED ? REV_REVOKED : REV_GOOD;
    a->revoked_at = row.revoked_at;
    a->this_update = row.this_update;
    a->until = row.until;
    return 1;
}

static int cache(sg_certstore *cs, const char *fpr, const sg_ocsp_answer *a, const char *url, time_t now,
                 const uint8_t *der, size_t len)
{
    sg_store_ocsp row = {.status = a->status == REV_REVOKED ? SG_STORE_OCSP_REVOKED : SG_STORE_OCSP_GOOD,
                         .revoked_at = a->revoked_at,
                         .this_update = a->this_update,
                         .until = a->until,
                         .fetched = (int64_t)now,
                         .url = url,
                         .response = der,
                         .response_len = len};
    return sg_store_revocation_put_ocsp(cs->st, fpr, &row) < 0
               ? cs_fail(cs, "%s", sg_store_error(cs->st))
               : 0;
}

/* The request for id with a fresh nonce, DER-encoded (OPENSSL_free). */
static OCSP_REQUEST *make_request(OCSP_CERTID *id, unsigned char **der, int *len)
{
    OCSP_REQUEST *req = OCSP_REQUEST_new();
    OCSP_CERTID *cid = OCSP_CERTID_dup(id);
    *der = NULL;
    if (!req || !cid || !OCSP_request_add0_id(req, cid)) {
        OCSP_CERTID_free(cid);
        OCSP_REQUEST_free(req);
        return NULL;
    }
    if (!OCSP_request_add1_nonce(req, NULL, -1) || (*len = i2d_OCSP_REQUEST(req, der)) <= 0) {
        OCSP_REQUEST_free(req);
        return NULL;
    }
    return req;
}

/* One responder: 0 with a, -1 with why, or -2 with why when the answer cannot be stored. */
static int ask(sg_certstore *cs, const char *url, OCSP_CERTID *id, X509 *issuer, const char *fpr, time_t now,
               sg_ocsp_answer *a, char *why, size_t wl)
{
    unsigned char *reqder;
    int reqlen = 0;
    OCSP_REQUEST *req = make_request(id, &reqder, &reqlen);
    if (!req)
        return snprintf(why, wl, "cannot build the OCSP request"), -1;
    uint8_t *body = NULL;
    size_t len = 0;
    char err[256];
    int rc = rev_fetch(cs, url, "application/ocsp-request", reqder, (size_t)reqlen, cs->rev.ocsp_max_size, &body,
                       &len, err, sizeof err);
    OPENSSL_free(reqder);
    if (rc == REV_FETCH_SKIPPED) {
        snprintf(why, wl, "%s", err);
        rc = -1;
    } else if (rc != SG_FETCH_OK) {
        snprintf(why, wl, "OCSP responder %s %s (%s)", url,
                 rc == SG_FETCH_TOO_LARGE ? "refused" : rc == SG_FETCH_REFUSED ? "not allowed" : "unreachable",
                 err);
        if (rc != SG_FETCH_REFUSED)
            rev_note_failure(cs, url, why);
        rc = -1;
    } else if (sg_ocsp_accept(body, len, req, id, issuer, now, cs->rev.ocsp_max_age, a, err, sizeof err) < 0) {
        snprintf(why, wl, "OCSP response from %s refused: %s", url, err);
        rev_note_failure(cs, url, why);
        rc = -1;
    } else if (cache(cs, fpr, a, url, now, body, len) < 0) {
        snprintf(why, wl, "%s", cs->err);
        rc = -2;
    }
    free(body);
    OCSP_REQUEST_free(req);
    return rc;
}

int rev_ocsp_check(sg_certstore *cs, X509 *x, X509 *issuer, time_t at, time_t now, char *d, size_t dl)
{
    char fpr[SG_CERT_FPR_LEN + 1];
    sg_ocsp_answer a;
    if (sg_cert_fpr(x, fpr) < 0)
        return snprintf(d, dl, "fingerprint"), REV_UNKNOWN;
    int c = cached(cs, fpr, now, &a);
    if (c < 0)
        return snprintf(d, dl, "%s", cs->err), REV_ERROR;
    if (c == 1)
        return answer(&a, at, "cached", d, dl);
    STACK_OF(OPENSSL_STRING) *urls = X509_get1_ocsp(x);
    int n = sk_OPENSSL_STRING_num(urls), rc = REV_UNKNOWN;
    if (n <= 0) {
        X509_email_free(urls);
        return REV_NA;
    }
    if (!cs->rev.fetch) {
        X509_email_free(urls);
        return snprintf(d, dl, "no cached OCSP answer and revocation.fetch is off"), REV_UNKNOWN;
    }
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), x, issuer);
    char why[512] = "cannot build the OCSP CertID";
    for (int i = 0; id && i < n && i < SG_REV_MAX_URLS; i++) {
        const char *url = sk_OPENSSL_STRING_value(urls, i);
        int got = ask(cs, url, id, issuer, fpr, now, &a, why, sizeof why);
        if (got == -2) {
            rc = REV_ERROR;
            break;
        }
        if (got == 0) {
            char how[1100];
            snprintf(how, sizeof how, "from %s", url);
            rc = answer(&a, at, how, d, dl);
            break;
        }
    }
    if (rc == REV_UNKNOWN || rc == REV_ERROR)
        snprintf(d, dl, "%s", why);
    OCSP_CERTID_free(id);
    X509_email_free(urls);
    return rc;
}
