/* fuzz_smtp_parser.c - libFuzzer target for the SMTP command line and parameter parser.
 * Owner: src/smtp. Every command line a client can send goes through these functions. The
 * checks beyond "no crash": accepted addresses contain no control bytes or spaces outside
 * quotes, and error replies are well-formed SMTP reply lines; an address is routed exactly when
 * its local part holds '@', '%' or '!'; its log form (sg_log_escape) is one field. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "smtp/parser.h"

static void check_reply(const char *r)
{
    if (strlen(r) < 10 || r[3] != ' ' || (r[0] != '5' && r[0] != '4') || strchr(r, '\r') || strchr(r, '\n'))
        abort();
}

static void check_addr(const char *a)
{
    for (const unsigned char *p = (const unsigned char *)a; *p; p++)
        if (*p < 32 || *p == 127)
            abort();
    const char *dom = sg_smtp_addr_domain(a);
    size_t local = dom ? (size_t)(dom - 1 - a) : strlen(a);
    bool ops = strcspn(a, "@%!") < local;
    if (sg_smtp_addr_routed(a) != ops)
        abort();
    const char *e = SG_LOG_TOK(a);
    for (const char *p = e; *p; p++)
        if (*p <= ' ' || *p >= 127 || *p == '=' || *p == '"' || (*p == '\\' && p[1] != 'x'))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    if (!line)
        return 0;
    memcpy(line, data, size);
    line[size] = '\0';
    size_t len = strlen(line); /* the server refuses lines with NUL before parsing */
    const char *arg;
    int verb = sg_smtp_parse_verb(line, len, &arg);
    char reply[SG_SMTP_REPLY_MAX];
    if (verb == SG_CMD_MAIL) {
        sg_mail_args a;
        if (sg_smtp_parse_mail(arg, &a, reply) == 0) {
            check_addr(a.addr);
            sg_mail_args_free(&a);
        } else {
            check_reply(reply);
        }
    } else if (verb == SG_CMD_RCPT) {
        sg_rcpt_args a;
        if (sg_smtp_parse_rcpt(arg, &a, reply) == 0) {
            check_addr(a.addr);
            if (!*a.addr)
                abort(); /* the null path is only for MAIL */
            (void)sg_smtp_addr_domain(a.addr);
            sg_rcpt_args_free(&a);
        } else {
            check_reply(reply);
        }
    } else if (verb == SG_CMD_BDAT) {
        unsigned long long n;
        bool last;
        if (sg_smtp_parse_bdat(arg, &n, &last, reply) < 0)
            check_reply(reply);
    }
    free(line);
    return 0;
}
