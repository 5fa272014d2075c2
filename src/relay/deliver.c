/* deliver.c - one delivery attempt for one queued message: checks what the next hop can take
 * (RFC 6152 8BITMIME, 6531 SMTPUTF8, 3030 BINARYMIME/CHUNKING, 1870 SIZE), passes the envelope
 * on exactly (3461 DSN parameters), and turns the per-recipient replies into the message's new
 * state: delivered recipients are done, temporary failures go to deferred/ with backoff,
 * permanent failures (and expired ones) get a DSN. Owner: src/relay.
 *
 * SECURITY: a DSN never carries more than the sender sent. For a message cryptd decrypted
 * (marked in its envelope, kept on the deferred copy, so expiry too) the DSN returns nothing
 * of it, whatever RET says. Every DSN goes to dsn/, not outgoing/: cryptd takes it from there
 * through the policy like any other mail (docs/queue-format.md), so a bounce to the outside is
 * protected by the same rules as a reply would be.
 *
 * Never lose mail: the DSN and the deferred copy are written durably (sg_queue_write: fsync,
 * rename, fsync dir) BEFORE the source file is removed. A crash in between re-sends the
 * message: recipients may get it twice, nobody loses it.
 *
 * The message is never held whole: sending, the deferred copy and a DSN's returned part read
 * it from the spool file in bounded pieces (relay/msgdata.c, queue/qmsg.h), so a worker's
 * memory does not grow with the message; a file that cannot be read is a temporary failure
 * and stays where it is.
 *
 * No downgrade yet: an 8-bit message for a hop without 8BITMIME fails (5.6.3) instead of being
 * converted to quoted-printable, and so does BINARYMIME without BINARYMIME+CHUNKING. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/log.h"
#include "relay/dsn.h"
#include "relay/relay_int.h"

enum { R_DELIVERED, R_TEMP, R_PERM };

#define DSN_FULL_MAX (1u << 20) /* larger originals come back as their header only */

typedef struct outcome {
    int kind;
    bool remote; /* the reply came from the next hop */
    sg_tls_info tls; /* what the session's TLS proved (tls=none: plain text or no session) */
    sg_reply reply;
} outcome;

static void set_local(outcome *o, int kind, int code, const char *status, const char *text)
{
    o->kind = kind;
    o->remote = false;
    o->reply.code = code;
    snprintf(o->reply.status, sizeof o->reply.status, "%s", status);
    snprintf(o->reply.text, sizeof o->reply.text, "%d %.15s %.900s", code, status, text);
}

static bool is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

/* Local refusal before anything is sent, from what the hop advertised; NULL when it can go. */
static const char *negotiate(const sg_client *c, const sg_envelope *e, const sg_qmsg *m, const char **status)
{
    size_t len = m->data_len;
    int eight;
    if (e->smtputf8 && !(c->ext & SG_EXT_SMTPUTF8)) {
        *status = "5.6.7";
        return "the message needs SMTPUTF8 and the next hop does not offer it";
    }
    if (e->body && strcasecmp(e->body, "BINARYMIME") == 0 &&
        (c->ext & (SG_EXT_BINARYMIME | SG_EXT_CHUNKING)) != (SG_EXT_BINARYMIME | SG_EXT_CHUNKING)) {
        *status = "5.6.3";
        return "the message is BINARYMIME and the next hop lacks BINARYMIME or CHUNKING";
    }
    /* Only a message declared 8BITMIME is refused: undeclared 8-bit data was sent to us that
     * way and is passed on as it came, as MTAs traditionally do. */
    if (e->body && strcasecmp(e->body, "8BITMIME") == 0 && !(c->ext & SG_EXT_8BITMIME) &&
        (eight = sg_relay_has_8bit(m)) != 0) {
        *status = eight < 0 ? "4.3.0" : "5.6.3"; /* a read error is ours and temporary */
        return eight < 0 ? "local error reading the queued message"
                         : "the message has 8-bit data and the next hop does not offer 8BITMIME";
    }
    if ((c->ext & SG_EXT_SIZE) && c->size_max > 0 && len > c->size_max) {
        *status = "5.3.4";
        return "the message is larger than the next hop's SIZE limit";
    }
    return NULL;
}

/* True when v may go into an SMTP command: no control characters (CR/LF would let a queue
 * file inject commands), no spaces in a parameter value, a sane length. */
static bool safe_value(const char *v, bool param)
{
    if (!v)
        return true;
    size_t n = 0;
    for (; v[n]; n++)
        if ((unsigned char)v[n] < 0x20 || v[n] == 0x7f || (param && v[n] == ' '))
            return false;
    return n <= 1000;
}

static bool envelope_safe(const sg_envelope *e)
{
    bool ok = safe_value(e->from, false) && safe_value(e->envid, true) && safe_value(e->ret, true) &&
              safe_value(e->body, true);
    for (size_t i = 0; ok && i < e->nrcpt; i++)
        ok = safe_value(e->rcpt[i].addr, false) && safe_value(e->rcpt[i].notify, true) &&
             safe_value(e->rcpt[i].orcpt, true);
    return ok;
}

static int mail_args(const sg_client *c, const sg_envelope *e, size_t len, sg_buf *b)
{
    int rc = sg_buf_appendf(b, "<%s>", e->from);
    if (c->ext & SG_EXT_SIZE)
        rc |= sg_buf_appendf(b, " SIZE=%zu", len);
    if (e->body) {
        /* BODY= is defined by 8BITMIME (and BINARYMIME); without it a 7-bit message is simply
         * sent without the parameter. */
        bool binary = strcasecmp(e->body, "BINARYMIME") == 0;
        if (binary ? (c->ext & SG_EXT_BINARYMIME) : (c->ext & SG_EXT_8BITMIME))
            rc |= sg_buf_appendf(b, " BODY=%s", e->body);
    }
    if (e->smtputf8)
        rc |= sg_buf_appendf(b, " SMTPUTF8");
    if (c->ext & SG_EXT_DSN) {
        if (e->ret)
            rc |= sg_buf_appendf(b, " RET=%s", e->ret);
        if (e->envid)
            rc |= sg_buf_appendf(b, " ENVID=%s", e->envid);
    }
    return rc;
}

static int rcpt_args(const sg_client *c, const sg_rcpt *r, sg_buf *b)
{
    int rc = sg_buf_appendf(b, "<%s>", r->addr);
    if (c->ext & SG_EXT_DSN) {
        if (r->notify)
            rc |= sg_buf_appendf(b, " NOTIFY=%s", r->notify);
        if (r->orcpt)
            rc |= sg_buf_appendf(b, " ORCPT=%s", r->orcpt);
    }
    return rc;
}

/* Runs the transaction and fills out[] with one outcome per recipient. */
static void attempt(sg_client *c, const sg_envelope *e, const sg_qmsg *m, outcome *out)
{
    size_t len = m->data_len;
    sg_reply why;
    size_t n = e->nrcpt;
    if (sg_client_ready(c, &why) < 0) {
        for (size_t i = 0; i < n; i++)
            out[i] = (outcome){.kind = R_TEMP, .remote = false, .reply = why, .tls = c->tls};
        return;
    }
    for (size_t i = 0; i < n; i++)
        out[i].tls = c->tls;
    const char *status = NULL, *refusal = negotiate(c, e, m, &status);
    if (refusal) {
        bool temp = status[0] == '4';
        for (size_t i = 0; i < n; i++)
            set_local(&out[i], temp ? R_TEMP : R_PERM, temp ? 451 : 554, status, refusal);
        return;
    }
    sg_buf mail;
    sg_buf_init(&mail, 8192);
    sg_buf *rb = calloc(n, sizeof *rb);
    const char **ra = calloc(n, sizeof *ra);
    sg_reply *rr = calloc(n, sizeof *rr);
    int bad = mail_args(c, e, len, &mail) < 0 || !rb || !ra || !rr;
    for (size_t i = 0; !bad && i < n; i++) {
        sg_buf_init(&rb[i], 8192);
        bad |= rcpt_args(c, &e->rcpt[i], &rb[i]) < 0;
        ra[i] = rb[i].data;
    }
    if (bad) {
        for (size_t i = 0; i < n; i++)
            set_local(&out[i], R_TEMP, 451, "4.3.0", "local error: out of memory or envelope too large");
    } else {
        bool bdat = e->body && strcasecmp(e->body, "BINARYMIME") == 0;
        sg_tls_info tls = c->tls;
        sg_debug(e->id, "event=attempt from=<%s> size=%zu rcpts=%zu tls=%s", SG_LOG_TOK(e->from), len, n,
                 sg_tls_result_name(tls.result));
        sg_client_data d = {.read = sg_relay_read_data, .ctx = (void *)m, .len = len};
        sg_client_transaction_from(c, mail.data, ra, n, &d, bdat, rr);
        for (size_t i = 0; i < n; i++) {
            int cls = rr[i].code / 100;
            out[i].kind = cls == 2 ? R_DELIVERED : cls == 5 ? R_PERM : R_TEMP;
            out[i].remote = !rr[i].local;
            out[i].reply = rr[i];
            out[i].tls = tls;
        }
    }
    for (size_t i = 0; rb && i < n; i++)
        sg_buf_free(&rb[i]);
    free(rb);
    free(ra);
    free(rr);
    sg_buf_free(&mail);
}

static const char *status_of(const outcome *o)
{
    if (o->reply.status[0])
        return o->reply.status;
    return o->kind == R_DELIVERED ? "2.0.0" : o->kind == R_PERM ? "5.0.0" : "4.0.0";
}

/* Queues a DSN for the recipients in fail[] (already filtered by NOTIFY) to e's sender. */
static int queue_dsn(sg_relay *r, const sg_envelope *e, const sg_qmsg *m, const sg_dsn_rcpt *fail, size_t nfail,
                     long long now)
{
    size_t len = m->data_len;
    char id[SG_QID_MAX];
    sg_queue_new_id(id);
    sg_dsn_opts o = {.hostname = r->cfg->hostname,
                     .remote_mta = r->cfg->relay.next_hop,
                     .now = now,
                     .token = id,
                     .headers_only = len > DSN_FULL_MAX,
                     .no_content = e->decrypted};
    /* When the content itself was the problem (too big: 5.3.x; needs an extension the hop
     * lacks: 5.6.x) a DSN carrying it would fail the same way and be dropped, since its sender
     * is empty: return only the header then. Also above DSN_FULL_MAX, like Postfix's
     * bounce_size_limit, so bounces cannot be used to multiply large messages. */
    for (size_t i = 0; i < nfail; i++)
        if (strncmp(fail[i].status, "5.3.", 4) == 0 || strncmp(fail[i].status, "5.6.", 4) == 0)
            o.headers_only = true;
    sg_buf b, orig;
    sg_buf_init(&b, len + (1u << 20));
    sg_buf_init(&orig, len + 1);
    bool eightbit = false;
    sg_envelope d;
    sg_env_init(&d);
    int rc = -1;
    /* Only what the DSN returns is read: the whole message when it is small, else its header. */
    if (sg_relay_read_dsn_part(m, o.headers_only, &orig) < 0 ||
        sg_dsn_build(e, fail, nfail, orig.data ? orig.data : "", orig.len, &o, &b, &eightbit) < 0)
        goto out;
    snprintf(d.id, sizeof d.id, "%s", id);
    d.created = now;
    /* The null sender: a DSN about this DSN would loop (RFC 5321 6.1, RFC 3461 6.2). */
    if (sg_env_set(&d.from, "") < 0 || sg_env_add_rcpt(&d, e->from, NULL, NULL) < 0 ||
        (eightbit && sg_env_set(&d.body, "8BITMIME") < 0))
        goto out;
    d.smtputf8 = !is_ascii(e->from);
    if (sg_queue_write(&r->q, SG_Q_DSN, id, &d, b.data, b.len) < 0)
        goto out;
    sg_info(e->id, "event=dsn-queued id=%s for=<%s> recipients=%zu decrypted=%s", id,
            SG_LOG_TOK(e->from), nfail,
            e->decrypted ? "yes-nothing-returned" : "no");
    rc = 0;
out:
    if (rc < 0)
        sg_error(e->id, "event=dsn-failed for=<%s> error=\"%s\"", SG_LOG_TOK(e->from), strerror(errno ? errno : EIO));
    sg_env_free(&d);
    sg_buf_free(&orig);
    sg_buf_free(&b);
    return rc;
}

/* The temporary recipients again, into deferred/ under the same name, with backoff. */
static int queue_deferred(sg_relay *r, const sg_envelope *e, const outcome *out, const sg_qmsg *m, long long now,
                          long long *next)
{
    sg_envelope d;
    if (sg_env_copy_without_rcpts(&d, e) < 0)
        return -1;
    long long delay = r->cfg->relay.retry_min;
    for (int i = 0; i < e->attempts && delay < r->cfg->relay.retry_max; i++)
        delay *= 2;
    if (delay > r->cfg->relay.retry_max)
        delay = r->cfg->relay.retry_max;
    d.attempts = e->attempts + 1;
    d.next_attempt = *next = now + delay;
    int rc = 0;
    const char *last = NULL;
    for (size_t i = 0; i < e->nrcpt && rc == 0; i++)
        if (out[i].kind == R_TEMP) {
            rc = sg_env_add_rcpt(&d, e->rcpt[i].addr, e->rcpt[i].notify, e->rcpt[i].orcpt);
            last = out[i].reply.text;
        }
    if (rc == 0 && sg_env_set(&d.last_error, last) == 0)
        rc = sg_qmsg_copy(&r->q, SG_Q_DEFERRED, e->id, &d, m);
    else
        rc = -1;
    if (rc < 0)
        sg_error(e->id, "event=defer-failed error=\"%s\"", strerror(errno ? errno : EIO));
    sg_env_free(&d);
    return rc;
}

/* One line per recipient; each says what the session's TLS proved (tls_client.h). */
static void log_outcomes(sg_relay *r, const sg_envelope *e, const outcome *out, long long next)
{
    for (size_t i = 0; i < e->nrcpt; i++) {
        const char *q = SG_LOG_STR(out[i].reply.text); /* the next hop's words */
        char t[300];
        sg_tls_info_log(&out[i].tls, t, sizeof t);
        const char *ev = out[i].kind == R_DELIVERED ? "sent" : out[i].kind == R_TEMP ? "deferred" : "bounced";
        if (out[i].kind == R_TEMP)
            sg_info(e->id, "event=%s rcpt=<%s> relay=%s dsn=%s attempts=%d next=%lld reply=\"%s\"%s", ev,
                    SG_LOG_TOK(e->rcpt[i].addr), r->cfg->relay.next_hop, status_of(&out[i]), e->attempts + 1, next, q, t);
        else
            sg_info(e->id, "event=%s rcpt=<%s> relay=%s dsn=%s reply=\"%s\"%s", ev, SG_LOG_TOK(e->rcpt[i].addr),
                    r->cfg->relay.next_hop, status_of(&out[i]), q, t);
    }
}

/* Applies the outcomes. Order: DSN, deferred copy, then removal of the source. */
static int settle(sg_relay *r, const char *name, const struct stat *src, const sg_envelope *e, const sg_qmsg *m,
                  outcome *out)
{
    long long now = (long long)time(NULL), next = 0;
    size_t ntemp = 0, nfail = 0;
    for (size_t i = 0; i < e->nrcpt; i++) {
        if (out[i].kind == R_TEMP && now - e->created > r->cfg->relay.queue_lifetime) {
            char why[1024];
            snprintf(why, sizeof why, "message expired after %llds in the queue; last error: %.900s",
                     now - e->created, out[i].reply.text);
            set_local(&out[i], R_PERM, 554, "5.4.7", why);
        }
        ntemp += out[i].kind == R_TEMP;
    }
    sg_dsn_rcpt *fail = calloc(e->nrcpt, sizeof *fail);
    if (!fail)
        return -1;
    for (size_t i = 0; i < e->nrcpt; i++) {
        if (out[i].kind != R_PERM)
            continue;
        if (!*e->from) {
            sg_info(e->id, "event=no-dsn rcpt=<%s> reason=null-sender", SG_LOG_TOK(e->rcpt[i].addr));
        } else if (!sg_dsn_wanted(&e->rcpt[i])) {
            sg_info(e->id, "event=no-dsn rcpt=<%s> reason=notify notify=%s", SG_LOG_TOK(e->rcpt[i].addr),
                    SG_LOG_TOK(e->rcpt[i].notify));
        } else {
            fail[nfail++] = (sg_dsn_rcpt){.rcpt = &e->rcpt[i],
                                          .status = status_of(&out[i]),
                                          .diag = out[i].reply.text,
                                          .remote = out[i].remote};
        }
    }
    int rc = 0;
    if (nfail)
        rc = queue_dsn(r, e, m, fail, nfail, now);
    free(fail);
    if (rc == 0 && ntemp)
        rc = queue_deferred(r, e, out, m, now, &next);
    if (rc < 0)
        return -1; /* the source stays: it is tried again, nothing is lost */
    log_outcomes(r, e, out, next);

    /* Only the file we read may go: if cryptd re-processing or `queue retry` put a new file
     * under this name meanwhile, that one is new work (a new inode), not ours to remove. */
    struct stat now_st;
    if (fstatat(r->q.dirfd[SG_Q_OUTGOING], name, &now_st, 0) == 0 && now_st.st_ino == src->st_ino &&
        now_st.st_dev == src->st_dev) {
        if (sg_queue_remove(&r->q, SG_Q_OUTGOING, name) < 0)
            sg_error(e->id, "event=remove-failed error=\"%s\"", strerror(errno));
    } else {
        sg_warn(e->id, "event=replaced note=\"outgoing file changed during delivery; left in place\"");
    }
    return 0;
}

int sg_relay_deliver(sg_relay *r, sg_client *c, const char *name)
{
    sg_envelope e;
    sg_qmsg m;
    char err[256];
    struct stat st;
    if (fstatat(r->q.dirfd[SG_Q_OUTGOING], name, &st, 0) < 0)
        return errno == ENOENT ? 0 : -1; /* gone: someone else (queue delete) took it */
    /* The data stays in the file: it is sent, copied or quoted piece by piece (relay/msgdata.c). */
    int rc = sg_qmsg_open(&r->q, SG_Q_OUTGOING, name, &e, &m, err, sizeof err);
    if (rc == -2 && time(NULL) - st.st_mtime < 10) {
        /* Maybe a writer that writes in place and has not finished: look again later. */
        sg_debug(name, "event=unreadable-yet reason=\"%s\"", err);
        return -1;
    }
    if (rc == -2) {
        int mv = sg_queue_move(&r->q, name, SG_Q_OUTGOING, SG_Q_CORRUPT);
        sg_error(name, "event=corrupt state=outgoing reason=\"%s\" moved=%s", err, mv == 0 ? "corrupt" : "no");
        return mv == 0 ? 0 : -1;
    }
    if (rc < 0)
        return errno == ENOENT ? 0 : -1;
    if (!envelope_safe(&e)) {
        /* Our roles never write this; a queue file that would inject SMTP commands is treated
         * as corrupt: kept for inspection, not sent, not bounced. */
        int mv = sg_queue_move(&r->q, name, SG_Q_OUTGOING, SG_Q_CORRUPT);
        sg_error(name,
                 "event=corrupt state=outgoing reason=\"envelope value with control characters\" moved=%s",
                 mv == 0 ? "corrupt" : "no");
        sg_qmsg_close(&m);
        sg_env_free(&e);
        return mv == 0 ? 0 : -1;
    }
    outcome *out = calloc(e.nrcpt, sizeof *out);
    if (!out) {
        sg_qmsg_close(&m);
        sg_env_free(&e);
        return -1;
    }
    attempt(c, &e, &m, out);
    bool any_temp = false;
    for (size_t i = 0; i < e.nrcpt; i++)
        any_temp |= out[i].kind == R_TEMP;
    if (any_temp && atomic_load(&r->stopping)) {
        /* Shutting down: the failure may be our own abort. Leave the file as it was; it is
         * sent again after the restart (duplicates for delivered recipients, no loss). */
        sg_info(e.id, "event=abandoned reason=shutdown");
        rc = -1;
    } else {
        rc = settle(r, name, &st, &e, &m, out);
    }
    free(out);
    sg_qmsg_close(&m);
    sg_env_free(&e);
    return rc;
}
