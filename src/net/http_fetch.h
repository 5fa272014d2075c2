/* http_fetch.h - one bounded HTTP(S) request for revocation data (CRLs, OCSP) and for key
 * discovery (WKD, VKS, HKP: docs/discovery.md). Owner: src/net.
 * SECURITY: used from cryptd (see docs/architecture.md, "Revocation fetches") and the admin CLI.
 * Only http and https, only to allowed ports, no redirects, no content decoding (no
 * decompression bombs); the body is capped in size and the whole request in time. libcurl's
 * proxy variables (http_proxy, https_proxy, no_proxy) apply, for sites that need a proxy. The URLs come from certificates that already
 * chained to a trust anchor. */
#ifndef SG_HTTP_FETCH_H
#define SG_HTTP_FETCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct sg_fetch_limits {
    long timeout_ms; /* the whole request, connect included */
    size_t max_size; /* bytes of body */
    const int *ports; /* allowed destination ports (explicit or the scheme's default) */
    int nports;
    const char *ca_file; /* https: CA certificates to verify the server with; NULL/"": system */
    /* Key discovery (issue 13) sets these; revocation fetches leave them 0/NULL. */
    unsigned flags;         /* SG_FETCH_F_* */
    const char *connect_to; /* "host:port:to-host:to-port" lines (curl CONNECT_TO; tests), or NULL */
} sg_fetch_limits;

#define SG_FETCH_F_HTTPS_ONLY 1u     /* refuse http:// */
#define SG_FETCH_F_PUBLIC_ONLY 2u    /* refuse to connect to loopback, private, link-local addresses */
#define SG_FETCH_F_LDAP 4u           /* the fetch helper runs an LDAP search (net/ldap_search.h) */

enum sg_fetch_status {
    SG_FETCH_OK = 0,
    SG_FETCH_UNREACHABLE = -1, /* DNS, connect, TLS, timeout, HTTP status other than 200 */
    SG_FETCH_TOO_LARGE = -2,   /* body over max_size (by Content-Length or while reading) */
    SG_FETCH_REFUSED = -3,     /* URL not allowed: scheme, port, malformed, too long */
    SG_FETCH_NO_HOST = -4,     /* the host name does not resolve (WKD: no openpgpkey subdomain) */
    SG_FETCH_NOT_FOUND = -5    /* HTTP 404 or 410: the server says there is nothing */
};

/* GET url, or POST body with content_type when body is not NULL. On SG_FETCH_OK *out (free())
 * holds the body; otherwise err says why in a few words. Goes through the fetch helper when
 * one was started in this process (fetch_helper.h), else fetches here. */
int sg_http_fetch(const char *url, const char *content_type, const uint8_t *body, size_t blen,
                  const sg_fetch_limits *lim, uint8_t **out, size_t *outlen, char *err, size_t errlen);

#endif
