/* http.h - the web role's HTTP layer over libmicrohttpd: one request as the handlers see it,
 * limits on connections and bodies, and the one way to answer (with the security headers).
 * Owner: src/web.
 *
 * SECURITY: every answer leaves through sg_http_send, which adds Content-Security-Policy
 * "default-src 'self'", X-Content-Type-Options, X-Frame-Options, Referrer-Policy and HSTS; a body
 * over web.max_body is answered 413 before any handler runs (the handler never sees it), so an
 * oversized request changes nothing. Handlers run on SG_HTTP_THREADS threads at once (each
 * serving the connections it accepted), so what they share must be safe for that: the store
 * handle is one per thread (web/store.c), the operation layer locks what it keeps in memory. */
#ifndef SG_WEB_HTTP_H
#define SG_WEB_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/config.h"

#define SG_HTTP_THREADS 4 /* the daemon's threads (fewer when web.max_connections is smaller) */

struct MHD_Connection;
typedef struct sg_http_server sg_http_server;

/* One request. method and path are MHD's (valid during the handler); body holds the whole
 * request body (at most web.max_body bytes). */
typedef struct sg_http_req {
    struct MHD_Connection *conn;
    const char *method, *path;
    sg_buf body;
    char client[64]; /* the client's address, for back-off and the audit log */
    bool too_big;    /* the body passed web.max_body: answered 413 */
    int status;      /* what was answered (for the access log) */
    const char *hsts; /* the server's Strict-Transport-Security value, "" for none */
} sg_http_req;

/* Flags of an answer. */
enum {
    SG_HTTP_NO_STORE = 1, /* Cache-Control: no-store (authenticated pages, API answers) */
};

typedef struct sg_http_header {
    const char *name, *value;
} sg_http_header;

/* The request handler: answers through sg_http_send (exactly once). */
typedef void (*sg_http_handler)(void *ctx, sg_http_req *req);

/* Starts serving HTTPS on listen_fd (bound already; the master's or our own) with the PEM
 * certificate and key given in memory. NULL with err on failure. */
sg_http_server *sg_http_start(const sg_config *cfg, int listen_fd, const char *cert_pem, const char *key_pem,
                              sg_http_handler handler, void *ctx, char *err, size_t errlen);
/* Stops accepting, closes every connection, frees. */
void sg_http_stop(sg_http_server *s);

/* A request header (case-insensitive name), a query argument or a cookie; NULL when absent. */
const char *sg_http_header_get(sg_http_req *req, const char *name);
const char *sg_http_query(sg_http_req *req, const char *name);
const char *sg_http_cookie(sg_http_req *req, const char *name);

/* Answers with status, content type and body (copied), the security headers, and extra headers
 * (NULL-terminated by a {NULL, NULL} entry, or NULL). 0, or -1 when MHD refused. */
int sg_http_send(sg_http_req *req, int status, const char *type, const void *body, size_t len, int flags,
                 const sg_http_header *extra);

/* The headers sg_http_send adds to every answer, for the fuzz target and the docs' table. */
extern const sg_http_header sg_http_security_headers[];

#endif
