/* server.h - the event-driven SMTP server shared by the smtpd and sink roles. Owner: src/smtp.
 * The server speaks the protocol (RFC 5321 and the extensions it advertises), enforces the
 * limits from sg_config.smtpd and relay control; where a message goes is the backend's job.
 * The backend interface is small on purpose: open a transaction for a complete envelope, write
 * content, make it durable (possibly on another thread) and report back, or abort. */
#ifndef SG_SMTP_SERVER_H
#define SG_SMTP_SERVER_H

#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdbool.h>

#include "lib/config.h"
#include "queue/envelope.h"

/* Called exactly once per commit, on the event loop thread; name is valid during the call. */
typedef void (*sg_smtp_done_fn)(void *arg, bool ok, const char *name);

typedef struct sg_smtp_backend {
    bool relay_control; /* apply client_networks and internal_domains to RCPT */
    const char *ack;    /* reply text before the name: "queued as", "delivered as" */
    const char *event;  /* log event on success: "queued", "delivered" */
    void *ctx;
    /* A transaction for a complete envelope (e->id set). NULL on failure (answered with 451). */
    void *(*open)(void *ctx, const sg_envelope *e);
    int (*write)(void *txn, const void *data, size_t len); /* 0 or -1 */
    /* Takes ownership of txn, makes it durable, then calls done. May call done before it
     * returns. The server never acknowledges a message before done reports ok. */
    void (*commit)(void *ctx, void *txn, sg_smtp_done_fn done, void *arg);
    void (*abort)(void *ctx, void *txn);
} sg_smtp_backend;

typedef struct sg_smtp_server sg_smtp_server;

/* Accepts on listen_fd (non-blocking, listening). tls may be NULL (no STARTTLS). The config,
 * tls and backend must outlive the server. Returns NULL on failure. */
sg_smtp_server *sg_smtp_server_new(struct event_base *base, const sg_config *cfg, int listen_fd, SSL_CTX *tls,
                                   const sg_smtp_backend *be);
/* Stops accepting; idle sessions get 421 and are closed, unfinished transactions are aborted,
 * transactions being committed finish and are answered first. When the last session is gone the
 * event loop is told to exit. */
void sg_smtp_server_shutdown(sg_smtp_server *srv);
void sg_smtp_server_free(sg_smtp_server *srv);

/* For roles started as root that drop to a user of `group`: gives the group access to dir
 * (search, plus write when writable) without changing its owner. No-op when not root. */
int sg_smtp_group_access(const char *dir, const char *group, bool writable);

#endif

/* Runs the server on base until SIGTERM, SIGINT or SIGHUP (each: sg_smtp_server_shutdown) and
 * the last session is gone. Ignores SIGPIPE. Returns 0, or -1 when the server cannot start. */
int sg_smtp_serve(struct event_base *base, const sg_config *cfg, int listen_fd, SSL_CTX *tls,
                  const sg_smtp_backend *be);
/* Binds endpoint when listen_fd < 0. Returns the fd or -1 (logged). */
int sg_smtp_listen(const char *endpoint, int listen_fd);
