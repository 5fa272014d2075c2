/* parser.h - SMTP command line and MAIL/RCPT parameter parsing (RFC 5321, 1870, 6152, 6531,
 * 3461, 3030). Owner: src/smtp. Pure functions over one command line (without CRLF): no I/O,
 * no allocation besides the strings handed back, so they can be unit-tested and fuzzed alone.
 * Errors come back as a complete SMTP reply line (code, enhanced code, text), so every caller
 * answers the same way. */
#ifndef SG_SMTP_PARSER_H
#define SG_SMTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>

enum sg_smtp_verb {
    SG_CMD_NONE, /* empty line */
    SG_CMD_UNKNOWN,
    SG_CMD_HELO,
    SG_CMD_EHLO,
    SG_CMD_MAIL,
    SG_CMD_RCPT,
    SG_CMD_DATA,
    SG_CMD_BDAT,
    SG_CMD_RSET,
    SG_CMD_NOOP,
    SG_CMD_QUIT,
    SG_CMD_VRFY,
    SG_CMD_HELP,
    SG_CMD_STARTTLS,
};

#define SG_SMTP_REPLY_MAX 256

/* Splits "VERB[ args]" (verb case-insensitive). *arg points into line (past one or more spaces),
 * "" when there is no argument. line must be NUL-terminated at len. */
int sg_smtp_parse_verb(const char *line, size_t len, const char **arg);

typedef struct sg_mail_args {
    char *addr; /* without angle brackets; "" for the null sender */
    bool has_size;
    unsigned long long size;
    char *body; /* "7BIT", "8BITMIME", "BINARYMIME" or NULL */
    bool smtputf8;
    char *ret;      /* "FULL", "HDRS" or NULL */
    char *envid;    /* xtext as received, or NULL */
    bool addr_utf8; /* the address has bytes >= 0x80 */
} sg_mail_args;

typedef struct sg_rcpt_args {
    char *addr;
    char *notify; /* as received, or NULL */
    char *orcpt;  /* as received (addr-type;xtext), or NULL */
    bool addr_utf8;
} sg_rcpt_args;

/* arg is everything after "MAIL"/"RCPT" ("FROM:<a@b> SIZE=10"). Returns 0, or -1 with the reply
 * to send in reply (SG_SMTP_REPLY_MAX bytes). On 0 the caller frees with sg_*_args_free. */
int sg_smtp_parse_mail(const char *arg, sg_mail_args *out, char *reply);
int sg_smtp_parse_rcpt(const char *arg, sg_rcpt_args *out, char *reply);
void sg_mail_args_free(sg_mail_args *a);
void sg_rcpt_args_free(sg_rcpt_args *a);

/* "BDAT <size> [LAST]". Returns 0, or -1 with a reply. */
int sg_smtp_parse_bdat(const char *arg, unsigned long long *size, bool *last, char *reply);

/* The domain of an address (after the last '@' outside a quoted local part), or NULL. */
const char *sg_smtp_addr_domain(const char *addr);
/* The local part of addr, quoting removed, holds a routing operator ('@', '%' or '!'):
 * user%other@ours, other!user@ours, "user@other"@ours. Postfix's resolver flags these as routed
 * and, with allow_untrusted_routing = no, relays them only for trusted clients; a later MTA may
 * turn them into remote addresses. */
bool sg_smtp_addr_routed(const char *addr);

#endif
