/* author.c - the author a reader's client shows, judged for binding a signature to it.
 * Owner: src/mime. Used by the single decrypt/verify entry point (src/engine/unwrap.c) for
 * the verdicts of every engine, OpenPGP and S/MIME alike, on the outer header and on the
 * header the reader gets after protected headers replaced it.
 * SECURITY: a signature by one person must never be shown as valid under another's name, so
 * anything that lets a client show more than one author, or another address than the
 * mailbox's, is a problem: several From fields, several mailboxes or a group in From, a
 * display name or comment naming another address, a Sender that differs from From. A header
 * that cannot be parsed names no single author either. */
#include <ctype.h>
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/mime.h"
#include "mime/mime_int.h"
#include "mime/rawmsg.h"

/* The address of a mailbox with its domain lower-cased (local parts compare exactly);
 * malloc'd, NULL when it has no local part or domain, or on ENOMEM. */
static char *mailbox_address(InternetAddress *ia)
{
    if (!ia || !INTERNET_ADDRESS_IS_MAILBOX(ia))
        return NULL;
    const char *s = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
    const char *at = s ? strrchr(s, '@') : NULL;
    char *addr = at && at != s && at[1] ? strdup(s) : NULL;
    for (char *d = addr ? addr + (at - s) + 1 : NULL; d && *d; d++)
        *d = (char)tolower((unsigned char)*d);
    return addr;
}

static bool local_char(unsigned char c)
{
    return isalnum(c) || c >= 0x80 || (c && strchr("!#$%&'*+/=?^_`{|}~.-", c));
}

static bool domain_char(unsigned char c)
{
    return isalnum(c) || c >= 0x80 || c == '-' || c == '.';
}

/* Length of an at sign at s[i]: '@', or the fullwidth and small commercial at of Unicode
 * (UTF-8), which a reader takes for one. 0 when none. */
static size_t at_sign(const unsigned char *s, size_t i, size_t n)
{
    if (s[i] == '@')
        return 1;
    if (i + 2 < n && s[i] == 0xEF &&
        ((s[i + 1] == 0xBC && s[i + 2] == 0xA0) || (s[i + 1] == 0xB9 && s[i + 2] == 0xAB)))
        return 3;
    return 0;
}

/* Text shown to the reader (a display name, a comment, the raw field) contains something that
 * reads as an address other than addr (case-insensitive). */
static bool names_other(const char *text, const char *addr)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    size_t n = strlen((const char *)s);
    const char *aat = strrchr(addr, '@');
    size_t ll = (size_t)(aat - addr), dl = strlen(aat + 1);
    for (size_t i = 0; i < n; i++) {
        size_t at = at_sign(s, i, n);
        if (!at)
            continue;
        size_t b = i, e = i + at;
        while (b > 0 && local_char(s[b - 1]))
            b--;
        while (e < n && domain_char(s[e]))
            e++;
        while (e > i + at && s[e - 1] == '.')
            e--;
        if (b == i || e == i + at)
            continue; /* a lone at sign is no address */
        if (at != 1 || i - b != ll || e - i - at != dl || strncasecmp((const char *)s + b, addr, ll) != 0 ||
            strncasecmp((const char *)s + i + at, aat + 1, dl) != 0)
            return true;
    }
    return false;
}

/* The one mailbox of field h: *addr set (malloc'd) to its first mailbox's address, and the
 * result: 0 exactly one mailbox, 1 several addresses or a group or none parsable, 2 one
 * mailbox but its text names another address. -1 on ENOMEM. */
static int one_mailbox(const sg_rawhdr *h, char **addr)
{
    *addr = NULL;
    char *v = sg_rawhdr_value(h);
    if (!v)
        return -1;
    InternetAddressList *l = internet_address_list_parse(NULL, v);
    int n = l ? internet_address_list_length(l) : 0;
    InternetAddress *ia = n > 0 ? internet_address_list_get_address(l, 0) : NULL;
    *addr = mailbox_address(ia);
    int r = n != 1 || !*addr ? 1 : names_other(v, *addr) || names_other(internet_address_get_name(ia), *addr) ? 2 : 0;
    if (l)
        g_object_unref(l);
    free(v);
    return r;
}

/* The fields named name that a reader sees: prot's when it has some (protected headers stand
 * for the outer fields of the same name), else m's. The first one and how many. */
static size_t fields(const sg_rawmsg *m, const sg_rawmsg *prot, const char *name, const sg_rawhdr **first)
{
    size_t n = 0;
    *first = NULL;
    for (int k = prot ? 0 : 1; k < 2 && n == 0; k++) {
        const sg_rawmsg *h = k == 0 ? prot : m;
        for (size_t i = 0; i < h->nh; i++)
            if (sg_rawhdr_is(&h->h[i], name) && n++ == 0)
                *first = &h->h[i];
    }
    return n;
}

/* The author of m's header, or of prot's fields in front of it. 0 or -1. */
static int judge(const sg_rawmsg *m, const sg_rawmsg *prot, sg_mime_author *a)
{
    const sg_rawhdr *from, *sender;
    size_t nfrom = fields(m, prot, "From", &from), nsender = fields(m, prot, "Sender", &sender);
    if (!from)
        return 0; /* no author at all: nothing can be bound (addr stays NULL) */
    int r = one_mailbox(from, &a->addr);
    if (r < 0)
        return -1;
    if (r == 1 || nfrom > 1)
        a->problem = "ambiguous-from";
    else if (r == 2)
        a->problem = "from-name-address";
    else if (sender) {
        char *s = NULL;
        int sr = one_mailbox(sender, &s);
        if (sr >= 0 && (sr != 0 || nsender > 1 || strcasecmp(s, a->addr) != 0))
            a->problem = "sender-mismatch";
        free(s);
        if (sr < 0)
            return -1;
    }
    return 0;
}

/* A signed-only message whose signed part carries protected headers (RFC 9788): a client
 * that shows them must show the same single author as one that shows the outer fields. */
static int judge_signed_part(const char *msg, size_t len, const sg_rawmsg *m, sg_mime_author *a)
{
    const char *part;
    size_t plen;
    sg_rawmsg e;
    if (a->problem || !sg_mime_signed_content(msg, len, &part, &plen) || sg_rawmsg_parse(part, plen, &e) < 0)
        return 0;
    sg_mime_author in = {0};
    int rc = 0;
    if (sg_mime_entity_protected(&e) && (sg_rawmsg_find(&e, "From") || sg_rawmsg_find(&e, "Sender"))) {
        rc = judge(m, &e, &in);
        if (rc == 0 && in.problem)
            a->problem = in.problem;
        else if (rc == 0 && (!in.addr || !a->addr || strcmp(in.addr, a->addr) != 0))
            a->problem = "ambiguous-from";
    }
    sg_mime_author_free(&in);
    sg_rawmsg_free(&e);
    return rc;
}

int sg_mime_author_of(const char *msg, size_t len, sg_mime_author *a)
{
    memset(a, 0, sizeof *a);
    sg_rawmsg m;
    if (sg_rawmsg_parse(msg, len, &m) < 0) {
        a->problem = "ambiguous-from"; /* what a client shows cannot be told */
        return 0;
    }
    int rc = judge(&m, NULL, a);
    if (rc == 0)
        rc = judge_signed_part(msg, len, &m, a);
    sg_rawmsg_free(&m);
    if (rc < 0)
        sg_mime_author_free(a);
    return rc;
}

void sg_mime_author_free(sg_mime_author *a)
{
    free(a->addr);
    memset(a, 0, sizeof *a);
}

char *sg_mime_from_address(const char *msg, size_t len)
{
    sg_mime_author a;
    if (sg_mime_author_of(msg, len, &a) < 0)
        return NULL;
    return a.addr; /* the caller frees it; the problem is not its question */
}
