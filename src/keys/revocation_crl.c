/* revocation_crl.c - revocation by CRL: the CRL distribution points of a certificate, fetching
 * and accepting a CRL, and the store's CRLs as cache (see revocation.h). Owner: src/keys.
 * Why a fetched CRL is checked this hard before it is stored: it replaces the issuer's cached
 * CRL, so a forged, partial or older one would hide revocations. Only complete, direct CRLs
 * are used (no delta, partitioned or indirect CRLs; see docs/x509.md), and a CRL whose number
 * is below the cached one is a rollback and refused. */
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keys/certstore_int.h"
#include "net/http_fetch.h"
#include "keys/revocation.h"

/* Critical CRL extensions we understand; any other critical one makes the CRL unusable
 * (RFC 5280 5.2). */
static bool known_critical(int nid)
{
    return nid == NID_issuing_distribution_point || nid == NID_crl_number || nid == NID_authority_key_identifier;
}

static int crl_scope_ok(X509_CRL *crl, X509 *x, char *why, size_t wl)
{
    for (int i = 0; i < X509_CRL_get_ext_count(crl); i++) {
        X509_EXTENSION *e = X509_CRL_get_ext(crl, i);
        int nid = OBJ_obj2nid(X509_EXTENSION_get_object(e));
        if (nid == NID_delta_crl)
            return snprintf(why, wl, "delta CRL (not supported)"), -1;
        if (X509_EXTENSION_get_critical(e) && !known_critical(nid))
            return snprintf(why, wl, "unknown critical extension"), -1;
    }
    int crit = 0;
    ISSUING_DIST_POINT *idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit, NULL);
    if (!idp)
        return crit == -1 ? 0 : (snprintf(why, wl, "malformed issuingDistributionPoint"), -1);
    int rc = 0;
    bool ca = X509_check_ca(x) != 0;
    if (idp->indirectCRL || idp->onlysomereasons)
        rc = (snprintf(why, wl, "indirect or partitioned CRL (not supported)"), -1);
    else if ((idp->onlyuser && ca) || (idp->onlyCA && !ca) || idp->onlyattr)
        rc = (snprintf(why, wl, "CRL does not cover this kind of certificate"), -1);
    ISSUING_DIST_POINT_free(idp);
    return rc;
}

int sg_crl_accept(const uint8_t *body, size_t len, X509 *x, X509 *issuer, time_t now, X509_CRL **out, char *why,
                  size_t wl)
{
    *out = NULL;
    X509_CRL *crl = NULL;
    if (len > 10 && memcmp(body, "-----BEGIN", 10) == 0) {
        BIO *b = BIO_new_mem_buf(body, (int)(len > INT32_MAX ? INT32_MAX : len));
        crl = b ? PEM_read_bio_X509_CRL(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
    } else {
        const unsigned char *p = body;
        crl = d2i_X509_CRL(NULL, &p, (long)len);
        if (crl && p != body + len) { /* trailing bytes: not one CRL */
            X509_CRL_free(crl);
            crl = NULL;
        }
    }
    if (!crl)
        return snprintf(why, wl, "not a CRL"), -1;
    EVP_PKEY *ipk = X509_get0_pubkey(issuer);
    int64_t this_update;
    int rc = 0;
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0)
        rc = (snprintf(why, wl, "CRL of another issuer"), -1);
    else if (!ipk || X509_CRL_verify(crl, ipk) != 1)
        rc = (snprintf(why, wl, "CRL signature does not verify with the issuer's key"), -1);
    else if (cs_asn1_time(X509_CRL_get0_lastUpdate(crl), &this_update) < 0 ||
             this_update > (int64_t)now + SG_REV_LEEWAY)
        rc = (snprintf(why, wl, "CRL thisUpdate missing or in the future"), -1);
    else
        rc = crl_scope_ok(crl, x, why, wl);
    if (rc < 0) {
        X509_CRL_free(crl);
        return -1;
    }
    *out = crl;
    return 0;
}

int sg_crl_lists(X509_CRL *crl, X509 *x, time_t at, int64_t *revoked_at)
{
    X509_REVOKED *rev = NULL;
    if (X509_CRL_get0_by_cert(crl, &rev, x) != 1 || !rev)
        return 0;
    int64_t t = 0;
    if (cs_asn1_time(X509_REVOKED_get0_revocationDate(rev), &t) < 0 || t > (int64_t)at)
        return 0; /* revoked after the time asked about: good at that time */
    *revoked_at = t;
    return 1;
}

static int64_t crl_number(X509_CRL *crl)
{
    ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    int64_t v = -1;
    if (n && !ASN1_INTEGER_get_int64(&v, n))
        v = -1;
    ASN1_INTEGER_free(n);
    return v;
}

/* http(s) URIs of x's CRL distribution points (full names only; a point limited to some
 * reasons or with another CRL issuer is skipped: we use complete, direct CRLs only). */
static int cdp_urls(X509 *x, char urls[SG_REV_MAX_URLS][1024])
{
    STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
    int n = 0;
    for (int i = 0; i < sk_DIST_POINT_num(dps) && n < SG_REV_MAX_URLS; i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
        if (!dp->distpoint || dp->distpoint->type != 0 || dp->reasons || dp->CRLissuer)
            continue;
        GENERAL_NAMES *names = dp->distpoint->name.fullname;
        for (int j = 0; j < sk_GENERAL_NAME_num(names) && n < SG_REV_MAX_URLS; j++) {
            GENERAL_NAME *g = sk_GENERAL_NAME_value(names, j);
            if (g->type != GEN_URI)
                continue;
            const unsigned char *s = ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
            int l = ASN1_STRING_length(g->d.uniformResourceIdentifier);
            if (l <= 0 || l >= 1024 || memchr(s, 0, (size_t)l))
                continue;
            if ((l > 7 && strncasecmp((const char *)s, "http://", 7) == 0) ||
                (l > 8 && strncasecmp((const char *)s, "https://", 8) == 0))
                snprintf(urls[n++], 1024, "%.*s", l, (const char *)s);
        }
    }
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    return n;
}

typedef struct stored_crl {
    X509_CRL *crl;
    int64_t next_update, number;
    bool local; /* no URL: made by `ca crl` */
} stored_crl;

/* The store's CRL of issuer, verified again with the issuer's key. 0 (s->crl NULL when none),
 * or -1 on a store error (cs->err): never taken for "no CRL". */
static int load_stored(sg_certstore *cs, const char *ifpr, X509 *issuer, stored_crl *s)
{
    memset(s, 0, sizeof *s);
    sg_store_crl row;
    int rc = sg_store_revocation_get_crl(cs->st, ifpr, &row);
    if (rc < 0)
        return cs_fail(cs, "%s", sg_store_error(cs->st));
    if (rc == 0) {
        const unsigned char *p = row.der;
        s->crl = row.der_len ? d2i_X509_CRL(NULL, &p, (long)row.der_len) : NULL;
        s->next_update = row.next_update;
        s->number = row.number;
        s->local = row.url == NULL;
    }
    sg_store_crl_free(&row);
    EVP_PKEY *ipk = X509_get0_pubkey(issuer);
    if (s->crl && (!ipk || X509_CRL_verify(s->crl, ipk) != 1)) {
        X509_CRL_free(s->crl); /* a row that does not verify is ignored, as if absent */
        s->crl = NULL;
    }
    return 0;
}

static int decide(X509_CRL *crl, X509 *x, time_t at, const char *how, char *d, size_t dl)
{
    int64_t when;
    char t[32];
    if (sg_crl_lists(crl, x, at, &when)) {
        rev_fmt_time(when, t, sizeof t);
        snprintf(d, dl, "listed in the CRL (%s) since %s", how, t);
        return REV_REVOKED;
    }
    snprintf(d, dl, "good (CRL, %s)", how);
    return REV_GOOD;
}

int rev_local_crl_check(sg_certstore *cs, X509 *x, X509 *issuer, time_t at, char *d, size_t dl)
{
    char ifpr[SG_CERT_FPR_LEN + 1];
    stored_crl s;
    if (sg_cert_fpr(issuer, ifpr) < 0)
        return snprintf(d, dl, "cannot take the issuer's fingerprint"), REV_UNKNOWN;
    if (load_stored(cs, ifpr, issuer, &s) < 0)
        return snprintf(d, dl, "%s", cs->err), REV_ERROR;
    int rc = REV_NA;
    if (s.crl && s.local)
        rc = decide(s.crl, x, at, "made by the local CA", d, dl);
    X509_CRL_free(s.crl);
    return rc;
}

/* Fetches, accepts and caches the CRL at url. 0 with *out, -1 with why, or -2 with why when
 * the store failed (reading the cached CRL again, or storing this one).
 * The store lock is released during the fetch (rev_fetch), so the cached CRL is read again
 * after it: another worker may have stored a newer one meanwhile. */
static int fetch_one(sg_certstore *cs, const char *url, X509 *x, X509 *issuer, const char *ifpr, time_t now,
                     X509_CRL **out, char *why, size_t wl)
{
    uint8_t *body;
    size_t len;
    char err[256];
    int rc = rev_fetch(cs, url, NULL, NULL, 0, cs->rev.crl_max_size, &body, &len, err, sizeof err);
    if (rc == REV_FETCH_SKIPPED)
        return snprintf(why, wl, "%s", err), -1;
    if (rc != SG_FETCH_OK) {
        snprintf(why, wl, "CRL distribution point %s %s (%s)", url,
                 rc == SG_FETCH_TOO_LARGE ? "refused" : rc == SG_FETCH_REFUSED ? "not allowed" : "unreachable",
                 err);
        if (rc != SG_FETCH_REFUSED) /* a refused URL costs nothing to refuse again */
            rev_note_failure(cs, url, why);
        return -1;
    }
    X509_CRL *crl;
    rc = sg_crl_accept(body, len, x, issuer, now, &crl, err, sizeof err);
    free(body);
    if (rc < 0) {
        snprintf(why, wl, "CRL from %s refused: %s", url, err);
        rev_note_failure(cs, url, why);
        return -1;
    }
    int64_t number = crl_number(crl), next = 0, this_update = 0;
    stored_crl old;
    if (load_stored(cs, ifpr, issuer, &old) < 0) {
        X509_CRL_free(crl);
        return snprintf(why, wl, "%s", cs->err), -2;
    }
    bool rollback = old.crl && number >= 0 && number < old.number;
    X509_CRL_free(old.crl);
    if (rollback) {
        X509_CRL_free(crl);
        snprintf(why, wl, "CRL from %s refused: number %lld below the cached %lld (rollback)", url,
                 (long long)number, (long long)old.number);
        rev_note_failure(cs, url, why);
        return -1;
    }
    cs_asn1_time(X509_CRL_get0_lastUpdate(crl), &this_update);
    if (!X509_CRL_get0_nextUpdate(crl) || cs_asn1_time(X509_CRL_get0_nextUpdate(crl), &next) < 0)
        next = this_update + SG_CRL_NO_NEXT_CACHE;
    if (cs_put_crl(cs, ifpr, crl, number < 0 ? 0 : number, url, (int64_t)now, next) < 0) {
        X509_CRL_free(crl);
        snprintf(why, wl, "%s", cs->err);
        return -2;
    }
    *out = crl;
    return 0;
}

int rev_crl_check(sg_certstore *cs, X509 *x, X509 *issuer, time_t at, time_t now, char *d, size_t dl)
{
    char ifpr[SG_CERT_FPR_LEN + 1], urls[SG_REV_MAX_URLS][1024];
    stored_crl s;
    if (sg_cert_fpr(issuer, ifpr) < 0)
        return snprintf(d, dl, "cannot take the issuer's fingerprint"), REV_UNKNOWN;
    if (load_stored(cs, ifpr, issuer, &s) < 0)
        return snprintf(d, dl, "%s", cs->err), REV_ERROR;
    int rc;
    int n = cdp_urls(x, urls);
    if (s.crl && (s.local || s.next_update > (int64_t)now)) {
        rc = decide(s.crl, x, at, "cached", d, dl);
        goto out;
    }
    if (n == 0) {
        /* No place to fetch from: a stale cached CRL still proves a revocation. */
        rc = s.crl ? decide(s.crl, x, at, "stale, no distribution point", d, dl) : REV_NA;
        if (rc == REV_GOOD)
            rc = (snprintf(d, dl, "cached CRL is stale and the certificate names no distribution point"), REV_UNKNOWN);
        goto out;
    }
    if (!cs->rev.fetch) {
        rc = s.crl ? decide(s.crl, x, at, "stale", d, dl) : REV_UNKNOWN;
        if (rc != REV_REVOKED)
            rc = (snprintf(d, dl, "no fresh CRL in the store and revocation.fetch is off"), REV_UNKNOWN);
        goto out;
    }
    char why[512] = "";
    for (int i = 0; i < n; i++) {
        X509_CRL *crl;
        int f = fetch_one(cs, urls[i], x, issuer, ifpr, now, &crl, why, sizeof why);
        if (f == -2) {
            rc = (snprintf(d, dl, "%s", why), REV_ERROR);
            goto out;
        }
        if (f == 0) {
            char how[1100];
            int64_t next = 0;
            bool stale = X509_CRL_get0_nextUpdate(crl) && cs_asn1_time(X509_CRL_get0_nextUpdate(crl), &next) == 0 &&
                         next < (int64_t)now - SG_REV_LEEWAY;
            snprintf(how, sizeof how, "fetched from %s", urls[i]);
            rc = decide(crl, x, at, how, d, dl);
            X509_CRL_free(crl);
            if (rc == REV_GOOD && stale)
                rc = (snprintf(d, dl, "the CRL at %s is stale (nextUpdate passed)", urls[i]), REV_UNKNOWN);
            goto out;
        }
    }
    /* Every distribution point failed: a stale cached CRL still proves a revocation. */
    rc = s.crl ? decide(s.crl, x, at, "stale", d, dl) : REV_UNKNOWN;
    if (rc != REV_REVOKED)
        rc = (snprintf(d, dl, "%s", why), REV_UNKNOWN);
out:
    X509_CRL_free(s.crl);
    return rc;
}
