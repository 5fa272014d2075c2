/* metrics.c - cryptd's counters for the current minute, written once a second (metrics.h).
 * Owner: src/cryptd. */
#include <stdbool.h>
#include <string.h>

#include "cryptd/metrics.h"
#include "lib/log.h"

void sg_cmetrics_init(sg_cmetrics *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

static int empty(const sg_store_metrics *s)
{
    for (int i = 0; i < SG_M__COUNT; i++)
        if (s->v[i])
            return 0;
    return 1;
}

static void fold(sg_store_metrics *to, const sg_store_metrics *from)
{
    for (int i = 0; i < SG_M__COUNT; i++)
        to->v[i] += from->v[i];
}

void sg_cmetrics_add(sg_cmetrics *m, const sg_store_metrics *d, time_t now)
{
    int64_t minute = (int64_t)now - (int64_t)now % 60;
    pthread_mutex_lock(&m->mu);
    sg_store_metrics *cur = &m->slot[1];
    if (cur->minute != minute) {
        /* A new minute: the last one's figures move to the older slot (folded into it when
         * that one could not be written yet: counted a minute early rather than lost). */
        if (!empty(cur)) {
            if (empty(&m->slot[0]))
                m->slot[0] = *cur;
            else
                fold(&m->slot[0], cur);
        }
        memset(cur, 0, sizeof *cur);
        cur->minute = minute;
    }
    fold(cur, d);
    pthread_mutex_unlock(&m->mu);
}

/* An unwritten minute goes back: into the current slot when it is that minute, else into the
 * older one (counted a minute off rather than lost). */
static void put_back(sg_cmetrics *m, const sg_store_metrics *w)
{
    if (w->minute == m->slot[1].minute) {
        fold(&m->slot[1], w);
        return;
    }
    if (empty(&m->slot[0]))
        m->slot[0].minute = w->minute;
    fold(&m->slot[0], w);
}

int sg_cmetrics_flush(sg_cmetrics *m, sg_store *st, pthread_mutex_t *store_lock, time_t now)
{
    sg_store_metrics w[2];
    if (now < m->retry_at)
        return 0;
    pthread_mutex_lock(&m->mu);
    memcpy(w, m->slot, sizeof w);
    memset(m->slot[0].v, 0, sizeof m->slot[0].v);
    memset(m->slot[1].v, 0, sizeof m->slot[1].v);
    pthread_mutex_unlock(&m->mu);
    int rc = 0;
    bool written[2] = {false, false};
    pthread_mutex_lock(store_lock);
    /* Each minute's figures and the totals row (minute 0: what /metrics counts, never pruned)
     * in one transaction, so the two always agree. */
    for (int i = 0; i < 2 && rc == 0; i++)
        if (!empty(&w[i])) {
            sg_store_metrics t = w[i];
            t.minute = 0;
            rc = sg_store_begin(st) < 0 ? -1 : 0;
            if (rc == 0 && (sg_store_metrics_add(st, &w[i]) < 0 || sg_store_metrics_add(st, &t) < 0)) {
                sg_store_rollback(st);
                rc = -1;
            }
            if (rc == 0 && sg_store_commit(st) < 0)
                rc = -1;
            written[i] = rc == 0;
        }
    bool prune = rc == 0 && now - m->pruned >= 600;
    if (prune && sg_store_metrics_prune(st, (int64_t)now - SG_METRICS_KEEP) < 0)
        rc = -1;
    if (rc < 0) {
        sg_warn(NULL, "event=metrics-write-failed error=\"%s\" action=kept retry_in=30",
                SG_LOG_STR(sg_store_error(st)));
        m->retry_at = now + 30;
    }
    pthread_mutex_unlock(store_lock);
    if (prune && rc == 0)
        m->pruned = now;
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < 2; i++)
        if (!written[i] && !empty(&w[i]))
            put_back(m, &w[i]);
    pthread_mutex_unlock(&m->mu);
    return rc;
}
