/* mail.c - the log entry of a mail processing decision (mail.h). Owner: src/audit (issue 14).
 * Field order (kind 0x02, docs/audit.md): queue, message-id-sha256, from, rcpt (comma-joined),
 * outcome, reason, groups (one "deliver:ADDR,ADDR" or "hold:ADDR,...:WHY" per output, joined
 * by ";"), node, time. SECURITY: see mail.h. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/sha.h>

#include "audit/log.h"
#include "audit/mail.h"

void sg_tlog_message_id_hash(const char *data, size_t len, char out[65])
{
    out[0] = '\0';
    const char *p = data, *end = data + len;
    while (p < end && *p != '\r' && *p != '\n') { /* each header line until the empty one */
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        if ((size_t)(end - p) > 11 && strncasecmp(p, "Message-ID:", 11) == 0) {
            char val[1024];
            size_t n = 0;
            const char *v = p + 11;
            for (;;) { /* the value with its folded continuation lines, whitespace dropped */
                for (; v < (eol ? eol : end); v++)
                    if (*v != ' ' && *v != '\t' && *v != '\r' && n < sizeof val)
                        val[n++] = *v;
                if (!eol || eol + 1 >= end || (eol[1] != ' ' && eol[1] != '\t'))
                    break;
                v = eol + 1;
                eol = memchr(v, '\n', (size_t)(end - v));
            }
            uint8_t d[32];
            SHA256((const uint8_t *)val, n, d);
            for (int i = 0; i < 32; i++)
                snprintf(out + 2 * i, 3, "%02x", d[i]);
            return;
        }
        p = next;
    }
}

/* Appends addr to buf (cap) after sep when buf is not empty; cut when full. */
static void join(char *buf, size_t cap, const char *sep, const char *addr)
{
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, "%s%s", n ? sep : "", addr ? addr : "");
}

int sg_tlog_mail(sg_store *s, const char *node, const char *qid, const sg_envelope *in, const char *data,
                 size_t len, const sg_transform_result *res, const char *outcome, const char *reason)
{
    static _Thread_local char rcpts[4096], groups[6144];
    char mid[65], now[32];
    sg_tlog_message_id_hash(data, len, mid);
    rcpts[0] = groups[0] = '\0';
    for (size_t i = 0; i < in->nrcpt; i++)
        join(rcpts, sizeof rcpts, ",", in->rcpt[i].addr);
    for (size_t k = 0; res && k < res->nout; k++) {
        const sg_envelope *e = &res->out[k].env;
        join(groups, sizeof groups, ";", res->out[k].hold ? "hold:" : "deliver:");
        for (size_t i = 0; i < e->nrcpt; i++)
            join(groups, sizeof groups, i ? "," : "", e->rcpt[i].addr);
        if (res->out[k].hold)
            join(groups, sizeof groups, ":", e->last_error ? e->last_error : "");
    }
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    sg_tlog_entry e;
    sg_tlog_entry_init(&e, SG_TLOG_KIND_MAIL);
    sg_tlog_entry_field(&e, "queue", qid);
    sg_tlog_entry_field(&e, "message-id-sha256", mid);
    sg_tlog_entry_field(&e, "from", in->from);
    sg_tlog_entry_field(&e, "rcpt", rcpts);
    sg_tlog_entry_field(&e, "outcome", outcome);
    sg_tlog_entry_field(&e, "reason", reason ? reason : "");
    sg_tlog_entry_field(&e, "groups", groups);
    sg_tlog_entry_field(&e, "node", node ? node : "");
    sg_tlog_entry_field(&e, "time", now);
    return sg_tlog_append(s, &e, qid, NULL);
}
