/* scheduler.c - work discovery for the relay, run by the main thread. Owner: src/relay.
 *
 * outgoing/ is watched with inotify (IN_MOVED_TO: cryptd, `queue retry` and our own DSNs arrive
 * by rename; IN_CLOSE_WRITE: for a writer that writes in place) and rescanned every 2 s anyway,
 * because inotify can overflow and a missed event must never strand a message.
 * deferred/ is scanned every second; a message whose next-attempt has come is MOVED back into
 * outgoing/ (the same rename `queue retry` does), so workers deliver from one place only and
 * the operator sees one rule: outgoing/ = due now, deferred/ = waiting.
 *
 * Every name handed to a worker is in the in-flight set until the worker is done with it, and
 * a name in flight is neither queued again nor moved out of deferred/: that is what keeps a
 * message from being sent twice at once and keeps the deferred copy a worker has just written
 * from being moved over the file it is about to remove. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "relay/relay_int.h"

#define OUTGOING_RESCAN_MS 2000
#define DEFERRED_SCAN_MS 1000
#define OUTGOING_MIN_GAP_MS 20
#define PENDING_PER_WORKER 16 /* names handed out per listing: one listing feeds many sends */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the in-flight set and the pending list (callers hold r->mu) ---- */

static bool in_flight(sg_relay *r, const char *name)
{
    for (size_t i = 0; i < r->ninflight; i++)
        if (strcmp(r->inflight[i], name) == 0)
            return true;
    return false;
}

static int push(char ***v, size_t *n, size_t *cap, char *s)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        char **nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return -1;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = s;
    return 0;
}

/* Queues name for a worker unless it is in flight. Returns 1 when queued. */
/* Fewer queued names than workers: with a backlog on disk, list again now rather than after
 * the debounce gap, or the workers idle and delivery is capped by the listing rate. */
static bool running_dry(sg_relay *r)
{
    pthread_mutex_lock(&r->mu);
    bool dry = r->npending < (size_t)r->nworkers;
    pthread_mutex_unlock(&r->mu);
    return dry;
}

static int enqueue(sg_relay *r, const char *name)
{
    if (in_flight(r, name))
        return 0;
    char *a = strdup(name), *b = strdup(name);
    if (!a || !b || push(&r->inflight, &r->ninflight, &r->inflight_cap, a) < 0) {
        free(a);
        free(b);
        return -1;
    }
    if (push(&r->pending, &r->npending, &r->pending_cap, b) < 0) {
        free(r->inflight[--r->ninflight]);
        free(b);
        return -1;
    }
    pthread_cond_signal(&r->cv);
    return 1;
}

void sg_relay_job_done(sg_relay *r, const char *name, bool left_in_place)
{
    pthread_mutex_lock(&r->mu);
    if (left_in_place && r->ncooldown < 100000) {
        if (r->ncooldown == r->cooldown_cap) {
            size_t nc = r->cooldown_cap ? r->cooldown_cap * 2 : 16;
            sg_cooldown *v = realloc(r->cooldown, nc * sizeof *v);
            if (v)
                r->cooldown = v, r->cooldown_cap = nc;
        }
        if (r->ncooldown < r->cooldown_cap) {
            sg_cooldown *c = &r->cooldown[r->ncooldown++];
            snprintf(c->name, sizeof c->name, "%s", name);
            c->until = (long long)time(NULL) + r->cfg->relay.retry_min;
        }
    }
    for (size_t i = 0; i < r->ninflight; i++)
        if (strcmp(r->inflight[i], name) == 0) {
            free(r->inflight[i]);
            r->inflight[i] = r->inflight[--r->ninflight];
            break;
        }
    pthread_mutex_unlock(&r->mu);
    ssize_t w = write(r->wake_pipe[1], "x", 1); /* full pipe: the scheduler is awake anyway */
    (void)w;
}

/* ---- scans ---- */

/* Queues what is in outgoing/, oldest first, while fewer than a few jobs per worker wait:
 * a big backlog stays on disk instead of in memory. Returns true when it stopped at the cap. */
static bool scan_outgoing(sg_relay *r)
{
    char **names;
    size_t n;
    if (sg_queue_list(&r->q, SG_Q_OUTGOING, &names, &n) < 0) {
        sg_error(NULL, "event=scan-failed state=outgoing error=\"%s\"", strerror(errno));
        return false;
    }
    bool capped = false;
    size_t cap = (size_t)r->nworkers * PENDING_PER_WORKER;
    long long now = (long long)time(NULL);
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->ncooldown;) /* expired entries go */
        if (r->cooldown[i].until <= now)
            r->cooldown[i] = r->cooldown[--r->ncooldown];
        else
            i++;
    for (size_t i = 0; i < n; i++) {
        if (!names[i] || !sg_queue_name_valid(names[i]))
            continue; /* not ours to judge (editor backups, foreign files) */
        bool cooling = false;
        for (size_t k = 0; k < r->ncooldown && !cooling; k++)
            cooling = strcmp(r->cooldown[k].name, names[i]) == 0;
        if (cooling)
            continue;
        if (r->npending >= cap) {
            capped = true;
            break;
        }
        enqueue(r, names[i]);
    }
    pthread_mutex_unlock(&r->mu);
    sg_queue_names_free(names, n);
    return capped;
}

/* next-attempt of deferred files, remembered so each file is read once, not every second. */
typedef struct due_entry {
    char name[SG_QID_MAX];
    long long next;
} due_entry;

typedef struct due_cache {
    due_entry *v;
    size_t n;
} due_cache;

static int cmp_due(const void *a, const void *b)
{
    return strcmp(((const due_entry *)a)->name, ((const due_entry *)b)->name);
}

/* Moves due messages from deferred/ to outgoing/. Returns true when it moved any. */
static bool scan_deferred(sg_relay *r, due_cache *cache)
{
    char **names;
    size_t n;
    if (sg_queue_list(&r->q, SG_Q_DEFERRED, &names, &n) < 0) {
        sg_error(NULL, "event=scan-failed state=deferred error=\"%s\"", strerror(errno));
        return false;
    }
    due_entry *fresh = calloc(n ? n : 1, sizeof *fresh);
    size_t nf = 0;
    bool moved = false;
    long long now = (long long)time(NULL);
    for (size_t i = 0; fresh && i < n; i++) {
        if (!names[i] || !sg_queue_name_valid(names[i]))
            continue;
        pthread_mutex_lock(&r->mu);
        bool busy = in_flight(r, names[i]);
        pthread_mutex_unlock(&r->mu);
        if (busy)
            continue; /* a worker is writing this deferred copy right now */
        due_entry key, *hit;
        snprintf(key.name, sizeof key.name, "%s", names[i]);
        hit = cache->n ? bsearch(&key, cache->v, cache->n, sizeof key, cmp_due) : NULL;
        if (hit) {
            key.next = hit->next;
        } else {
            sg_envelope e;
            sg_qmsg m;
            char err[256];
            /* The envelope alone: the data of a large deferred message is not read. */
            int rc = sg_qmsg_open(&r->q, SG_Q_DEFERRED, names[i], &e, &m, err, sizeof err);
            if (rc == -2) {
                int m = sg_queue_move(&r->q, names[i], SG_Q_DEFERRED, SG_Q_CORRUPT);
                sg_error(names[i], "event=corrupt state=deferred reason=\"%s\" moved=%s", err,
                         m == 0 ? "corrupt" : "no");
                continue;
            }
            if (rc < 0)
                continue; /* gone meanwhile */
            key.next = e.next_attempt;
            sg_qmsg_close(&m);
            sg_env_free(&e);
        }
        struct stat st;
        if (key.next <= now && fstatat(r->q.dirfd[SG_Q_OUTGOING], names[i], &st, 0) < 0 && errno == ENOENT) {
            /* (a same-named file in outgoing/ is handled first; it rewrites this one) */
            if (sg_queue_move(&r->q, names[i], SG_Q_DEFERRED, SG_Q_OUTGOING) == 0) {
                sg_debug(names[i], "event=retry");
                moved = true;
                continue;
            }
        }
        fresh[nf++] = key;
    }
    free(cache->v);
    cache->v = fresh; /* names come sorted from sg_queue_list, so fresh is sorted too */
    cache->n = nf;
    sg_queue_names_free(names, n);
    return moved;
}

/* A name (re)appearing in outgoing/ may come back to deferred/ with a new next-attempt. */
static void forget_queued(sg_relay *r, due_cache *cache)
{
    pthread_mutex_lock(&r->mu);
    size_t k = 0;
    for (size_t i = 0; i < cache->n; i++)
        if (!in_flight(r, cache->v[i].name))
            cache->v[k++] = cache->v[i];
    cache->n = k;
    pthread_mutex_unlock(&r->mu);
}

int sg_relay_schedule(sg_relay *r, int sigfd)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/outgoing", r->q.root);
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (in < 0 || inotify_add_watch(in, path, IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
        sg_warn(NULL, "event=inotify-failed error=\"%s\" note=\"falling back to rescans\"", strerror(errno));
    due_cache cache = {0};
    long long next_out = 0, next_def = 0, last_out = 0;
    bool want_out = true, backlog = false;
    for (;;) {
        long long t = now_ms();
        /* Events only bring the next listing forward, at most every OUTGOING_MIN_GAP_MS: a
         * burst of arrivals costs one directory listing, not one per file. */
        bool urgent = want_out && backlog && running_dry(r);
        if (t >= next_out || urgent || (want_out && t - last_out >= OUTGOING_MIN_GAP_MS)) {
            backlog = scan_outgoing(r);
            want_out = false;
            forget_queued(r, &cache);
            last_out = t;
            next_out = t + OUTGOING_RESCAN_MS;
        }
        if (t >= next_def) {
            if (scan_deferred(r, &cache))
                want_out = true;
            next_def = t + DEFERRED_SCAN_MS;
        }
        long long until = next_out < next_def ? next_out : next_def;
        if (want_out && last_out + OUTGOING_MIN_GAP_MS < until)
            until = last_out + OUTGOING_MIN_GAP_MS;
        if (urgent)
            until = t; /* the listing above just ran; poll without sleeping for new wakes */
        long long wait = until - now_ms();
        struct pollfd p[3] = {{.fd = sigfd, .events = POLLIN},
                              {.fd = r->wake_pipe[0], .events = POLLIN},
                              {.fd = in, .events = POLLIN}};
        int pr = poll(p, in >= 0 ? 3 : 2, wait < 0 ? 0 : (int)wait);
        if (pr < 0 && errno != EINTR)
            break;
        if (pr <= 0)
            continue;
        if (p[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            ssize_t got = read(sigfd, &si, sizeof si);
            sg_info(NULL, "event=stopping signal=%d", got == (ssize_t)sizeof si ? (int)si.ssi_signo : 0);
            break;
        }
        if (p[1].revents & POLLIN) {
            char buf[256];
            while (read(r->wake_pipe[0], buf, sizeof buf) > 0)
                ;
            if (backlog)
                want_out = true; /* a worker is free: the backlog has more for it */
        }
        if (in >= 0 && (p[2].revents & POLLIN)) {
            char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
            while (read(in, buf, sizeof buf) > 0)
                ;
            want_out = true;
        }
    }
    if (in >= 0)
        close(in);
    free(cache.v);
    return 0;
}
