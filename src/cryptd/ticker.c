/* ticker.c - cryptd's store work on a clock (ticker.h). Owner: src/cryptd.
 * Once a second: the policy's generation (free with PostgreSQL while no NOTIFY announced a
 * change: store/pg/pg_store.c), the figures, the log's checkpoint; every HEARTBEAT seconds this
 * node's row in cluster_nodes. After a store error the figures and the checkpoint wait 30 s. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cryptd/ticker.h"
#include "lib/log.h"
#include "policy/transform_policy.h"
#include "store/cluster_rows.h"

#define HEARTBEAT 5

static struct {
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, poke, running;
    const sg_ticker_env *env;
} T = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* Messages in this node's spool that still have to leave: for `sealgate cluster status`. */
static long long queued(const char *spool)
{
    static const char *const states[] = {"incoming", "active", "outgoing", "deferred"};
    long long n = 0;
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", spool, states[i]);
        DIR *d = opendir(p);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.')
                n++;
        closedir(d);
    }
    return n;
}

static void beat(const sg_ticker_env *e, time_t started, time_t now)
{
    sg_store_node n = {.started = started, .heartbeat = now, .queue = queued(e->cfg->spool_dir)};
    snprintf(n.name, sizeof n.name, "%s",
             e->cfg->hostname && *e->cfg->hostname ? e->cfg->hostname : "localhost");
    snprintf(n.version, sizeof n.version, "%s", SG_VERSION);
    pthread_mutex_lock(e->met_lock);
    n.schema = sg_store_schema_version(e->metst);
    int rc = sg_store_node_beat(e->metst, &n);
    pthread_mutex_unlock(e->met_lock);
    if (rc < 0)
        sg_warn(NULL, "event=heartbeat-failed error=\"%s\"", sg_store_error(e->metst));
}

/* The checkpoints are signed by one node of the cluster at a time: the one holding the job
 * lock (a PostgreSQL advisory lock, released by the server when that node's connection ends).
 * *held: whether this node held it at the last look (-1: not looked yet), to log the changes. */
static void checkpoint(const sg_ticker_env *e, sg_tlog_ticker *tk, int *held, time_t now)
{
    if (now < tk->retry_at)
        return;
    pthread_mutex_lock(e->log_lock);
    int lock = sg_store_job_lock(e->logst, "checkpoints");
    if (lock < 0) {
        sg_error(NULL, "event=cluster-job-lock-failed job=checkpoints error=\"%s\" retry_in=30",
                 sg_store_error(e->logst));
        tk->retry_at = now + 30;
    } else if (lock == 1)
        sg_tlog_tick(e->logst, e->cfg, tk, now);
    pthread_mutex_unlock(e->log_lock);
    if (lock >= 0 && lock != *held) {
        *held = lock;
        sg_info(NULL, "event=cluster-job job=checkpoints state=%s", *held ? "running-here" : "another-node");
    }
    if (lock == 0)
        tk->covered = -1; /* when it is this node's turn again, read what the other signed */
}

static void *ticker_main(void *arg)
{
    const sg_ticker_env *e = arg;
    sg_tlog_ticker tk = {.covered = -1};
    int held = -1;
    time_t started = time(NULL), beaten = 0;
    pthread_mutex_lock(&T.mu);
    while (!T.stop) {
        T.poke = false;
        pthread_mutex_unlock(&T.mu);
        time_t now = time(NULL);
        if (sg_transform_policy_reload() < 0)
            e->metrics->retry_at = tk.retry_at = now + 30;
        if (e->metst)
            sg_cmetrics_flush(e->metrics, e->metst, e->met_lock, now);
        if (e->logst)
            checkpoint(e, &tk, &held, now);
        if (e->metst && now - beaten >= HEARTBEAT && now >= e->metrics->retry_at) {
            beat(e, started, now);
            beaten = now;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_mutex_lock(&T.mu);
        while (!T.stop && !T.poke)
            if (pthread_cond_timedwait(&T.cv, &T.mu, &until) == ETIMEDOUT)
                break;
    }
    pthread_mutex_unlock(&T.mu);
    return NULL;
}

int sg_ticker_start(const sg_ticker_env *env)
{
    T.env = env;
    T.stop = false;
    if (pthread_create(&T.tid, NULL, ticker_main, (void *)env) != 0)
        return -1;
    T.running = true;
    return 0;
}

void sg_ticker_poke(void)
{
    pthread_mutex_lock(&T.mu);
    T.poke = true;
    pthread_cond_signal(&T.cv);
    pthread_mutex_unlock(&T.mu);
}

void sg_ticker_stop(void)
{
    if (!T.running)
        return;
    pthread_mutex_lock(&T.mu);
    T.stop = true;
    pthread_cond_signal(&T.cv);
    pthread_mutex_unlock(&T.mu);
    pthread_join(T.tid, NULL);
    T.running = false;
}
