/* test_revocation.c - accepting CRLs and OCSP responses, the cache, and the hard/soft-fail
 * policy of sg_cert_validate_ex, without network (the integration test test_revocation.py
 * talks to real servers). Owner: src/keys.
 * CRLs and OCSP responses are made here with OpenSSL's API, good and bad on purpose. */
#include <openssl/ocsp.h>
#include <sqlite3.h>
#include <unistd.h>

#include "check.h"
#include <signal.h>

#include "keys/certstore.h"
#include "net/fetch_helper.h"
#include "net/http_fetch.h"
#include "keys/revocation.h"
#include "testcerts.h"

/* A CRL of issuer (name of name_of, signed by key) listing serials of revoked, revoked at
 * rev_at; thisUpdate now+this_off; an extra extension nid (0 none). DER in *der. */
static X509_CRL *mk_crl(X509 *name_of, EVP_PKEY *key, X509 **revoked, int nrev, time_t rev_at, time_t this_off,
                        int extra_nid, const char *extra_val)
{
    X509_CRL *crl = X509_CRL_new();
    time_t now = time(NULL);
    ASN1_TIME *tu = ASN1_TIME_set(NULL, now + this_off), *nu = ASN1_TIME_set(NULL, now + 30 * DAY);
    X509_CRL_set_version(crl, X509_CRL_VERSION_2);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(name_of));
    X509_CRL_set1_lastUpdate(crl, tu);
    X509_CRL_set1_nextUpdate(crl, nu);
    for (int i = 0; i < nrev; i++) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_TIME *t = ASN1_TIME_set(NULL, rev_at);
        X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(revoked[i]));
        X509_REVOKED_set_revocationDate(r, t);
        X509_CRL_add0_revoked(crl, r);
        ASN1_TIME_free(t);
    }
    if (extra_nid == NID_delta_crl) { /* no config syntax for it: the base CRL number, critical */
        ASN1_INTEGER *base = ASN1_INTEGER_new();
        ASN1_INTEGER_set(base, 1);
        if (X509_CRL_add1_ext_i2d(crl, NID_delta_crl, base, 1, 0) != 1)
            abort();
        ASN1_INTEGER_free(base);
    } else if (extra_nid) {
        X509V3_CTX c;
        X509V3_set_ctx(&c, name_of, NULL, NULL, crl, 0);
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &c, extra_nid, extra_val);
        if (!e || !X509_CRL_add_ext(crl, e, -1))
            abort();
        X509_EXTENSION_free(e);
    }
    X509_CRL_sort(crl);
    X509_CRL_sign(crl, key, EVP_sha256());
    ASN1_TIME_free(tu);
    ASN1_TIME_free(nu);
    return crl;
}

static int crl_der(X509_CRL *crl, unsigned char **der)
{
    *der = NULL;
    return i2d_X509_CRL(crl, der);
}

/* An OCSP response for cert (issued by issuer) with status, signed by signer/skey (extra cert
 * included when signer is not the issuer); thisUpdate now+this_off, nextUpdate now+next_off
 * (no nextUpdate when next_off is 0); resp_status other than successful gives an empty one. */
static int mk_ocsp(X509 *cert, X509 *issuer, X509 *signer, EVP_PKEY *skey, int status, time_t this_off,
                   time_t next_off, int resp_status, unsigned char **der)
{
    OCSP_RESPONSE *resp;
    OCSP_BASICRESP *bs = NULL;
    *der = NULL;
    if (resp_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        resp = OCSP_response_create(resp_status, NULL);
    } else {
        time_t now = time(NULL);
        bs = OCSP_BASICRESP_new();
        OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), cert, issuer);
        ASN1_TIME *tu = ASN1_TIME_set(NULL, now + this_off), *nu = next_off ? ASN1_TIME_set(NULL, now + next_off) : NULL;
        ASN1_TIME *rt = ASN1_TIME_set(NULL, now - 3600);
        OCSP_basic_add1_status(bs, id, status, status == V_OCSP_CERTSTATUS_REVOKED ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : 0,
                               status == V_OCSP_CERTSTATUS_REVOKED ? rt : NULL, tu, nu);
        STACK_OF(X509) *extra = sk_X509_new_null();
        if (signer != issuer)
            sk_X509_push(extra, signer);
        if (!OCSP_basic_sign(bs, signer, skey, EVP_sha256(), extra, 0))
            abort();
        sk_X509_free(extra);
        resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
        OCSP_CERTID_free(id);
        ASN1_TIME_free(tu);
        ASN1_TIME_free(nu);
        ASN1_TIME_free(rt);
    }
    int len = i2d_OCSP_RESPONSE(resp, der);
    OCSP_RESPONSE_free(resp);
    OCSP_BASICRESP_free(bs);
    return len;
}

static int ocsp_accept(X509 *cert, X509 *issuer, const unsigned char *der, int len, sg_ocsp_answer *a, char *why,
                       size_t wl)
{
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), cert, issuer);
    int rc = sg_ocsp_accept(der, (size_t)len, NULL, id, issuer, time(NULL), 7 * 86400, a, why, wl);
    OCSP_CERTID_free(id);
    printf("# ocsp: %s\n", rc == 0 ? "accepted" : why);
    return rc;
}

/* SQL through a second connection to the store's file, as another process would write. */
static int exec_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc =
        sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
    sqlite3_close(db);
    return rc;
}

int main(void)
{
    char dir[] = "/tmp/sg-test-revocation-XXXXXX", path[256], err[256], why[512];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/store.db", dir);
    sg_store *st = sg_store_open(path, err, sizeof err);
    CHECK(st != NULL, "store opens (%s)", st ? "" : err);
    sg_certstore *cs = sg_certstore_open(st, NULL, 0);
    time_t now = time(NULL);

    EVP_PKEY *rk = EVP_EC_gen("P-256"), *ik = EVP_EC_gen("P-256"), *lk = EVP_EC_gen("P-256"),
             *ok = EVP_EC_gen("P-256"), *xk = EVP_EC_gen("P-256");
    X509 *root = mk("Rev Root", NULL, NULL, NULL, rk, -DAY, 3650 * DAY, NULL, EVP_sha256());
    X509 *inter = mk("Rev Intermediate", NULL, root, rk, ik, -DAY, 1000 * DAY, NULL, EVP_sha256());
    tc_crl_url = "http://127.0.0.1:9/inter.crl";
    tc_ocsp_url = "http://127.0.0.1:9/ocsp";
    X509 *leaf = mk("Rita", "rita@rev.test", inter, ik, lk, -DAY, 365 * DAY, "emailProtection", EVP_sha256());
    X509 *other = mk("Otto", "otto@rev.test", inter, ik, ok, -DAY, 365 * DAY, "emailProtection", EVP_sha256());
    tc_crl_url = tc_ocsp_url = NULL;
    X509 *responder = mk("Rev OCSP", "ocsp@rev.test", inter, ik, xk, -DAY, 365 * DAY, "OCSPSigning", EVP_sha256());
    X509 *noeku = mk("Rev Not OCSP", "x@rev.test", inter, ik, xk, -DAY, 365 * DAY, "emailProtection", EVP_sha256());
    X509 *fake = mk("Rev Intermediate", NULL, root, rk, xk, -DAY, 1000 * DAY, NULL, EVP_sha256());

    /* ---- CRLs ---- */
    unsigned char *der;
    X509_CRL *out = NULL;
    X509_CRL *crl = mk_crl(inter, ik, &leaf, 1, now - 60, -60, 0, NULL);
    int len = crl_der(crl, &der);
    CHECK(sg_crl_accept(der, (size_t)len, leaf, inter, now, &out, why, sizeof why) == 0, "CRL of the issuer: accepted");
    int64_t rat = 0;
    CHECK(out && sg_crl_lists(out, leaf, now, &rat) == 1 && rat == (int64_t)now - 60 && sg_crl_lists(out, other, now, &rat) == 0,
          "lists the revoked certificate with its date, not the other");
    CHECK(out && sg_crl_lists(out, leaf, now - 120, &rat) == 0, "revoked after the time asked about: not listed then");
    X509_CRL_free(out);
    CHECK(sg_crl_accept(der, (size_t)len, leaf, root, now, &out, why, sizeof why) < 0 && strstr(why, "another issuer"),
          "presented as the root's CRL: refused (%s)", why);
    CHECK(sg_crl_accept(der, (size_t)len - 1, leaf, inter, now, &out, why, sizeof why) < 0, "truncated: refused");
    unsigned char *trail = malloc((size_t)len + 1);
    memcpy(trail, der, (size_t)len);
    trail[len] = 0;
    CHECK(sg_crl_accept(trail, (size_t)len + 1, leaf, inter, now, &out, why, sizeof why) < 0, "trailing byte: refused");
    free(trail);
    OPENSSL_free(der);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_CRL(b, crl);
    char *pem;
    long plen = BIO_get_mem_data(b, &pem);
    CHECK(sg_crl_accept((unsigned char *)pem, (size_t)plen, leaf, inter, now, &out, why, sizeof why) == 0,
          "PEM form accepted too");
    X509_CRL_free(out);
    BIO_free(b);
    X509_CRL_free(crl);

    struct {
        const char *what, *expect;
        X509_CRL *crl;
    } bad[] = {
        {"signed with another key, same issuer name", "signature", mk_crl(inter, xk, &leaf, 1, now, -60, 0, NULL)},
        {"thisUpdate in the future", "future", mk_crl(inter, ik, &leaf, 1, now, 3600, 0, NULL)},
        {"delta CRL", "delta", mk_crl(inter, ik, &leaf, 1, now, -60, NID_delta_crl, NULL)},
        {"IDP only CA certificates, for a leaf", "does not cover",
         mk_crl(inter, ik, &leaf, 1, now, -60, NID_issuing_distribution_point, "critical,onlyCA:TRUE")},
        {"IDP with some reasons only", "partitioned",
         mk_crl(inter, ik, &leaf, 1, now, -60, NID_issuing_distribution_point, "critical,onlysomereasons:keyCompromise")},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        len = crl_der(bad[i].crl, &der);
        why[0] = 0;
        CHECK(sg_crl_accept(der, (size_t)len, leaf, inter, now, &out, why, sizeof why) < 0 && strstr(why, bad[i].expect),
              "CRL %s: refused (%s)", bad[i].what, why);
        OPENSSL_free(der);
        X509_CRL_free(bad[i].crl);
    }

    /* ---- OCSP ---- */
    sg_ocsp_answer a;
    len = mk_ocsp(leaf, inter, inter, ik, V_OCSP_CERTSTATUS_GOOD, -60, 3600, OCSP_RESPONSE_STATUS_SUCCESSFUL, &der);
    CHECK(ocsp_accept(leaf, inter, der, len, &a, why, sizeof why) == 0 && a.status == REV_GOOD &&
              a.until == (int64_t)now + 3600,
          "OCSP good, signed by the issuer: accepted, usable until nextUpdate");
    CHECK(ocsp_accept(other, inter, der, len, &a, why, sizeof why) < 0 && strstr(why, "no answer"),
          "the same answer for another certificate: refused");
    CHECK(ocsp_accept(leaf, inter, der, len - 1, &a, why, sizeof why) < 0, "truncated: refused");
    OPENSSL_free(der);
    len = mk_ocsp(leaf, inter, inter, ik, V_OCSP_CERTSTATUS_REVOKED, -60, 3600, OCSP_RESPONSE_STATUS_SUCCESSFUL, &der);
    CHECK(ocsp_accept(leaf, inter, der, len, &a, why, sizeof why) == 0 && a.status == REV_REVOKED &&
              a.revoked_at == (int64_t)now - 3600,
          "OCSP revoked: accepted with the revocation time");
    OPENSSL_free(der);
    len = mk_ocsp(leaf, inter, responder, xk, V_OCSP_CERTSTATUS_GOOD, -60, 0, OCSP_RESPONSE_STATUS_SUCCESSFUL, &der);
    CHECK(ocsp_accept(leaf, inter, der, len, &a, why, sizeof why) == 0 && a.until <= (int64_t)time(NULL) + SG_OCSP_NO_NEXT_CACHE,
          "delegated responder with OCSPSigning: accepted; no nextUpdate: cached for an hour");
    OPENSSL_free(der);
    len = mk_ocsp(leaf, inter, noeku, xk, V_OCSP_CERTSTATUS_GOOD, -60, 3600, OCSP_RESPONSE_STATUS_SUCCESSFUL, &der);
    CHECK(ocsp_accept(leaf, inter, der, len, &a, why, sizeof why) < 0 && strstr(why, "signature"),
          "responder certificate without OCSPSigning: refused");
    OPENSSL_free(der);
    len = mk_ocsp(leaf, inter, fake, xk, V_OCSP_CERTSTATUS_GOOD, -60, 3600, OCSP_RESPONSE_STATUS_SUCCESSFUL, &der);
    CHECK(ocsp_accept(leaf, inter, der, len, &a, why, sizeof why) < 0, "signed by a look-alike of the issuer: refused");
    OPENSSL_free(der);
    len = mk_ocsp(leaf, inter, inter, ik, V_OCSP_CERTSTATUS_GOOD, -7200, -3600, OCSP_RESPONSE_STATUS_SUCCESSFUL, &der);
    CHECK(ocsp_accept(leaf, inter, der, len, &a, why, sizeof why) < 0 && strstr(why, "stale"), "nextUpdate passed: refused");
    OPENSSL_free(der);
    len = mk_ocsp(leaf, inter, inter, ik, V_OCSP_CERTSTATUS_GOOD, -8 * DAY, 3600, OCSP_RESPONSE_STATUS_SUCCESSFUL, &der);
    CHECK(ocsp_accept(leaf, inter, der, len, &a, why, sizeof why) < 0 && strstr(why, "older"),
          "thisUpdate older than the maximum age: refused");
    OPENSSL_free(der);
    len = mk_ocsp(leaf, inter, inter, ik, V_OCSP_CERTSTATUS_GOOD, 3600, 7200, OCSP_RESPONSE_STATUS_SUCCESSFUL, &der);
    CHECK(ocsp_accept(leaf, inter, der, len, &a, why, sizeof why) < 0 && strstr(why, "future"), "thisUpdate in the future: refused");
    OPENSSL_free(der);
    len = mk_ocsp(leaf, inter, inter, ik, V_OCSP_CERTSTATUS_UNKNOWN, -60, 3600, OCSP_RESPONSE_STATUS_SUCCESSFUL, &der);
    CHECK(ocsp_accept(leaf, inter, der, len, &a, why, sizeof why) < 0 && strstr(why, "does not know"),
          "status unknown: no answer");
    OPENSSL_free(der);
    len = mk_ocsp(leaf, inter, inter, ik, 0, 0, 0, OCSP_RESPONSE_STATUS_TRYLATER, &der);
    CHECK(ocsp_accept(leaf, inter, der, len, &a, why, sizeof why) < 0 && strstr(why, "trylater"),
          "tryLater: refused with the responder's word (%s)", why);
    OPENSSL_free(der);

    /* ---- fetch limits that need no server ---- */
    static const int ports[] = {80};
    sg_fetch_limits lim = {.timeout_ms = 2000, .max_size = 1024, .ports = ports, .nports = 1};
    uint8_t *body;
    size_t blen;
    CHECK(sg_http_fetch("file:///etc/passwd", NULL, NULL, 0, &lim, &body, &blen, why, sizeof why) == SG_FETCH_REFUSED,
          "file:// refused (%s)", why);
    CHECK(sg_http_fetch("ldap://127.0.0.1/cn=x", NULL, NULL, 0, &lim, &body, &blen, why, sizeof why) == SG_FETCH_REFUSED,
          "ldap:// refused (%s)", why);
    CHECK(sg_http_fetch("http://127.0.0.1:6379/", NULL, NULL, 0, &lim, &body, &blen, why, sizeof why) == SG_FETCH_REFUSED &&
              strstr(why, "6379"),
          "a port not allowed is refused before connecting (%s)", why);
    CHECK(sg_http_fetch("http://[::1", NULL, NULL, 0, &lim, &body, &blen, why, sizeof why) == SG_FETCH_REFUSED,
          "malformed URL refused");

    /* ---- the fetch helper: used when started, never replaced by an in-process fetch ---- */
    static const int nine[] = {9};
    sg_fetch_limits l9 = {.timeout_ms = 2000, .max_size = 1024, .ports = nine, .nports = 1};
    CHECK(sg_fetch_helper_start("nobody", "nogroup", why, sizeof why) == 0 && sg_fetch_helper_pid() > 0,
          "fetch helper starts (%s)", why);
    CHECK(sg_http_fetch("http://127.0.0.1:9/x", NULL, NULL, 0, &l9, &body, &blen, why, sizeof why) ==
                  SG_FETCH_UNREACHABLE &&
              strstr(why, "port 9"),
          "through the helper: curl's own answer comes back (%s)", why);
    kill(sg_fetch_helper_pid(), SIGKILL);
    usleep(100000);
    CHECK(sg_http_fetch("http://127.0.0.1:9/x", NULL, NULL, 0, &l9, &body, &blen, why, sizeof why) ==
                  SG_FETCH_UNREACHABLE &&
              strstr(why, "fetch helper"),
          "helper killed: the fetch fails, no fallback to fetching here (%s)", why);
    CHECK(sg_http_fetch("http://127.0.0.1:9/x", NULL, NULL, 0, &l9, &body, &blen, why, sizeof why) ==
                  SG_FETCH_UNREACHABLE &&
              strstr(why, "not running"),
          "and stays failed (%s)", why);
    sg_fetch_helper_stop();
    CHECK(sg_fetch_helper_pid() == 0 &&
              sg_http_fetch("http://127.0.0.1:9/x", NULL, NULL, 0, &l9, &body, &blen, why, sizeof why) ==
                  SG_FETCH_UNREACHABLE &&
              strstr(why, "port 9"),
          "stopped on purpose: fetches happen here again (%s)", why);

    /* ---- the policy through sg_cert_validate_ex, answers from the cache only ---- */
    char *rp = pem_of(root, NULL), *ip = pem_of(inter, NULL);
    char rfpr[SG_CERT_FPR_LEN + 1], ifpr[SG_CERT_FPR_LEN + 1], lfpr[SG_CERT_FPR_LEN + 1];
    sg_certstore_import(cs, (const uint8_t *)rp, strlen(rp), NULL, NULL, NULL);
    sg_certstore_import(cs, (const uint8_t *)ip, strlen(ip), NULL, NULL, NULL);
    sg_cert_fpr(root, rfpr), sg_cert_fpr(inter, ifpr), sg_cert_fpr(leaf, lfpr);
    sg_certstore_set_trust(cs, rfpr, true);
    sg_cert_result r;
    CHECK(sg_cert_validate_ex(cs, leaf, "rita@rev.test", SG_CERT_SIGN, now, &r) == SG_CERT_VALID &&
              r.revocation == SG_REV_NOT_CHECKED && strcmp(r.reason, "valid") == 0,
          "without a revocation policy: no fetch, valid as before (%s)", r.reason);
    sg_revocation_cfg rev;
    sg_revocation_defaults(&rev);
    rev.fetch = false;
    rev.unreachable = SG_REV_HARD_FAIL;
    sg_certstore_set_revocation(cs, &rev);
    CHECK(sg_cert_validate_ex(cs, leaf, "rita@rev.test", SG_CERT_SIGN, now, &r) == SG_CERT_REVOCATION_UNKNOWN &&
              r.revocation == SG_REV_UNKNOWN && strstr(r.reason, "hard-fail") && strstr(r.reason, "fetch is off"),
          "hard-fail, nothing cached, fetch off: revocation unknown (%s)", r.reason);
    rev.unreachable = SG_REV_SOFT_FAIL;
    sg_certstore_set_revocation(cs, &rev);
    CHECK(sg_cert_validate_ex(cs, leaf, "rita@rev.test", SG_CERT_SIGN, now, &r) == SG_CERT_VALID && r.soft_fail &&
              strncmp(r.reason, "valid; revocation unknown:", 26) == 0 && strstr(r.reason, "soft-fail"),
          "soft-fail: valid, and says so (%s)", r.reason);
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO x509_ocsp VALUES ('%s', 1, %lld, %lld, %lld, %lld, 'http://x/', x'00')", lfpr,
             (long long)now - 100, (long long)now - 200, (long long)now + 600, (long long)now);
    CHECK(exec_sql(path, sql) == 0 &&
              sg_cert_validate_ex(cs, leaf, "rita@rev.test", SG_CERT_SIGN, now, &r) == SG_CERT_REVOKED &&
              r.revocation == SG_REV_REVOKED && strstr(r.reason, "OCSP, cached"),
          "a cached OCSP revocation counts (%s)", r.reason);
    CHECK(sg_cert_validate_ex(cs, leaf, "rita@rev.test", SG_CERT_SIGN, now - 200, &r) == SG_CERT_VALID,
          "... but not for a time before the revocation (%s)", r.reason);
    snprintf(sql, sizeof sql, "UPDATE x509_ocsp SET until = %lld", (long long)now - 1);
    CHECK(exec_sql(path, sql) == 0 &&
              sg_cert_validate_ex(cs, leaf, "rita@rev.test", SG_CERT_SIGN, now, &r) == SG_CERT_VALID &&
              r.soft_fail,
          "an expired cache entry is not used (%s)", r.reason);
    /* A dead responder (port 9 on loopback: nothing listens) is asked once per retry_after. */
    rev.fetch = true;
    rev.ports[0] = 9;
    rev.nports = 1;
    rev.timeout = 5;
    rev.methods[0] = SG_REV_METHOD_OCSP;
    rev.nmethods = 1;
    sg_certstore_set_revocation(cs, &rev);
    time_t t0 = time(NULL);
    sg_cert_validate_ex(cs, leaf, "rita@rev.test", SG_CERT_SIGN, now, &r);
    CHECK(r.soft_fail && strstr(r.reason, "unreachable") && !strstr(r.reason, "not asked again"),
          "dead responder: unreachable, soft-fail (%s)", r.reason);
    sg_cert_validate_ex(cs, leaf, "rita@rev.test", SG_CERT_SIGN, now, &r);
    CHECK(r.soft_fail && strstr(r.reason, "unreachable") && strstr(r.reason, "not asked again before") &&
              time(NULL) - t0 < 5,
          "asked again at once: the failure is remembered, no new attempt (%s)", r.reason);
    rev.retry_after = 0;
    sg_certstore_set_revocation(cs, &rev);
    sg_cert_validate_ex(cs, leaf, "rita@rev.test", SG_CERT_SIGN, now, &r);
    sg_cert_validate_ex(cs, leaf, "rita@rev.test", SG_CERT_SIGN, now, &r);
    CHECK(r.soft_fail && strstr(r.reason, "unreachable") && !strstr(r.reason, "not asked again"),
          "retry_after = 0: every check tries again (%s)", r.reason);
    sg_revocation_defaults(&rev);
    rev.fetch = false;

    /* A CRL the store holds locally (as `ca crl` makes them) revoking the intermediate. */
    crl = mk_crl(root, rk, &inter, 1, now - 60, -60, 0, NULL);
    CHECK(sg_certstore_put_crl(cs, rfpr, crl, 1) == 0 &&
              sg_cert_validate_ex(cs, leaf, "rita@rev.test", SG_CERT_SIGN, now, &r) == SG_CERT_REVOKED &&
              strstr(r.reason, "issuing CA certificate"),
          "revoked intermediate: the leaf is revoked, and the reason says why (%s)", r.reason);
    X509_CRL_free(crl);
    rev.nmethods = 0;
    sg_certstore_set_revocation(cs, &rev);
    CHECK(sg_cert_validate_ex(cs, leaf, "rita@rev.test", SG_CERT_SIGN, now, &r) == SG_CERT_REVOKED,
          "methods = []: the local CRL still counts");
    CHECK(strcmp(sg_cert_verdict_name(SG_CERT_REVOCATION_UNKNOWN), "revocation unknown") == 0 &&
              strcmp(sg_rev_status_name(SG_REV_UNKNOWN), "unknown") == 0,
          "names of the new verdict and statuses");

    /* Fail closed: a revocation cache that cannot be read is an error, which not even
     * soft-fail accepts (the tables dropped behind the store's cached statements). */
    sg_revocation_defaults(&rev);
    rev.fetch = false;
    rev.unreachable = SG_REV_SOFT_FAIL;
    rev.methods[0] = SG_REV_METHOD_OCSP;
    rev.nmethods = 1;
    sg_certstore_set_revocation(cs, &rev);
    CHECK(exec_sql(path, "DROP TABLE x509_ocsp") == 0 &&
              sg_cert_validate_ex(cs, other, "otto@rev.test", SG_CERT_SIGN, now, &r) == SG_CERT_ERROR &&
              r.store_error && !r.soft_fail && strstr(r.reason, "error: store: ") &&
              strstr(r.reason, "x509_ocsp"),
          "OCSP cache unreadable: an error, not a soft-fail \"valid\" (%s)", r.reason);
    int64_t num = 0;
    CHECK(exec_sql(path, "DROP TABLE x509_crls") == 0 &&
              sg_cert_validate_ex(cs, other, "otto@rev.test", SG_CERT_SIGN, now, &r) == SG_CERT_ERROR &&
              r.store_error && strstr(r.reason, "error: store: ") && strstr(r.reason, "x509_crls"),
          "CRL cache unreadable: an error, not \"no CRL\" (%s)", r.reason);
    CHECK(sg_certstore_get_crl(cs, rfpr, &num) == NULL && num == -1 &&
              strstr(sg_certstore_error(cs), "x509_crls"),
          "sg_certstore_get_crl: a store error says so, number -1 (%s)", sg_certstore_error(cs));

    free(rp), free(ip);
    X509_free(root), X509_free(inter), X509_free(leaf), X509_free(other), X509_free(responder), X509_free(noeku);
    X509_free(fake);
    EVP_PKEY_free(rk), EVP_PKEY_free(ik), EVP_PKEY_free(lk), EVP_PKEY_free(ok), EVP_PKEY_free(xk);
    sg_certstore_close(cs);
    sg_store_close(st);
    if (tc_rmtree(dir) < 0)
        return 1;
    return CHECK_DONE();
}
