/* master.c - `sealgate start`: prepares the base directory, binds the listening sockets, starts
 * each role as its own process, restarts a role that dies, reloads on SIGHUP, stops on SIGTERM.
 * Owner: src/master.
 *
 * SECURITY: the master keeps root when started as root (it must bind ports and restart roles) but
 * talks to no network peer and reads no message or key. Under the unit it has CAP_SETUID and
 * CAP_SETGID alone: it signals roles and cleans their tmp files as their users (asuser.h). Each role is a fresh exec of this binary
 * (its own address space) that drops to its own user after opening what it needs. The spool is
 * owned per state (src/master/prepare.c); the store belongs to the cryptd user. The master itself
 * does not set no_new_privs (it execs the roles); every role sets it (sg_priv_drop).
 *
 * Reload: the new configuration is validated first; a broken file is reported and the running
 * configuration stays. smtpd, sink and web are replaced new-first (they share the listening
 * socket, so no connection is refused); cryptd and relay old-first (one instance owns their
 * states).
 *
 * Readiness: each role gets the write end of a pipe ($SEALGATE_READY_FD, lib/ready.h) and writes
 * one byte once it is up; when every enabled role did, the master logs event=ready and tells
 * systemd READY=1 (src/master/notify.c), after start and again after a reload. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "master/asuser.h"
#include "master/exe.h"
#include "master/notify.h"
#include "lib/log.h"
#include "lib/netaddr.h"
#include "lib/privdrop.h"
#include "lib/ready.h"
#include "master/prepare.h"
#include "queue/queue.h"
#include "roles.h"

enum { R_SMTPD, R_CRYPTD, R_RELAY, R_SINK, R_WEB, R_COUNT };
/* A role that stayed up this long was healthy: its next death restarts it at once and the
 * backoff starts again from 1 s. */
#define HEALTHY_RUN 10

/* Seconds on the monotonic clock: a step of the wall clock (NTP, an admin) must neither make
 * a long healthy run look like a quick death nor delay a restart. */
static time_t mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}
static const char *const role_names[R_COUNT] = {"smtpd", "cryptd", "relay", "sink", "web"};

typedef struct role {
    pid_t pid;
    int listen_fd; /* -1 for roles without a socket */
    char listen_addr[256];
    time_t started;   /* monotonic seconds (mono()), like restart_at */
    int quick_deaths; /* consecutive deaths within HEALTHY_RUN s of start: drives the backoff */
    time_t restart_at;
    int enabled;
    int ready_fd; /* read end of the role's readiness pipe until its byte (or EOF) came; -1 */
    bool ready;   /* the running instance said it is up */
} role;

typedef struct master {
    char config_path[PATH_MAX]; /* empty: embedded defaults */
    sg_config cfg;
    role r[R_COUNT];
    sg_queue q;
    int stopping;
    bool ready_sent; /* READY=1 told for the current start or reload */
} master;

/* The user and group a role drops to (the roles' own sg_priv_drop calls). */
static void role_user(const master *m, int idx, const char **user, const char **group)
{
    const sg_config *c = &m->cfg;
    *group = idx == R_SINK ? NULL : c->users.group;
    *user = idx == R_SMTPD    ? c->users.smtpd
            : idx == R_CRYPTD ? c->users.cryptd
            : idx == R_RELAY  ? c->users.relay
            : idx == R_SINK   ? c->users.sink
                              : c->users.web;
}

/* Signals a role; under the unit (no CAP_KILL) as the role's user (asuser.h). */
static void signal_role(master *m, int idx, pid_t pid, int sig)
{
    const char *user, *group;
    role_user(m, idx, &user, &group);
    if (sg_master_kill_as(user, group, pid, sig) < 0 && errno != ESRCH)
        sg_warn(NULL, "event=signal-failed role=%s pid=%ld signal=%d error=\"%s\"", role_names[idx], (long)pid, sig,
                strerror(errno));
}

/* Unacknowledged partial writes of a dead process (pid; 0: of any) are garbage. tmp/ROLE/ of
 * the roles that write the spool belongs to each role's user: under the unit the master cleans
 * it as that user (asuser.h). idx < 0: an old instance replaced during a reload, any role. */
static void clean_tmp(master *m, int idx, long pid)
{
    sg_queue_clean_tmp(&m->q, pid);
    static const int writers[] = {R_SMTPD, R_CRYPTD, R_RELAY};
    for (size_t i = 0; i < sizeof writers / sizeof writers[0]; i++)
        if (idx < 0 || idx == writers[i]) {
            const char *user, *group;
            role_user(m, writers[i], &user, &group);
            sg_master_clean_tmp_as(user, group, m->cfg.spool_dir, role_names[writers[i]], pid);
        }
}

static pid_t spawn(master *m, int idx)
{
    role *r = &m->r[idx];
    char exe[PATH_MAX];
    if (sg_role_exe(role_names[idx], exe, sizeof exe) < 0)
        return -1;
    int rp[2];
    if (pipe2(rp, O_CLOEXEC) < 0) {
        sg_error(NULL, "event=fork-failed role=%s error=\"%s\"", role_names[idx], strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        sg_error(NULL, "event=fork-failed role=%s error=\"%s\"", role_names[idx], strerror(errno));
        close(rp[0]);
        close(rp[1]);
        return -1;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        sg_notify_forget();
        /* Copies above 10 first, so neither dup2 below overwrites the other's source. */
        int lfd = r->listen_fd >= 0 ? fcntl(r->listen_fd, F_DUPFD_CLOEXEC, 10) : -1,
            wfd = fcntl(rp[1], F_DUPFD_CLOEXEC, 10);
        if (wfd < 0 || (r->listen_fd >= 0 && lfd < 0))
            _exit(127);
        if (lfd >= 0) {
            /* The socket is the child's fd 3, named in the environment. */
            if (dup2(lfd, 3) < 0)
                _exit(127);
            setenv("SEALGATE_LISTEN_FD", "3", 1);
        } else {
            unsetenv("SEALGATE_LISTEN_FD");
        }
        if (dup2(wfd, 4) < 0) /* the readiness pipe is fd 4 (lib/ready.h) */
            _exit(127);
        setenv(SG_READY_ENV, "4", 1);
        char *argv[6];
        int a = 0;
        argv[a++] = "sealgate";
        if (m->config_path[0]) {
            argv[a++] = "-c";
            argv[a++] = m->config_path;
        }
        argv[a++] = (char *)role_names[idx];
        argv[a] = NULL;
        execv(exe, argv);
        _exit(127);
    }
    close(rp[1]);
    if (r->ready_fd >= 0)
        close(r->ready_fd);
    r->ready_fd = rp[0];
    r->ready = false;
    r->pid = pid;
    r->started = mono();
    sg_info(NULL, "event=role-started role=%s pid=%ld", role_names[idx], (long)pid);
    return pid;
}

static int bind_role(master *m, int idx, const char *addr)
{
    role *r = &m->r[idx];
    if (r->listen_fd >= 0 && strcmp(r->listen_addr, addr) == 0)
        return 0;
    int fd = sg_listen_tcp(addr, 1024);
    if (fd < 0) {
        sg_error(NULL, "event=bind-failed role=%s listen=%s error=\"%s\"", role_names[idx], addr,
                 strerror(errno));
        return -1;
    }
    if (r->listen_fd >= 0)
        close(r->listen_fd);
    r->listen_fd = fd;
    snprintf(r->listen_addr, sizeof r->listen_addr, "%s", addr);
    return 0;
}

static int setup_roles(master *m)
{
    m->r[R_SMTPD].enabled = m->r[R_CRYPTD].enabled = m->r[R_RELAY].enabled = 1;
    m->r[R_SINK].enabled = m->cfg.sink.enabled;
    m->r[R_WEB].enabled = m->cfg.web.enabled;
    if (bind_role(m, R_SMTPD, m->cfg.smtpd.listen) < 0)
        return -1;
    if (m->cfg.sink.enabled && bind_role(m, R_SINK, m->cfg.sink.listen) < 0)
        return -1;
    if (m->cfg.web.enabled && bind_role(m, R_WEB, m->cfg.web.listen) < 0)
        return -1;
    return 0;
}

/* A byte on a role's pipe: it is up. EOF without one: it exited first (reap restarts it). */
static void read_ready(master *m, int idx)
{
    role *r = &m->r[idx];
    char b;
    ssize_t n = read(r->ready_fd, &b, 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    r->ready = n == 1;
    close(r->ready_fd);
    r->ready_fd = -1;
}

/* READY=1 once per start or reload, when every enabled role of this generation is up. */
static void check_ready(master *m)
{
    if (m->ready_sent || m->stopping)
        return;
    int n = 0;
    for (int i = 0; i < R_COUNT; i++) {
        if (m->r[i].enabled && !(m->r[i].pid > 0 && m->r[i].ready))
            return;
        n += m->r[i].enabled;
    }
    m->ready_sent = true;
    char status[64];
    snprintf(status, sizeof status, "%d roles running", n);
    sg_notify_ready(status);
    sg_info(NULL, "event=ready roles=%d", n);
}

static int find_role(master *m, pid_t pid)
{
    for (int i = 0; i < R_COUNT; i++)
        if (m->r[i].pid == pid)
            return i;
    return -1;
}

static void reap(master *m)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        int idx = find_role(m, pid);
        clean_tmp(m, idx, pid);
        if (idx < 0)
            continue; /* an old instance replaced during reload */
        role *r = &m->r[idx];
        r->pid = 0;
        if (m->stopping)
            continue;
        time_t now = mono(), ran = now - r->started;
        r->quick_deaths = ran < HEALTHY_RUN ? r->quick_deaths + 1 : 0; /* a healthy run resets */
        int delay = r->quick_deaths == 0 ? 0 : r->quick_deaths > 4 ? 10 : 1 << (r->quick_deaths - 1);
        r->restart_at = now + delay;
        if (WIFSIGNALED(status))
            sg_warn(NULL, "event=role-died role=%s pid=%ld signal=%d ran=%llds restart_in=%ds",
                    role_names[idx], (long)pid, WTERMSIG(status), (long long)ran, delay);
        else
            sg_warn(NULL, "event=role-exited role=%s pid=%ld status=%d ran=%llds restart_in=%ds",
                    role_names[idx], (long)pid, WEXITSTATUS(status), (long long)ran, delay);
    }
}

static void start_due(master *m)
{
    time_t now = mono();
    for (int i = 0; i < R_COUNT; i++)
        if (m->r[i].enabled && m->r[i].pid == 0 && now >= m->r[i].restart_at)
            spawn(m, i);
}

/* Waits up to timeout_s for pid, role idx, to exit (reaping others along the way). */
static void wait_exit(master *m, int idx, pid_t pid, int timeout_s)
{
    for (int i = 0; i < timeout_s * 10; i++) {
        int status;
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid || (got < 0 && errno == ECHILD))
            goto done;
        usleep(100000);
    }
    sg_warn(NULL, "event=kill pid=%ld reason=\"did not stop within %ds\"", (long)pid, timeout_s);
    signal_role(m, idx, pid, SIGKILL);
    waitpid(pid, NULL, 0);
done:
    clean_tmp(m, idx, pid);
}

static void reload(master *m)
{
    sg_config fresh;
    char err[512];
    if (sg_config_load(&fresh, m->config_path[0] ? m->config_path : NULL, err, sizeof err) < 0) {
        sg_error(NULL, "event=reload-refused error=\"%s\" action=keeping-running-configuration", err);
        return;
    }
    if (strcmp(fresh.spool_dir, m->cfg.spool_dir) != 0) {
        sg_error(NULL, "event=reload-refused error=\"spool_dir cannot change without a restart\"");
        sg_config_free(&fresh);
        return;
    }
    sg_notify_reloading();
    m->ready_sent = false; /* told again once the new instances are up */
    sg_config_free(&m->cfg);
    m->cfg = fresh;
    if (setup_roles(m) < 0) {
        sg_error(NULL, "event=reload-partial error=\"could not bind a new listen address\"");
    }
    for (int i = 0; i < R_COUNT; i++) {
        pid_t old = m->r[i].pid;
        if (i == R_SMTPD || i == R_SINK || i == R_WEB) {
            m->r[i].pid = 0;
            if (m->r[i].enabled)
                spawn(m, i);
            if (old > 0)
                signal_role(m, i, old, SIGTERM); /* it finishes its sessions; reaped later as an old instance */
        } else {
            if (old > 0) {
                signal_role(m, i, old, SIGTERM);
                wait_exit(m, i, old, 30);
            }
            m->r[i].pid = 0;
            spawn(m, i);
        }
    }
    if (!m->cfg.sink.enabled && m->r[R_SINK].listen_fd >= 0) {
        close(m->r[R_SINK].listen_fd);
        m->r[R_SINK].listen_fd = -1;
    }
    if (!m->cfg.web.enabled && m->r[R_WEB].listen_fd >= 0) {
        close(m->r[R_WEB].listen_fd);
        m->r[R_WEB].listen_fd = -1;
    }
    sg_info(NULL, "event=reloaded config=%s", m->config_path[0] ? m->config_path : "(defaults)");
}

static void stop_all(master *m)
{
    m->stopping = 1;
    sg_notify_stopping();
    for (int i = 0; i < R_COUNT; i++)
        if (m->r[i].pid > 0)
            signal_role(m, i, m->r[i].pid, SIGTERM);
    for (int i = 0; i < R_COUNT; i++)
        if (m->r[i].pid > 0)
            wait_exit(m, i, m->r[i].pid, 15);
    /* Old smtpd instances from reloads. */
    while (waitpid(-1, NULL, 0) > 0)
        ;
}

int sg_master_main(const sg_config *cfg_in, const char *config_path)
{
    static master m;
    memset(&m, 0, sizeof m);
    for (int i = 0; i < R_COUNT; i++)
        m.r[i].listen_fd = m.r[i].ready_fd = -1;
    unsetenv(SG_READY_ENV); /* ours is for the roles alone; the checks below fork and drop */
    sg_notify_init();
    if (config_path && !realpath(config_path, m.config_path))
        sg_fatal("%s: %s", config_path, strerror(errno));
    char err[512];
    if (sg_config_load(&m.cfg, m.config_path[0] ? m.config_path : NULL, err, sizeof err) < 0)
        sg_fatal("configuration error: %s", err);
    (void)cfg_in;

    /* Root without CAP_CHOWN and CAP_DAC_OVERRIDE (the unit's bounding set) cannot lay out what
     * belongs to the role users: the unit's ExecStartPre, `sealgate prepare` with full
     * privileges, did that just before; the roles' reach is still checked here. */
    bool prepare = geteuid() != 0 || sg_master_full_root();
    if (!prepare)
        sg_info(NULL, "event=prepare-skipped reason=\"no CAP_CHOWN, CAP_DAC_OVERRIDE: sealgate prepare ran before (ExecStartPre)\"");
    if ((prepare && sg_master_prepare(&m.cfg, err, sizeof err) < 0) || sg_master_check_roles(&m.cfg, err, sizeof err) < 0)
        sg_fatal("%s", err);
    if (sg_queue_open(&m.q, m.cfg.spool_dir, "master", false) < 0)
        sg_fatal("cannot open the spool %s: %s", m.cfg.spool_dir, strerror(errno));
    clean_tmp(&m, -1, 0); /* no role runs yet: every tmp file is an unacknowledged leftover */
    if (sg_master_pidfile(&m.cfg, err, sizeof err) < 0)
        sg_fatal("%s", err);
    if (setup_roles(&m) < 0) {
        unlink(m.cfg.pid_file);
        sg_fatal("cannot bind the listening sockets");
    }

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0)
        sg_fatal("signalfd: %s", strerror(errno));
    signal(SIGPIPE, SIG_IGN);

    sg_info(NULL, "event=master-started pid=%ld config=%s base=%s", (long)getpid(),
            m.config_path[0] ? m.config_path : "(defaults)", m.cfg.base_dir);
    start_due(&m);
    while (!m.stopping) {
        struct pollfd p[1 + R_COUNT] = {{.fd = sfd, .events = POLLIN}};
        int np = 1, who[R_COUNT];
        for (int i = 0; i < R_COUNT; i++)
            if (m.r[i].ready_fd >= 0) {
                who[np - 1] = i;
                p[np++] = (struct pollfd){.fd = m.r[i].ready_fd, .events = POLLIN};
            }
        int r = poll(p, (nfds_t)np, 500);
        for (int k = 1; r > 0 && k < np; k++)
            if (p[k].revents)
                read_ready(&m, who[k - 1]);
        if (r > 0 && p[0].revents) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
                    sg_info(NULL, "event=stopping signal=%u", si.ssi_signo);
                    m.stopping = 1;
                } else if (si.ssi_signo == SIGHUP) {
                    reload(&m);
                }
                if (m.stopping)
                    break;
            }
        }
        reap(&m);
        if (!m.stopping)
            start_due(&m);
        check_ready(&m);
        sg_notify_watchdog();
    }
    stop_all(&m);
    unlink(m.cfg.pid_file);
    sg_info(NULL, "event=master-stopped");
    sg_queue_close(&m.q);
    sg_config_free(&m.cfg);
    return 0;
}
