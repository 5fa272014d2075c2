/* relay.c - the relay role: sends processed mail from the spool to the configured next hop.
 * Owner: src/relay.
 *
 * SECURITY
 *   User:    cfg->users.relay (group cfg->users.group, plus its own group, which dsn/ names),
 *            dropped right after opening the spool; no_new_privs.
 *   Reads:   outgoing/ and deferred/ only; writes deferred/, dsn/ (DSNs, which cryptd passes
 *            through the policy), corrupt/ (write-only), tmp/relay/; removes what it sent from
 *            outgoing/. Under the master it cannot open incoming/, active/ or hold/.
 *            Never opens the key store, the key-encryption key or any private key: the files
 *            are not readable by this user and this code has no path to them.
 *   Peers:   one outbound SMTP peer, relay.next_hop (normally our own MTA). Its replies are
 *            untrusted text: capped in length, control characters removed before they reach
 *            logs, queue files or DSNs. No listening socket.
 *   Secrets: none. STARTTLS is client-side only, without a certificate. relay.tls says what
 *            the next hop must prove (tls_client.c): verify and fingerprint authenticate it and
 *            resist an active attacker; may and encrypt only passive listening. The trust
 *            anchors (relay.tls_ca_file) are read before the privilege drop.
 *
 * Structure: this file sets up and tears down; scheduler.c finds work (main thread),
 * worker.c runs max_connections delivery threads, deliver.c decides each message's fate,
 * client.c speaks SMTP, dsn.c writes bounce reports.
 * SIGTERM/SIGINT: stop taking work, let transactions in progress finish for a few seconds,
 * then abort them (their files stay in outgoing/ and are sent again: duplicates possible,
 * loss not), exit 0. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/privdrop.h"
#include "lib/ready.h"
#include "relay/relay_int.h"
#include "roles.h"

#define STOP_GRACE_S 10

int sg_relay_main(const sg_config *cfg)
{
    static const char *const tls_names[] = {"none", "may", "encrypt", "verify", "fingerprint"};
    sg_relay r;
    memset(&r, 0, sizeof r);
    r.cfg = cfg;
    r.wake_pipe[0] = r.wake_pipe[1] = -1;
    for (int i = 0; i < SG_Q_NSTATES; i++)
        r.q.dirfd[i] = -1; /* opened after the drop: `out` may close it before */
    char err[256];
    int rc = 1, sigfd = -1;
    SSL_CTX *tls = NULL;

    if (sg_queue_precreate(cfg->spool_dir, "relay") < 0) {
        sg_error(NULL, "event=start-failed spool=%s error=\"%s\"", cfg->spool_dir, strerror(errno));
        return 1;
    }
    /* Before the drop, so the CA file may be readable by root only. */
    if (cfg->relay.tls != SG_TLS_NONE && !(tls = sg_tls_client_ctx(cfg->relay.tls_ca_file, err, sizeof err))) {
        sg_error(NULL, "event=start-failed error=\"%s\"", err);
        goto out;
    }
    if (sg_priv_drop(cfg->users.relay, cfg->users.group, err, sizeof err) < 0) {
        sg_error(NULL, "event=start-failed error=\"%s\"", err);
        goto out;
    }
    /* The spool as the relay user (as smtpd, src/smtpd/smtpd.c): handles with its own rights. */
    if (sg_queue_open(&r.q, cfg->spool_dir, "relay", false) < 0) {
        sg_error(NULL, "event=start-failed spool=%s error=\"%s\"", cfg->spool_dir, strerror(errno));
        goto out;
    }
    /* Signals arrive through a signalfd in the scheduler's poll, never as handlers that could
     * interrupt a worker mid-write; blocked before any thread exists so all inherit the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 || (sigfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
        sg_error(NULL, "event=start-failed error=\"signalfd: %s\"", strerror(errno));
        goto out;
    }
    r.copts = (sg_client_opts){.next_hop = cfg->relay.next_hop,
                               .helo = cfg->relay.helo_name,
                               .tls_mode = cfg->relay.tls,
                               .tls_match = &cfg->relay.tls_match,
                               .tls_fingerprints = &cfg->relay.tls_fingerprints,
                               .connect_timeout = cfg->relay.connect_timeout,
                               .command_timeout = cfg->relay.command_timeout,
                               .tls_ctx = tls};
    if (pthread_mutex_init(&r.mu, NULL) != 0 || pthread_cond_init(&r.cv, NULL) != 0 ||
        pipe2(r.wake_pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
        sg_error(NULL, "event=start-failed error=\"%s\"", strerror(errno));
        goto out;
    }
    if (sg_relay_workers_start(&r) < 0) {
        sg_relay_workers_stop(&r, 0);
        goto out;
    }
    sg_info(NULL, "event=started next_hop=%s workers=%d tls=%s tls_ca=%s helo=%s", cfg->relay.next_hop,
            r.nworkers, tls_names[cfg->relay.tls], cfg->relay.tls_ca_file ? cfg->relay.tls_ca_file : "system",
            cfg->relay.helo_name);
    sg_ready_tell();
    sg_relay_schedule(&r, sigfd);
    sg_relay_workers_stop(&r, STOP_GRACE_S);
    sg_info(NULL, "event=stopped");
    rc = 0;
out:
    for (size_t i = 0; i < r.npending; i++)
        free(r.pending[i]);
    for (size_t i = 0; i < r.ninflight; i++)
        free(r.inflight[i]);
    free(r.pending);
    free(r.inflight);
    free(r.cooldown);
    if (r.wake_pipe[0] >= 0)
        close(r.wake_pipe[0]), close(r.wake_pipe[1]);
    if (sigfd >= 0)
        close(sigfd);
    if (tls)
        SSL_CTX_free(tls);
    sg_queue_close(&r.q);
    return rc;
}
