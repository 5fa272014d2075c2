/* retry.c - the waiting messages of cryptd and their next attempts (retry.h). Owner: src/cryptd.
 * A plain array: it holds only messages that met a store error, a handful in practice, at most
 * SG_RETRY_CAP. */
#include "cryptd/retry.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct entry {
    char name[SG_QID_MAX];
    time_t due;      /* 0: handed back, being processed again */
    time_t released; /* when it was handed back (entries that never return are dropped) */
    int delay;       /* the last delay, doubled on the next error */
} entry;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static entry tab[SG_RETRY_CAP];
static size_t n;

static entry *find(const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(tab[i].name, name) == 0)
            return &tab[i];
    return NULL;
}

static void drop(entry *e)
{
    *e = tab[--n];
}

int sg_retry_later(const char *name, time_t now)
{
    pthread_mutex_lock(&mu);
    entry *e = find(name);
    if (!e && n < SG_RETRY_CAP) {
        e = &tab[n++];
        memset(e, 0, sizeof *e);
        snprintf(e->name, sizeof e->name, "%s", name);
    }
    int delay = -1;
    if (e) {
        delay = e->delay ? e->delay * 2 : SG_RETRY_MIN;
        if (delay > SG_RETRY_MAX)
            delay = SG_RETRY_MAX;
        e->delay = delay;
        e->due = now + delay;
    }
    pthread_mutex_unlock(&mu);
    return delay;
}

size_t sg_retry_due(time_t now, char (*names)[SG_QID_MAX], size_t max)
{
    size_t got = 0;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n;) {
        entry *e = &tab[i];
        if (e->due && e->due <= now && got < max) {
            memcpy(names[got++], e->name, SG_QID_MAX);
            e->due = 0;
            e->released = now;
        } else if (!e->due && now - e->released > 2 * SG_RETRY_MAX) {
            drop(e); /* deleted by the administrator, or gone some other way */
            continue;
        }
        i++;
    }
    pthread_mutex_unlock(&mu);
    return got;
}

void sg_retry_done(const char *name)
{
    pthread_mutex_lock(&mu);
    entry *e = n ? find(name) : NULL;
    if (e)
        drop(e);
    pthread_mutex_unlock(&mu);
}
