/* notice.c - builds policy notices (notice.h). Owner: src/policy.
 * Everything taken from the message or the rules (addresses, reasons, the Subject) is made
 * one clean line before it goes into the text, so a hostile message cannot add fields or
 * parts to the notice. The text part is plain ASCII; the attached original keeps its bytes. */
#include "policy/notice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/date.h"
#include "mime/rawmsg.h"

/* Appends s as one line of printable ASCII (others become '?'), at most max bytes. */
static int put_line(sg_buf *b, const char *s, size_t max)
{
    int rc = 0;
    for (size_t n = 0; s && s[n] && n < max && rc == 0; n++) {
        unsigned char c = (unsigned char)s[n];
        char o = c == '\t' ? ' ' : c < 0x20 || c >= 0x7f ? '?' : (char)c;
        rc = sg_buf_append(b, &o, 1);
    }
    return rc;
}

static size_t header_len(const char *d, size_t len)
{
    sg_rawmsg m;
    size_t n = len;
    if (sg_rawmsg_parse(d, len, &m) == 0) {
        n = (size_t)(m.body - d);
        sg_rawmsg_free(&m);
    }
    return n;
}

static char *field(const char *d, size_t len, const char *name)
{
    sg_rawmsg m;
    char *v = NULL;
    if (sg_rawmsg_parse(d, len, &m) == 0) {
        const sg_rawhdr *h = sg_rawmsg_find(&m, name);
        v = h ? sg_rawhdr_value(h) : NULL;
        sg_rawmsg_free(&m);
    }
    return v;
}

static const char *subject_of(int kind)
{
    switch (kind) {
    case SG_NOTICE_HELD:
        return "Message held: not delivered securely to every recipient";
    case SG_NOTICE_RETURNED:
        return "Message returned: not delivered by policy";
    case SG_NOTICE_DELETED:
        return "Message deleted by policy";
    case SG_NOTICE_ALERT:
        return "Policy alert";
    case SG_NOTICE_UNDECRYPTABLE:
        return "Encrypted message could not be decrypted";
    default:
        return "Notice about your message";
    }
}

static const char *intro_of(int kind)
{
    switch (kind) {
    case SG_NOTICE_HELD:
        return "Your message could not be delivered securely to the recipients below, so it\r\n"
               "was not sent to them. It is kept in quarantine; an administrator can release it\r\n"
               "(for example once a key or certificate for the recipient is known) or delete it.\r\n"
               "Recipients not listed here received it as usual.\r\n";
    case SG_NOTICE_RETURNED:
        return "Your message was not delivered to the recipients below and is returned to you\r\n"
               "(attached). Recipients not listed here received it as usual.\r\n";
    case SG_NOTICE_DELETED:
        return "Your message was not delivered to the recipients below and was not kept.\r\n";
    case SG_NOTICE_ALERT:
        return "A policy rule, or an error the administrator must know of, caused this alert\r\n"
               "about the message below.\r\n";
    case SG_NOTICE_UNDECRYPTABLE:
        return "An encrypted message for the recipients below could not be decrypted by the\r\n"
               "gateway. It was delivered as it arrived, still encrypted.\r\n";
    default:
        return "The gateway's policy asked to tell you about your message.\r\n";
    }
}

int sg_notice_build(const sg_notice *n, const char *orig, size_t origlen, sg_buf *out, bool *eightbit)
{
    char date[64], boundary[128];
    int rc = 0;
    bool whole = n->kind == SG_NOTICE_RETURNED;
    size_t olen = whole ? origlen : header_len(orig, origlen);
    *eightbit = false;
    for (size_t i = 0; i < olen; i++)
        if ((unsigned char)orig[i] >= 0x80)
            *eightbit = true;
    sg_rfc5322_date(n->now, date, sizeof date);
    snprintf(boundary, sizeof boundary, "=_sealgate-notice_%s_=", n->token);
    rc |= sg_buf_appendf(out, "From: Mail Gateway <postmaster@%s>\r\nTo: <", n->hostname);
    rc |= put_line(out, n->to, 900);
    rc |= sg_buf_appendf(out,
                         ">\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s.notice@%s>\r\n"
                         "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
                         "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
                         "This is a MIME message from the mail gateway.\r\n\r\n"
                         "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
                         "This is the mail gateway at %s.\r\n\r\n%s",
                         subject_of(n->kind), date, n->token, n->hostname, boundary, boundary, n->hostname,
                         intro_of(n->kind));
    if (n->text && *n->text) {
        rc |= sg_buf_append(out, "\r\n", 2);
        rc |= put_line(out, n->text, 900);
        rc |= sg_buf_append(out, "\r\n", 2);
    }
    if (n->n)
        rc |= sg_buf_append(out, "\r\n", 2);
    for (size_t i = 0; i < n->n; i++) {
        rc |= sg_buf_append(out, "  <", 3);
        rc |= put_line(out, n->items[i].rcpt, 900);
        rc |= sg_buf_append(out, ">: ", 3);
        rc |= put_line(out, n->items[i].reason, 900);
        rc |= sg_buf_append(out, "\r\n", 2);
    }
    char *subj = field(orig, origlen, "Subject"), *mid = field(orig, origlen, "Message-ID");
    rc |= sg_buf_append(out, "\r\nSubject: ", 11);
    rc |= put_line(out, subj ? subj : "(none)", 300);
    rc |= sg_buf_append(out, "\r\nMessage-ID: ", 14);
    rc |= put_line(out, mid ? mid : "(none)", 300);
    if (n->sender) {
        rc |= sg_buf_append(out, "\r\nSender: <", 11);
        rc |= put_line(out, n->sender, 900);
        rc |= sg_buf_append(out, ">", 1);
    }
    rc |= sg_buf_append(out, "\r\nQueue id: ", 12);
    rc |= put_line(out, n->qid, 64);
    rc |= sg_buf_append(out, "\r\n", 2);
    free(subj);
    free(mid);
    rc |= sg_buf_appendf(out, "\r\n--%s\r\nContent-Description: %s\r\nContent-Type: %s\r\n%s\r\n", boundary,
                         whole ? "Returned message" : "Header of the message",
                         whole ? "message/rfc822" : "text/rfc822-headers",
                         *eightbit ? "Content-Transfer-Encoding: 8bit\r\n" : "");
    rc |= sg_buf_append(out, orig, olen);
    if (olen < 2 || memcmp(orig + olen - 2, "\r\n", 2) != 0)
        rc |= sg_buf_append(out, "\r\n", 2);
    rc |= sg_buf_appendf(out, "\r\n--%s--\r\n", boundary);
    return rc ? -1 : 0;
}
