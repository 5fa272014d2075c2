/* session.c - the SMTP protocol of one session: command lines, the transaction, DATA and BDAT
 * content, STARTTLS. Owner: src/smtp.
 * Commands are taken from the input buffer one at a time and answered in order (PIPELINING);
 * replies collect in the output buffer, which libevent writes once the input is drained.
 * Security rules kept here: bare CR/LF is refused (SMTP smuggling) in commands, DATA and BDAT
 * text alike (only BINARYMIME content is binary), recipients with sender-specified routing
 * (user%host@ours) are refused from untrusted clients, peer values are logged escaped
 * (sg_log_escape), bytes pipelined after STARTTLS are discarded (CVE-2011-0411 class), and a
 * message is acknowledged only after the backend reports it durable. */
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "queue/queue.h"
#include "smtp/parser.h"
#include "smtp/session_int.h"

#define CHUNK 16384
/* Replies waiting for a client that does not read: above this, commands are left in the input
 * buffer (which is bounded by the read watermark) until the output drains. */
#define OUT_MAX (64 * 1024)

static const char *qid(sg_session *s)
{
    return s->txn ? s->txn->env.id : NULL;
}

static void vreply(sg_session *s, bool count, const char *fmt, va_list ap)
{
    if (!s->bev || s->closing)
        return;
    char line[1024]; /* replies are short; an address in one is at most 256 bytes */
    int n = vsnprintf(line, sizeof line - 2, fmt, ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 3)
        n = (int)sizeof line - 3;
    memcpy(line + n, "\r\n", 2);
    evbuffer_add(bufferevent_get_output(s->bev), line, (size_t)n + 2);
    if (count && (line[0] == '4' || line[0] == '5') && ++s->errors >= s->srv->cfg->smtpd.max_errors) {
        sg_info(qid(s), "event=too-many-errors client=%s", s->ip);
        sg_session_reset_txn(s);
        sg_reply_close(s, "421 4.7.0 %s Error: too many errors", s->srv->cfg->hostname);
    }
}

void sg_reply(sg_session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreply(s, true, fmt, ap);
    va_end(ap);
}

void sg_reply_close(sg_session *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreply(s, false, fmt, ap);
    va_end(ap);
    sg_session_close(s);
}

void sg_session_greet(sg_session *s)
{
    sg_reply(s, "220 %s ESMTP sealgate", s->srv->cfg->hostname);
}

void sg_session_reset_txn(sg_session *s)
{
    sg_txn *t = s->txn;
    if (!t)
        return;
    if (t->handle)
        s->srv->be->abort(s->srv->be->ctx, t->handle);
    sg_env_free(&t->env);
    free(t->dr);
    free(t);
    s->txn = NULL;
}

/* ---- content ---- */

static void deliver(sg_session *s, const char *data, size_t n)
{
    sg_txn *t = s->txn;
    t->size += n;
    if (t->size > s->srv->cfg->smtpd.max_message_size)
        t->too_big = true; /* keep reading to the end, then answer 552 */
    if (n && !t->too_big && !t->write_failed && s->srv->be->write(t->handle, data, n) < 0)
        t->write_failed = true;
}

static void commit_done(void *arg, bool ok, const char *name)
{
    sg_session *s = arg;
    sg_txn *t = s->txn;
    s->commit_pending = false;
    if (ok)
        sg_info(t->env.id, "event=%s from=<%s> nrcpt=%zu size=%llu client=%s name=%s", s->srv->be->event,
                SG_LOG_TOK(t->env.from), t->env.nrcpt, t->size, s->ip, name);
    else
        sg_error(t->env.id, "event=commit-failed from=<%s> client=%s", SG_LOG_TOK(t->env.from), s->ip);
    if (s->dead) {
        sg_session_free(s);
        return;
    }
    if (ok)
        sg_reply(s, "250 2.0.0 Ok: %s %s", s->srv->be->ack, name);
    else
        sg_reply(s, "451 4.3.0 Error: queue write failed");
    sg_session_reset_txn(s);
    s->state = SS_CMD;
    if (s->stop_after_commit) {
        sg_reply_close(s, "421 4.3.2 %s Service shutting down", s->srv->cfg->hostname);
        return;
    }
    if (!s->closing)
        sg_session_process(s); /* commands pipelined behind the message */
}

/* End of DATA or BDAT LAST: answer errors, or hand the message to the backend. */
static void finish_message(sg_session *s)
{
    sg_txn *t = s->txn;
    s->state = SS_CMD;
    if (t->too_big || (t->dr && t->dr->line_too_long) || t->write_failed || !t->handle) {
        const char *why = t->too_big ? "size" : t->write_failed || !t->handle ? "write" : "line_length";
        sg_info(t->env.id, "event=reject reason=%s client=%s", why, s->ip);
        sg_session_reset_txn(s);
        if (why[0] == 's')
            sg_reply(s, "552 5.3.4 Message size exceeds fixed limit");
        else if (why[0] == 'l')
            sg_reply(s, "552 5.3.4 Error: message line too long");
        else
            sg_reply(s, "451 4.3.0 Error: queue write failed");
        return;
    }
    void *h = t->handle;
    t->handle = NULL; /* the backend owns it now */
    s->commit_pending = true;
    s->srv->be->commit(s->srv->be->ctx, h, commit_done, s);
}

static void smuggling(sg_session *s, const char *what)
{
    sg_info(qid(s), "event=reject reason=bare_%s client=%s", what[1] == 'L' ? "lf" : "cr", s->ip);
    sg_session_reset_txn(s); /* nothing of this transaction is kept */
    sg_reply_close(s, "521 5.5.2 %s Error: bare %s received", s->srv->cfg->hostname, what);
}

/* A reader that stopped on a bare CR or LF: refuse and close. True when it did. */
static bool bare_newline(sg_session *s)
{
    int st = s->txn->dr->status;
    if (st == SG_DR_BARE_LF || st == SG_DR_BARE_CR)
        smuggling(s, st == SG_DR_BARE_LF ? "<LF>" : "<CR>");
    return st == SG_DR_BARE_LF || st == SG_DR_BARE_CR;
}

/* Returns true when progress was made and the loop should continue. */
static bool read_data(sg_session *s, struct evbuffer *in)
{
    struct evbuffer_iovec v;
    if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
        return false;
    char out[CHUNK];
    size_t olen = 0;
    sg_datareader *dr = s->txn->dr;
    size_t used = sg_dr_feed(dr, v.iov_base, v.iov_len, out, sizeof out, &olen);
    evbuffer_drain(in, used);
    s->last = sg_now_ms();
    deliver(s, out, olen);
    if (!bare_newline(s) && dr->status == SG_DR_END)
        finish_message(s);
    return used > 0;
}

/* BDAT text through the DATA reader in chunk mode (bare CR/LF as in DATA); last: the message
 * ends here. False when the session was closed for a bare line end. */
static bool bdat_text(sg_session *s, const char *in, size_t n, bool last)
{
    sg_datareader *dr = s->txn->dr;
    char out[CHUNK];
    size_t used = 0, olen;
    while (used < n && dr->status == SG_DR_MORE) {
        olen = 0;
        used += sg_dr_feed(dr, in + used, n - used, out, sizeof out, &olen);
        deliver(s, out, olen);
    }
    if (last && dr->status == SG_DR_MORE) {
        olen = 0;
        sg_dr_finish(dr, out, &olen);
        deliver(s, out, olen);
    }
    return !bare_newline(s);
}

static void chunk_done(sg_session *s)
{
    s->state = SS_CMD;
    if (s->bdat_reply) {
        sg_session_reset_txn(s);
        sg_reply(s, "%s", s->bdat_reply);
        free(s->bdat_reply);
        s->bdat_reply = NULL;
        return;
    }
    sg_txn *t = s->txn;
    if (s->bdat_last && t->dr && !bdat_text(s, NULL, 0, true))
        return;
    if (s->bdat_last || t->too_big || t->write_failed) {
        finish_message(s);
        return;
    }
    sg_reply(s, "250 2.0.0 Ok: %llu bytes received", s->bdat_size);
}

static bool read_bdat(sg_session *s, struct evbuffer *in)
{
    if (s->bdat_left == 0) {
        chunk_done(s);
        return true;
    }
    size_t avail = evbuffer_get_length(in);
    if (avail == 0)
        return false;
    char buf[CHUNK];
    size_t take = avail < sizeof buf ? avail : sizeof buf;
    if (take > s->bdat_left)
        take = (size_t)s->bdat_left;
    evbuffer_remove(in, buf, take);
    s->bdat_left -= take;
    s->last = sg_now_ms();
    if (!s->bdat_reply && s->txn->dr && !bdat_text(s, buf, take, false))
        return true; /* closed: the loop stops */
    if (!s->bdat_reply && !s->txn->dr)
        deliver(s, buf, take); /* BINARYMIME: bare CR and LF are content */
    if (s->bdat_left == 0)
        chunk_done(s);
    return true;
}

/* ---- commands ---- */

static bool need_helo(sg_session *s)
{
    if (s->helo)
        return false;
    sg_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
    return true;
}

static void cmd_helo(sg_session *s, bool esmtp, const char *arg)
{
    if (!*arg) {
        sg_reply(s, "501 5.5.4 Syntax: %s hostname", esmtp ? "EHLO" : "HELO");
        return;
    }
    sg_session_reset_txn(s);
    free(s->helo);
    s->helo = strndup(arg, 255);
    s->esmtp = esmtp;
    const sg_config *cfg = s->srv->cfg;
    if (!esmtp) {
        sg_reply(s, "250 %s", cfg->hostname);
        return;
    }
    sg_reply(s, "250-%s", cfg->hostname);
    sg_reply(s, "250-PIPELINING");
    sg_reply(s, "250-SIZE %zu", cfg->smtpd.max_message_size);
    sg_reply(s, "250-8BITMIME");
    sg_reply(s, "250-SMTPUTF8");
    sg_reply(s, "250-ENHANCEDSTATUSCODES");
    sg_reply(s, "250-CHUNKING");
    sg_reply(s, "250-BINARYMIME");
    if (s->srv->tls && !s->tls)
        sg_reply(s, "250-STARTTLS");
    sg_reply(s, "250 DSN");
}

static void cmd_mail(sg_session *s, const char *arg)
{
    if (need_helo(s))
        return;
    if (s->txn) {
        sg_reply(s, "503 5.5.1 Error: nested MAIL command");
        return;
    }
    sg_mail_args a;
    char err[SG_SMTP_REPLY_MAX];
    if (sg_smtp_parse_mail(arg, &a, err) < 0) {
        sg_reply(s, "%s", err);
        return;
    }
    const sg_config *cfg = s->srv->cfg;
    if (a.addr_utf8 && !a.smtputf8) {
        sg_reply(s, "553 5.6.7 Error: non-ASCII address requires SMTPUTF8");
    } else if (a.has_size && a.size > cfg->smtpd.max_message_size) {
        sg_reply(s, "552 5.3.4 Message size exceeds fixed limit");
    } else if (!(s->txn = calloc(1, sizeof *s->txn))) {
        sg_reply(s, "451 4.3.0 Error: out of memory");
    } else {
        sg_envelope *e = &s->txn->env;
        sg_env_init(e);
        sg_queue_new_id(e->id);
        e->created = time(NULL);
        e->smtputf8 = a.smtputf8;
        if (sg_env_set(&e->client, s->ip) < 0 || sg_env_set(&e->helo, s->helo) < 0 ||
            sg_env_set(&e->from, a.addr) < 0 || sg_env_set(&e->envid, a.envid) < 0 ||
            sg_env_set(&e->ret, a.ret) < 0 || sg_env_set(&e->body, a.body) < 0) {
            sg_session_reset_txn(s);
            sg_reply(s, "451 4.3.0 Error: out of memory");
        } else {
            sg_debug(e->id, "event=mail from=<%s> client=%s", SG_LOG_TOK(e->from), s->ip);
            sg_reply(s, "250 2.1.0 Ok");
        }
    }
    sg_mail_args_free(&a);
}

static void cmd_rcpt(sg_session *s, const char *arg)
{
    if (need_helo(s))
        return;
    if (!s->txn) {
        sg_reply(s, "503 5.5.1 Error: need MAIL command");
        return;
    }
    if (s->txn->handle) {
        /* The envelope was written when the first chunk arrived: a recipient added now would be
         * acknowledged and then lost. */
        sg_reply(s, "503 5.5.1 Error: RCPT after BDAT");
        return;
    }
    sg_rcpt_args a;
    char err[SG_SMTP_REPLY_MAX];
    if (sg_smtp_parse_rcpt(arg, &a, err) < 0) {
        sg_reply(s, "%s", err);
        return;
    }
    const sg_config *cfg = s->srv->cfg;
    sg_envelope *e = &s->txn->env;
    const char *domain = sg_smtp_addr_domain(a.addr);
    if (a.addr_utf8 && !e->smtputf8) {
        sg_reply(s, "553 5.6.7 Error: non-ASCII address requires SMTPUTF8");
    } else if (e->nrcpt >= (size_t)cfg->smtpd.max_recipients) {
        sg_reply(s, "452 4.5.3 Error: too many recipients");
    } else if (s->srv->be->relay_control && !s->relay_ok && domain &&
               !sg_config_is_internal_domain(cfg, domain)) {
        /* A recipient without a domain can only be <postmaster>, which is always ours. */
        sg_info(e->id, "event=reject reason=relay rcpt=<%s> client=%s", SG_LOG_TOK(a.addr), s->ip);
        sg_reply(s, "554 5.7.1 <%s>: Relay access denied", a.addr);
    } else if (s->srv->be->relay_control && !s->relay_ok && domain && sg_smtp_addr_routed(a.addr)) {
        /* Sender-specified routing to an internal domain (allow_untrusted_routing = no). */
        sg_info(e->id, "event=reject reason=routing rcpt=<%s> client=%s", SG_LOG_TOK(a.addr), s->ip);
        sg_reply(s, "554 5.7.1 <%s>: Relay access denied", a.addr);
    } else if (sg_env_add_rcpt(e, a.addr, a.notify, a.orcpt) < 0) {
        sg_reply(s, "451 4.3.0 Error: out of memory");
    } else {
        sg_reply(s, "250 2.1.5 Ok");
    }
    sg_rcpt_args_free(&a);
}

/* Common checks of DATA and BDAT; opens the backend transaction when needed. NULL: ok. */
static const char *txn_ready(sg_session *s)
{
    if (!s->txn)
        return "503 5.5.1 Error: need MAIL command";
    if (s->txn->env.nrcpt == 0)
        return "503 5.5.1 Error: need RCPT command";
    if (!s->txn->handle) {
        s->txn->handle = s->srv->be->open(s->srv->be->ctx, &s->txn->env);
        if (!s->txn->handle) {
            sg_error(s->txn->env.id, "event=open-failed client=%s", s->ip);
            return "451 4.3.0 Error: queue write failed";
        }
    }
    return NULL;
}

static void cmd_data(sg_session *s, const char *arg)
{
    if (need_helo(s))
        return;
    if (*arg) {
        sg_reply(s, "501 5.5.4 Syntax: DATA");
        return;
    }
    if (s->txn && s->txn->bdat_used) {
        sg_reply(s, "503 5.5.1 Error: DATA after BDAT");
        return;
    }
    if (s->txn && s->txn->env.body && strcmp(s->txn->env.body, "BINARYMIME") == 0) {
        sg_reply(s, "503 5.5.1 Error: BODY=BINARYMIME requires BDAT");
        return;
    }
    const char *err = txn_ready(s);
    if (!err && !(s->txn->dr = malloc(sizeof *s->txn->dr)))
        err = "451 4.3.0 Error: out of memory";
    if (err) {
        if (s->txn && err[0] == '4')
            sg_session_reset_txn(s);
        sg_reply(s, "%s", err);
        return;
    }
    const sg_config *cfg = s->srv->cfg;
    sg_dr_init(s->txn->dr, cfg->smtpd.bare_newline == SG_BARE_NORMALIZE, (size_t)cfg->smtpd.max_line_length);
    s->state = SS_DATA;
    sg_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void cmd_bdat(sg_session *s, const char *arg)
{
    unsigned long long size;
    bool last;
    char err[SG_SMTP_REPLY_MAX];
    if (sg_smtp_parse_bdat(arg, &size, &last, err) < 0) {
        /* Without a valid size the chunk boundaries are lost: whatever follows may be content
         * and must never be taken for commands, so the session ends here. */
        sg_session_reset_txn(s);
        sg_reply_close(s, "%s", err);
        return;
    }
    s->bdat_left = s->bdat_size = size;
    s->bdat_last = last;
    s->state = SS_BDAT;
    const char *e = !s->helo ? "503 5.5.1 Error: send HELO/EHLO first" : txn_ready(s);
    if (e) {
        s->bdat_reply = strdup(e); /* answered after the chunk is consumed (RFC 3030) */
        if (!s->bdat_reply)
            sg_reply_close(s, "421 4.3.0 %s Error: out of memory", s->srv->cfg->hostname);
        return;
    }
    sg_txn *t = s->txn;
    t->bdat_used = true;
    if (!t->dr && !(t->env.body && strcmp(t->env.body, "BINARYMIME") == 0)) {
        /* Text: line ends are checked as in DATA (a smuggling defence does not depend on the verb). */
        const sg_config *cfg = s->srv->cfg;
        if (!(t->dr = malloc(sizeof *t->dr))) {
            s->bdat_reply = strdup("451 4.3.0 Error: out of memory");
            if (!s->bdat_reply)
                sg_reply_close(s, "421 4.3.0 %s Error: out of memory", cfg->hostname);
            return;
        }
        sg_dr_init_chunked(t->dr, cfg->smtpd.bare_newline == SG_BARE_NORMALIZE, (size_t)cfg->smtpd.max_line_length);
    }
}

/* STARTTLS: after the 220 is written, drop whatever the client pipelined and switch. */
static void cmd_starttls(sg_session *s, const char *arg)
{
    if (*arg) {
        sg_reply(s, "501 5.5.4 Syntax: STARTTLS");
    } else if (!s->srv->tls) {
        sg_reply(s, "454 4.7.0 TLS not available");
    } else if (s->tls) {
        sg_reply(s, "503 5.5.1 Error: TLS already active");
    } else {
        sg_reply(s, "220 2.0.0 Ready to start TLS");
        s->state = SS_TLS_WAIT;
        bufferevent_disable(s->bev, EV_READ);
    }
}

static void start_tls(sg_session *s)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    size_t junk = evbuffer_get_length(in);
    if (junk)
        sg_info(NULL, "event=starttls-discard bytes=%zu client=%s", junk, s->ip);
    evbuffer_drain(in, junk);
    SSL *ssl = SSL_new(s->srv->tls);
    if (!ssl) {
        sg_session_free(s);
        return;
    }
    bufferevent_free(s->bev);
    /* The TLS bufferevent owns the socket and the SSL from here on. */
    s->bev = bufferevent_openssl_socket_new(s->srv->base, s->fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                            BEV_OPT_CLOSE_ON_FREE);
    if (!s->bev) {
        SSL_free(ssl);
        sg_session_free(s);
        return;
    }
    s->fd = -1;
    bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
    bufferevent_setcb(s->bev, sg_session_readcb, sg_session_writecb, sg_session_eventcb, s);
    bufferevent_setwatermark(s->bev, EV_READ, 0, 256 * 1024);
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
    s->tls = true;
    free(s->helo); /* RFC 3207 4.2: forget everything learnt before TLS */
    s->helo = NULL;
    s->esmtp = false;
    sg_session_reset_txn(s);
    s->state = SS_CMD;
}

static void dispatch(sg_session *s, char *line, size_t len)
{
    const char *arg;
    int verb = sg_smtp_parse_verb(line, len, &arg);
    s->last = sg_now_ms();
    switch (verb) {
    case SG_CMD_HELO:
        cmd_helo(s, false, arg);
        break;
    case SG_CMD_EHLO:
        cmd_helo(s, true, arg);
        break;
    case SG_CMD_MAIL:
        cmd_mail(s, arg);
        break;
    case SG_CMD_RCPT:
        cmd_rcpt(s, arg);
        break;
    case SG_CMD_DATA:
        cmd_data(s, arg);
        break;
    case SG_CMD_BDAT:
        cmd_bdat(s, arg);
        break;
    case SG_CMD_STARTTLS:
        cmd_starttls(s, arg);
        break;
    case SG_CMD_RSET:
        sg_session_reset_txn(s);
        sg_reply(s, "250 2.0.0 Ok");
        break;
    case SG_CMD_NOOP:
        sg_reply(s, "250 2.0.0 Ok");
        break;
    case SG_CMD_QUIT:
        sg_session_reset_txn(s);
        sg_reply_close(s, "221 2.0.0 Bye");
        break;
    case SG_CMD_VRFY:
        if (*arg)
            sg_reply(s, "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery");
        else
            sg_reply(s, "501 5.5.4 Syntax: VRFY address");
        break;
    case SG_CMD_HELP:
        sg_reply(s, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS");
        break;
    case SG_CMD_NONE:
        sg_reply(s, "500 5.5.2 Error: bad syntax");
        break;
    default:
        sg_reply(s, "500 5.5.2 Error: command not recognized");
        break;
    }
}

/* Takes one command line from the input. Returns true when the loop should continue. */
static bool read_command(sg_session *s, struct evbuffer *in)
{
    const sg_config *cfg = s->srv->cfg;
    size_t avail = evbuffer_get_length(in);
    if (avail == 0)
        return false;
    size_t max = (size_t)cfg->smtpd.max_command_length;
    bool reject = cfg->smtpd.bare_newline != SG_BARE_NORMALIZE;
    struct evbuffer_ptr lf = evbuffer_search(in, "\n", 1, NULL);
    if (lf.pos < 0) {
        /* No complete line yet. A CR followed by anything but LF is already a bare CR. */
        size_t look = avail < max + 2 ? avail : max + 2;
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)look);
        const char *cr = p ? memchr(p, '\r', look) : NULL;
        if (reject && cr && (size_t)(cr - p) + 1 < look) {
            smuggling(s, "<CR>");
            return false;
        }
        if (avail > max + 2) {
            evbuffer_drain(in, avail); /* over-long line: discard up to its LF */
            s->skip_line = true;
        }
        return false;
    }
    size_t n = (size_t)lf.pos; /* line length without the LF */
    if (s->skip_line || n > max + 1) {
        evbuffer_drain(in, n + 1);
        s->skip_line = false;
        sg_reply(s, "500 5.5.2 Error: command line too long");
        return true;
    }
    char *line = (char *)evbuffer_pullup(in, (ev_ssize_t)(n + 1));
    bool crlf = n > 0 && line[n - 1] == '\r';
    size_t len = crlf ? n - 1 : n;
    const char *cr = memchr(line, '\r', len);
    if (reject && !crlf) {
        smuggling(s, "<LF>");
        return false;
    }
    if (cr) {
        if (reject) {
            smuggling(s, "<CR>");
            return false;
        }
        evbuffer_drain(in, n + 1);
        sg_reply(s, "500 5.5.2 Error: bare <CR> in command");
        return true;
    }
    if (len > max) {
        evbuffer_drain(in, n + 1);
        sg_reply(s, "500 5.5.2 Error: command line too long");
        return true;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        sg_reply_close(s, "421 4.3.0 %s Error: out of memory", cfg->hostname);
        return false;
    }
    memcpy(copy, line, len);
    copy[len] = '\0';
    evbuffer_drain(in, n + 1);
    if (memchr(copy, '\0', len))
        sg_reply(s, "500 5.5.2 Error: NUL in command");
    else
        dispatch(s, copy, len);
    free(copy);
    return true;
}

void sg_session_process(sg_session *s)
{
    if (s->in_process || !s->bev)
        return;
    s->in_process = true;
    for (;;) {
        if (s->closing || s->commit_pending || !s->bev || s->state == SS_TLS_WAIT)
            break;
        if (evbuffer_get_length(bufferevent_get_output(s->bev)) > OUT_MAX)
            break; /* resumed by sg_session_writecb */
        struct evbuffer *in = bufferevent_get_input(s->bev);
        bool more;
        if (s->state == SS_CMD)
            more = read_command(s, in);
        else if (s->state == SS_DATA)
            more = read_data(s, in);
        else
            more = read_bdat(s, in);
        if (!more)
            break;
    }
    s->in_process = false;
}

void sg_session_readcb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    sg_session_process(arg);
}

void sg_session_writecb(struct bufferevent *bev, void *arg)
{
    sg_session *s = arg;
    if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
        return;
    if (s->closing)
        sg_session_free(s);
    else if (s->state == SS_TLS_WAIT)
        start_tls(s);
    else
        sg_session_process(s); /* input may have been left while the output was full */
}

void sg_session_eventcb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    sg_session *s = arg;
    if (what & BEV_EVENT_CONNECTED) {
        sg_info(NULL, "event=tls client=%s", s->ip);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (s->txn && (s->state == SS_DATA || s->state == SS_BDAT))
            sg_info(qid(s), "event=abort reason=disconnect client=%s", s->ip);
        if (what & BEV_EVENT_ERROR && s->tls) {
            unsigned long e = bufferevent_get_openssl_error(bev);
            if (e)
                sg_info(NULL, "event=tls-error client=%s error=%lu", s->ip, e);
        }
        sg_session_free(s); /* an unacknowledged transaction is discarded */
    }
}
