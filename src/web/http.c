/* http.c - libmicrohttpd under the web role: TLS (GnuTLS inside libmicrohttpd; the second TLS
 * stack of the project, confined to this role), connection limits, body limits, security
 * headers, the access log. Owner: src/web. SECURITY: see http.h. */
#include "web/http.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/netaddr.h"

struct sg_http_server {
    struct MHD_Daemon *d;
    const sg_config *cfg;
    sg_http_handler handler;
    void *ctx;
    char hsts[64];
};

const sg_http_header sg_http_security_headers[] = {
    /* No inline script or style, nothing from another origin: the pages load /static/ only. */
    {"Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {NULL, NULL},
};

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    sg_warn(NULL, "event=http-error error=\"%s\"", SG_LOG_STR(msg));
}

int sg_http_send(sg_http_req *req, int status, const char *type, const void *body, size_t len, int flags,
                 const sg_http_header *extra)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return -1;
    for (const sg_http_header *h = sg_http_security_headers; h->name; h++)
        MHD_add_response_header(r, h->name, h->value);
    const char *hsts = req->hsts;
    if (hsts && *hsts)
        MHD_add_response_header(r, "Strict-Transport-Security", hsts);
    if (type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (flags & SG_HTTP_NO_STORE)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    for (const sg_http_header *h = extra; h && h->name; h++)
        MHD_add_response_header(r, h->name, h->value);
    enum MHD_Result ok = MHD_queue_response(req->conn, (unsigned)status, r);
    MHD_destroy_response(r);
    req->status = status;
    return ok == MHD_YES ? 0 : -1;
}

const char *sg_http_header_get(sg_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *sg_http_query(sg_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *sg_http_cookie(sg_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

static void answer_error(sg_http_req *req, int status, const char *code, const char *msg)
{
    char body[512];
    int n = snprintf(body, sizeof body, "{\"error\": {\"code\": \"%s\", \"message\": \"%s\"}}\n", code, msg);
    sg_http_send(req, status, "application/json", body, (size_t)n, SG_HTTP_NO_STORE, NULL);
}

static void log_request(sg_http_req *req)
{
    sg_info(NULL, "event=request client=%s method=%s path=%s status=%d bytes=%zu", req->client,
            SG_LOG_TOK(req->method), SG_LOG_TOK(req->path), req->status, req->body.len);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_len, void **con_cls)
{
    (void)version;
    sg_http_server *s = cls;
    sg_http_req *req = *con_cls;
    if (!req) {
        req = calloc(1, sizeof *req);
        if (!req)
            return MHD_NO;
        req->conn = conn;
        req->method = method;
        req->path = url;
        req->hsts = s->hsts;
        sg_buf_init(&req->body, s->cfg->web.max_body);
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr)
            sg_sockaddr_ntop(ci->client_addr, req->client, sizeof req->client);
        else
            snprintf(req->client, sizeof req->client, "unknown");
        *con_cls = req;
        /* A declared length over the limit is refused before a byte of the body is read. */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(cl, &end, 10);
            if (errno || *end || v > s->cfg->web.max_body) {
                req->too_big = true;
                answer_error(req, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "the request body is over web.max_body");
                log_request(req);
                return MHD_YES;
            }
        }
        return MHD_YES;
    }
    if (*upload_len) {
        /* More body: keep it while it fits, else drop the rest and answer 413 at the end. */
        if (!req->too_big && sg_buf_append(&req->body, upload, *upload_len) < 0)
            req->too_big = true;
        *upload_len = 0;
        return MHD_YES;
    }
    if (req->status)
        return MHD_YES; /* answered already (413 on the declared length) */
    if (req->too_big) {
        sg_buf_reset(&req->body);
        answer_error(req, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "the request body is over web.max_body");
    } else {
        s->handler(s->ctx, req);
        if (!req->status)
            answer_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "no answer");
    }
    log_request(req);
    return MHD_YES;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)conn;
    (void)code;
    sg_http_req *req = *con_cls;
    if (!req)
        return;
    sg_buf_free(&req->body);
    free(req);
    *con_cls = NULL;
}

sg_http_server *sg_http_start(const sg_config *cfg, int listen_fd, const char *cert_pem, const char *key_pem,
                              sg_http_handler handler, void *ctx, char *err, size_t errlen)
{
    sg_http_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->cfg = cfg;
    s->handler = handler;
    s->ctx = ctx;
    if (cfg->web.hsts_max_age > 0)
        snprintf(s->hsts, sizeof s->hsts, "max-age=%d", cfg->web.hsts_max_age);
    /* A few threads, each serving the connections it accepted: a sign-in's argon2id (~0.3 s,
     * 64 MiB) holds up one of them, not every request. A small fixed number also bounds the
     * sign-ins computed at once (and their memory: SG_HTTP_THREADS x 64 MiB). libmicrohttpd
     * divides web.max_connections among them; web.max_per_ip stays one count for the role. */
    unsigned threads = cfg->web.max_connections < SG_HTTP_THREADS ? (unsigned)cfg->web.max_connections : SG_HTTP_THREADS;
    s->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_TLS | MHD_USE_ERROR_LOG | MHD_USE_ITC, 0, NULL, NULL,
        on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd, MHD_OPTION_HTTPS_MEM_CERT, cert_pem,
        MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_HTTPS_PRIORITIES,
        "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)cfg->web.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->web.max_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->web.idle_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(64 * 1024), MHD_OPTION_NOTIFY_COMPLETED, on_done, s, MHD_OPTION_THREAD_POOL_SIZE,
        threads > 1 ? threads : 1u, MHD_OPTION_END);
    if (!s->d) {
        snprintf(err, errlen, "libmicrohttpd did not start on %s (certificate, key or socket refused)",
                 cfg->web.listen);
        free(s);
        return NULL;
    }
    return s;
}

void sg_http_stop(sg_http_server *s)
{
    if (!s)
        return;
    /* The listening socket is shared with the master and, during a reload, with the new
     * instance: take it back from libmicrohttpd and only close our descriptor. Stopping with
     * the socket still in the daemon may shut it down, for every process that shares it. */
    MHD_socket fd = MHD_quiesce_daemon(s->d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    MHD_stop_daemon(s->d);
    free(s);
}
