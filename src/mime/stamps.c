/* stamps.c - the result fields sealgate adds to incoming mail, and the removal of their
 * forged copies: X-Sealgate-* always, Authentication-Results only when its authserv-id is
 * ours (RFC 8601 section 5: other servers' results are theirs to keep). Owner: src/mime.
 * SECURITY: removal is a plain line scan of the raw header, not a parse: a header that no
 * parser accepts (a line without a colon, too many fields, NUL bytes, a continuation line
 * first) must not keep a forged result that some reader's client would still show. */
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

/* ---- the line scan ---- */

/* End of the line at p: after its LF, or len. */
static size_t line_end(const char *d, size_t p, size_t len)
{
    const char *lf = memchr(d + p, '\n', len - p);
    return lf ? (size_t)(lf - d) + 1 : len;
}

/* The empty line that ends the header (CRLF or LF alone). */
static bool empty_line(const char *d, size_t p, size_t len)
{
    return d[p] == '\n' || (d[p] == '\r' && p + 1 < len && d[p + 1] == '\n');
}

static bool bare_cr(const char *f, size_t i, size_t n)
{
    return f[i] == '\r' && (i + 1 >= n || f[i + 1] != '\n');
}

/* judge's one reading of s[0, n): NUL bytes dropped, or (cut) the text ends at its first NUL
 * byte, as C-string readers such as GMime see it; CR and LF dropped (unfolding), or (spaced)
 * read as whitespace, as a parser that keeps a bare CR in the value sees it. 1 ours, 0 not,
 * -1 ENOMEM. */
static int judge(const char *s, size_t n, const char *authserv_id, bool cut, bool spaced)
{
    char *c = malloc(n + 1);
    if (!c)
        return -1;
    size_t len = 0;
    for (size_t i = 0; i < n && !(cut && s[i] == '\0'); i++) {
        if (s[i] == '\r' || s[i] == '\n') {
            if (spaced)
                c[len++] = ' ';
        } else if (s[i] != '\0') {
            c[len++] = s[i];
        }
    }
    size_t b = 0;
    while (b < len && (c[b] == ' ' || c[b] == '\t'))
        b++;
    const char *colon = memchr(c + b, ':', len - b);
    size_t e = colon ? (size_t)(colon - c) : len;
    size_t v = colon ? e + 1 : len;
    while (e > b && (c[e - 1] == ' ' || c[e - 1] == '\t'))
        e--;
    int own = sg_mime_is_own_result(c + b, e - b, c + v, len - v, authserv_id);
    free(c);
    return own;
}

/* The text at s[0, n) starts one of our results: its name is what precedes the colon (or all
 * of it when there is none), outer whitespace trimmed. Readers differ in what they make of NUL
 * bytes and of CRs inside a field, so every reading is judged and any one that shows ours
 * counts (fuzz_stamps found a value that only the cut reading shows as ours, and one in which
 * "id\r\rmore" is our id to a parser that keeps the CRs as whitespace). 1 yes, 0 no, -1 ENOMEM. */
static int own_text(const char *s, size_t n, const char *authserv_id)
{
    bool nul = memchr(s, '\0', n) != NULL;
    bool ends = memchr(s, '\r', n) != NULL || memchr(s, '\n', n) != NULL;
    int own = 0;
    for (int cut = 0; own == 0 && cut <= (int)nul; cut++)
        for (int spaced = 0; own == 0 && spaced <= (int)ends; spaced++)
            own = judge(s, n, authserv_id, cut, spaced);
    return own;
}

/* How much of the text after a bare CR is judged: a name and an authserv-id fit easily, and
 * the bound keeps a field full of bare CRs linear. */
#define AFTER_CR_MAX 1024

/* The field f[0, n) (its first line and continuation lines) is one of our results, or hides
 * one behind a bare CR (a reader that ends lines there sees a field of its own; a CR followed
 * by whitespace starts a continuation for it). Whole fields are judged so that a removal
 * never joins a CR to an LF. 1 yes, 0 no, -1 ENOMEM. */
static int own_field(const char *f, size_t n, const char *authserv_id)
{
    int own = own_text(f, n, authserv_id);
    for (size_t i = 0; own == 0 && i < n; i++)
        if (bare_cr(f, i, n) && i + 1 < n && f[i + 1] != ' ' && f[i + 1] != '\t')
            own = own_text(f + i + 1, n - i - 1 < AFTER_CR_MAX ? n - i - 1 : AFTER_CR_MAX, authserv_id);
    return own;
}

/* Walks the header of msg field by field up to the first empty line, appending to out (when
 * not NULL) every field that is not ours and everything after the header. *found: some field
 * was ours. 0 or -1. */
static int scan(const char *d, size_t len, const char *authserv_id, sg_buf *out, bool *found)
{
    size_t p = 0;
    bool field = false; /* a line that starts a field was seen */
    *found = false;
    while (p < len && !empty_line(d, p, len)) {
        size_t e = line_end(d, p, len);
        /* Continuation lines belong to the field before them; before the first field they
         * belong to nothing, and a reader may take each for a field of its own. */
        field = field || (d[p] != ' ' && d[p] != '\t');
        while (field && e < len && (d[e] == ' ' || d[e] == '\t'))
            e = line_end(d, e, len);
        int own = own_field(d + p, e - p, authserv_id);
        if (own < 0)
            return -1;
        *found = *found || own;
        if (!own && out && sg_buf_append(out, d + p, e - p) < 0)
            return -1;
        p = e;
    }
    return out ? sg_buf_append(out, d + p, len - p) : 0;
}

int sg_mime_strip_results(const char *msg, size_t len, const char *authserv_id, sg_buf *out)
{
    bool found;
    return scan(msg, len, authserv_id, out, &found);
}

int sg_mime_strip_results_if_any(const char *msg, size_t len, const char *authserv_id, sg_buf *out,
                                 bool *stripped)
{
    *stripped = false;
    bool found;
    if (scan(msg, len, authserv_id, NULL, &found) < 0)
        found = true; /* out of memory: take the copying way, which reports it */
    if (!found)
        return len > out->max ? -1 : 0; /* the copy would not have fitted */
    *stripped = true;
    return scan(msg, len, authserv_id, out, &found);
}

bool sg_mime_has_results(const char *msg, size_t len, const char *authserv_id)
{
    bool found = false;
    /* Out of memory: say yes, so that a caller that relies on it strips or holds. */
    return scan(msg, len, authserv_id, NULL, &found) < 0 || found;
}

bool sg_mime_has_origin(const char *d, size_t len)
{
    static const char name[] = "x-sealgate-origin";
    const size_t n = sizeof name - 1;
    for (size_t p = 0; p < len;) {
        if (empty_line(d, p, len))
            return false;
        if (len - p > n && strncasecmp(d + p, name, n) == 0)
            return true;
        p = line_end(d, p, len);
    }
    return false;
}
