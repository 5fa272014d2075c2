/* main.c - the sealgate binaries: roles and CLI commands as subcommands.
 * Owner: src/master. Global options come before the subcommand.
 * Compiled twice. `sealgate` has everything: the CLI and cryptd, which need librnp, Botan,
 * GMime and the rest of the crypto stack. `sealgate-net` (SG_NET_ONLY) has only the master
 * and the network roles (smtpd, relay, sink): they never touch a key or parse MIME, and built
 * apart they do not map those libraries at all (their relocations and static initialisers cost
 * several MB of RSS per process). `sealgate start` hands over to sealgate-net beside it; the
 * master then starts cryptd from `sealgate` and the other roles from `sealgate-net`
 * (src/master/exe.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config.h"
#include "lib/log.h"
#include "master/exe.h"
#include "roles.h"
#ifndef SG_NET_ONLY
#include "audit/cli.h"
#include "cli/cli_ops.h"
#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: sealgate [-c FILE] COMMAND [ARGS]\n"
               "\n"
               "Roles (normally started by 'start'):\n"
               "  start                 run smtpd, cryptd, relay, web (and the demo sink) under supervision\n"
               "  prepare               set up what start needs (spool, store migrated, KEK, TLS pair), exit\n"
               "  smtpd | cryptd | relay | sink | web\n"
               "\n"
               "Commands:\n"
               "  queue list [STATE]    list queued messages (all states, or one)\n"
               "  queue show ID         envelope and headers of a message\n"
               "  queue retry ID|all    deliver deferred messages now\n"
               "  queue hold ID         move a message to hold\n"
               "  queue release ID      move a held message back into processing\n"
               "  queue delete ID       delete a message\n"
               "  queue list [--state S] [--sender A] [--recipient A] [--min-age SECS] [--reason T]\n"
               "             [--sort age|-age|size|-size|id] [--limit N] [--offset N] [--json]\n"
               "  admin add NAME --role R [--role R] [--password-stdin]   an administration account;\n"
               "                        without --password-stdin prints a generated one-time password\n"
               "  admin list | delete NAME | roles NAME --role R... | passwd NAME [--password-stdin]\n"
               "  admin ops [--markdown]   the operation table (roles, REST routes)\n"
               "  admin bootstrap [--file PATH]   when no account exists: 'admin' with a one-time password\n"
               "                        in PATH (default: initial-admin-password beside the configuration)\n"
               "  token create --role R [--label L] [--owner NAME] | list | revoke ID   API tokens\n"
               "  session list | end ID  portal sessions\n"
               "  job list | show ID | cancel ID   long operations (bulk imports) and their progress\n"
               "  audit list [--actor A] [--operation OP] [--since T] [--until T] [--before ID]\n"
               "  audit verify | proof QUEUE-ID|INDEX [--size N] | consistency OLD NEW | export DIR\n"
               "        | checkpoint   the tamper-evident log (docs/audit.md)\n"
               "  status                the master, its roles, the store and queue sizes per state\n"
               "  metrics               message counts kept per minute (totals; --json: the last day)\n"
               "  key import FILE...    import OpenPGP keys (armored or binary; docs/keys.md)\n"
               "  key list [--address A] | show FPR | export FPR [--secret] | delete FPR\n"
               "  key generate ADDRESS [--algo ed25519|rsa3072|rsa4096] [--expires DAYS]\n"
               "  key revoke FPR [REASON]\n"
               "  cert import FILE... [--password P] [--trust]   X.509 certificates and keys (docs/x509.md)\n"
               "  cert list [--address A] | show FPR | export FPR [--der|--key] | delete FPR\n"
               "  cert trust FPR|FILE | untrust FPR|FILE   mark a CA certificate as trust anchor (or not)\n"
               "  cert check FPR|FILE [--address A] [--purpose sign|encrypt]   validate, with revocation\n"
               "  ca init [--subject S] [--days N] [--rsa]   create the local S/MIME CA\n"
               "  ca issue ADDRESS [--usage sign|encrypt|both] [--days N] [--rsa]\n"
               "           [--crl-url URL] [--ocsp-url URL]\n"
               "  ca export | revoke FPR | crl [--out FILE] [--days N]\n"
               "  policy check [FILE] | load FILE | show   the rules (docs/policy.md)\n"
               "  policy explain --from A --to B [--to C...] [--subject S] [MESSAGE.eml]\n"
               "  backup FILE [--kek-out KEKFILE] [--passphrase-file F]   store snapshot + KEK under a\n"
               "                        passphrase (FILE.kek), while the gateway runs (docs/operations.md)\n"
               "  restore FILE [KEKFILE] [--passphrase-file F] [--force]   into a fresh installation\n"
               "  kek export FILE | import FILE [--passphrase-file F] | rotate   the key-encryption key\n"
               "  check-config          validate the configuration and print the effective values\n"
               "  version               print the version\n"
               "\n"
               "The configuration is FILE, else $SEALGATE_CONFIG, else the embedded defaults\n"
               "(base directory ./run). See docs/configuration.md.\n");
}

static int env_fd(void)
{
    const char *s = getenv("SEALGATE_LISTEN_FD");
    return s && *s ? atoi(s) : -1;
}

int main(int argc, char **argv)
{
    const char *cfgpath = NULL;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
        if (c == 'c') {
            cfgpath = optarg;
        } else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[optind];
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    (void)sub_argc; /* only the CLI commands of the full binary take arguments */
    (void)sub_argv;
    if (strcmp(cmd, "version") == 0) {
        printf("sealgate %s\n", SG_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }

#ifndef SG_NET_ONLY
    /* The master runs from the light binary (see the header); without one beside us (a copied
     * binary), it runs here and starts every role from this binary. */
    if (strcmp(cmd, "start") == 0)
        sg_exec_sibling(SG_EXE_NET, argv);
#endif
    cfgpath = sg_config_default_path(cfgpath);
    sg_config cfg;
    char err[512];
    if (sg_config_load(&cfg, cfgpath, err, sizeof err) < 0) {
        fprintf(stderr, "sealgate: configuration error: %s\n", err);
        return strcmp(cmd, "check-config") == 0 ? 1 : 78;
    }
    sg_log_init(strcmp(cmd, "start") == 0 ? "master" : cmd, cfg.log_level);
    int rc;
    if (strcmp(cmd, "start") == 0)
        rc = sg_master_main(&cfg, cfgpath);
    else if (strcmp(cmd, "prepare") == 0)
        rc = sg_prepare_main(&cfg);
    else if (strcmp(cmd, "smtpd") == 0)
        rc = sg_smtpd_main(&cfg, env_fd());
    else if (strcmp(cmd, "sink") == 0)
        rc = sg_sink_main(&cfg, env_fd());
    else if (strcmp(cmd, "relay") == 0)
        rc = sg_relay_main(&cfg);
#ifndef SG_NET_ONLY
    else if (strcmp(cmd, "cryptd") == 0)
        rc = sg_cryptd_main(&cfg);
    else if (strcmp(cmd, "web") == 0)
        rc = sg_web_main(&cfg, env_fd());
    else if (sub_argc >= 2 && strcmp(sub_argv[0], "admin") == 0 && strcmp(sub_argv[1], "bootstrap") == 0)
        rc = sg_cli_admin_bootstrap(&cfg, sub_argc - 2, sub_argv + 2); /* not an operation: postinst's */
    else if (sub_argc >= 2 && strcmp(sub_argv[0], "queue") == 0 && strcmp(sub_argv[1], "adopt") == 0)
        rc = sg_cli_queue_adopt(&cfg, sub_argc - 2, sub_argv + 2); /* a local directory: not an operation */
    else if (sg_audit_cli_serves(sub_argc, sub_argv)) /* the tamper-evident log (src/audit) */
        rc = sg_audit_cli(&cfg, sub_argc, sub_argv);
    else if (sg_cli_serves(sub_argc, sub_argv)) /* through src/admin's operation table */
        rc = sg_cli_run(&cfg, sub_argc, sub_argv);
    else if (strcmp(cmd, "key") == 0)
        rc = sg_cli_key(&cfg, sub_argc, sub_argv);
    else if (strcmp(cmd, "cert") == 0)
        rc = sg_cli_cert(&cfg, sub_argc, sub_argv);
    else if (strcmp(cmd, "ca") == 0)
        rc = sg_cli_ca(&cfg, sub_argc, sub_argv);
    else if (strcmp(cmd, "policy") == 0)
        rc = sg_cli_policy(&cfg, sub_argc, sub_argv);
    else if (strcmp(cmd, "check-config") == 0)
        rc = sg_cli_check_config(&cfg, sub_argc, sub_argv);
    else if (strcmp(cmd, "backup") == 0 || strcmp(cmd, "restore") == 0)
        rc = sg_cli_backup(&cfg, sub_argc, sub_argv);
    else if (strcmp(cmd, "kek") == 0)
        rc = sg_cli_kek(&cfg, sub_argc, sub_argv);
#endif
    else {
        fprintf(stderr, "sealgate: unknown command '%s'\n", cmd);
        usage(stderr);
        rc = 2;
    }
#ifndef SG_NET_ONLY
    /* The CLI's own code (not yet the table's) writes no audit event: its changes get one here. */
    sg_cli_audit_own(&cfg, sub_argc, sub_argv, rc);
#endif
    sg_config_free(&cfg);
    return rc;
}
