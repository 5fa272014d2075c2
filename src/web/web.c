/* web.c - the portal and REST API role (`sealgate web`): HTTPS on web.listen for operators and
 * automation; every action is an operation of the admin layer (src/admin), the same table the
 * CLI uses. Owner: src/web.
 *
 * SECURITY
 *   user:    cfg->users.web (group cfg->users.group, plus its own group and the store group
 *            users.store_group) after sg_priv_drop; unchanged when not started as root (tests,
 *            development). no_new_privs either way.
 *   reads:   its configuration; the gateway's TLS certificate and key (smtpd's pair, read before
 *            the drop, held in memory by GnuTLS); the store (accounts, sessions, tokens, audit,
 *            and what store-only operations read and change), opened after the drop through its
 *            group. It cannot open <base_dir>/keys/kek (the cryptd user's alone, 0600 in a 0700
 *            directory), so the wrapped private keys it could read in the store are of no use to
 *            it, and it never receives private-key bytes: operations that need the KEK are sent
 *            to cryptd over the control socket, and answer "unavailable" when it is not there.
 *            It cannot enter any spool state: what it shows of the queue (status, queue.list,
 *            queue.show) and every move is cryptd's doing over that socket (forward.c).
 *   threads: libmicrohttpd's pool (http.h, SG_HTTP_THREADS), a store handle per thread.
 *   peers:   untrusted HTTPS clients on web.listen (connection, per-address and body limits,
 *            sessions with CSRF tokens or bearer tokens before any operation); cryptd's control
 *            socket.
 *   secrets: the TLS key; session ids and API tokens are kept only as hashes in the store
 *            (src/admin/auth.h). A compromise of this process yields the portal's powers and the
 *            TLS key, never the KEK or a user's private key.
 * The HTTP layer (libmicrohttpd with GnuTLS, confined to this role) is http.c; routing, pages
 * and the API are router.c and the files beside it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/netaddr.h"
#include "lib/privdrop.h"
#include "lib/ready.h"
#include "roles.h"
#include "smtp/tls.h"
#include "web/web_int.h"

/* The certificate and key the gateway uses for STARTTLS; made (under smtpd's lock) when missing
 * and tls_autogenerate is on, exactly as smtpd and `sealgate prepare` do. */
static int read_tls_pair(const sg_config *cfg, char **cert, char **key, char *err, size_t errlen)
{
    SSL_CTX *tls = sg_tls_server_ctx(cfg->smtpd.tls_cert, cfg->smtpd.tls_key, cfg->smtpd.tls_autogenerate,
                                     cfg->hostname, err, errlen);
    if (!tls)
        return -1;
    SSL_CTX_free(tls);
    size_t n;
    if (sg_read_file(cfg->smtpd.tls_cert, 1 << 20, cert, &n) < 0) {
        snprintf(err, errlen, "cannot read %s: %s", cfg->smtpd.tls_cert, strerror(errno));
        return -1;
    }
    if (sg_read_file(cfg->smtpd.tls_key, 1 << 20, key, &n) < 0) {
        snprintf(err, errlen, "cannot read %s: %s", cfg->smtpd.tls_key, strerror(errno));
        free(*cert);
        *cert = NULL;
        return -1;
    }
    return 0;
}

int sg_web_main(const sg_config *cfg, int listen_fd)
{
    char err[512];
    int fd = listen_fd >= 0 ? listen_fd : sg_listen_tcp(cfg->web.listen, 128);
    if (fd < 0) {
        sg_error(NULL, "event=start-failed reason=listen listen=%s error=\"%s\"", cfg->web.listen, strerror(errno));
        return 1;
    }
    char *cert = NULL, *key = NULL;
    if (read_tls_pair(cfg, &cert, &key, err, sizeof err) < 0) {
        sg_error(NULL, "event=start-failed reason=tls error=\"%s\"", SG_LOG_STR(err));
        close(fd);
        return 1;
    }
    if (sg_priv_drop(cfg->users.web, cfg->users.group, err, sizeof err) < 0) {
        sg_error(NULL, "event=start-failed reason=privdrop error=\"%s\"", SG_LOG_STR(err));
        goto fail;
    }
    sg_web web;
    if (sg_web_init(&web, cfg, err, sizeof err) < 0) {
        sg_error(NULL, "event=start-failed reason=store error=\"%s\"", SG_LOG_STR(err));
        goto fail;
    }
    /* SIGTERM and SIGHUP are taken by sigwait below; the daemon's thread inherits the mask. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    sg_http_server *srv = sg_http_start(cfg, fd, cert, key, sg_web_route, &web, err, sizeof err);
    explicit_bzero(key, strlen(key));
    free(key);
    free(cert);
    key = cert = NULL;
    if (!srv) {
        sg_error(NULL, "event=start-failed reason=http error=\"%s\"", SG_LOG_STR(err));
        sg_web_free(&web);
        close(fd);
        return 1;
    }
    sg_info(NULL, "event=started listen=%s", cfg->web.listen);
    sg_ready_tell();
    for (;;) {
        int sig = 0;
        if (sigwait(&mask, &sig) != 0)
            continue;
        if (sig == SIGHUP)
            continue; /* the master replaces this process with one on the new configuration */
        break;
    }
    sg_http_stop(srv);
    sg_web_free(&web);
    sg_info(NULL, "event=stopped");
    return 0;
fail:
    if (key)
        explicit_bzero(key, strlen(key));
    free(key);
    free(cert);
    close(fd);
    return 1;
}
