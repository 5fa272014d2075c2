/* cli_kek.c - `sealgate kek export FILE | import FILE | rotate`. Owner: src/cli.
 * export/import move the KEK between installations (a cluster's nodes share one, issue 16) in
 * the passphrase-wrapped format of crypto/kekfile.h; rotate replaces it and re-wraps every
 * secret of the store (keys/kekrotate.h: a kill at any point leaves a working KEK).
 * SECURITY: run as root (or as the KEK's owner); the passphrase never comes from argv. import
 * refuses a KEK that does not open the secrets already in the store: installing it would make
 * them unreadable. SEALGATE_TEST_KEK_PAUSE=N stops the rotating process (SIGSTOP) at step N so
 * that tests/integration/test_kek_rotate.py can kill it there; it only ever stops the process
 * that reads it. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_pass.h"
#include "cli/cli_store.h"
#include "crypto/kek.h"
#include "keys/kekcheck.h"
#include "keys/kekrotate.h"
#include "roles.h"

static int usage(void)
{
    fputs("usage: sealgate kek export FILE [--passphrase-file F]\n"
          "       sealgate kek import FILE [--passphrase-file F]\n"
          "       sealgate kek rotate\n",
          stderr);
    return 2;
}

static int pause_at = -1;

static void step(int n)
{
    if (n != pause_at)
        return;
    fprintf(stderr, "sealgate: kek rotate paused at step %d\n", n);
    fflush(stderr);
    raise(SIGSTOP);
}

static int kek_export(const sg_config *cfg, sg_store *st, const char *file, const char *passfile)
{
    char path[4096];
    sg_kek_path(cfg->base_dir, path, sizeof path);
    int lock = sg_cli_kek_lock(cfg, st), rc = 1;
    if (lock < 0)
        return 1;
    sg_kek kek;
    if (sg_kek_load(path, &kek) < 0)
        fprintf(stderr, "sealgate: cannot load the KEK %s: %s\n", path, strerror(errno));
    else if (sg_cli_kekfile_write(file, &kek, passfile) == 0) {
        printf("exported the KEK of %s to %s (under the passphrase)\n", cfg->base_dir, file);
        rc = 0;
    }
    sg_kek_wipe(&kek);
    close(lock);
    return rc;
}

static int kek_import(const sg_config *cfg, sg_store *st, const char *file, const char *passfile)
{
    char path[4096];
    sg_kek_path(cfg->base_dir, path, sizeof path);
    sg_kek kek;
    if (sg_cli_kekfile_read(file, passfile, &kek) < 0)
        return 1;
    int lock = sg_cli_kek_lock(cfg, st), rc = 1;
    size_t total = 0;
    if (lock < 0 ||
        sg_cli_kek_opens(st, &kek, "refusing to import (the store's secrets would become unreadable)",
                         &total) != 0)
        goto out;
    /* The cluster's check value (keys/kekcheck.h) follows the secrets: a KEK that opens every
     * one of them is the store's, whatever an older check value said. */
    char why[512];
    int chk = sg_kek_cluster_check(st, &kek, why, sizeof why);
    if (chk < 0 || (chk == 1 && sg_kek_check_set(st, &kek, why, sizeof why) < 0)) {
        fprintf(stderr, "sealgate: %s\n", why);
        goto out;
    }
    if (chk == 1)
        printf("the store's KEK check value was another KEK's; it is now this one's: start the other nodes "
               "of the cluster only with this KEK\n");
    if (sg_kek_write(path, &kek, cfg->users.cryptd, cfg->users.group) < 0 ||
        sg_kek_ensure(cfg->base_dir, cfg->users.cryptd, cfg->users.group) < 0) {
        fprintf(stderr, "sealgate: cannot write %s: %s\n", path, strerror(errno));
        goto out;
    }
    printf("imported the KEK into %s (it unwraps all %zu secrets of the store)\n", path, total);
    rc = 0;
out:
    sg_kek_wipe(&kek);
    if (lock >= 0)
        close(lock);
    return rc;
}

static int kek_rotate(const sg_config *cfg, sg_store *st)
{
    const char *p = getenv("SEALGATE_TEST_KEK_PAUSE");
    pause_at = p && *p ? atoi(p) : -1;
    char err[512];
    int lock = sg_kek_lock(cfg->base_dir);
    if (lock < 0) {
        fprintf(stderr, "sealgate: cannot lock %s/keys: %s\n", cfg->base_dir, strerror(errno));
        return 1;
    }
    size_t n = 0;
    int rc = sg_kek_rotate(cfg->base_dir, st, cfg->users.cryptd, cfg->users.group, step, &n, err, sizeof err);
    close(lock);
    if (rc < 0) {
        fprintf(stderr, "sealgate: kek rotate: %s\n", err);
        return 1;
    }
    printf("rotated the KEK of %s: %zu secrets re-wrapped; export the new KEK (sealgate kek export) and "
           "take a new backup: older KEK exports no longer open this store\n",
           cfg->base_dir, n);
    return 0;
}

int sg_cli_kek(const sg_config *cfg, int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *sub = argv[1], *passfile = NULL;
    static const struct option opts[] = {{"passphrase-file", required_argument, NULL, 'p'},
                                         {NULL, 0, NULL, 0}};
    optind = 0;
    int c;
    while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
        if (c != 'p')
            return usage();
        passfile = optarg;
    }
    int nargs = argc - 1 - optind;
    char **args = argv + 1 + optind;
    bool rotate = strcmp(sub, "rotate") == 0;
    if ((rotate && (nargs != 0 || passfile)) ||
        (!rotate && (nargs != 1 || (strcmp(sub, "export") != 0 && strcmp(sub, "import") != 0))))
        return usage();
    sg_store *st = sg_cli_store_open(cfg);
    if (!st)
        return 1;
    int rc = rotate                       ? kek_rotate(cfg, st)
             : strcmp(sub, "export") == 0 ? kek_export(cfg, st, args[0], passfile)
                                          : kek_import(cfg, st, args[0], passfile);
    sg_store_close(st);
    return rc;
}
