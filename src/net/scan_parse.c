/* scan_parse.c - the strict parsers of clamd's, rspamd's and spamd's answers (scan.h).
 * Owner: src/net.
 * SECURITY: the answers come from another process over the network (through the helper);
 * these parsers run in cryptd. Whatever they do not recognise exactly is an error, and an
 * error is never "clean": clamd's answer must be one NUL-terminated line of a known form;
 * rspamd's an HTTP 200 whose body is one JSON object (jansson, duplicates refused) with a
 * number "score" and one of rspamd's actions; spamd's a status line with code 0, a Content-length
 * that matches the body, exactly one well-formed Spam header. */
#include "net/scan.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The answer as one line: NUL-terminated at len-1 with no other NUL or line break. */
static bool one_line(const char *a, size_t len)
{
    if (len < 2 || len > 1024 || a[len - 1] != '\0')
        return false;
    for (size_t i = 0; i + 1 < len; i++)
        if (a[i] == '\0' || a[i] == '\n' || a[i] == '\r')
            return false;
    return true;
}

static bool sig_name(const char *s, size_t n)
{
    if (n == 0 || n > 200)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 32 || (unsigned char)s[i] >= 127 || s[i] == '(' || s[i] == ')' || s[i] == ';')
            return false;
    return true;
}

int sg_clamd_parse(const char *a, size_t len, char *name, size_t namelen, char *err, size_t errlen)
{
    if (namelen)
        name[0] = '\0';
    if (!a || !one_line(a, len)) {
        snprintf(err, errlen, "clamd's answer is not one line");
        return SG_CLAMD_ERROR;
    }
    size_t n = len - 1;
    static const char limit[] = "INSTREAM size limit exceeded. ERROR";
    if (n == sizeof limit - 1 && memcmp(a, limit, n) == 0)
        return SG_CLAMD_TOO_LARGE;
    static const char pre[] = "stream: ";
    if (n < sizeof pre - 1 || memcmp(a, pre, sizeof pre - 1) != 0) {
        snprintf(err, errlen, "clamd answered \"%.100s\"", a);
        return SG_CLAMD_ERROR;
    }
    const char *rest = a + sizeof pre - 1;
    size_t rl = n - (sizeof pre - 1);
    if (rl == 2 && memcmp(rest, "OK", 2) == 0)
        return SG_CLAMD_CLEAN;
    static const char found[] = " FOUND";
    size_t fl = sizeof found - 1;
    if (rl > fl && memcmp(rest + rl - fl, found, fl) == 0 && sig_name(rest, rl - fl) && rl - fl < namelen) {
        memcpy(name, rest, rl - fl);
        name[rl - fl] = '\0';
        return SG_CLAMD_FOUND;
    }
    snprintf(err, errlen, "clamd answered \"%.100s\"", a);
    return SG_CLAMD_ERROR;
}

int sg_clamd_parse_pong(const char *a, size_t len)
{
    return a && len == 5 && memcmp(a, "PONG", 5) == 0 ? 0 : -1;
}

/* The body of an HTTP/1.x 200 answer, or NULL. */
static const char *http_200(const char *a, size_t len, size_t *blen)
{
    if (!a || len < 17 || (memcmp(a, "HTTP/1.0 200", 12) != 0 && memcmp(a, "HTTP/1.1 200", 12) != 0) ||
        (a[12] != ' ' && a[12] != '\r'))
        return NULL;
    for (size_t i = 0; i + 3 < len; i++)
        if (memcmp(a + i, "\r\n\r\n", 4) == 0) {
            *blen = len - i - 4;
            return a + i + 4;
        }
    return NULL;
}

int sg_rspamd_parse_pong(const char *a, size_t len)
{
    size_t bl;
    const char *b = http_200(a, len, &bl);
    if (!b)
        return -1;
    while (bl && (b[bl - 1] == '\n' || b[bl - 1] == '\r'))
        bl--;
    return bl == 4 && memcmp(b, "pong", 4) == 0 ? 0 : -1;
}

int sg_rspamd_parse(const char *a, size_t len, sg_rspamd_result *r, char *err, size_t errlen)
{
    static const char *const actions[] = {"no action",   "greylist", "add header", "rewrite subject",
                                          "soft reject", "reject",   NULL};
    memset(r, 0, sizeof *r);
    size_t bl;
    const char *b = http_200(a, len, &bl);
    if (!b) {
        snprintf(err, errlen, "rspamd's answer is not an HTTP 200");
        return -1;
    }
    json_error_t je;
    json_t *o = json_loadb(b, bl, JSON_REJECT_DUPLICATES, &je);
    int rc = -1;
    if (!o || !json_is_object(o)) {
        snprintf(err, errlen, "rspamd's answer is not a JSON object");
        goto out;
    }
    json_t *score = json_object_get(o, "score"), *act = json_object_get(o, "action");
    json_t *req = json_object_get(o, "required_score"), *syms = json_object_get(o, "symbols");
    if (json_object_get(o, "error")) {
        snprintf(err, errlen, "rspamd answered an error");
        goto out;
    }
    if (!json_is_number(score) || !isfinite(json_number_value(score)) || !json_is_string(act) ||
        (req && (!json_is_number(req) || !isfinite(json_number_value(req)))) || (syms && !json_is_object(syms))) {
        snprintf(err, errlen, "rspamd's answer lacks a number score or an action");
        goto out;
    }
    const char *av = json_string_value(act);
    for (int i = 0; actions[i]; i++)
        if (strcmp(av, actions[i]) == 0)
            rc = 0;
    if (rc < 0) {
        snprintf(err, errlen, "rspamd answered an unknown action");
        goto out;
    }
    r->score = json_number_value(score);
    r->required = req ? json_number_value(req) : 0;
    snprintf(r->action, sizeof r->action, "%s", av);
    const char *k;
    json_t *v;
    size_t used = 0;
    json_object_foreach(syms, k, v)
    {
        size_t kl = strlen(k);
        bool safe = kl > 0 && kl < 100;
        for (size_t i = 0; safe && i < kl; i++)
            safe = k[i] > 32 && k[i] < 127 && k[i] != ',' && k[i] != ';';
        if (!safe || used + kl + 2 >= sizeof r->symbols)
            continue; /* a name that would not fit a header line is not shown */
        used += (size_t)snprintf(r->symbols + used, sizeof r->symbols - used, "%s%s", used ? "," : "", k);
    }
out:
    json_decref(o);
    return rc;
}

/* Copies symbol names from a comma-separated list, each shown only when it fits a header. */
static void symbols_from(const char *s, size_t n, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    while (n) {
        const char *c = memchr(s, ',', n);
        size_t kl = c ? (size_t)(c - s) : n;
        bool safe = kl > 0 && kl < 100;
        for (size_t i = 0; safe && i < kl; i++)
            safe = s[i] > 32 && s[i] < 127 && s[i] != ';';
        if (safe && used + kl + 2 < outlen)
            used += (size_t)snprintf(out + used, outlen - used, "%s%.*s", used ? "," : "", (int)kl, s);
        s += kl + (c ? 1 : 0);
        n -= kl + (c ? 1 : 0);
    }
}

/* A decimal number as spamd writes it ("-1.5", "1004.2"); the rest in *end. */
static bool spamd_number(const char *s, const char *lim, double *v, const char **end)
{
    const char *p = s;
    if (p < lim && *p == '-')
        p++;
    const char *d = p;
    while (p < lim && *p >= '0' && *p <= '9')
        p++;
    if (p == d || p - s > 12)
        return false;
    if (p < lim && *p == '.') {
        const char *f = ++p;
        while (p < lim && *p >= '0' && *p <= '9')
            p++;
        if (p == f || p - f > 6)
            return false;
    }
    char buf[24];
    snprintf(buf, sizeof buf, "%.*s", (int)(p - s), s);
    *v = strtod(buf, NULL);
    *end = p;
    return isfinite(*v);
}

/* "SPAMD/1.<digit> 0 <word>\r\n": the status line with code 0 and its message; the line's end. */
static const char *spamd_status(const char *a, size_t len, const char *msg)
{
    size_t ml = strlen(msg);
    if (len < 12 + ml + 2 || memcmp(a, "SPAMD/1.", 8) != 0 || a[8] < '0' || a[8] > '9' || memcmp(a + 9, " 0 ", 3) != 0 ||
        memcmp(a + 12, msg, ml) != 0 || memcmp(a + 12 + ml, "\r\n", 2) != 0)
        return NULL;
    return a + 12 + ml + 2;
}

int sg_spamd_parse_pong(const char *a, size_t len)
{
    const char *e = a ? spamd_status(a, len, "PONG") : NULL;
    return e && e == a + len ? 0 : -1;
}

int sg_spamd_parse(const char *a, size_t len, sg_rspamd_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    const char *p = a ? spamd_status(a, len, "EX_OK") : NULL, *end = a + len;
    if (!p) {
        snprintf(err, errlen, "spamd's answer is not SPAMD/1.x 0 EX_OK");
        return -1;
    }
    if (memchr(a, '\0', len)) {
        snprintf(err, errlen, "spamd's answer holds a NUL byte");
        return -1;
    }
    long clen = -1;
    int spam_seen = 0, is_spam = 0;
    for (;;) {
        const char *nl = NULL;
        for (const char *q = p; q + 1 < end; q++)
            if (q[0] == '\r' && q[1] == '\n') {
                nl = q;
                break;
            }
        if (!nl || nl - p > 200) {
            snprintf(err, errlen, "spamd's answer has a broken header");
            return -1;
        }
        if (nl == p) {
            p += 2;
            break; /* the body follows */
        }
        size_t hl = (size_t)(nl - p);
        if (hl > 16 && strncasecmp(p, "Content-length: ", 16) == 0) {
            char *e;
            char num[24];
            snprintf(num, sizeof num, "%.*s", (int)(hl - 16 < 20 ? hl - 16 : 20), p + 16);
            clen = num[0] >= '0' && num[0] <= '9' ? strtol(num, &e, 10) : -1;
            if (clen < 0 || *e || hl - 16 > 9) {
                snprintf(err, errlen, "spamd's Content-length is not a number");
                return -1;
            }
        } else if (hl > 6 && strncasecmp(p, "Spam: ", 6) == 0) {
            const char *q = p + 6, *le = nl;
            if (le - q >= 4 && memcmp(q, "True", 4) == 0) {
                is_spam = 1;
                q += 4;
            } else if (le - q >= 5 && memcmp(q, "False", 5) == 0) {
                q += 5;
            } else {
                snprintf(err, errlen, "spamd's Spam header is neither True nor False");
                return -1;
            }
            if (le - q < 3 || memcmp(q, " ; ", 3) != 0 || !spamd_number(q + 3, le, &r->score, &q) || le - q < 3 ||
                memcmp(q, " / ", 3) != 0 || !spamd_number(q + 3, le, &r->required, &q) || q != le) {
                snprintf(err, errlen, "spamd's Spam header is not \"WORD ; SCORE / REQUIRED\"");
                return -1;
            }
            spam_seen++;
        }
        p = nl + 2;
    }
    size_t blen = (size_t)(end - p);
    if (spam_seen != 1 || clen < 0 || (size_t)clen != blen) {
        snprintf(err, errlen, "spamd's answer lacks one Spam header or a Content-length that matches");
        return -1;
    }
    while (blen && (p[blen - 1] == '\n' || p[blen - 1] == '\r'))
        blen--;
    snprintf(r->action, sizeof r->action, "%s", is_spam ? "spam" : "no action");
    symbols_from(p, blen, r->symbols, sizeof r->symbols);
    return 0;
}
