/* sink.c - the demo next hop: an SMTP server that accepts every recipient and delivers each
 * message durably into a maildir (tmp/ -> fsync -> new/ -> fsync of new/). Owner: src/sink.
 *
 * SECURITY
 *   user:    cfg->users.sink with its own group (not users.group) after sg_priv_drop when
 *            started as root: the sink stands for the next hop, a peer outside the gateway, so
 *            it can reach no spool state, and no role can write into what it "delivered"
 *            (its maildir is the sink user's, 0750). no_new_privs either way.
 *   reads:   its configuration and the smtpd TLS certificate/key (for STARTTLS).
 *   writes:  cfg->sink.maildir only.
 *   peers:   SMTP clients on cfg->sink.listen (in the demo: sealgate's relay role).
 *   secrets: the TLS server key in memory.
 *
 * It reuses the whole SMTP server of src/smtp with a maildir backend. Commits are synchronous
 * (fsync on the loop thread): it is a demo and test sink, where simplicity beats throughput. */
#include <errno.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/privdrop.h"
#include "lib/ready.h"
#include "roles.h"
#include "smtp/server.h"
#include "smtp/tls.h"

typedef struct maildir {
    char root[4096];
    char host[128]; /* hostname made safe for a file name */
} maildir;

typedef struct mtxn {
    int fd;
    char name[256];
} mtxn;

static void path_of(const maildir *m, const char *sub, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s/%s", m->root, sub, name);
}

static int put(int fd, const char *a, const char *b, const char *c)
{
    if (sg_write_all(fd, a, strlen(a)) < 0 || sg_write_all(fd, b, strlen(b)) < 0)
        return -1;
    return sg_write_all(fd, c, strlen(c));
}

static void *m_open(void *ctx, const sg_envelope *e)
{
    maildir *m = ctx;
    mtxn *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    snprintf(t->name, sizeof t->name, "%lld.%s.%s", (long long)time(NULL), e->id, m->host);
    char p[4400];
    path_of(m, "tmp", t->name, p, sizeof p);
    t->fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    int ok = t->fd >= 0 && put(t->fd, "Return-Path: <", e->from, ">\r\n") == 0;
    for (size_t i = 0; ok && i < e->nrcpt; i++)
        ok = put(t->fd, "Delivered-To: ", e->rcpt[i].addr, "\r\n") == 0;
    if (!ok) {
        sg_error(e->id, "event=maildir-open-failed path=%s error=\"%s\"", p, strerror(errno));
        if (t->fd >= 0) {
            close(t->fd);
            unlink(p);
        }
        free(t);
        return NULL;
    }
    return t;
}

static int m_write(void *txn, const void *data, size_t len)
{
    mtxn *t = txn;
    return sg_write_all(t->fd, data, len);
}

static void m_abort(void *ctx, void *txn)
{
    maildir *m = ctx;
    mtxn *t = txn;
    char p[4400];
    path_of(m, "tmp", t->name, p, sizeof p);
    if (t->fd >= 0)
        close(t->fd);
    unlink(p);
    free(t);
}

static void m_commit(void *ctx, void *txn, sg_smtp_done_fn done, void *arg)
{
    maildir *m = ctx;
    mtxn *t = txn;
    char from[4400], to[4400], dir[4200];
    path_of(m, "tmp", t->name, from, sizeof from);
    path_of(m, "new", t->name, to, sizeof to);
    snprintf(dir, sizeof dir, "%s/new", m->root);
    bool ok = fsync(t->fd) == 0;
    ok = close(t->fd) == 0 && ok;
    t->fd = -1;
    ok = ok && rename(from, to) == 0 && sg_fsync_dir(dir) == 0;
    if (!ok) {
        sg_error(NULL, "event=maildir-commit-failed name=%s error=\"%s\"", t->name, strerror(errno));
        unlink(from);
    }
    done(arg, ok, t->name);
    free(t);
}

int sg_sink_main(const sg_config *cfg, int listen_fd)
{
    char err[512];
    maildir m;
    snprintf(m.root, sizeof m.root, "%s", cfg->sink.maildir);
    snprintf(m.host, sizeof m.host, "%s", cfg->hostname);
    for (char *p = m.host; *p; p++)
        if (*p == '/' || *p == ':')
            *p = '_'; /* maildir names must not contain these */
    static const char *const subs[] = {"", "/tmp", "/new", "/cur"};
    for (int i = 0; i < 4; i++) {
        char d[4200];
        snprintf(d, sizeof d, "%s%s", m.root, subs[i]);
        if (sg_mkdirs(d, 0750) < 0 || sg_priv_chown(d, cfg->users.sink, NULL) < 0 || chmod(d, 0750) < 0) {
            sg_error(NULL, "event=start-failed reason=maildir dir=%s error=\"%s\"", d, strerror(errno));
            return 1;
        }
    }
    int fd = sg_smtp_listen(cfg->sink.listen, listen_fd);
    if (fd < 0)
        return 1;
    SSL_CTX *tls = sg_tls_server_ctx(cfg->smtpd.tls_cert, cfg->smtpd.tls_key, cfg->smtpd.tls_autogenerate,
                                     cfg->hostname, err, sizeof err);
    if (!tls)
        sg_warn(NULL, "event=tls-unavailable reason=\"%s\"", err);
    if (sg_priv_drop(cfg->users.sink, NULL, err, sizeof err) < 0) {
        sg_error(NULL, "event=start-failed reason=privdrop error=\"%s\"", err);
        close(fd);
        SSL_CTX_free(tls);
        return 1;
    }
    struct event_base *base = event_base_new();
    int rc = 1;
    if (base) {
        sg_smtp_backend be = {
            .relay_control = false, /* a sink accepts every recipient */
            .ack = "delivered as",
            .event = "delivered",
            .ctx = &m,
            .open = m_open,
            .write = m_write,
            .commit = m_commit,
            .abort = m_abort,
        };
        sg_ready_tell();
        rc = sg_smtp_serve(base, cfg, fd, tls, &be) == 0 ? 0 : 1;
        event_base_free(base);
    } else {
        close(fd);
    }
    SSL_CTX_free(tls);
    sg_info(NULL, "event=stopped");
    return rc;
}
