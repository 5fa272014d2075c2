/* stamps.c - the result fields sealgate adds to incoming mail, and the removal of their
 * forged copies: X-Sealgate-* always, Authentication-Results only when its authserv-id is
 * ours (RFC 8601 section 5: other servers' results are theirs to keep). Owner: src/mime. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/mime.h"
#include "mime/rawmsg.h"

/* The authserv-id of an Authentication-Results value: the first token after optional
 * whitespace and comments (CFWS), up to whitespace, ';' or '('. */
static bool authserv_is(const char *v, size_t n, const char *id)
{
    size_t i = 0;
    for (;;) {
        while (i < n && isspace((unsigned char)v[i]))
            i++;
        if (i < n && v[i] == '(') { /* comment, possibly nested */
            int depth = 0;
            for (; i < n; i++) {
                if (v[i] == '\\' && i + 1 < n)
                    i++;
                else if (v[i] == '(')
                    depth++;
                else if (v[i] == ')' && --depth == 0) {
                    i++;
                    break;
                }
            }
            continue;
        }
        break;
    }
    size_t s = i;
    while (i < n && !isspace((unsigned char)v[i]) && v[i] != ';' && v[i] != '(')
        i++;
    size_t idl = strlen(id);
    /* a quoted authserv-id is compared without its quotes */
    if (i - s >= 2 && v[s] == '"' && v[i - 1] == '"') {
        s++;
        i--;
    }
    return idl > 0 && i - s == idl && strncasecmp(v + s, id, idl) == 0;
}

bool sg_mime_is_own_result(const char *name, size_t namelen, const char *value, size_t valuelen,
                           const char *authserv_id)
{
    if (sg_mime_is_stamp_field(name, namelen))
        return true;
    return authserv_id && namelen == 22 && strncasecmp(name, "Authentication-Results", 22) == 0 &&
           authserv_is(value, valuelen, authserv_id);
}

int sg_mime_strip_results(const char *msg, size_t len, const char *authserv_id, sg_buf *out)
{
    sg_rawmsg m;
    if (sg_rawmsg_parse(msg, len, &m) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < m.nh && rc == 0; i++)
        if (!sg_mime_is_own_result(m.h[i].name, m.h[i].namelen, m.h[i].value, m.h[i].valuelen, authserv_id))
            rc = sg_buf_append(out, m.h[i].raw, m.h[i].rawlen);
    /* Everything from the end of the last field on (the empty line, the body) as it was. */
    size_t last = m.nh ? (size_t)(m.h[m.nh - 1].raw + m.h[m.nh - 1].rawlen - msg) : 0;
    if (rc == 0)
        rc = sg_buf_append(out, msg + last, len - last);
    sg_rawmsg_free(&m);
    return rc;
}

bool sg_mime_has_results(const char *msg, size_t len, const char *authserv_id)
{
    sg_rawmsg m;
    if (sg_rawmsg_parse(msg, len, &m) < 0)
        return false;
    bool found = false;
    for (size_t i = 0; i < m.nh && !found; i++)
        found = sg_mime_is_own_result(m.h[i].name, m.h[i].namelen, m.h[i].value, m.h[i].valuelen, authserv_id);
    sg_rawmsg_free(&m);
    return found;
}
