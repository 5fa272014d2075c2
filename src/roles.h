/* roles.h - entry points of the roles and CLI commands, called by main.c.
 * Owner: src/master (the contract between the master and each role).
 * A role started by the master finds its listening socket in $SEALGATE_LISTEN_FD; started by
 * hand (listen_fd < 0) it binds its configured address itself. Each role drops root to its own
 * user after opening what it needs (sg_priv_drop), and exits 0 on SIGTERM after finishing or
 * safely abandoning its work (abandoned work is redone after restart, never lost). */
#ifndef SG_ROLES_H
#define SG_ROLES_H

#include "lib/config.h"

int sg_smtpd_main(const sg_config *cfg, int listen_fd);
int sg_sink_main(const sg_config *cfg, int listen_fd);
int sg_cryptd_main(const sg_config *cfg);
int sg_relay_main(const sg_config *cfg);
int sg_web_main(const sg_config *cfg, int listen_fd);
int sg_master_main(const sg_config *cfg, const char *config_path);
/* `sealgate prepare`: start's set-up (spool, store migrated, KEK, TLS pair), then exit. */
int sg_prepare_main(const sg_config *cfg);

int sg_cli_check_config(const sg_config *cfg, int argc, char **argv);
int sg_cli_key(const sg_config *cfg, int argc, char **argv);
int sg_cli_cert(const sg_config *cfg, int argc, char **argv);
int sg_cli_ca(const sg_config *cfg, int argc, char **argv);
int sg_cli_policy(const sg_config *cfg, int argc, char **argv);
int sg_cli_backup(const sg_config *cfg, int argc, char **argv); /* backup and restore */
int sg_cli_kek(const sg_config *cfg, int argc, char **argv);
int sg_cli_queue_adopt(const sg_config *cfg, int argc, char **argv); /* queue adopt DIR (cluster) */
/* `sealgate admin bootstrap [--file PATH]` (argv after the two words; src/cli/cli_bootstrap.c):
 * the first administrator with a one-time password in a root-only file, only when no account
 * exists (the package's postinst). Exit status 0, 1, or 2 for usage. */
int sg_cli_admin_bootstrap(const sg_config *cfg, int argc, char **argv);

#endif
