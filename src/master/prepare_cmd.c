/* prepare_cmd.c - `sealgate prepare`: what `start` sets up before any role runs, without
 * starting: the spool with its owners, the store opened (so migrated to the current schema), the
 * KEK (created when missing, the cryptd user's, 0600) and the TLS certificate and key (a
 * self-signed pair when missing and tls_autogenerate is on). The package's postinst runs it on
 * every install and upgrade (debian/sealgate.postinst); it is idempotent and asks nothing.
 * Owner: src/master.
 * SECURITY: run as root; creates secrets (KEK, TLS key) with the modes `start` keeps them in and
 * never prints them. A running gateway is not disturbed: SQLite serialises the migration. */
#include <openssl/ssl.h>
#include <stdio.h>

#include "lib/log.h"
#include "master/prepare.h"
#include "roles.h"
#include "smtp/tls.h"

int sg_prepare_main(const sg_config *cfg)
{
    char err[512];
    if (sg_master_prepare(cfg, err, sizeof err) < 0 || sg_master_check_roles(cfg, err, sizeof err) < 0) {
        fprintf(stderr, "sealgate: %s\n", err);
        return 1;
    }
    /* The same call smtpd makes at its start: it generates the pair under a lock when missing. */
    SSL_CTX *tls = sg_tls_server_ctx(cfg->smtpd.tls_cert, cfg->smtpd.tls_key, cfg->smtpd.tls_autogenerate,
                                     cfg->hostname, err, sizeof err);
    if (!tls) {
        fprintf(stderr, "sealgate: TLS certificate: %s\n", err);
        return 1;
    }
    SSL_CTX_free(tls);
    printf("prepared %s (spool, store, key-encryption key, TLS certificate %s)\n", cfg->base_dir,
           cfg->smtpd.tls_cert);
    return 0;
}
