/* session.h - one SMTP session: shared between server.c (connections, limits, timeouts) and
 * session.c (the protocol). Internal to src/smtp. Owner: src/smtp.
 * Memory per idle session is this struct plus libevent's bufferevent; transaction state
 * (envelope, DATA reader, backend writer) is allocated only while a transaction runs. */
#ifndef SG_SMTP_SESSION_H
#define SG_SMTP_SESSION_H

#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#include "smtp/datareader.h"
#include "smtp/server.h"

enum sg_sess_state {
    SS_CMD,      /* reading command lines */
    SS_DATA,     /* reading DATA content */
    SS_BDAT,     /* reading a BDAT chunk */
    SS_TLS_WAIT, /* 220 for STARTTLS is being flushed; input is not read */
};

typedef struct sg_session sg_session;

struct sg_smtp_server {
    struct event_base *base;
    const sg_config *cfg;
    SSL_CTX *tls;
    const sg_smtp_backend *be;
    struct evconnlistener *lst;
    struct event *sweep;  /* once a second: idle and session timeouts */
    struct event *resume; /* re-enables accepting after an accept() failure (EMFILE) */
    sg_session *head;
    int nsessions;
    bool stopping;
};

typedef struct sg_txn {
    sg_envelope env;
    void *handle;      /* backend transaction, NULL until DATA/first BDAT */
    sg_datareader *dr; /* DATA only */
    unsigned long long size;
    bool too_big, write_failed, bdat_used;
} sg_txn;

struct sg_session {
    sg_session *prev, *next;
    sg_smtp_server *srv;
    struct bufferevent *bev;
    int fd; /* owned by the session while plain; by the TLS bufferevent after STARTTLS */
    struct sockaddr_storage sa;
    char ip[64];
    char *helo;
    bool esmtp, relay_ok, tls;
    int state;
    int errors;
    long long start, last; /* sg_now_ms() */
    long long closing_at;  /* when closing began: a peer that never reads is dropped later */
    sg_txn *txn;
    /* BDAT chunk being read */
    unsigned long long bdat_left, bdat_size;
    bool bdat_last;
    char *bdat_reply; /* error reply to send when the chunk is consumed (discarding) */
    bool skip_line;   /* discarding an over-long command line up to its LF */
    bool in_process, closing, commit_pending, dead, stop_after_commit;
};

/* Monotonic milliseconds, for timeouts. */
long long sg_now_ms(void);

/* session.c */
void sg_session_greet(sg_session *s);
void sg_session_process(sg_session *s);
void sg_session_reset_txn(sg_session *s);
void sg_session_readcb(struct bufferevent *bev, void *arg);
void sg_session_writecb(struct bufferevent *bev, void *arg);
void sg_session_eventcb(struct bufferevent *bev, short what, void *arg);
/* Queues a reply line (CRLF added). Counts 4xx/5xx towards max_errors unless final. */
void sg_reply(sg_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Queues a final reply and closes once it is written. */
void sg_reply_close(sg_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* server.c */
void sg_session_close(sg_session *s); /* after the output is flushed */
void sg_session_free(sg_session *s);  /* now */

#endif
