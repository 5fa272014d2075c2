/* http_fetch.c - one bounded HTTP(S) request with libcurl (see http_fetch.h). Owner: src/net.
 * Why these options: CURLOPT_PROTOCOLS_STR keeps a URL from a certificate from reaching
 * file://, ldap://, gopher:// and the like; the port check keeps it from probing internal
 * services on other ports (SSRF); no FOLLOWLOCATION because a redirect could lead anywhere
 * the first check did not see; CURLOPT_MAXFILESIZE_LARGE refuses a declared oversized body
 * before it is read and the write callback refuses an undeclared one while it is read;
 * NOSIGNAL because cryptd has worker threads. */
#include "net/http_fetch.h"

#include "net/fetch_helper.h"
#include "net/fetch_int.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URL_MAX 2048

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode init_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct sink {
    uint8_t *data;
    size_t len, max;
    int too_large;
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    sink *s = ctx;
    size_t add = size * n;
    if (add > s->max - s->len) {
        s->too_large = 1;
        return 0; /* aborts the transfer */
    }
    uint8_t *d = realloc(s->data, s->len + add + 1);
    if (!d)
        return 0;
    memcpy(d + s->len, p, add);
    s->data = d;
    s->len += add;
    return add;
}

/* Loopback, private (RFC 1918, ULA), link-local, CGNAT, unspecified, multicast: addresses a
 * key server on the Internet never has, and where internal services live (SSRF). */
static bool non_public(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
        return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 || (a >> 16) == 0xA9FE ||
               (a >> 20) == 0xAC1 || (a >> 16) == 0xC0A8 || (a >> 22) == (100u << 2 | 1) || (a >> 28) >= 0xE;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            struct sockaddr_in v4 = {.sin_family = AF_INET};
            memcpy(&v4.sin_addr, a->s6_addr + 12, 4);
            return non_public((const struct sockaddr *)&v4);
        }
        return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LINKLOCAL(a) ||
               IN6_IS_ADDR_MULTICAST(a) || (a->s6_addr[0] & 0xFE) == 0xFC;
    }
    return true;
}

typedef struct opener {
    bool refused;
} opener;

/* Every address curl is about to connect to, after resolution (so DNS cannot point a public
 * name at an internal address unnoticed). */
static curl_socket_t open_socket(void *ctx, curlsocktype purpose, struct curl_sockaddr *a)
{
    opener *o = ctx;
    if (purpose != CURLSOCKTYPE_IPCXN || non_public(&a->addr)) {
        o->refused = true;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* Scheme http/https and an allowed port: 0, or SG_FETCH_REFUSED with err. */
static int check_url(const char *url, const sg_fetch_limits *lim, char *err, size_t errlen)
{
    if (strlen(url) > URL_MAX) {
        snprintf(err, errlen, "URL longer than %d bytes", URL_MAX);
        return SG_FETCH_REFUSED;
    }
    CURLU *u = curl_url();
    char *scheme = NULL, *port = NULL;
    int rc = SG_FETCH_REFUSED;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        snprintf(err, errlen, "malformed URL");
    } else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        snprintf(err, errlen, "scheme %.16s not allowed (http, https only)", scheme);
    } else if ((lim->flags & SG_FETCH_F_HTTPS_ONLY) && strcmp(scheme, "https") != 0) {
        snprintf(err, errlen, "scheme %.16s not allowed (https only)", scheme);
    } else {
        long p = strtol(port, NULL, 10);
        for (int i = 0; i < lim->nports && rc != 0; i++)
            if (lim->ports[i] == p)
                rc = 0;
        if (rc != 0)
            snprintf(err, errlen, "port %ld not in revocation.allowed_ports", p);
    }
    curl_free(scheme);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

int sg_http_fetch(const char *url, const char *content_type, const uint8_t *body, size_t blen,
                  const sg_fetch_limits *lim, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    /* The URL check runs here too, so a refused URL never reaches the helper. */
    int rc = check_url(url, lim, err, errlen);
    if (rc != 0)
        return rc;
    if (sg_fetch_helper_active())
        return sg_fetch_helper_request(url, content_type, body, blen, lim, out, outlen, err, errlen);
    return sg_http_fetch_direct(url, content_type, body, blen, lim, out, outlen, err, errlen);
}

int sg_http_fetch_direct(const char *url, const char *content_type, const uint8_t *body, size_t blen,
                         const sg_fetch_limits *lim, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    err[0] = '\0';
    pthread_once(&once, global_init);
    if (init_rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl did not initialise");
        return SG_FETCH_UNREACHABLE;
    }
    int rc = check_url(url, lim, err, errlen);
    if (rc != 0)
        return rc;
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return SG_FETCH_UNREACHABLE;
    }
    sink s = {.max = lim->max_size};
    opener op = {0};
    struct curl_slist *connect_to = NULL;
    for (const char *p = lim->connect_to; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char line[320];
        if (n && n < sizeof line) {
            memcpy(line, p, n);
            line[n] = '\0';
            connect_to = curl_slist_append(connect_to, line);
        }
        p += n + (e ? 1 : 0);
    }
    if (connect_to)
        curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_to);
    if (lim->flags & SG_FETCH_F_PUBLIC_ONLY) {
        curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
        curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &op);
    }
    if (lim->flags & SG_FETCH_F_HTTPS_ONLY)
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    char cerr[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    if (!(lim->flags & SG_FETCH_F_HTTPS_ONLY))
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, lim->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, lim->timeout_ms);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)lim->max_size);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "sealgate-revocation/" SG_VERSION);
    if (lim->ca_file && lim->ca_file[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, lim->ca_file);
    if (body) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type ? content_type : "application/octet-stream");
        hdrs = curl_slist_append(hdrs, ct);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    }
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (cc == CURLE_FILESIZE_EXCEEDED || s.too_large) {
        snprintf(err, errlen, "response larger than %zu bytes", lim->max_size);
        rc = SG_FETCH_TOO_LARGE;
    } else if (op.refused) {
        snprintf(err, errlen, "address not allowed (loopback or private)");
        rc = SG_FETCH_REFUSED;
    } else if (cc == CURLE_COULDNT_RESOLVE_HOST) {
        snprintf(err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(cc));
        rc = SG_FETCH_NO_HOST;
    } else if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(cc));
        rc = SG_FETCH_UNREACHABLE;
    } else if (status == 404 || status == 410) {
        snprintf(err, errlen, "HTTP status %ld", status);
        rc = SG_FETCH_NOT_FOUND;
    } else if (status >= 300 && status < 400) {
        snprintf(err, errlen, "HTTP status %ld: redirects are not followed", status);
        rc = SG_FETCH_UNREACHABLE;
    } else if (status != 200) {
        snprintf(err, errlen, "HTTP status %ld", status);
        rc = SG_FETCH_UNREACHABLE;
    } else if (s.len == 0) {
        snprintf(err, errlen, "empty response");
        rc = SG_FETCH_UNREACHABLE;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    curl_slist_free_all(connect_to);
    if (rc != 0) {
        free(s.data);
        return rc;
    }
    *out = s.data;
    *outlen = s.len;
    return SG_FETCH_OK;
}
