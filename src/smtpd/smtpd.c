/* smtpd.c - the SMTP listener role: accepts mail from the network into queue/incoming/.
 * Owner: src/smtpd.
 *
 * SECURITY
 *   user:    cfg->users.smtpd (group cfg->users.group, plus its own group, which incoming/
 *            names) after sg_priv_drop; unchanged when not started as root (tests,
 *            development). no_new_privs either way.
 *   reads:   its configuration, its TLS certificate and key (opened before the drop), nothing
 *            else; it never opens the store or any private key of users (cryptd's job).
 *   writes:  spool tmp/smtpd/ and incoming/ only (through src/queue); under the master it
 *            cannot even look into another state (docs/architecture.md, "Spool ownership").
 *   peers:   untrusted SMTP clients on cfg->smtpd.listen; nothing else.
 *   secrets: the TLS server key in memory (inside OpenSSL). A compromise of this process yields
 *            the mail in transit and that key, never a user's private key.
 *
 * The protocol lives in src/smtp (shared with the sink); this file supplies the queue backend.
 * Durability: content goes to a tmp file during DATA/BDAT; the commit thread (commit.c) makes
 * it durable and only then is the client told 250. */
#include <errno.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/privdrop.h"
#include "lib/ready.h"
#include "queue/queue.h"
#include "roles.h"
#include "smtp/server.h"
#include "smtp/tls.h"
#include "smtpd/commit.h"

typedef struct qbackend {
    sg_queue q;
    sg_committer *committer;
} qbackend;

static void *q_open(void *ctx, const sg_envelope *e)
{
    qbackend *b = ctx;
    sg_qwriter *w = malloc(sizeof *w); /* 64 KB: only while a message is being received */
    if (!w)
        return NULL;
    if (sg_qw_open(&b->q, w, e) < 0) {
        sg_error(e->id, "event=queue-open-failed error=\"%s\"", strerror(w->error));
        sg_qw_abort(&b->q, w);
        free(w);
        return NULL;
    }
    return w;
}

static int q_write(void *txn, const void *data, size_t len)
{
    return sg_qw_write(txn, data, len);
}

static void q_commit(void *ctx, void *txn, sg_smtp_done_fn done, void *arg)
{
    qbackend *b = ctx;
    sg_committer_submit(b->committer, txn, done, arg);
}

static void q_abort(void *ctx, void *txn)
{
    qbackend *b = ctx;
    sg_qw_abort(&b->q, txn);
    free(txn);
}

int sg_smtpd_main(const sg_config *cfg, int listen_fd)
{
    char err[512];
    int fd = sg_smtp_listen(cfg->smtpd.listen, listen_fd);
    if (fd < 0)
        return 1;
    SSL_CTX *tls = sg_tls_server_ctx(cfg->smtpd.tls_cert, cfg->smtpd.tls_key, cfg->smtpd.tls_autogenerate,
                                     cfg->hostname, err, sizeof err);
    if (!tls)
        sg_warn(NULL, "event=tls-unavailable reason=\"%s\"", err); /* serve without STARTTLS */
    qbackend b = {0};
    if (sg_queue_precreate(cfg->spool_dir, "smtpd") < 0) {
        sg_error(NULL, "event=start-failed reason=spool dir=%s error=\"%s\"", cfg->spool_dir,
                 strerror(errno));
        close(fd);
        SSL_CTX_free(tls);
        return 1;
    }
    /* Started as root by hand, smtpd must still be able to use the spool after the drop:
     * traverse the root, write tmp/ and incoming/. A spool the master prepared (it has
     * tmp/smtpd/) keeps the master's stricter owners. */
    char sp[4][4200];
    snprintf(sp[0], sizeof sp[0], "%s", cfg->spool_dir);
    snprintf(sp[1], sizeof sp[1], "%s/tmp", cfg->spool_dir);
    snprintf(sp[2], sizeof sp[2], "%s/incoming", cfg->spool_dir);
    snprintf(sp[3], sizeof sp[3], "%s/tmp/smtpd", cfg->spool_dir);
    for (int i = 0; i < 3 && access(sp[3], F_OK) != 0; i++)
        if (sg_smtp_group_access(sp[i], cfg->users.group, i > 0) < 0)
            sg_warn(NULL, "event=spool-permissions dir=%s error=\"%s\"", sp[i], strerror(errno));
    if (sg_priv_drop(cfg->users.smtpd, cfg->users.group, err, sizeof err) < 0) {
        sg_error(NULL, "event=start-failed reason=privdrop error=\"%s\"", err);
        close(fd);
        SSL_CTX_free(tls);
        return 1;
    }
    /* Opened as the smtpd user: its handles allow what that user may do (write incoming/,
     * not list it), which a root-opened handle would not limit; and the master's unit leaves
     * root no CAP_DAC_OVERRIDE to open tmp/smtpd/ with (debian/sealgate.service). */
    if (sg_queue_open(&b.q, cfg->spool_dir, "smtpd", false) < 0) {
        sg_error(NULL, "event=start-failed reason=spool dir=%s error=\"%s\"", cfg->spool_dir,
                 strerror(errno));
        close(fd);
        SSL_CTX_free(tls);
        return 1;
    }
    /* The commit thread wakes the loop, so libevent must be thread-aware before the base. */
    struct event_base *base = evthread_use_pthreads() == 0 ? event_base_new() : NULL;
    if (base)
        b.committer = sg_committer_start(base, &b.q, cfg->smtpd.commit_batch);
    int rc = 1;
    if (base && b.committer) {
        sg_smtp_backend be = {
            .relay_control = true,
            .ack = "queued as",
            .event = "queued",
            .ctx = &b,
            .open = q_open,
            .write = q_write,
            .commit = q_commit,
            .abort = q_abort,
        };
        sg_ready_tell(); /* the socket listens already (the master bound it): connections wait */
        rc = sg_smtp_serve(base, cfg, fd, tls, &be) == 0 ? 0 : 1;
    } else {
        sg_error(NULL, "event=start-failed reason=event_loop");
        close(fd);
    }
    sg_committer_stop(b.committer);
    if (base)
        event_base_free(base);
    SSL_CTX_free(tls);
    sg_queue_close(&b.q);
    sg_info(NULL, "event=stopped");
    return rc;
}
