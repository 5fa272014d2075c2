/* cli_backup.c - `sealgate backup FILE` and `sealgate restore FILE [KEKFILE]`. Owner: src/cli.
 * backup: a consistent snapshot of the store (store/backup.h), taken while the gateway runs, and
 * in a separate file the KEK wrapped under a passphrase (crypto/kekfile.h).
 * restore: into an installation whose store is missing or empty (else --force): checks both
 * files in full, proves the KEK unwraps every secret of the backup, then writes the KEK (the
 * cryptd user's, 0600, as `sealgate prepare` does) and puts the store in place.
 * SECURITY: run as root (or as the KEK's owner). Both files are written 0600; the passphrase
 * never comes from argv; the KEK lock (flock on keys/) is held while the snapshot is taken and
 * the KEK read, so no rotation can slip between them and pair a snapshot with the wrong KEK. */
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
#include "keys/kekrotate.h"
#include "lib/fsutil.h"
#include "roles.h"
#include "store/backup.h"

static int usage(const char *cmd)
{
    if (strcmp(cmd, "backup") == 0)
        fputs("usage: sealgate backup FILE [--kek-out KEKFILE] [--passphrase-file F]\n", stderr);
    else
        fputs("usage: sealgate restore FILE [KEKFILE] [--passphrase-file F] [--force]\n", stderr);
    return 2;
}

/* Options shared by both commands: positional arguments land in pos[]. -1 on a usage error. */
static int parse(int argc, char **argv, const char **kek_out, const char **passfile, bool *force,
                 const char *pos[2], int *npos)
{
    static const struct option opts[] = {{"kek-out", required_argument, NULL, 'k'},
                                         {"passphrase-file", required_argument, NULL, 'p'},
                                         {"force", no_argument, NULL, 'f'},
                                         {NULL, 0, NULL, 0}};
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'k')
            *kek_out = optarg;
        else if (c == 'p')
            *passfile = optarg;
        else if (c == 'f')
            *force = true;
        else
            return -1;
    }
    *npos = 0;
    for (; optind < argc; optind++) {
        if (*npos == 2)
            return -1;
        pos[(*npos)++] = argv[optind];
    }
    return 0;
}

static int do_backup(const sg_config *cfg, const char *file, const char *kek_out, const char *passfile)
{
    char kekfile[4096], kek_path[4096];
    snprintf(kekfile, sizeof kekfile, "%s.kek", file);
    if (!kek_out)
        kek_out = kekfile;
    sg_kek_path(cfg->base_dir, kek_path, sizeof kek_path);
    sg_store *st = sg_cli_store_open(cfg);
    if (!st)
        return 1;
    int rc = 1, lock = sg_cli_kek_lock(cfg, st);
    sg_kek kek;
    size_t total = 0;
    if (lock < 0)
        goto out;
    if (sg_kek_load(kek_path, &kek) < 0) {
        fprintf(stderr, "sealgate: cannot load the KEK %s: %s\n", kek_path, strerror(errno));
        goto out;
    }
    /* A backup whose secrets the KEK cannot open would be found useless only on the day of
     * the restore. */
    if (sg_cli_kek_opens(st, &kek, "no backup written", &total) != 0)
        goto out;
    if (sg_store_backup(st, file) < 0) {
        fprintf(stderr, "sealgate: %s\n", sg_store_error(st));
        goto out;
    }
    if (sg_cli_kekfile_write(kek_out, &kek, passfile) < 0) {
        unlink(file);
        goto out;
    }
    printf("backup %s (store, %zu wrapped secrets) and %s (the KEK, under the passphrase): keep them apart\n",
           file, total, kek_out);
    rc = 0;
out:
    sg_kek_wipe(&kek);
    if (lock >= 0)
        close(lock);
    sg_store_close(st);
    return rc;
}

/* The gateway of this configuration runs: restoring under it would pull its store away. */
static int running(const sg_config *cfg)
{
    char *s = NULL;
    size_t n;
    if (sg_read_file(cfg->pid_file, 64, &s, &n) < 0)
        return 0;
    long pid = strtol(s, NULL, 10);
    free(s);
    return pid > 1 && (kill((pid_t)pid, 0) == 0 || errno == EPERM) ? (int)pid : 0;
}

/* 0 when the store of cfg may be replaced (missing, empty, or force), else 1 after saying why. */
static int target_ok(const sg_config *cfg, bool force)
{
    if (access(cfg->store_path, F_OK) < 0)
        return 0;
    char err[512];
    sg_store *st = sg_store_open_auth(cfg->store_path, cfg->store_password_file, err, sizeof err);
    if (!st) {
        if (force)
            return 0;
        fprintf(stderr, "sealgate: the store %s exists and does not open (%s); --force replaces it\n",
                cfg->store_path, err);
        return 1;
    }
    int data = sg_store_has_data(st);
    if (data < 0)
        fprintf(stderr, "sealgate: %s\n", sg_store_error(st));
    sg_store_close(st);
    if (data == 0 || (data == 1 && force))
        return 0;
    if (data == 1)
        fprintf(stderr,
                "sealgate: refusing to restore: the store %s already holds keys, certificates or policy, "
                "which the restore would replace; restore into a fresh installation, or give --force\n",
                cfg->store_path);
    return 1;
}

static int do_restore(const sg_config *cfg, const char *file, const char *kekfile, const char *passfile,
                      bool force)
{
    char defkek[4096], kek_path[4096], err[512];
    snprintf(defkek, sizeof defkek, "%s.kek", file);
    if (!kekfile)
        kekfile = defkek;
    sg_kek_path(cfg->base_dir, kek_path, sizeof kek_path);
    /* base_dir as every command makes it (0755: the role users traverse it); made later as the
     * parent of store/ or keys/, it would get their 0700. */
    if (sg_mkdirs(cfg->base_dir, 0755) < 0) {
        fprintf(stderr, "sealgate: cannot create %s: %s\n", cfg->base_dir, strerror(errno));
        return 1;
    }
    int pid = running(cfg);
    if (pid) {
        fprintf(stderr, "sealgate: sealgate is running (pid %d, %s): stop it before a restore\n", pid,
                cfg->pid_file);
        return 1;
    }
    if (target_ok(cfg, force))
        return 1;
    /* The backup is verified in full before a passphrase is asked for. */
    sg_store *staged = sg_store_backup_stage(file, cfg->store_path, err, sizeof err);
    if (!staged) {
        fprintf(stderr, "sealgate: %s\n", err);
        return 1;
    }
    sg_kek kek;
    if (sg_cli_kekfile_read(kekfile, passfile, &kek) < 0) {
        sg_store_backup_discard(staged, cfg->store_path);
        return 1;
    }
    int rc = 1, lock = -1;
    size_t total = 0;
    int opens =
        sg_cli_kek_opens(staged, &kek, "nothing restored: is it the KEK exported with this backup?", &total);
    if (opens != 0) {
        sg_store_backup_discard(staged, cfg->store_path);
        goto out;
    }
    /* The same order as a rotation (keys/kekrotate.h): the KEK durably to keys/kek.new, the store
     * renamed into place, kek.new renamed over keys/kek. A kill in between leaves kek.new, and
     * the next start (or kek command) keeps whichever KEK opens the store that is in place. */
    char next[4096 + 8], kdir[4096 + 8];
    snprintf(next, sizeof next, "%s.new", kek_path);
    snprintf(kdir, sizeof kdir, "%s/keys", cfg->base_dir);
    if ((lock = sg_kek_lock(cfg->base_dir)) < 0 ||
        sg_kek_write(next, &kek, cfg->users.cryptd, cfg->users.group) < 0) {
        fprintf(stderr, "sealgate: cannot write the KEK %s: %s\n", next, strerror(errno));
        sg_store_backup_discard(staged, cfg->store_path);
        goto out;
    }
    if (sg_store_backup_install(staged, cfg->store_path, err, sizeof err) < 0) {
        fprintf(stderr, "sealgate: %s\n", err);
        unlink(next);
        goto out;
    }
    if (rename(next, kek_path) < 0 || sg_fsync_dir(kdir) < 0 ||
        sg_kek_ensure(cfg->base_dir, cfg->users.cryptd, cfg->users.group) < 0) {
        fprintf(stderr,
                "sealgate: the store is restored, but the KEK could not be put in place (%s): %s is "
                "kept and the next start puts it there\n",
                strerror(errno), next);
        goto out;
    }
    /* Opened once more the way every CLI command does: owner and mode as `start` wants them. */
    sg_store *st = sg_cli_store_open(cfg);
    if (!st)
        goto out;
    printf("restored %s into %s (schema version %d, %zu wrapped secrets; KEK %s)\n", file, cfg->store_path,
           sg_store_schema_version(st), total, kek_path);
    sg_store_close(st);
    rc = 0;
out:
    sg_kek_wipe(&kek);
    if (lock >= 0)
        close(lock);
    return rc;
}

int sg_cli_backup(const sg_config *cfg, int argc, char **argv)
{
    const char *kek_out = NULL, *passfile = NULL, *pos[2] = {NULL, NULL};
    bool force = false;
    int npos = 0;
    bool backup = strcmp(argv[0], "backup") == 0;
    if (parse(argc, argv, &kek_out, &passfile, &force, pos, &npos) < 0 || npos < 1 ||
        (backup && (npos != 1 || force)) || (!backup && kek_out))
        return usage(argv[0]);
    return backup ? do_backup(cfg, pos[0], kek_out, passfile)
                  : do_restore(cfg, pos[0], pos[1], passfile, force);
}
