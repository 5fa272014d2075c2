/* parser.c - SMTP command line and MAIL/RCPT/BDAT parameter parsing. Owner: src/smtp.
 * Strict where strictness protects us (control bytes, spaces in addresses, unknown or duplicate
 * parameters, malformed DSN values), lenient where real clients differ harmlessly (a space after
 * "FROM:", verb case). Values the envelope keeps (NOTIFY, ORCPT, ENVID) are kept as received. */
#include "smtp/parser.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/xtext.h"

#define ADDR_MAX 256 /* RFC 5321 4.5.3.1.3: path, including the angle brackets */

static const struct {
    const char *name;
    int verb;
} verbs[] = {
    {"HELO", SG_CMD_HELO}, {"EHLO", SG_CMD_EHLO}, {"MAIL", SG_CMD_MAIL}, {"RCPT", SG_CMD_RCPT},
    {"DATA", SG_CMD_DATA}, {"BDAT", SG_CMD_BDAT}, {"RSET", SG_CMD_RSET}, {"NOOP", SG_CMD_NOOP},
    {"QUIT", SG_CMD_QUIT}, {"VRFY", SG_CMD_VRFY}, {"HELP", SG_CMD_HELP}, {"STARTTLS", SG_CMD_STARTTLS},
};

int sg_smtp_parse_verb(const char *line, size_t len, const char **arg)
{
    size_t n = 0;
    while (n < len && line[n] != ' ')
        n++;
    const char *a = line + n;
    while (*a == ' ')
        a++;
    *arg = a;
    if (len == 0)
        return SG_CMD_NONE;
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strlen(verbs[i].name) == n && strncasecmp(line, verbs[i].name, n) == 0)
            return verbs[i].verb;
    return SG_CMD_UNKNOWN;
}

static int fail(char *reply, const char *text)
{
    snprintf(reply, SG_SMTP_REPLY_MAX, "%s", text);
    return -1;
}

static int is_atext(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c)) || c >= 0x80;
}

/* Parses "<path>" at *pp; on success *pp points past '>' and *addr is a malloc'd copy of the
 * mailbox without brackets or source route. Returns 0 or -1. */
static int parse_path(const char **pp, char **addr, bool *utf8, bool null_ok, bool postmaster_ok)
{
    const char *p = *pp;
    if (*p != '<')
        return -1;
    p++;
    /* Obsolete source route "@a,@b:" (RFC 5321 4.1.2): accepted and ignored. */
    if (*p == '@') {
        while (*p && *p != ':' && *p != '>' && *p != ' ')
            p++;
        if (*p != ':')
            return -1;
        p++;
    }
    const char *start = p;
    *utf8 = false;
    if (*p == '>') {
        if (!null_ok)
            return -1;
        *addr = strdup("");
        *pp = p + 1;
        return *addr ? 0 : -1;
    }
    /* local part: dot-string or quoted-string */
    if (*p == '"') {
        p++;
        for (;;) {
            unsigned char c = (unsigned char)*p;
            if (c == '"')
                break;
            if (c == '\\') {
                p++;
                c = (unsigned char)*p;
                if (c < 32 || c == 127)
                    return -1;
            } else if (c < 32 || c == 127) {
                return -1;
            }
            if (c >= 0x80)
                *utf8 = true;
            p++;
        }
        p++;
    } else {
        const char *ls = p;
        while (is_atext((unsigned char)*p) || *p == '.') {
            if ((unsigned char)*p >= 0x80)
                *utf8 = true;
            p++;
        }
        if (p == ls || *ls == '.' || p[-1] == '.' || memmem(ls, (size_t)(p - ls), "..", 2))
            return -1;
    }
    if (*p == '@') {
        p++;
        const char *ds = p;
        if (*p == '[') {
            while (*p && *p != ']') {
                unsigned char c = (unsigned char)*p;
                if (c < 33 || c > 126 || c == '\\' || (c == '[' && p != ds))
                    return -1;
                p++;
            }
            if (*p != ']')
                return -1;
            p++;
        } else {
            while (isalnum((unsigned char)*p) || *p == '-' || *p == '.' || (unsigned char)*p >= 0x80) {
                if ((unsigned char)*p >= 0x80)
                    *utf8 = true;
                p++;
            }
            if (p == ds || *ds == '.' || *ds == '-' || p[-1] == '.')
                return -1;
        }
    } else if (!(postmaster_ok && (size_t)(p - start) == 10 && strncasecmp(start, "postmaster", 10) == 0)) {
        return -1;
    }
    if (*p != '>' || p - start + 2 > ADDR_MAX)
        return -1;
    *addr = strndup(start, (size_t)(p - start));
    *pp = p + 1;
    return *addr ? 0 : -1;
}

/* Splits the next " KEY[=VALUE]" parameter. Returns 1 with key/value copied into the buffers,
 * 0 at the end, -1 on bad syntax. */
static int next_param(const char **pp, char *key, size_t keymax, char *val, size_t valmax, bool *has_val)
{
    const char *p = *pp;
    if (*p == '\0')
        return 0;
    if (*p != ' ')
        return -1;
    while (*p == ' ')
        p++;
    if (*p == '\0') {
        *pp = p;
        return 0;
    }
    size_t k = 0;
    if (!isalnum((unsigned char)*p))
        return -1;
    while (isalnum((unsigned char)*p) || *p == '-') {
        if (k + 1 >= keymax)
            return -1;
        key[k++] = *p++;
    }
    key[k] = '\0';
    *has_val = false;
    val[0] = '\0';
    if (*p == '=') {
        p++;
        size_t v = 0;
        while (*p && *p != ' ') {
            unsigned char c = (unsigned char)*p;
            if (c < 33 || c > 126 || c == '=' || v + 1 >= valmax)
                return -1;
            val[v++] = *p++;
        }
        if (v == 0)
            return -1;
        val[v] = '\0';
        *has_val = true;
    }
    if (*p != '\0' && *p != ' ')
        return -1;
    *pp = p;
    return 1;
}

/* Parses "FROM:" / "TO:" prefix, case-insensitive, with an optional space after the colon. */
static const char *prefix(const char *arg, const char *want)
{
    size_t n = strlen(want);
    if (strncasecmp(arg, want, n) != 0)
        return NULL;
    arg += n;
    while (*arg == ' ')
        arg++;
    return arg;
}

void sg_mail_args_free(sg_mail_args *a)
{
    free(a->addr);
    free(a->body);
    free(a->ret);
    free(a->envid);
    memset(a, 0, sizeof *a);
}

void sg_rcpt_args_free(sg_rcpt_args *a)
{
    free(a->addr);
    free(a->notify);
    free(a->orcpt);
    memset(a, 0, sizeof *a);
}

static int unsupported(char *reply, const char *key)
{
    snprintf(reply, SG_SMTP_REPLY_MAX, "555 5.5.4 Unsupported option: %.64s", key);
    return -1;
}

static int parse_ull(const char *s, unsigned long long *out)
{
    if (!*s || strlen(s) > 20)
        return -1;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int sg_smtp_parse_mail(const char *arg, sg_mail_args *out, char *reply)
{
    memset(out, 0, sizeof *out);
    const char *p = prefix(arg, "FROM:");
    if (!p)
        return fail(reply, "501 5.5.4 Syntax: MAIL FROM:<address>");
    if (parse_path(&p, &out->addr, &out->addr_utf8, true, false) < 0)
        return fail(reply, "501 5.1.7 Bad sender address syntax");
    char key[32], val[128];
    bool has_val;
    int r;
    while ((r = next_param(&p, key, sizeof key, val, sizeof val, &has_val)) == 1) {
        if (strcasecmp(key, "SIZE") == 0) {
            if (out->has_size || !has_val || parse_ull(val, &out->size) < 0)
                goto bad;
            out->has_size = true;
        } else if (strcasecmp(key, "BODY") == 0) {
            static const char *const bodies[] = {"7BIT", "8BITMIME", "BINARYMIME"};
            if (out->body || !has_val)
                goto bad;
            for (int i = 0; i < 3 && !out->body; i++)
                if (strcasecmp(val, bodies[i]) == 0)
                    out->body = strdup(bodies[i]);
            if (!out->body)
                goto bad;
        } else if (strcasecmp(key, "SMTPUTF8") == 0) {
            if (out->smtputf8 || has_val)
                goto bad;
            out->smtputf8 = true;
        } else if (strcasecmp(key, "RET") == 0) {
            if (out->ret || !has_val)
                goto bad;
            if (strcasecmp(val, "FULL") == 0)
                out->ret = strdup("FULL");
            else if (strcasecmp(val, "HDRS") == 0)
                out->ret = strdup("HDRS");
            else
                goto bad;
        } else if (strcasecmp(key, "ENVID") == 0) {
            /* RFC 3461 4.4: at most 100 characters, xtext */
            if (out->envid || !has_val || strlen(val) > 100 || !sg_xtext_valid(val))
                goto bad;
            out->envid = strdup(val);
        } else {
            sg_mail_args_free(out);
            return unsupported(reply, key);
        }
    }
    if (r < 0)
        goto bad;
    return 0;
bad:
    sg_mail_args_free(out);
    return fail(reply, "501 5.5.4 Syntax: bad MAIL parameter");
}

/* NOTIFY=NEVER or a comma list of SUCCESS, FAILURE, DELAY without repeats (RFC 3461 4.1). */
static bool notify_valid(const char *v)
{
    if (strcasecmp(v, "NEVER") == 0)
        return true;
    unsigned seen = 0;
    const char *p = v;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        unsigned bit = 0;
        if (n == 7 && strncasecmp(p, "SUCCESS", 7) == 0)
            bit = 1;
        else if (n == 7 && strncasecmp(p, "FAILURE", 7) == 0)
            bit = 2;
        else if (n == 5 && strncasecmp(p, "DELAY", 5) == 0)
            bit = 4;
        if (!bit || (seen & bit))
            return false;
        seen |= bit;
        if (!c)
            return true;
        p = c + 1;
    }
}

/* ORCPT=addr-type;xtext (RFC 3461 4.2): addr-type is an atom, the address valid xtext. */
static bool orcpt_valid(const char *v)
{
    const char *semi = strchr(v, ';');
    if (!semi || semi == v || !semi[1])
        return false;
    for (const char *p = v; p < semi; p++)
        if (!isalnum((unsigned char)*p) && *p != '-')
            return false;
    return sg_xtext_valid(semi + 1) != 0;
}

int sg_smtp_parse_rcpt(const char *arg, sg_rcpt_args *out, char *reply)
{
    memset(out, 0, sizeof *out);
    const char *p = prefix(arg, "TO:");
    if (!p)
        return fail(reply, "501 5.5.4 Syntax: RCPT TO:<address>");
    if (parse_path(&p, &out->addr, &out->addr_utf8, false, true) < 0)
        return fail(reply, "501 5.1.3 Bad recipient address syntax");
    char key[32], val[600];
    bool has_val;
    int r;
    while ((r = next_param(&p, key, sizeof key, val, sizeof val, &has_val)) == 1) {
        if (strcasecmp(key, "NOTIFY") == 0) {
            if (out->notify || !has_val || !notify_valid(val))
                goto bad;
            out->notify = strdup(val);
        } else if (strcasecmp(key, "ORCPT") == 0) {
            if (out->orcpt || !has_val || strlen(val) > 500 || !orcpt_valid(val))
                goto bad;
            out->orcpt = strdup(val);
        } else {
            sg_rcpt_args_free(out);
            return unsupported(reply, key);
        }
    }
    if (r < 0)
        goto bad;
    return 0;
bad:
    sg_rcpt_args_free(out);
    return fail(reply, "501 5.5.4 Syntax: bad RCPT parameter");
}

int sg_smtp_parse_bdat(const char *arg, unsigned long long *size, bool *last, char *reply)
{
    char num[32];
    size_t n = 0;
    while (isdigit((unsigned char)arg[n]) && n < sizeof num - 1) {
        num[n] = arg[n];
        n++;
    }
    num[n] = '\0';
    if (n == 0 || parse_ull(num, size) < 0)
        return fail(reply, "501 5.5.4 Syntax: BDAT chunk-size [LAST]");
    const char *p = arg + n;
    *last = false;
    if (*p == ' ') {
        while (*p == ' ')
            p++;
        if (strncasecmp(p, "LAST", 4) == 0) {
            *last = true;
            p += 4;
            while (*p == ' ')
                p++;
        }
    }
    if (*p != '\0')
        return fail(reply, "501 5.5.4 Syntax: BDAT chunk-size [LAST]");
    return 0;
}

const char *sg_smtp_addr_domain(const char *addr)
{
    const char *at = NULL;
    bool quoted = false;
    for (const char *p = addr; *p; p++) {
        if (*p == '\\' && quoted && p[1])
            p++;
        else if (*p == '"')
            quoted = !quoted;
        else if (*p == '@' && !quoted)
            at = p;
    }
    return at && at[1] ? at + 1 : NULL;
}

bool sg_smtp_addr_routed(const char *addr)
{
    const char *domain = sg_smtp_addr_domain(addr);
    const char *end = domain ? domain - 1 : addr + strlen(addr);
    for (const char *p = addr; p < end; p++) {
        if (*p == '\\' && p + 1 < end)
            p++; /* a quoted pair is the character itself: "a\@b" holds '@' */
        if (*p == '@' || *p == '%' || *p == '!')
            return true;
    }
    return false;
}
