/* dsn.h - building delivery status notifications (RFC 3464 report, RFC 3461 rules).
 * Owner: src/relay. A pure function of its inputs (the caller passes time, ids and host names),
 * so the unit test can compare exact output. */
#ifndef SG_RELAY_DSN_H
#define SG_RELAY_DSN_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "queue/envelope.h"

/* One failed recipient as the report states it. */
typedef struct sg_dsn_rcpt {
    const sg_rcpt *rcpt; /* address, NOTIFY and ORCPT as stored in the envelope */
    const char *status;  /* enhanced status code "5.x.y" */
    const char *diag;    /* the reply, e.g. "550 5.1.1 no such user"; untrusted peer text */
    bool remote;         /* the diagnostic came from the next hop (Remote-MTA, type smtp) */
} sg_dsn_rcpt;

typedef struct sg_dsn_opts {
    const char *hostname;   /* Reporting-MTA and MAILER-DAEMON's domain */
    const char *remote_mta; /* next hop, for Remote-MTA */
    long long now;          /* unix seconds: Date, Last-Attempt-Date */
    const char *token;      /* unique text for Message-ID and the MIME boundary (the DSN's id) */
    bool headers_only;      /* return only the header whatever RET says (see deliver.c) */
    bool no_content;        /* return nothing of the message (it was decrypted here: even its
                               header may hold protected fields that came out of decryption) */
} sg_dsn_opts;

/* RFC 3461 section 4.1: may a failure DSN be sent for this recipient? NOTIFY absent: yes;
 * NEVER: no; a list: only when it contains FAILURE. (The empty sender is the caller's check.) */
bool sg_dsn_wanted(const sg_rcpt *r);

/* Length of the original's header section, including the empty line that ends it; len when
 * none ends within d. */
size_t sg_dsn_header_len(const char *d, size_t len);

/* Appends the whole DSN message (headers and body, CRLF line ends) to out. data is the
 * original message; RET=HDRS, o->headers_only or a BINARYMIME original (which cannot be
 * nested in a text report) return only its header, o->no_content nothing of it (the report
 * then has two parts), anything else the whole message. *eightbit is set when the
 * report contains 8-bit bytes (the DSN must then be sent with BODY=8BITMIME).
 * Returns 0, or -1 when out's maximum is exceeded. */
int sg_dsn_build(const sg_envelope *e, const sg_dsn_rcpt *r, size_t n, const char *data, size_t datalen,
                 const sg_dsn_opts *o, sg_buf *out, bool *eightbit);

#endif
