/* revocation.c - the revocation policy over a verified chain: which methods in which order,
 * the worst answer over the chain, and the words that tell the caller what happened (see
 * revocation.h, docs/x509.md "Revocation"). Owner: src/keys.
 * Why the lock is released around a fetch: a CRL server may take revocation.timeout seconds
 * to answer, and the store lock is shared by every worker of cryptd; a slow server must delay
 * only the message that needs it. What was read before the fetch (the cached CRL's number) is
 * read again after it (revocation_crl.c).
 * Why a store error ends the check: the cache could not be read, so nothing is known, and
 * that must fail the validation rather than pass as "unknown" under soft-fail.
 * Why the anchor is not checked: it is trusted because the admin said so, not because of
 * anything a CRL or responder could say. Why a CRL made by the local CA always counts: it is
 * the gateway's own authority's list, current by construction. */
#include "keys/revocation.h"

#include <stdio.h>
#include <string.h>

#include "keys/certstore_int.h"
#include "net/http_fetch.h"

void sg_certstore_set_revocation(sg_certstore *cs, const sg_revocation_cfg *rev)
{
    cs->rev = *rev;
    cs->rev_set = true;
    memset(cs->fails, 0, sizeof cs->fails); /* a new policy (reload) starts without old failures */
}

void sg_certstore_set_lock(sg_certstore *cs, pthread_mutex_t *lock)
{
    cs->lock = lock;
}

const char *sg_rev_status_name(int s)
{
    static const char *const n[] = {"not checked", "good", "unknown", "revoked"};
    return s >= 0 && s <= SG_REV_REVOKED ? n[s] : "?";
}

void rev_note_failure(sg_certstore *cs, const char *url, const char *why)
{
    if (cs->rev.retry_after <= 0 || strlen(url) >= sizeof cs->fails[0].url)
        return;
    int64_t now = (int64_t)time(NULL);
    size_t slot = 0;
    for (size_t i = 0; i < sizeof cs->fails / sizeof cs->fails[0]; i++) {
        if (strcmp(cs->fails[i].url, url) == 0) { /* same URL: refresh its entry */
            slot = i;
            break;
        }
        if (cs->fails[i].until < cs->fails[slot].until) /* else the entry that ends first */
            slot = i;
    }
    snprintf(cs->fails[slot].url, sizeof cs->fails[slot].url, "%s", url);
    snprintf(cs->fails[slot].why, sizeof cs->fails[slot].why, "%s", why);
    cs->fails[slot].until = now + cs->rev.retry_after;
}

int rev_fetch(sg_certstore *cs, const char *url, const char *content_type, const uint8_t *body, size_t blen,
              long max_size, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; cs->rev.retry_after > 0 && i < sizeof cs->fails / sizeof cs->fails[0]; i++)
        if (cs->fails[i].until > now && strcmp(cs->fails[i].url, url) == 0) {
            char t[32];
            rev_fmt_time(cs->fails[i].until, t, sizeof t);
            snprintf(err, errlen, "%s; not asked again before %s", cs->fails[i].why, t);
            return REV_FETCH_SKIPPED;
        }
    /* Copies: nothing of cs is touched while the lock is released. */
    int ports[SG_REV_MAX_PORTS];
    char ca[sizeof cs->rev.tls_ca_file];
    memcpy(ports, cs->rev.ports, sizeof ports);
    memcpy(ca, cs->rev.tls_ca_file, sizeof ca);
    sg_fetch_limits lim = {.timeout_ms = (long)cs->rev.timeout * 1000,
                           .max_size = (size_t)max_size,
                           .ports = ports,
                           .nports = cs->rev.nports,
                           .ca_file = ca};
    if (cs->lock)
        pthread_mutex_unlock(cs->lock);
    int rc = sg_http_fetch(url, content_type, body, blen, &lim, out, outlen, err, errlen);
    if (cs->lock)
        pthread_mutex_lock(cs->lock);
    return rc;
}

void rev_fmt_time(int64_t t, char *out, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* One certificate: the local CA's CRL, else each configured method in order until one gives a
 * definite answer. */
static int check_one(sg_certstore *cs, X509 *x, X509 *issuer, time_t at, time_t now, char *d, size_t dl)
{
    int rc = rev_local_crl_check(cs, x, issuer, at, d, dl);
    if (rc != REV_NA)
        return rc;
    if (!cs->rev_set) { /* not opted in: the store's CRLs only, as a fixed policy without network */
        rc = rev_crl_check(cs, x, issuer, at, now, d, dl);
        return rc == REV_REVOKED || rc == REV_ERROR ? rc : REV_NA;
    }
    char tried[768] = "";
    for (int i = 0; i < cs->rev.nmethods; i++) {
        char one[512] = "";
        rc = cs->rev.methods[i] == SG_REV_METHOD_OCSP ? rev_ocsp_check(cs, x, issuer, at, now, one, sizeof one)
                                                       : rev_crl_check(cs, x, issuer, at, now, one, sizeof one);
        if (rc == REV_GOOD || rc == REV_REVOKED || rc == REV_ERROR) {
            snprintf(d, dl, "%s", one);
            return rc;
        }
        if (rc == REV_UNKNOWN) {
            size_t l = strlen(tried);
            snprintf(tried + l, sizeof tried - l, "%s%s", l ? "; " : "", one);
        }
    }
    if (tried[0]) {
        snprintf(d, dl, "%s", tried);
        return REV_UNKNOWN;
    }
    snprintf(d, dl, "%s", cs->rev.nmethods ? "no OCSP responder or CRL distribution point" : "no methods configured");
    return REV_NA;
}

void rev_check_chain(sg_certstore *cs, STACK_OF(X509) * chain, time_t at, sg_cert_result *r)
{
    time_t now = time(NULL);
    int worst = SG_REV_NOT_CHECKED;
    char wdetail[sizeof r->revocation_detail] = "no OCSP responder or CRL distribution point";
    for (int i = 0; i + 1 < sk_X509_num(chain); i++) {
        char d[sizeof r->revocation_detail - 32] = ""; /* room for the "issuing CA" prefix */
        int a = check_one(cs, sk_X509_value(chain, i), sk_X509_value(chain, i + 1), at, now, d, sizeof d);
        int s = a == REV_REVOKED                     ? SG_REV_REVOKED
                : a == REV_UNKNOWN || a == REV_ERROR ? SG_REV_UNKNOWN
                : a == REV_GOOD                      ? SG_REV_GOOD
                                                     : SG_REV_NOT_CHECKED;
        if (s > worst || a == REV_ERROR) {
            worst = s;
            snprintf(wdetail, sizeof wdetail, "%s%s", i ? "issuing CA certificate: " : "", d);
        }
        if (a == REV_ERROR)
            r->store_error = true;
        if (s == SG_REV_REVOKED || a == REV_ERROR)
            break;
    }
    r->revocation = worst;
    snprintf(r->revocation_detail, sizeof r->revocation_detail, "%s", wdetail);
}
