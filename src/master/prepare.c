/* prepare.c - directories, modes, store and pid file for `sealgate start`. Owner: src/master.
 * Ownership model when started as root: the spool and the sink maildir are root:<group> 2770 so
 * every role (each in users.group) can rename between states; the store belongs to the cryptd
 * user, mode 0600, because it holds wrapped private keys, and so does <base_dir>/keys/kek (the
 * key-encryption key, directory 0700). As non-root everything is simply
 * owned by the caller. */
#include "master/prepare.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/kek.h"
#include "lib/fsutil.h"
#include "lib/privdrop.h"
#include "queue/queue.h"
#include "store/store.h"

static int shared_dir(const sg_config *cfg, const char *path, char *err, size_t errlen)
{
    if (sg_mkdirs(path, 02770) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    if (geteuid() == 0 && (sg_priv_chown(path, "root", cfg->users.group) < 0 || chmod(path, 02770) < 0)) {
        snprintf(err, errlen, "cannot set owner of %s to root:%s: %s", path, cfg->users.group,
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* The store lives in a directory of its own, owned by the cryptd user (0700): SQLite creates its
 * -wal and -shm files next to the database, so cryptd must be able to write that directory after
 * it dropped privileges; base_dir itself stays root's. Files the admin CLI (root) may have left
 * there get the cryptd user back on every start. */
static int prepare_store(const sg_config *cfg, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", cfg->store_path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    if (sg_mkdirs(dir, 0700) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    sg_store *st = sg_store_open(cfg->store_path, err, errlen);
    if (!st)
        return -1;
    sg_store_close(st);
    chmod(cfg->store_path, 0600);
    if (geteuid() != 0)
        return 0;
    if (strcmp(dir, cfg->base_dir) == 0) {
        snprintf(err, errlen, "the store %s must be in a directory of its own (not base_dir) so that "
                              "the cryptd user can own it; e.g. store = \"store/sealgate.db\"",
                 cfg->store_path);
        return -1;
    }
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        char p[PATH_MAX + 16];
        snprintf(p, sizeof p, "%s%s", cfg->store_path, suffix[i]);
        if (access(p, F_OK) == 0 && sg_priv_chown(p, cfg->users.cryptd, cfg->users.group) < 0) {
            snprintf(err, errlen, "cannot give %s to %s: %s", p, cfg->users.cryptd, strerror(errno));
            return -1;
        }
    }
    if (sg_priv_chown(dir, cfg->users.cryptd, cfg->users.group) < 0 || chmod(dir, 0700) < 0) {
        snprintf(err, errlen, "cannot give %s to %s: %s", dir, cfg->users.cryptd, strerror(errno));
        return -1;
    }
    return 0;
}

int sg_master_prepare(const sg_config *cfg, char *err, size_t errlen)
{
    if (sg_mkdirs(cfg->base_dir, 0755) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", cfg->base_dir, strerror(errno));
        return -1;
    }
    if (shared_dir(cfg, cfg->spool_dir, err, errlen) < 0)
        return -1;
    for (int s = 0; s < SG_Q_NSTATES; s++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", cfg->spool_dir, sg_qstate_name(s));
        if (shared_dir(cfg, p, err, errlen) < 0)
            return -1;
    }
    if (cfg->sink.enabled) {
        static const char *const sub[] = {"", "/tmp", "/new", "/cur"};
        for (int i = 0; i < 4; i++) {
            char p[PATH_MAX];
            snprintf(p, sizeof p, "%s%s", cfg->sink.maildir, sub[i]);
            if (shared_dir(cfg, p, err, errlen) < 0)
                return -1;
        }
    }
    if (prepare_store(cfg, err, errlen) < 0)
        return -1;
    /* The KEK that wraps private keys: readable by the cryptd user only (DESIGN.md). */
    if (sg_kek_ensure(cfg->base_dir, cfg->users.cryptd, cfg->users.group) < 0) {
        snprintf(err, errlen, "cannot create the key-encryption key in %s/keys: %s", cfg->base_dir,
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* Started as root, each role drops to its own user: prove now, in a throw-away child, that such a
 * user can reach the spool, instead of letting every role die on start in a restart loop. */
static int check_reach(const sg_config *cfg, const char *user, char *err, size_t errlen)
{
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        char e[256];
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/incoming", cfg->spool_dir);
        if (sg_priv_drop(user, cfg->users.group, e, sizeof e) < 0)
            _exit(2);
        _exit(access(p, R_OK | W_OK | X_OK) == 0 ? 0 : 3);
    }
    int st;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 2)
        snprintf(err, errlen,
                 "cannot drop privileges to %s: does the user exist? (scripts/deps.sh "
                 "creates the role users)",
                 user);
    else
        snprintf(err, errlen,
                 "user %s cannot reach %s: every directory above base_dir must be "
                 "searchable by the role users (chmod o+x), or set base_dir elsewhere, "
                 "e.g. /var/lib/sealgate",
                 user, cfg->spool_dir);
    return -1;
}

int sg_master_check_roles(const sg_config *cfg, char *err, size_t errlen)
{
    if (geteuid() != 0)
        return 0;
    const char *users[] = {cfg->users.smtpd, cfg->users.cryptd, cfg->users.relay};
    for (int i = 0; i < 3; i++)
        if (check_reach(cfg, users[i], err, errlen) < 0)
            return -1;
    return 0;
}

int sg_master_pidfile(const sg_config *cfg, char *err, size_t errlen)
{
    char *old = NULL;
    size_t len;
    if (sg_read_file(cfg->pid_file, 64, &old, &len) == 0) {
        long pid = strtol(old, NULL, 10);
        free(old);
        if (pid > 1 && pid != getpid() && (kill((pid_t)pid, 0) == 0 || errno == EPERM)) {
            snprintf(err, errlen, "sealgate is already running (pid %ld, %s)", pid, cfg->pid_file);
            return -1;
        }
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (sg_write_file_atomic(cfg->pid_file, buf, (size_t)n, 0644) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", cfg->pid_file, strerror(errno));
        return -1;
    }
    return 0;
}
