/* client.h - the SMTP client conversation with the next hop: connect, greeting, EHLO/HELO,
 * STARTTLS, one transaction (pipelined or not, DATA or BDAT), RSET, QUIT. Owner: src/relay.
 * Blocking socket with send/receive timeouts; one sg_client belongs to one worker thread.
 * What to send (parameters, which extension to use) is decided by deliver.c; this file only
 * speaks the protocol and reports every reply. */
#ifndef SG_RELAY_CLIENT_H
#define SG_RELAY_CLIENT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "lib/buf.h"
#include "relay/tls_client.h"

enum {
    SG_EXT_PIPELINING = 1 << 0,
    SG_EXT_SIZE = 1 << 1,
    SG_EXT_8BITMIME = 1 << 2,
    SG_EXT_BINARYMIME = 1 << 3,
    SG_EXT_CHUNKING = 1 << 4,
    SG_EXT_SMTPUTF8 = 1 << 5,
    SG_EXT_DSN = 1 << 6,
    SG_EXT_STARTTLS = 1 << 7,
};

/* A reply (or a locally made one standing for a failure: connection lost, timeout). */
typedef struct sg_reply {
    int code;        /* 250, 451, ...; 0 = none yet */
    char status[16]; /* enhanced status code "x.y.z" when given, else "" */
    char text[1024]; /* whole reply, continuation lines joined by spaces: "550 5.1.1 text" */
    bool local;      /* made here (connection lost, refused session), not said by the hop */
} sg_reply;

typedef struct sg_client_opts {
    const char *next_hop; /* host:port */
    const char *helo;
    int tls_mode; /* enum sg_tls_mode */
    const sg_strlist *tls_match, *tls_fingerprints; /* relay.tls_match, relay.tls_fingerprints */
    int connect_timeout, command_timeout;
    SSL_CTX *tls_ctx; /* shared by all workers (sg_tls_client_ctx); NULL when tls_mode is none */
} sg_client_opts;

typedef struct sg_client {
    int fd; /* -1 when not connected */
    SSL *ssl;
    const sg_client_opts *o;
    unsigned ext;
    unsigned long long size_max; /* SIZE advertised by the hop, 0 = no limit given */
    int transactions;            /* on this connection */
    sg_tls_info tls;             /* what this connection's TLS proved; kept after a failed setup */
    time_t last_used;
    char rbuf[4096];
    size_t rpos, rlen;
    sg_buf out; /* commands collected for one write (pipelining) */
} sg_client;

void sg_client_init(sg_client *c, const sg_client_opts *o);

/* Connects and runs greeting, EHLO (HELO fallback) and STARTTLS as tls_mode says: may uses
 * STARTTLS when offered (a refusal carries on in the clear, a failed handshake does not);
 * encrypt and above require it; verify and fingerprint also require the check of
 * tls_client.h. Returns 0, or -1 with the
 * reason in *why (always a 4xx: any failure to set up a session with the configured next hop
 * is temporary, because it is our own MTA and a fault there must not bounce mail). */
int sg_client_connect(sg_client *c, sg_reply *why);
/* Greeting, EHLO (HELO fallback) and STARTTLS on the already connected c->fd; the second half
 * of sg_client_connect, public so that tests and the fuzz target can speak over a socketpair. */
int sg_client_session_start(sg_client *c, sg_reply *why);
/* Makes the connection ready for a new transaction: RSET on a used connection, reconnecting
 * when the hop closed it meanwhile. Returns 0 or -1 (*why filled). */
int sg_client_ready(sg_client *c, sg_reply *why);

/* One transaction. mail: everything after "MAIL FROM:" (e.g. "<a@b> SIZE=12");
 * rcpt[i]: everything after "RCPT TO:". rr[i] receives each recipient's final outcome: the
 * RCPT reply when it failed, else the reply to the data (or a local 4xx when the connection
 * broke). Returns 0 when the connection is still usable, -1 when it was closed. */
int sg_client_transaction(sg_client *c, const char *mail, const char *const *rcpt, size_t n, const char *data,
                          size_t len, bool bdat, sg_reply *rr);

/* Where a transaction's data comes from when it is not in memory: read(ctx, off, buf, n)
 * fills buf with the n bytes at offset off (off + n <= len) and returns 0, or -1 with errno.
 * A failed read ends the transaction before the end of data (the connection is closed, so
 * the hop keeps nothing) with a local 451 4.3.0 for every recipient still waiting. */
typedef struct sg_client_data {
    int (*read)(void *ctx, size_t off, char *buf, size_t n);
    void *ctx;
    size_t len;
} sg_client_data;
/* sg_client_transaction with the data read piece by piece (a bounded buffer, whatever len). */
int sg_client_transaction_from(sg_client *c, const char *mail, const char *const *rcpt, size_t n,
                               const sg_client_data *data, bool bdat, sg_reply *rr);

/* QUIT (best effort) and close. */
void sg_client_quit(sg_client *c);
/* Close without a word (after a failure, or when abandoning on SIGTERM). */
void sg_client_close(sg_client *c);
void sg_client_free(sg_client *c);

#endif
