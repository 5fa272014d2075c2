/* asuser.c - the master's actions as a role's user (asuser.h). Owner: src/master.
 * SECURITY: each child drops to the role's user (sg_priv_drop: no_new_privs, then setgroups,
 * setresgid, setresuid, verified) before it touches anything, and exits after one action; the
 * parent waits for it, so a signalled role cannot be reaped and its pid reused in between. */
#include "master/asuser.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "lib/log.h"
#include "lib/privdrop.h"
#include "queue/queue.h"

bool sg_master_full_root(void)
{
    if (geteuid() != 0)
        return false;
    static const int need[] = {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_KILL};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (prctl(PR_CAPBSET_READ, need[i], 0, 0, 0) != 1)
            return false;
    return true;
}

/* Runs fn(arg) as user in a child; its result (0 or an errno value) comes back as exit status. */
static int as_user(const char *user, const char *group, int (*fn)(const void *), const void *arg)
{
    pid_t pid = fork();
    if (pid < 0)
        return errno;
    if (pid == 0) {
        char err[256];
        if (sg_priv_drop(user, group, err, sizeof err) < 0) {
            sg_error(NULL, "event=drop-failed user=%s error=\"%s\"", user, err);
            _exit(EPERM);
        }
        _exit(fn(arg) & 0xff);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return errno;
    return WIFEXITED(st) ? WEXITSTATUS(st) : EINTR;
}

typedef struct kill_arg {
    pid_t pid;
    int sig;
} kill_arg;

static int do_kill(const void *p)
{
    const kill_arg *k = p;
    return kill(k->pid, k->sig) == 0 ? 0 : errno;
}

int sg_master_kill_as(const char *user, const char *group, pid_t pid, int sig)
{
    if (kill(pid, sig) == 0)
        return 0;
    if (errno != EPERM || geteuid() != 0 || !user)
        return -1;
    kill_arg k = {pid, sig};
    int e = as_user(user, group, do_kill, &k);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

typedef struct clean_arg {
    const char *spool, *role;
    long pid;
} clean_arg;

static int do_clean(const void *p)
{
    const clean_arg *c = p;
    return sg_queue_clean_role_tmp(c->spool, c->role, c->pid) < 0 ? errno : 0;
}

void sg_master_clean_tmp_as(const char *user, const char *group, const char *spool, const char *role, long pid)
{
    if (geteuid() != 0 || sg_master_full_root() || !user)
        return; /* sg_queue_clean_tmp reached tmp/ROLE/ already */
    clean_arg c = {spool, role, pid};
    int e = as_user(user, group, do_clean, &c);
    if (e && e != ENOENT)
        sg_warn(NULL, "event=clean-tmp-failed role=%s pid=%ld error=\"%s\"", role, pid, strerror(e));
}
