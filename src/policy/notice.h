/* notice.h - the messages policy sends people: to the sender when recipients were held,
 * returned or deleted, or a message could not be decrypted; to the administrator on an alert.
 * Owner: src/policy. Real RFC 5322 messages (multipart/mixed: a text for people, then the
 * original's header, or the whole original when it is returned). A pure function of its
 * inputs (time and token come from the caller), so unit tests compare exact output. */
#ifndef SG_POLICY_NOTICE_H
#define SG_POLICY_NOTICE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

enum sg_notice_kind {
    SG_NOTICE_HELD = 0,      /* kept in quarantine: not delivered securely (yet) */
    SG_NOTICE_RETURNED,      /* not delivered; the original is attached */
    SG_NOTICE_DELETED,       /* not delivered and not kept */
    SG_NOTICE_INFO,          /* notify_sender: the rule's text; delivered as the rule says */
    SG_NOTICE_ALERT,         /* alert_admin */
    SG_NOTICE_UNDECRYPTABLE, /* incoming: delivered still encrypted (no key, or it failed) */
};

typedef struct sg_notice_item {
    const char *rcpt;
    const char *reason;
} sg_notice_item;

typedef struct sg_notice {
    int kind;             /* enum sg_notice_kind */
    const char *hostname; /* the gateway: From postmaster@hostname, Message-ID domain */
    const char *to;       /* the notice's recipient */
    const char *sender;   /* the original's sender, for an alert */
    const char *qid;      /* the original's queue id, so the admin finds it (`queue show`) */
    const char *text;     /* the rule's own words (may be NULL) */
    const sg_notice_item *items;
    size_t n;
    long long now;
    const char *token; /* unique: Message-ID and boundary */
} sg_notice;

/* Appends the whole notice (CRLF line ends) to out. *eightbit is set when the attached
 * original has 8-bit bytes (send with BODY=8BITMIME). 0, or -1 when out's maximum is hit. */
int sg_notice_build(const sg_notice *n, const char *orig, size_t origlen, sg_buf *out, bool *eightbit);

#endif
