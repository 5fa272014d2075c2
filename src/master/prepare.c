/* prepare.c - directories, modes, store and pid file for `sealgate start`. Owner: src/master.
 * Ownership model when started as root: each spool state has the owner it needs (the table
 * `layout` below, docs/architecture.md "Spool ownership"): a state shared by a producer and a
 * consumer belongs to the consumer with the producer's role group (the group named like the
 * role user, which sg_priv_drop adds), mode 0730: the producer can put files in but not list
 * or read what is there; a role's own states are 0700; files are
 * <writer>:<users.group> 0640, so what guards them is which directory a role can enter. The
 * sink's maildir is the sink user's. The store belongs to the cryptd user with the store group
 * (users.store_group, whose members are the cryptd and web users), mode 0660 in a setgid 02770
 * directory: the portal reads and writes accounts, sessions and what the operations change,
 * while no other role can open it. The key-encryption key <base_dir>/keys/kek stays the cryptd
 * user's alone (0600, directory 0700): the wrapped keys in the store are of no use without it.
 * As non-root everything is simply owned by the caller. */
#include "master/prepare.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit/checkpoint.h"
#include "audit/mail.h"
#include "crypto/kek.h"
#include "keys/kekcheck.h"
#include "keys/kekrotate.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/privdrop.h"
#include "queue/queue.h"
#include "store/cluster_rows.h"
#include "store/store.h"

enum { W_ROOT, W_SMTPD, W_CRYPTD, W_RELAY };

/* One directory of the spool: owner, group (a role's own group, or users.group when
 * W_ROOT), mode. NULL path: the spool itself. */
typedef struct spool_dir {
    const char *path;
    int owner, group;
    mode_t mode;
} spool_dir;

static const spool_dir layout[] = {
    {NULL, W_ROOT, W_ROOT, 0710},         /* traverse only */
    {"tmp", W_ROOT, W_ROOT, 02710},       /* the CLI's (root's) tmp; setgid: its files are users.group's */
    {"tmp/smtpd", W_SMTPD, W_ROOT, 0700}, /* each role's files being written: its own */
    {"tmp/cryptd", W_CRYPTD, W_ROOT, 0700},
    {"tmp/relay", W_RELAY, W_ROOT, 0700},
    {"incoming", W_CRYPTD, W_SMTPD, 0730}, /* smtpd writes (cannot list), cryptd takes */
    {"active", W_CRYPTD, W_ROOT, 0700},
    {"hold", W_CRYPTD, W_ROOT, 0700}, /* [encrypt] mail waits here in the clear */
    /* cryptd writes outgoing/, relay sends and removes; cryptd may also list, read and move
     * there and in deferred/ (the queue operations run in cryptd: docs/architecture.md) */
    {"outgoing", W_RELAY, W_CRYPTD, 0770},
    {"deferred", W_RELAY, W_CRYPTD, 0770},
    {"dsn", W_CRYPTD, W_RELAY, 0730},   /* relay's bounces, taken by cryptd through the policy */
    {"corrupt", W_ROOT, W_ROOT, 01730}, /* cryptd and relay move files in; only root lists or reads */
};

static const char *who(const sg_config *cfg, int w)
{
    return w == W_SMTPD    ? cfg->users.smtpd
           : w == W_CRYPTD ? cfg->users.cryptd
           : w == W_RELAY  ? cfg->users.relay
                           : NULL;
}

static int own_dir(const sg_config *cfg, const char *path, const spool_dir *d, char *err, size_t errlen)
{
    if (sg_mkdirs(path, d->mode & 0777) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    if (geteuid() != 0)
        return 0;
    const char *owner = who(cfg, d->owner),
               *group = d->group == W_ROOT ? cfg->users.group : who(cfg, d->group);
    struct passwd *pw = owner ? getpwnam(owner) : NULL;
    struct group *gr = getgrnam(group);
    if ((owner && !pw) || !gr) {
        snprintf(err, errlen, "%s %s does not exist (scripts/deps.sh creates the role users and groups)",
                 owner && !pw ? "user" : "group", owner && !pw ? owner : group);
        return -1;
    }
    /* chmod only when the mode differs: under systemd's RestrictSUIDSGID= a chmod that names the
     * setgid bit of tmp/ fails even when the bit is there already (the package's postinst,
     * outside the sandbox, lays the spool out first; debian/sealgate.service). */
    struct stat st;
    if (chown(path, pw ? pw->pw_uid : 0, gr->gr_gid) < 0 || stat(path, &st) < 0 ||
        ((st.st_mode & 07777) != d->mode && chmod(path, d->mode) < 0)) {
        snprintf(err, errlen, "cannot give %s to %s:%s mode %04o: %s", path, owner ? owner : "root", group,
                 (unsigned)d->mode, strerror(errno));
        return -1;
    }
    return 0;
}

/* The sink's maildir: the sink user's own (it stands for a peer outside the gateway). */
static int sink_dir(const sg_config *cfg, const char *path, char *err, size_t errlen)
{
    if (sg_mkdirs(path, 0750) < 0 || sg_priv_chown(path, cfg->users.sink, NULL) < 0 ||
        (geteuid() == 0 && chmod(path, 0750) < 0)) {
        snprintf(err, errlen, "cannot give %s to %s: %s", path, cfg->users.sink, strerror(errno));
        return -1;
    }
    return 0;
}

/* The store lives in a directory of its own, owned by the cryptd user (0700): SQLite creates its
 * -wal and -shm files next to the database, so cryptd must be able to write that directory after
 * it dropped privileges; base_dir itself stays root's. Files the admin CLI (root) may have left
 * there get the cryptd user back on every start. The web role writes the store too (accounts,
 * sessions): the directory is setgid to the store group, so a -wal or -shm file either role
 * creates has that group and the database's mode 0660, and the other can open it. */
/* A node that comes back after another node adopted a copy of its spool (`sealgate queue
 * adopt`, docs/cluster.md) must not deliver those messages a second time: each message of its
 * spool that the shared store records as adopted by another node goes to corrupt/ (kept, never
 * sent), and the log says so. Runs before any role; a store error leaves the spool as it is. */
static void set_aside_adopted(const sg_config *cfg)
{
    static const int states[] = {SG_Q_INCOMING, SG_Q_ACTIVE, SG_Q_OUTGOING, SG_Q_DEFERRED, SG_Q_HOLD};
    const char *node = cfg->hostname && *cfg->hostname ? cfg->hostname : "localhost";
    char err[512];
    sg_queue q;
    if (sg_queue_open(&q, cfg->spool_dir, "master", false) < 0)
        return;
    sg_store *st = sg_store_open_auth(cfg->store_path, cfg->store_password_file, err, sizeof err);
    for (size_t s = 0; st && s < sizeof states / sizeof states[0]; s++) {
        char **names;
        size_t n;
        if (sg_queue_list(&q, states[s], &names, &n) < 0)
            continue;
        for (size_t i = 0; i < n; i++) {
            char key[SG_QID_MAX + 16], by[300];
            snprintf(key, sizeof key, "adopted/%s", names[i]);
            if (!sg_queue_name_valid(names[i]) || sg_store_meta_get(st, key, by, sizeof by) != 0 ||
                strncmp(by, "done ", 5) != 0 || strcmp(by + 5, node) == 0)
                continue;
            int rc = sg_queue_move(&q, names[i], states[s], SG_Q_CORRUPT);
            sg_warn(names[i], "event=adopted-elsewhere state=%s by=%s action=%s", sg_qstate_name(states[s]), by + 5,
                    rc == 0 ? "moved-to-corrupt" : "move-failed");
        }
        sg_queue_names_free(names, n);
    }
    sg_store_close(st);
    sg_queue_close(&q);
}

/* The KEK check value in the store (keys/kekcheck.h): written by the first node, compared by
 * every other. 0, or -1 with err. */
static int check_cluster_kek(const sg_config *cfg, char *err, size_t errlen)
{
    char path[PATH_MAX], why[512];
    sg_kek_path(cfg->base_dir, path, sizeof path);
    sg_kek kek;
    if (sg_kek_load(path, &kek) < 0) {
        snprintf(err, errlen, "cannot load the key-encryption key %s: %s", path, strerror(errno));
        return -1;
    }
    sg_store *st = sg_store_open_auth(cfg->store_path, cfg->store_password_file, err, errlen);
    int rc = st ? sg_kek_cluster_check(st, &kek, why, sizeof why) : -1;
    sg_kek_wipe(&kek);
    sg_store_close(st);
    if (rc != 0 && st)
        snprintf(err, errlen, "%s (%s)", why, path);
    return rc == 0 ? 0 : -1;
}

static int prepare_store(const sg_config *cfg, char *err, size_t errlen)
{
    if (sg_store_is_remote(cfg->store_path)) {
        /* PostgreSQL: no file to own; opening migrates (once per cluster, under a lock). */
        sg_store *st = sg_store_open_auth(cfg->store_path, cfg->store_password_file, err, errlen);
        sg_store_close(st);
        return st ? 0 : -1;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", cfg->store_path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    if (sg_mkdirs(dir, 0700) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    sg_store *st = sg_store_open_auth(cfg->store_path, cfg->store_password_file, err, errlen);
    if (!st)
        return -1;
    sg_store_close(st);
    if (geteuid() != 0) {
        chmod(cfg->store_path, 0600);
        return 0;
    }
    chmod(cfg->store_path, 0660);
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
        if (access(p, F_OK) == 0 &&
            (sg_priv_chown(p, cfg->users.cryptd, cfg->users.store_group) < 0 || chmod(p, 0660) < 0)) {
            snprintf(err, errlen, "cannot give %s to %s: %s", p, cfg->users.cryptd, strerror(errno));
            return -1;
        }
    }
    if (sg_priv_chown(dir, cfg->users.cryptd, cfg->users.store_group) < 0 || chmod(dir, 02770) < 0) {
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
    for (size_t i = 0; i < sizeof layout / sizeof layout[0]; i++) {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s%s%s", cfg->spool_dir, layout[i].path ? "/" : "",
                 layout[i].path ? layout[i].path : "");
        if (own_dir(cfg, p, &layout[i], err, errlen) < 0)
            return -1;
    }
    if (cfg->sink.enabled) {
        static const char *const sub[] = {"", "/tmp", "/new", "/cur"};
        for (int i = 0; i < 4; i++) {
            char p[PATH_MAX];
            snprintf(p, sizeof p, "%s%s", cfg->sink.maildir, sub[i]);
            if (sink_dir(cfg, p, err, errlen) < 0)
                return -1;
        }
    }
    if (prepare_store(cfg, err, errlen) < 0)
        return -1;
    /* A `sealgate kek rotate` killed between its steps left keys/kek.new: keep the KEK that the
     * store's secrets are wrapped under before cryptd loads one (src/keys/kekrotate.h). */
    int lock = sg_kek_lock(cfg->base_dir);
    if (lock < 0) {
        snprintf(err, errlen, "cannot lock %s/keys: %s", cfg->base_dir, strerror(errno));
        return -1;
    }
    sg_store *st = sg_store_open_auth(cfg->store_path, cfg->store_password_file, err, errlen);
    int rec = st ? sg_kek_recover(cfg->base_dir, st, err, errlen) : -1;
    sg_store_close(st);
    close(lock);
    if (rec < 0)
        return -1;
    /* The KEK that wraps private keys: readable by the cryptd user only (DESIGN.md). */
    if (sg_kek_ensure(cfg->base_dir, cfg->users.cryptd, cfg->users.group) < 0) {
        snprintf(err, errlen, "cannot create the key-encryption key in %s/keys: %s", cfg->base_dir,
                 strerror(errno));
        return -1;
    }
    /* One KEK for the cluster (docs/cluster.md): a node whose KEK is not the one the shared
     * store's secrets are wrapped under refuses to start, and says why. */
    if (check_cluster_kek(cfg, err, errlen) < 0)
        return -1;
    set_aside_adopted(cfg);
    /* The log's checkpoint signing key (docs/audit.md): like the KEK, the cryptd user's alone. */
    if (sg_audit_key_ensure(cfg->base_dir, cfg->users.cryptd, cfg->users.group) < 0) {
        snprintf(err, errlen, "cannot create the audit log's signing key in %s/keys: %s", cfg->base_dir,
                 strerror(errno));
        return -1;
    }
    /* The key of audit.hmac_addresses: cryptd writes with it, the web role's Auditor page
     * searches with it (the group may read it); made whether or not it is switched on. */
    if (sg_tlog_hmac_ensure(cfg->base_dir, cfg->users.cryptd, cfg->users.group) < 0) {
        snprintf(err, errlen, "cannot create the audit log's address key in %s/keys: %s", cfg->base_dir,
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* What each role must be able to do after its drop (the layout above, seen from the role):
 * rwx on the states it uses, wx on corrupt/ where it only moves files in. */
typedef struct reach {
    const char *path;
    int mode;
} reach;

static const reach smtpd_needs[] = {{"tmp/smtpd", R_OK | W_OK | X_OK}, {"incoming", W_OK | X_OK}, {NULL, 0}};
static const reach cryptd_needs[] = {
    {"tmp/cryptd", R_OK | W_OK | X_OK}, {"incoming", R_OK | W_OK | X_OK}, {"active", R_OK | W_OK | X_OK},
    {"hold", R_OK | W_OK | X_OK},       {"outgoing", R_OK | W_OK | X_OK}, {"deferred", R_OK | W_OK | X_OK},
    {"dsn", R_OK | W_OK | X_OK},        {"corrupt", W_OK | X_OK},         {NULL, 0}};
static const reach relay_needs[] = {{"tmp/relay", R_OK | W_OK | X_OK}, {"outgoing", R_OK | W_OK | X_OK},
                                    {"deferred", R_OK | W_OK | X_OK},  {"dsn", W_OK | X_OK},
                                    {"corrupt", W_OK | X_OK},          {NULL, 0}};

/* Started as root, each role drops to its own user: prove now, in a throw-away child, that such a
 * user can reach what it needs, instead of letting every role die on start in a restart loop.
 * base NULL: the paths are absolute (the sink's maildir). */
static int check_reach(const sg_config *cfg, const char *user, const char *group, const char *base,
                       const reach *needs, char *err, size_t errlen)
{
    int pfd[2];
    if (pipe(pfd) < 0)
        return 0;
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return 0;
    }
    if (pid == 0) {
        char e[256];
        close(pfd[0]);
        if (sg_priv_drop(user, group, e, sizeof e) < 0)
            _exit(2);
        for (int i = 0; needs[i].path; i++) {
            char p[PATH_MAX + 32];
            snprintf(p, sizeof p, "%s%s%s", base ? base : "", base ? "/" : "", needs[i].path);
            if (access(p, needs[i].mode) != 0) {
                ssize_t w = write(pfd[1], p, strlen(p));
                (void)w;
                _exit(3);
            }
        }
        _exit(0);
    }
    close(pfd[1]);
    char what[PATH_MAX + 32] = "";
    ssize_t got = read(pfd[0], what, sizeof what - 1);
    what[got > 0 ? got : 0] = '\0';
    close(pfd[0]);
    int st;
    waitpid(pid, &st, 0);
    (void)cfg;
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
                 user, what[0] ? what : cfg->spool_dir);
    return -1;
}

int sg_master_check_roles(const sg_config *cfg, char *err, size_t errlen)
{
    if (geteuid() != 0)
        return 0;
    const char *users[] = {cfg->users.smtpd, cfg->users.cryptd, cfg->users.relay};
    const reach *needs[] = {smtpd_needs, cryptd_needs, relay_needs};
    for (int i = 0; i < 3; i++)
        if (check_reach(cfg, users[i], cfg->users.group, cfg->spool_dir, needs[i], err, errlen) < 0)
            return -1;
    if (cfg->web.enabled) {
        char sd[PATH_MAX];
        snprintf(sd, sizeof sd, "%s", cfg->store_path);
        char *slash = strrchr(sd, '/');
        if (slash)
            *slash = '\0';
        const reach file_needs[] = {{sd, R_OK | W_OK | X_OK}, {cfg->store_path, R_OK | W_OK}, {NULL, 0}};
        /* PostgreSQL: no file but the password file, when there is one (a URI is no path). */
        const reach pg_needs[] = {{cfg->store_password_file, R_OK}, {NULL, 0}};
        const reach *web_needs = !sg_store_is_remote(cfg->store_path)                    ? file_needs
                                 : cfg->store_password_file && *cfg->store_password_file ? pg_needs
                                                                                         : pg_needs + 1;
        if (check_reach(cfg, cfg->users.web, cfg->users.group, NULL, web_needs, err, errlen) < 0)
            return -1;
    }
    if (cfg->sink.enabled) {
        char nd[PATH_MAX + 8];
        snprintf(nd, sizeof nd, "%s/new", cfg->sink.maildir);
        const reach sink_needs[] = {
            {cfg->sink.maildir, R_OK | W_OK | X_OK}, {nd, R_OK | W_OK | X_OK}, {NULL, 0}};
        if (check_reach(cfg, cfg->users.sink, NULL, NULL, sink_needs, err, errlen) < 0)
            return -1;
    }
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
