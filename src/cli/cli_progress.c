/* cli_progress.c - the CLI's progress line and Ctrl-C for jobs (cli_progress.h). Owner: src/cli. */
#include "cli/cli_progress.h"

#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;
static struct sigaction old_int;
static bool attached;

static void on_int(int sig)
{
    (void)sig;
    interrupted = 1;
}

bool sg_cli_progress_tty(void)
{
    return isatty(STDOUT_FILENO) == 1;
}

const char *sg_cli_actor(void)
{
    struct passwd *pw = getpwuid(getuid());
    return pw ? pw->pw_name : "local";
}

static void show(void *ctx, const sg_job *j, bool final)
{
    const char *unit = ctx;
    char d[32], t[32], eta[48] = "";
    int64_t est = sg_job_estimate(j->row.started, (int64_t)time(NULL), j->row.done, j->row.total);
    if (final) {
        /* The line is replaced by the result, which says what was finished. */
        printf("\r\033[K%s: %s\n", j->row.state, j->row.result);
        fflush(stdout);
        return;
    }
    if (est >= 120)
        snprintf(eta, sizeof eta, ", about %lld min left", (long long)(est + 30) / 60);
    else if (est >= 0)
        snprintf(eta, sizeof eta, ", about %lld s left", (long long)est);
    printf("\r\033[K%s %s of %s %s (%lld%%)%s%s", j->cancelled ? "stopping:" : "importing", sg_job_count(d, j->row.done),
           sg_job_count(t, j->row.total), unit, j->row.total ? (long long)(j->row.done * 100 / j->row.total) : 0LL,
           eta, j->cancelled ? "" : "  (Ctrl-C stops at the next key)");
    fflush(stdout);
}

void sg_cli_progress_attach(sg_job *j, const char *unit)
{
    interrupted = 0;
    j->interrupt = &interrupted;
    if (!attached) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_int;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int);
        attached = true;
    }
    if (sg_cli_progress_tty()) {
        j->show = show;
        j->show_ctx = (void *)unit;
    }
}

void sg_cli_progress_done(void)
{
    if (attached)
        sigaction(SIGINT, &old_int, NULL);
    attached = false;
}
