/* dsn.c - builds the delivery status notification for recipients that failed permanently:
 * a multipart/report (RFC 6522) with a human-readable part, a message/delivery-status part
 * (RFC 3464) and the original message or its header; for a message cryptd decrypted, nothing
 * of it (the sender would get back plaintext the gateway opened with a held key). Owner: src/relay.
 * Everything a peer supplied (reply text, addresses) is cleaned before it goes into a header
 * line, so a hostile next hop cannot add fields or break the report's structure. */
#include "relay/dsn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/date.h"
#include "lib/xtext.h"

bool sg_dsn_wanted(const sg_rcpt *r)
{
    if (!r->notify || !*r->notify)
        return true; /* RFC 3461 4.1: absent NOTIFY means "FAILURE" (and DELAY, at our discretion) */
    const char *p = r->notify;
    while (*p) {
        size_t l = strcspn(p, ",");
        if (l == 7 && strncasecmp(p, "FAILURE", 7) == 0)
            return true;
        p += l;
        if (*p == ',')
            p++;
    }
    return false; /* NEVER, or a list without FAILURE */
}

/* Appends s with control characters made spaces and the length capped, so it fits on one
 * header line. 8-bit bytes (UTF-8 addresses, replies) are kept and reported via *eightbit. */
static int put_clean(sg_buf *b, const char *s, size_t max, bool *eightbit)
{
    char tmp[1024];
    size_t n = 0;
    if (max > sizeof tmp)
        max = sizeof tmp;
    for (; s && *s && n < max; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            c = ' ';
        if (c >= 0x80)
            *eightbit = true;
        tmp[n++] = (char)c;
    }
    return sg_buf_append(b, tmp, n);
}

/* "type;xtext" -> "type; decoded" (RFC 3464 2.3.1 carries the decoded address). */
static int put_orcpt(sg_buf *b, const char *orcpt, bool *eightbit)
{
    const char *semi = strchr(orcpt, ';');
    if (!semi)
        return put_clean(b, orcpt, 900, eightbit);
    char *dec = sg_xtext_decode(semi + 1, NULL);
    int rc = sg_buf_append(b, orcpt, (size_t)(semi - orcpt));
    rc |= sg_buf_append(b, "; ", 2);
    rc |= put_clean(b, dec ? dec : semi + 1, 900, eightbit);
    free(dec);
    return rc;
}

size_t sg_dsn_header_len(const char *d, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (d[i] != '\n')
            continue;
        if (i + 1 < len && d[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && d[i + 1] == '\r' && d[i + 2] == '\n')
            return i + 3;
    }
    return len;
}

static bool has_8bit(const char *d, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)d[i] >= 0x80)
            return true;
    return false;
}

int sg_dsn_build(const sg_envelope *e, const sg_dsn_rcpt *r, size_t n, const char *data, size_t datalen,
                 const sg_dsn_opts *o, sg_buf *out, bool *eightbit)
{
    char date[64], arrival[64], boundary[128];
    bool hdrs_only = o->headers_only || (e->ret && strcasecmp(e->ret, "HDRS") == 0) ||
                     (e->body && strcasecmp(e->body, "BINARYMIME") == 0);
    size_t orig_len = hdrs_only ? sg_dsn_header_len(data, datalen) : datalen;
    int rc = 0;
    *eightbit = false;
    sg_rfc5322_date(o->now, date, sizeof date);
    sg_rfc5322_date(e->created, arrival, sizeof arrival);
    snprintf(boundary, sizeof boundary, "=_sealgate-dsn_%s_=", o->token);

    rc |= sg_buf_appendf(out, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\nTo: <", o->hostname);
    rc |= put_clean(out, e->from, 900, eightbit);
    rc |= sg_buf_appendf(out,
                         ">\r\nSubject: Undelivered Mail Returned to Sender\r\n"
                         "Date: %s\r\nMessage-ID: <%s.dsn@%s>\r\nAuto-Submitted: auto-replied\r\n"
                         "MIME-Version: 1.0\r\n"
                         "Content-Type: multipart/report; report-type=delivery-status;\r\n"
                         "\tboundary=\"%s\"\r\n\r\n"
                         "This is a MIME-encapsulated delivery status notification.\r\n\r\n",
                         date, o->token, o->hostname, boundary);

    /* 1: for people */
    rc |= sg_buf_appendf(out,
                         "--%s\r\nContent-Description: Notification\r\n"
                         "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                         "This is the mail gateway at %s.\r\n\r\n"
                         "Your message could not be delivered to the recipients below; this is\r\n"
                         "permanent and the gateway will not try again. The reason given for each\r\n"
                         "is shown; %s.\r\n\r\n",
                         boundary, o->hostname,
                         o->no_content ? "the technical report is attached. Your message was decrypted by\r\n"
                                         "this gateway, so no part of it is returned"
                         : hdrs_only   ? "the technical report and the header of your message are attached"
                                       : "the technical report and the message are attached");
    for (size_t i = 0; i < n; i++) {
        rc |= sg_buf_append(out, "<", 1);
        rc |= put_clean(out, r[i].rcpt->addr, 900, eightbit);
        rc |= sg_buf_append(out, ">: ", 3);
        rc |= put_clean(out, r[i].diag, 900, eightbit);
        rc |= sg_buf_append(out, "\r\n", 2);
    }

    /* 2: for programs (RFC 3464 section 2) */
    rc |= sg_buf_appendf(out,
                         "\r\n--%s\r\nContent-Description: Delivery report\r\n"
                         "Content-Type: message/delivery-status\r\n\r\n"
                         "Reporting-MTA: dns; %s\r\n",
                         boundary, o->hostname);
    if (e->envid) {
        char *dec = sg_xtext_decode(e->envid, NULL);
        rc |= sg_buf_append(out, "Original-Envelope-Id: ", 22);
        rc |= put_clean(out, dec ? dec : e->envid, 900, eightbit);
        rc |= sg_buf_append(out, "\r\n", 2);
        free(dec);
    }
    rc |= sg_buf_appendf(out, "Arrival-Date: %s\r\n", arrival);
    for (size_t i = 0; i < n; i++) {
        rc |= sg_buf_append(out, "\r\nFinal-Recipient: rfc822; ", 27);
        rc |= put_clean(out, r[i].rcpt->addr, 900, eightbit);
        rc |= sg_buf_append(out, "\r\n", 2);
        if (r[i].rcpt->orcpt) {
            rc |= sg_buf_append(out, "Original-Recipient: ", 20);
            rc |= put_orcpt(out, r[i].rcpt->orcpt, eightbit);
            rc |= sg_buf_append(out, "\r\n", 2);
        }
        rc |= sg_buf_append(out, "Action: failed\r\nStatus: ", 24);
        rc |= put_clean(out, r[i].status, 16, eightbit);
        rc |= sg_buf_append(out, "\r\n", 2);
        if (r[i].remote) {
            rc |= sg_buf_appendf(out, "Remote-MTA: dns; %s\r\nDiagnostic-Code: smtp; ", o->remote_mta);
        } else {
            rc |= sg_buf_append(out, "Diagnostic-Code: X-Sealgate; ", 29);
        }
        rc |= put_clean(out, r[i].diag, 900, eightbit);
        rc |= sg_buf_appendf(out, "\r\nLast-Attempt-Date: %s\r\n", date);
    }

    if (o->no_content) {
        rc |= sg_buf_appendf(out, "\r\n--%s--\r\n", boundary);
        return rc ? -1 : 0;
    }

    /* 3: what was returned */
    bool orig8 = has_8bit(data, orig_len);
    rc |= sg_buf_appendf(out, "\r\n--%s\r\nContent-Description: %s\r\nContent-Type: %s\r\n%s\r\n", boundary,
                         hdrs_only ? "Undelivered Message Headers" : "Undelivered Message",
                         hdrs_only ? "text/rfc822-headers" : "message/rfc822",
                         orig8 ? "Content-Transfer-Encoding: 8bit\r\n" : "");
    rc |= sg_buf_append(out, data, orig_len);
    if (orig_len < 2 || memcmp(data + orig_len - 2, "\r\n", 2) != 0)
        rc |= sg_buf_append(out, "\r\n", 2);
    rc |= sg_buf_appendf(out, "\r\n--%s--\r\n", boundary);
    if (orig8)
        *eightbit = true;
    return rc ? -1 : 0;
}
