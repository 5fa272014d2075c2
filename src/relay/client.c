/* client.c - SMTP client protocol for the relay (RFC 5321, 2920 PIPELINING, 3207 STARTTLS,
 * 3030 CHUNKING). Owner: src/relay.
 * Blocking I/O with SO_RCVTIMEO/SO_SNDTIMEO = command_timeout: a worker thread owns one
 * connection, so blocking is simpler than an event loop and costs one thread per connection,
 * which max_connections bounds. Replies are read through a fixed buffer; a reply line longer
 * than that is cut, never allowed to grow memory. */
#include "relay/client.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/log.h"
#include "lib/netaddr.h"
#include "smtp/dotstuff.h"

#define OUT_MAX (4u << 20)          /* pipelined commands plus one data chunk */
#define BDAT_CHUNK (1u << 20)       /* bytes per BDAT command */
#define DATA_CHUNK (64u << 10)      /* bytes read and stuffed at a time */

void sg_client_init(sg_client *c, const sg_client_opts *o)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->o = o;
    sg_buf_init(&c->out, OUT_MAX);
}

static void local_reply(sg_reply *r, int code, const char *status, const char *fmt, const char *arg)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, arg);
    r->code = code;
    r->local = true;
    snprintf(r->status, sizeof r->status, "%s", status);
    snprintf(r->text, sizeof r->text, "%d %s %s", code, status, msg);
}

void sg_client_close(sg_client *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    c->rpos = c->rlen = 0;
    c->ext = 0;
    c->size_max = 0;
    c->transactions = 0;
}

void sg_client_free(sg_client *c)
{
    sg_client_close(c);
    sg_buf_free(&c->out);
}

/* ---- raw I/O ---- */

static int io_write(sg_client *c, const char *p, size_t len)
{
    while (len) {
        ssize_t w;
        if (c->ssl) {
            int n = SSL_write(c->ssl, p, len > (1u << 30) ? 1 << 30 : (int)len);
            if (n <= 0)
                return -1;
            w = n;
        } else {
            w = send(c->fd, p, len, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int flush_out(sg_client *c)
{
    int rc = io_write(c, c->out.data ? c->out.data : "", c->out.len);
    sg_buf_reset(&c->out);
    return rc;
}

static int fill(sg_client *c)
{
    if (c->rpos > 0) {
        memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
        c->rlen -= c->rpos;
        c->rpos = 0;
    }
    for (;;) {
        ssize_t r;
        if (c->ssl) {
            int n = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(sizeof c->rbuf - c->rlen));
            r = n > 0 ? n : -1;
        } else {
            r = recv(c->fd, c->rbuf + c->rlen, sizeof c->rbuf - c->rlen, 0);
            if (r < 0 && errno == EINTR)
                continue;
        }
        if (r <= 0)
            return -1; /* EOF, timeout (EAGAIN from SO_RCVTIMEO) or error */
        c->rlen += (size_t)r;
        return 0;
    }
}

/* One line without its CRLF into line (cut at cap). Returns its length or -1. */
static int read_line(sg_client *c, char *line, size_t cap)
{
    for (;;) {
        char *nl = memchr(c->rbuf + c->rpos, '\n', c->rlen - c->rpos);
        if (nl) {
            size_t l = (size_t)(nl - (c->rbuf + c->rpos));
            size_t keep = l && nl[-1] == '\r' ? l - 1 : l;
            if (keep >= cap)
                keep = cap - 1;
            memcpy(line, c->rbuf + c->rpos, keep);
            line[keep] = '\0';
            c->rpos += l + 1;
            return (int)keep;
        }
        if (c->rpos == 0 && c->rlen == sizeof c->rbuf) {
            /* A reply line over 4 KiB (RFC 5321 allows 512) is a protocol violation: drop it;
             * its tail then fails to parse as a reply line and the session ends. */
            c->rpos = c->rlen;
            continue;
        }
        if (fill(c) < 0)
            return -1;
    }
}

/* Reads a whole (possibly multi-line) reply. With ehlo, the extension keywords of an EHLO reply
 * are collected into c->ext and c->size_max. Returns 0, or -1 on I/O failure or a malformed reply. */
static int read_reply(sg_client *c, sg_reply *r, bool ehlo)
{
    char line[1024];
    size_t tl = 0;
    memset(r, 0, sizeof *r);
    if (ehlo) {
        c->ext = 0;
        c->size_max = 0;
    }
    for (int nlines = 0;; nlines++) {
        int l = read_line(c, line, sizeof line);
        if (l < 0 || nlines > 1000)
            return -1;
        if (l < 3 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
            !isdigit((unsigned char)line[2]) || (l > 3 && line[3] != ' ' && line[3] != '-'))
            return -1;
        int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        if (nlines > 0 && code != r->code)
            return -1;
        r->code = code;
        const char *txt = l > 4 ? line + 4 : "";
        for (char *p = line; *p; p++) /* peer text goes into logs and DSNs */
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = ' ';
        if (nlines == 0) /* "250-first" + "250 second" -> "250 first second" */
            tl = (size_t)snprintf(r->text, sizeof r->text, "%d%s%s", code, *txt ? " " : "", txt);
        else if (tl < sizeof r->text - 2)
            tl += (size_t)snprintf(r->text + tl, sizeof r->text - tl, " %s", txt);
        if (tl >= sizeof r->text)
            tl = sizeof r->text - 1;
        if (ehlo && nlines > 0) {
            char kw[32];
            size_t k = 0;
            while (txt[k] && txt[k] != ' ' && k < sizeof kw - 1) {
                kw[k] = (char)toupper((unsigned char)txt[k]);
                k++;
            }
            kw[k] = '\0';
            static const struct {
                const char *kw;
                unsigned bit;
            } exts[] = {{"PIPELINING", SG_EXT_PIPELINING},
                        {"SIZE", SG_EXT_SIZE},
                        {"8BITMIME", SG_EXT_8BITMIME},
                        {"BINARYMIME", SG_EXT_BINARYMIME},
                        {"CHUNKING", SG_EXT_CHUNKING},
                        {"SMTPUTF8", SG_EXT_SMTPUTF8},
                        {"DSN", SG_EXT_DSN},
                        {"STARTTLS", SG_EXT_STARTTLS}};
            for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
                if (strcmp(kw, exts[i].kw) == 0)
                    c->ext |= exts[i].bit;
            if (strcmp(kw, "SIZE") == 0 && txt[k] == ' ')
                c->size_max = strtoull(txt + k + 1, NULL, 10);
        }
        if (l == 3 || line[3] == ' ')
            break;
    }
    /* RFC 3463 enhanced status code, when its class matches the reply's */
    const char *s = r->text + 4;
    if (strlen(r->text) > 4 && s[0] == '0' + r->code / 100 && s[1] == '.') {
        size_t k = 2; /* after "c.": subject, '.', detail */
        int dots = 0;
        while (isdigit((unsigned char)s[k]) || (s[k] == '.' && dots < 1 && (dots++, 1)))
            k++;
        if (dots == 1 && k < sizeof r->status && isdigit((unsigned char)s[2]) && s[k - 1] != '.' &&
            (s[k] == ' ' || !s[k]))
            memcpy(r->status, s, k), r->status[k] = '\0';
    }
    return 0;
}

static int command(sg_client *c, sg_reply *r, const char *fmt, const char *arg)
{
    sg_buf_reset(&c->out);
    if (sg_buf_appendf(&c->out, fmt, arg) < 0 || flush_out(c) < 0)
        return -1;
    return read_reply(c, r, false);
}

/* ---- session setup ---- */

static int ehlo(sg_client *c, sg_reply *r)
{
    sg_buf_reset(&c->out);
    if (sg_buf_appendf(&c->out, "EHLO %s\r\n", c->o->helo) < 0 || flush_out(c) < 0 ||
        read_reply(c, r, true) < 0)
        return -1;
    if (r->code / 100 == 5) { /* an old server: HELO, no extensions */
        c->ext = 0;
        if (command(c, r, "HELO %s\r\n", c->o->helo) < 0)
            return -1;
    }
    return 0;
}

static const char *level_name(int mode)
{
    static const char *const names[] = {"none", "may", "encrypt", "verify", "fingerprint"};
    return mode >= 0 && mode <= SG_TLS_FINGERPRINT ? names[mode] : "?";
}

/* Returns 1 with TLS up and its level met, 0 when tls=may carries on in the clear because the
 * hop refused STARTTLS, -1 with *why filled (the session is unusable). */
static int starttls(sg_client *c, sg_reply *why)
{
    sg_reply r;
    char lvl[40];
    snprintf(lvl, sizeof lvl, "tls=%s", level_name(c->o->tls_mode));
    if (command(c, &r, "STARTTLS\r\n", NULL) < 0) {
        local_reply(why, 451, "4.4.2", "connection lost with %s during STARTTLS", c->o->next_hop);
        return -1;
    }
    if (r.code != 220) {
        if (c->o->tls_mode >= SG_TLS_ENCRYPT) {
            local_reply(why, 451, "4.7.5", "STARTTLS refused by %s", c->o->next_hop);
            snprintf(why->text + strlen(why->text), sizeof why->text - strlen(why->text), " (%s)", lvl);
            snprintf(why->text + strlen(why->text), sizeof why->text - strlen(why->text), ": %.900s", r.text);
            return -1;
        }
        return 0; /* may: carry on in the clear */
    }
    if (c->rlen > c->rpos) { /* bytes sent before the handshake could be an injection */
        local_reply(why, 451, "4.7.0", "%s sent data after 220 to STARTTLS", c->o->next_hop);
        return -1;
    }
    sg_tls_policy pol = {.level = c->o->tls_mode, .match = c->o->tls_match, .fingerprints = c->o->tls_fingerprints};
    c->ssl = SSL_new(c->o->tls_ctx);
    if (!c->ssl || !SSL_set_fd(c->ssl, c->fd) || sg_tls_client_prepare(c->ssl, c->o->next_hop, &pol) < 0 ||
        SSL_connect(c->ssl) != 1) {
        /* Once STARTTLS was accepted this session cannot continue in the clear; and at no level
         * does a failed handshake turn into plain text: it could be an attacker's doing, and an
         * error is never "not encrypted". The mail is deferred and TLS tried again. */
        char e[160];
        unsigned long ec = ERR_get_error();
        if (ec)
            ERR_error_string_n(ec, e, sizeof e);
        else /* no TLS error queued: the hop closed the connection or stopped answering */
            snprintf(e, sizeof e, "connection closed or timed out");
        ERR_clear_error();
        local_reply(why, 451, "4.7.5", "TLS handshake with %s failed", c->o->next_hop);
        snprintf(why->text + strlen(why->text), sizeof why->text - strlen(why->text), ": %s (%s)", e, lvl);
        return -1;
    }
    if (sg_tls_client_check(c->ssl, &pol, &c->tls) < 0) {
        local_reply(why, 451, "4.7.5", "TLS with %s not verified", c->o->next_hop);
        snprintf(why->text + strlen(why->text), sizeof why->text - strlen(why->text), ": %s (%s)", c->tls.why,
                 lvl);
        return -1;
    }
    return 1;
}

int sg_client_connect(sg_client *c, sg_reply *why)
{
    sg_client_close(c);
    memset(&c->tls, 0, sizeof c->tls); /* tls=none until a handshake proves more */
    c->fd = sg_connect_tcp(c->o->next_hop, c->o->connect_timeout);
    if (c->fd < 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "cannot connect to %s: %s", c->o->next_hop, strerror(errno));
        local_reply(why, 451, "4.4.1", "%s", msg);
        return -1;
    }
    struct timeval tv = {.tv_sec = c->o->command_timeout};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return sg_client_session_start(c, why);
}

int sg_client_session_start(sg_client *c, sg_reply *why)
{
    sg_reply r;
    if (read_reply(c, &r, false) < 0) {
        local_reply(why, 451, "4.4.2", "no greeting from %s", c->o->next_hop);
        goto fail;
    }
    if (r.code != 220) {
        local_reply(why, 451, "4.3.0", "greeting from %s", c->o->next_hop);
        goto fail_reply;
    }
    if (ehlo(c, &r) < 0) {
        local_reply(why, 451, "4.4.2", "connection lost with %s after EHLO", c->o->next_hop);
        goto fail;
    }
    if (r.code / 100 != 2) {
        local_reply(why, 451, "4.3.0", "EHLO/HELO refused by %s", c->o->next_hop);
        goto fail_reply;
    }
    if (c->o->tls_mode != SG_TLS_NONE) {
        if (!(c->ext & SG_EXT_STARTTLS)) {
            if (c->o->tls_mode >= SG_TLS_ENCRYPT) {
                local_reply(why, 451, "4.7.4", "%s does not offer STARTTLS", c->o->next_hop);
                snprintf(why->text + strlen(why->text), sizeof why->text - strlen(why->text), " (tls=%s)",
                         level_name(c->o->tls_mode));
                command(c, &r, "QUIT\r\n", NULL);
                goto fail;
            }
        } else {
            int t = starttls(c, why);
            if (t < 0) {
                char q[sizeof why->text];
                snprintf(q, sizeof q, "%s", why->text);
                for (char *p = q; *p; p++) /* peer text may hold quotes: keep key="value" whole */
                    if (*p == '"')
                        *p = '\'';
                sg_warn(NULL, "event=tls-failed relay=%s tls=%s reason=\"%s\"", c->o->next_hop,
                        sg_tls_result_name(c->tls.result), q);
                goto fail;
            }
            if (t == 1) { /* RFC 3207: forget everything learnt before TLS, ask again */
                if (ehlo(c, &r) < 0) {
                    local_reply(why, 451, "4.4.2", "connection lost with %s after EHLO", c->o->next_hop);
                    goto fail;
                }
                if (r.code / 100 != 2) {
                    local_reply(why, 451, "4.3.0", "EHLO after TLS refused by %s", c->o->next_hop);
                    goto fail_reply;
                }
            }
        }
    }
    c->last_used = time(NULL);
    return 0;
fail_reply:
    snprintf(why->text + strlen(why->text), sizeof why->text - strlen(why->text), ": %.900s", r.text);
fail:
    sg_client_close(c);
    return -1;
}

int sg_client_ready(sg_client *c, sg_reply *why)
{
    if (c->fd >= 0 && c->transactions > 0) {
        sg_reply r;
        /* The hop may have closed an idle connection; that is no reason to defer mail. */
        if (command(c, &r, "RSET\r\n", NULL) == 0 && r.code / 100 == 2)
            return 0;
        sg_client_close(c);
    }
    if (c->fd >= 0)
        return 0;
    return sg_client_connect(c, why);
}

/* ---- one transaction ---- */

/* The data, dot-stuffed (relay/dotstuff.h), and the terminator: read DATA_CHUNK bytes at a
 * time from d and written as c->out fills, so memory stays bounded whatever the message size.
 * The last piece goes out in one write with the terminator: a terminator written on its own
 * waits, under Nagle's algorithm, for the ACK the receiver delays (40 ms on Linux), which
 * capped bench/relay at ~220 msg/s.
 * -2 when d could not be read: the terminator is then never sent, so the hop cannot take a
 * cut message. */
static int send_data(sg_client *c, const sg_client_data *d)
{
    char *chunk = malloc(DATA_CHUNK);
    sg_dotstuff st;
    int rc = chunk ? 0 : -1, err = 0;
    sg_dotstuff_init(&st);
    sg_buf_reset(&c->out);
    for (size_t off = 0; rc == 0 && off < d->len; off += DATA_CHUNK) {
        size_t n = d->len - off < DATA_CHUNK ? d->len - off : DATA_CHUNK;
        if (d->read(d->ctx, off, chunk, n) < 0)
            rc = -2, err = errno;
        else if (sg_dotstuff_feed(&st, chunk, n, &c->out) < 0 || (off + n < d->len && flush_out(c) < 0))
            rc = -1;
    }
    free(chunk);
    if (rc == 0 && (sg_dotstuff_end(&st, &c->out) < 0 || flush_out(c) < 0))
        rc = -1;
    if (rc == -2)
        errno = err;
    return rc;
}

static int send_bdat(sg_client *c, const sg_client_data *d, sg_reply *r)
{
    char *chunk = malloc(d->len < BDAT_CHUNK ? d->len + 1 : BDAT_CHUNK);
    if (!chunk)
        return -1;
    size_t off = 0;
    int rc = 0, err = 0;
    do {
        size_t n = d->len - off > BDAT_CHUNK ? BDAT_CHUNK : d->len - off;
        bool last = off + n == d->len;
        sg_buf_reset(&c->out);
        if (n && d->read(d->ctx, off, chunk, n) < 0) {
            rc = -2, err = errno;
            break;
        }
        if (sg_buf_appendf(&c->out, "BDAT %zu%s\r\n", n, last ? " LAST" : "") < 0 ||
            sg_buf_append(&c->out, chunk, n) < 0 || flush_out(c) < 0 || read_reply(c, r, false) < 0) {
            rc = -1;
            break;
        }
        off += n;
        if (r->code / 100 != 2)
            break;
    } while (off < d->len);
    free(chunk);
    if (rc == -2)
        errno = err;
    return rc;
}

/* Gives every recipient still waiting for its outcome (accepted at RCPT) the reply r. */
static void settle(sg_reply *rr, size_t n, const bool *accepted, const sg_reply *r)
{
    for (size_t i = 0; i < n; i++)
        if (accepted[i])
            rr[i] = *r;
}

static int read_mem(void *ctx, size_t off, char *buf, size_t n)
{
    memcpy(buf, (const char *)ctx + off, n);
    return 0;
}

int sg_client_transaction(sg_client *c, const char *mail, const char *const *rcpt, size_t n, const char *data,
                          size_t len, bool bdat, sg_reply *rr)
{
    sg_client_data d = {.read = read_mem, .ctx = (void *)data, .len = len};
    return sg_client_transaction_from(c, mail, rcpt, n, &d, bdat, rr);
}

int sg_client_transaction_from(sg_client *c, const char *mail, const char *const *rcpt, size_t n,
                               const sg_client_data *data, bool bdat, sg_reply *rr)
{
    bool pipe = (c->ext & SG_EXT_PIPELINING) != 0;
    bool *acc = calloc(n ? n : 1, sizeof *acc);
    sg_reply r, lost;
    const char *stage = "MAIL FROM";
    size_t naccepted = 0;
    int sent = 0; /* -2: the data could not be read (not the connection's fault) */
    if (!acc)
        return -1;
    for (size_t i = 0; i < n; i++) {
        memset(&rr[i], 0, sizeof rr[i]);
        acc[i] = true; /* "waiting": a connection failure now makes each temporary */
    }
    c->transactions++;
    c->last_used = time(NULL);
    sg_buf_reset(&c->out);
    if (sg_buf_appendf(&c->out, "MAIL FROM:%s\r\n", mail) < 0)
        goto broken;
    if (pipe) { /* RFC 2920: MAIL, every RCPT and DATA in one write; replies come in order */
        for (size_t i = 0; i < n; i++)
            if (sg_buf_appendf(&c->out, "RCPT TO:%s\r\n", rcpt[i]) < 0)
                goto broken;
        if (!bdat && sg_buf_appendf(&c->out, "DATA\r\n") < 0)
            goto broken;
    }
    if (flush_out(c) < 0 || read_reply(c, &r, false) < 0)
        goto broken;
    bool mail_ok = r.code / 100 == 2;
    sg_reply mail_reply = r;
    stage = "RCPT TO";
    for (size_t i = 0; i < n; i++) {
        if (!pipe) {
            if (!mail_ok)
                break;
            sg_buf_reset(&c->out);
            if (sg_buf_appendf(&c->out, "RCPT TO:%s\r\n", rcpt[i]) < 0 || flush_out(c) < 0)
                goto broken;
        }
        if (read_reply(c, &r, false) < 0)
            goto broken;
        if (!mail_ok) {
            rr[i] = mail_reply; /* the sender's refusal is every recipient's reason */
            acc[i] = false;
        } else if (r.code / 100 != 2) {
            rr[i] = r;
            acc[i] = false;
        } else {
            naccepted++;
        }
    }
    if (!mail_ok)
        for (size_t i = 0; i < n; i++)
            rr[i] = mail_reply, acc[i] = false;
    stage = "DATA";
    if (bdat) {
        if (naccepted > 0) {
            stage = "BDAT";
            if ((sent = send_bdat(c, data, &r)) < 0)
                goto broken;
            settle(rr, n, acc, &r);
        }
    } else if (pipe || naccepted > 0) {
        if (!pipe) {
            sg_buf_reset(&c->out);
            if (sg_buf_appendf(&c->out, "DATA\r\n") < 0 || flush_out(c) < 0)
                goto broken;
        }
        if (read_reply(c, &r, false) < 0)
            goto broken;
        if (r.code == 354) {
            /* With nobody accepted (possible only when pipelining) send an empty message's
             * terminator: the hop then refuses it, having no recipients. */
            stage = "end of data";
            if ((sent = naccepted ? send_data(c, data) : io_write(c, ".\r\n", 3)) < 0 ||
                read_reply(c, &r, false) < 0)
                goto broken;
        }
        settle(rr, n, acc, &r);
    }
    bool clean = mail_ok && naccepted > 0 && r.code / 100 == 2;
    free(acc);
    c->last_used = time(NULL);
    if (!clean) { /* leave the session in a known state for the next message */
        if (command(c, &r, "RSET\r\n", NULL) < 0 || r.code / 100 != 2) {
            sg_client_close(c);
            return -1;
        }
        c->transactions = 0; /* already reset: the next transaction need not RSET again */
    }
    return 0;
broken:
    if (sent == -2) /* the session is mid-data: it is closed below, the hop drops what it got */
        local_reply(&lost, 451, "4.3.0", "local error reading the queued message (%s)", strerror(errno));
    else
        local_reply(&lost, 451, "4.4.2", "connection with %s lost or timed out", c->o->next_hop);
    snprintf(lost.text + strlen(lost.text), sizeof lost.text - strlen(lost.text), " after %s", stage);
    settle(rr, n, acc, &lost);
    free(acc);
    sg_client_close(c);
    return -1;
}

void sg_client_quit(sg_client *c)
{
    if (c->fd >= 0) {
        sg_reply r;
        command(c, &r, "QUIT\r\n", NULL);
        if (c->ssl)
            SSL_shutdown(c->ssl);
    }
    sg_client_close(c);
}
