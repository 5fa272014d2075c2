/* cryptd.c - the processor role: takes accepted messages from incoming/, runs the transform
 * pipeline, writes one output per recipient group into outgoing/, then removes the input.
 * Owner: src/cryptd.
 *
 * SECURITY: runs as users.cryptd (no_new_privs). It has no network socket and no network peer
 * at all; its peers are the spool directories (it alone reads incoming/, active/, hold/ and
 * dsn/, and it writes outgoing/: docs/architecture.md, "Spool ownership") and one local Unix
 * socket, <base_dir>/run/control.sock (cryptd/control.h, docs/control.md): reachable by root and
 * the web role's group only, each peer checked by SO_PEERCRED (root, this user, the web user),
 * typed bounded frames, through which the CLI and the web role have operations that need a
 * private key run here. It is the only role that will unwrap private keys (the key-encryption
 * key file is readable by this user alone); no private key or KEK byte ever leaves through the
 * socket (secret-key export is refused there). It must never open any other socket or execute
 * anything. The one exception is its revocation fetch helper (net/fetch_helper.h): a child
 * forked before any key is loaded (and before the control socket exists), running as
 * revocation.helper_user, that makes the CRL/OCSP requests and hands back bytes over a
 * socketpair; cryptd only parses them. If the helper dies cryptd exits (a new helper cannot
 * be forked once keys are loaded) and the master restarts it. The scan helper
 * (net/scan.h, docs/scanning.md) is the second such child, forked at the same moment as the
 * same user, which talks to clamd and rspamd; cryptd parses their answers strictly.
 *
 * DSNs: relay writes its bounces into dsn/ (it may not write incoming/ or outgoing/ freely);
 * cryptd moves each into incoming/ (never replacing a file there), so a bounce goes through the
 * policy like any other message before it leaves.
 *
 * Crash safety: a message is claimed by renaming it into active/ (no fsync needed: a claim lost
 * in a crash only means the message is claimed again). Outputs are made durable (fdatasync, rename,
 * one directory fsync per batch) before the input is unlinked, and output names derive from the
 * input id, so a crash at any instant leads at most to re-processing, whose outputs replace the
 * earlier ones. At start, everything left in active/ goes back to incoming/.
 *
 * Fail closed on store errors: a message whose key lookups failed is neither held nor passed
 * on; it waits in active/ and is processed again later (retry.h), and nothing of it leaves
 * until its lookups succeed. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/log.h"
#include "audit/mail.h"
#include "crypto/kek.h"
#include "cryptd/control.h"
#include "cryptd/control_ops.h"
#include "cryptd/metrics.h"
#include "policy/transform.h"
#include "cryptd/retry.h"
#include "cryptd/ticker.h"
#include "policy/transform_policy.h"
#include "keys/certstore.h"
#include "cryptd/workqueue.h"
#include "net/fetch_helper.h"
#include "net/scan.h"
#include "keys/keystore.h"
#include "lib/log.h"
#include "lib/mapview.h"
#include "lib/privdrop.h"
#include "lib/ready.h"
#include "queue/qmsg.h"
#include "queue/queue.h"
#include "roles.h"

#define BATCH_MAX 32
#define BATCH_BYTES (16u << 20)
/* A message of at least this size is mapped from its spool file instead of read into the
 * heap (issue 11: bounded memory for large messages); smaller ones keep the one read() into a
 * buffer, which costs less per message than a mapping. */
#define MAP_MIN ((size_t)1 << 20)
/* Outputs that point into a mapped input are written in pieces of this size, each piece's
 * pages given back once written. */
#define WRITE_PIECE ((size_t)1 << 20)

typedef struct cryptd {
    sg_queue q;
    sg_workqueue wq;
    sg_transform_fn transform;
    atomic_int stopping;
    long long give_up_after; /* relay.queue_lifetime: how long a message may wait for the store */
    sg_cmetrics metrics;     /* this minute's figures, written by the main loop (metrics.h) */
    /* The tamper-evident log (src/audit/mail.h): its own store handle, shared by the workers. */
    sg_store *log;
    pthread_mutex_t log_lock;
    const char *node;
    uint8_t hmac[32];
    const uint8_t *hmac_key; /* hmac, when audit.hmac_addresses is on; else NULL */
    bool no_entries;         /* audit.mail_entries = false: decisions are not logged */
} cryptd;

typedef struct item {
    char name[SG_QID_MAX];
    char *file;
    sg_envelope env;
    const char *data;
    size_t len;
    sg_qmsg qm;     /* a large message: its open file, and */
    sg_mapview map; /* its mapping (data points into it) */
    sg_transform_result res;
    sg_qwriter **w;
    size_t nw;
    int failed;
    int todo;          /* after the batch's entries are durable: T_HOLD, T_PASS, T_OUT (or 0) */
    const char *why;   /* T_HOLD: the reason */
} item;

enum { T_HOLD = 1, T_PASS, T_OUT };

static void item_free(item *it)
{
    for (size_t i = 0; i < it->nw; i++)
        free(it->w[i]);
    free(it->w);
    sg_transform_result_free(&it->res);
    sg_env_free(&it->env);
    free(it->file);
    sg_mapview_close(&it->map);
    sg_qmsg_close(&it->qm);
}

/* Opens a large message by mapping its file: the envelope is parsed as sg_queue_read does
 * (same errors), the data is seen through the mapping. 1 when mapped, 0 when the message is
 * small (read it whole), -1 / -2 as sg_queue_read. */
static int claim_mapped(cryptd *c, item *it, char *err, size_t errlen)
{
    struct stat st;
    if (fstatat(c->q.dirfd[SG_Q_ACTIVE], it->name, &st, 0) < 0)
        return -1;
    if ((size_t)st.st_size < MAP_MIN)
        return 0;
    int rc = sg_qmsg_open(&c->q, SG_Q_ACTIVE, it->name, &it->env, &it->qm, err, errlen);
    if (rc < 0)
        return rc;
    /* The size the descriptor sees now, not the stat above: the trailer was checked against it. */
    if (fstat(it->qm.fd, &st) < 0 || sg_mapview_open(&it->map, it->qm.fd, (size_t)st.st_size, 0) < 0) {
        int saved = errno;
        sg_env_free(&it->env);
        sg_qmsg_close(&it->qm);
        errno = saved;
        return -1;
    }
    it->data = it->map.base + it->qm.data_off;
    it->len = it->qm.data_len;
    return 1;
}

/* Claims and reads one message; 0 when it is ready to transform, -1 when it needs no more work
 * here (lost the claim race, or moved to corrupt/). */
static int claim(cryptd *c, item *it)
{
    if (renameat(c->q.dirfd[SG_Q_INCOMING], it->name, c->q.dirfd[SG_Q_ACTIVE], it->name) < 0)
        return -1; /* someone else has it, or it was deleted by the administrator */
    char err[256];
    int rc = claim_mapped(c, it, err, sizeof err);
    if (rc == 0)
        rc = sg_queue_read(&c->q, SG_Q_ACTIVE, it->name, &it->env, &it->file, &it->data, &it->len, err,
                           sizeof err);
    if (rc == -2) {
        sg_error(it->name, "event=corrupt reason=\"%s\" action=moved-to-corrupt", err);
        sg_queue_move(&c->q, it->name, SG_Q_ACTIVE, SG_Q_CORRUPT);
        return -1;
    }
    if (rc < 0) {
        sg_error(it->name, "event=read-failed error=\"%s\"", strerror(errno));
        sg_queue_move(&c->q, it->name, SG_Q_ACTIVE, SG_Q_INCOMING);
        return -1;
    }
    return 0;
}

/* The name of a held output, or of an alert sent for a deferred input: a queue id of its own,
 * so that when an administrator releases it its outputs ("id.N") cannot replace this input's
 * outputs still waiting in outgoing/ or deferred/ (nor the input's later outputs an alert);
 * derived from the input's name (FNV-1a), so re-processing after a crash replaces the copy
 * instead of adding a second one. */
static void own_name(const char *input, const char *kind, size_t g, char out[SG_QID_MAX])
{
    char key[SG_QID_MAX + 32];
    snprintf(key, sizeof key, "%s/%s/%zu", input, kind, g);
    unsigned long long h = 1469598103934665603ULL;
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    snprintf(out, SG_QID_MAX, "%016llx", h);
}

/* Writes one output's bytes; those that lie in the mapped input (a held copy, an unchanged
 * part) go in pieces whose pages are given back behind the write (lib/mapview.h). */
static int write_data(sg_qwriter *w, const char *data, size_t len)
{
    for (size_t off = 0; off < len; off += WRITE_PIECE) {
        size_t n = len - off < WRITE_PIECE ? len - off : WRITE_PIECE;
        if (sg_qw_write(w, data + off, n) < 0)
            return -1;
        sg_mapview_release(data + off, data + off + n);
    }
    return 0;
}

/* Opens and fills one writer per output group; the batch publishes them together. */
static int write_outputs(cryptd *c, item *it)
{
    it->w = calloc(it->res.nout, sizeof *it->w);
    if (!it->w)
        return -1;
    for (size_t g = 0; g < it->res.nout; g++) {
        sg_output *o = &it->res.out[g];
        if (o->hold || it->res.defer)
            own_name(it->name, o->hold ? "held" : "alert", g, o->env.id);
        else
            snprintf(o->env.id, sizeof o->env.id, "%.16s.%zu", it->name, g);
        sg_qwriter *w = malloc(sizeof *w);
        if (!w)
            return -1;
        it->w[it->nw++] = w;
        if (sg_qw_open(&c->q, w, &o->env) < 0 || write_data(w, o->data, o->len) < 0 || sg_qw_finish(w) < 0)
            return -1;
    }
    return 0;
}

/* The decision's log entry, durable before any of its outputs is visible (docs/audit.md):
 * 0, or -1 (logged): a caller about to send then makes nothing visible and the message is
 * tried again; a hold goes ahead (see hold). */
static int log_decision(cryptd *c, item *it, const sg_transform_result *res, int held, const char *reason)
{
    if (c->no_entries)
        return 0;
    pthread_mutex_lock(&c->log_lock);
    int rc = c->log ? sg_tlog_mail(c->log, c->node, c->hmac_key, it->name, &it->env, it->data, it->len, res, held,
                                   reason)
                    : -1;
    pthread_mutex_unlock(&c->log_lock);
    if (rc < 0)
        sg_error(it->name, "event=audit-log-failed error=\"%s\" action=retry",
                 c->log ? sg_tlog_error() : "no store for the log");
    return rc;
}

/* Moves the input into hold/ (its entry was written, or could not be: see hold). */
static void hold_move(cryptd *c, item *it, const char *reason)
{
    sg_warn(it->name, "event=held reason=\"%s\"", SG_LOG_STR(reason));
    if (sg_queue_move(&c->q, it->name, SG_Q_ACTIVE, SG_Q_HOLD) < 0)
        sg_error(it->name, "event=hold-failed error=\"%s\"", strerror(errno));
}

static void hold(cryptd *c, item *it, const char *reason)
{
    /* A hold goes ahead even when its entry cannot be written (the store is often what failed):
     * nothing leaves the gateway, and sending the message back to incoming/ would let it out
     * once the store returns, past the lifetime that held it (fail closed, test_failclosed). */
    log_decision(c, it, &it->res, 1, reason);
    hold_move(c, it, reason);
}

/* A key lookup failed (the store): the input stays in active/ until its next attempt, or is
 * held when too many wait already; the alert the transform made for the administrator goes
 * out now. */
static void defer(cryptd *c, item *it)
{
    time_t now = time(NULL);
    /* Past the queue lifetime the message stops waiting: it is held for the administrator (who
     * was alerted), as the relay would give up on a next hop; never bounced, never sent. */
    bool expired = it->env.created > 0 && (long long)now - it->env.created > c->give_up_after;
    int delay = expired ? -1 : sg_retry_later(it->name, now);
    bool alert = it->res.nout > 0;
    sg_error(it->name, "event=%s reason=\"%s\" action=%s retry_in=%d alert=%s%s",
             it->res.defer == 2 ? "scan-deferred" : "key-lookup-failed", it->res.reason,
             delay < 0 ? "hold" : "defer", delay, alert ? "sent" : "already-sent", expired ? " expired=yes" : "");
    if (delay < 0) {
        sg_retry_done(it->name);
        hold(c, it, !expired ? it->res.reason
                    : it->res.defer == 2 ? "a content scanner failed for longer than the queue lifetime"
                                          : "key lookups failed on the store for longer than the queue lifetime");
    }
    if (alert && (write_outputs(c, it) < 0 || sg_qw_publish(&c->q, it->w, it->nw, SG_Q_OUTGOING) < 0)) {
        sg_error(it->name, "event=alert-failed error=\"%s\"", strerror(errno));
        for (size_t k = 0; k < it->nw; k++)
            sg_qw_abort(&c->q, it->w[k]);
    }
}

/* An unchanged message needs no copy: it is already durable in active/, and one rename puts
 * it into outgoing/ under its output name. A crash that undoes the rename leaves it in active/,
 * where recovery finds it: at worst it is processed and sent again. */
static int pass_on(cryptd *c, item *it)
{
    char out[SG_QID_MAX];
    snprintf(out, sizeof out, "%.16s.0", it->name);
    if (renameat(c->q.dirfd[SG_Q_ACTIVE], it->name, c->q.dirfd[SG_Q_OUTGOING], out) < 0) {
        sg_error(it->name, "event=pass-failed error=\"%s\" action=retry", strerror(errno));
        return -1;
    }
    sg_info(it->name, "event=processed groups=1 size=%zu from=<%s> nrcpt=%zu unchanged=yes", it->len,
            SG_LOG_TOK(it->env.from), it->env.nrcpt);
    return 0;
}

static int64_t us_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)(t.tv_sec - t0->tv_sec) * 1000000 + (t.tv_nsec - t0->tv_nsec) / 1000;
}

/* This batch's figures: what was decided, counted once the batch is through (metrics.h). */
static void count_done(sg_store_metrics *m, const item *it)
{
    unsigned d = it->res.done;
    m->v[SG_M_ENCRYPTED] += !!(d & SG_DONE_ENCRYPTED);
    m->v[SG_M_SIGNED] += !!(d & SG_DONE_SIGNED);
    m->v[SG_M_DECRYPTED] += !!(d & SG_DONE_DECRYPTED);
    m->v[SG_M_VERIFIED] += !!(d & SG_DONE_VERIFIED);
}

/* The entries of a batch's decisions in one store transaction (group commit: one sync for the
 * batch), before any of its outputs is visible (docs/audit.md "Durability"). 0, or -1 (logged):
 * then nothing of the batch may be sent, and its holds go ahead without entries (see hold). */
static int log_batch(cryptd *c, item *items, size_t n)
{
    if (c->no_entries)
        return 0;
    sg_tlog_entry *ents = malloc(n * sizeof *ents);
    const sg_tlog_entry *ep[BATCH_MAX];
    const char *qids[BATCH_MAX];
    size_t k = 0;
    for (size_t i = 0; ents && i < n; i++) {
        item *it = &items[i];
        if (!it->todo)
            continue;
        sg_tlog_mail_entry(&ents[k], c->node, c->hmac_key, it->name, &it->env, it->data, it->len, &it->res,
                           it->todo == T_HOLD, it->todo == T_HOLD ? it->why : "");
        ep[k] = &ents[k];
        qids[k++] = it->name;
    }
    pthread_mutex_lock(&c->log_lock);
    int rc = ents && c->log ? sg_tlog_append_many(c->log, ep, qids, k, NULL) : -1;
    pthread_mutex_unlock(&c->log_lock);
    free(ents);
    if (rc < 0)
        sg_error(NULL, "event=audit-log-failed messages=%zu error=\"%s\" action=retry", k,
                 !ents ? "out of memory" : c->log ? sg_tlog_error() : "no store for the log");
    return rc;
}

static void process_batch(cryptd *c, item *items, size_t n)
{
    sg_qwriter *all[BATCH_MAX * 4], *held[BATCH_MAX * 4];
    size_t nall = 0, nheld = 0, passed = 0;
    sg_store_metrics m = {0};
    /* Summed in microseconds, stored in milliseconds: sub-millisecond messages still count. */
    int64_t us = 0;
    for (size_t i = 0; i < n; i++) {
        item *it = &items[i];
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int rc = c->transform(&it->env, it->data, it->len, &it->res);
        us += us_since(&t0);
        m.v[SG_M_LATENCY_COUNT]++;
        if (rc == 0 && it->res.defer) {
            defer(c, it);
            it->failed = 2; /* handled: waiting in active/ */
            m.v[SG_M_DEFERRED]++;
            continue;
        }
        sg_retry_done(it->name);
        if (rc < 0 || it->res.hold) {
            it->todo = T_HOLD;
            it->why = it->res.hold ? it->res.reason : "transform failed";
            continue;
        }
        if (it->res.unchanged && it->res.nout == 1) {
            it->todo = T_PASS;
            continue;
        }
        if (write_outputs(c, it) < 0 || nall + it->nw > sizeof all / sizeof all[0] ||
            nheld + it->nw > sizeof held / sizeof held[0]) {
            sg_error(it->name, "event=output-failed error=\"%s\" action=retry", strerror(errno));
            it->failed = 1;
            continue;
        }
        it->todo = T_OUT;
        nall += it->nw; /* room counted now, filled below */
    }
    nall = 0;
    bool logged = log_batch(c, items, n) == 0;
    for (size_t i = 0; i < n; i++) {
        item *it = &items[i];
        if (it->todo == T_HOLD) {
            hold_move(c, it, it->why);
            it->failed = 2; /* handled */
            m.v[SG_M_IN]++;
            m.v[SG_M_HELD]++;
        } else if (it->todo && !logged) {
            it->failed = 1; /* nothing of it is made visible without its entry */
        } else if (it->todo == T_PASS) {
            it->failed = pass_on(c, it) == 0 ? 2 : 1;
            passed += it->failed == 2;
            m.v[SG_M_IN] += it->failed == 2;
            m.v[SG_M_OUT] += it->failed == 2;
        } else if (it->todo == T_OUT) {
            for (size_t k = 0; k < it->nw; k++) {
                if (it->res.out[k].hold)
                    held[nheld++] = it->w[k];
                else
                    all[nall++] = it->w[k];
            }
        }
    }
    /* Partial holds (recipients policy stopped) are durable in hold/ before the input goes. */
    if (nheld)
        sg_qw_publish(&c->q, held, nheld, SG_Q_HOLD);
    if (nall)
        sg_qw_publish(&c->q, all, nall, SG_Q_OUTGOING);
    else if (passed)
        fsync(c->q.dirfd[SG_Q_OUTGOING]); /* not needed for safety; fewer repeats after a crash */
    for (size_t i = 0; i < n; i++) {
        item *it = &items[i];
        for (size_t k = 0; k < it->nw && !it->failed; k++)
            if (it->w[k]->error)
                it->failed = 1;
        if (it->failed == 1) {
            for (size_t k = 0; k < it->nw; k++)
                sg_qw_abort(&c->q, it->w[k]);
            /* Back to incoming/ to be tried again; nothing was acknowledged downstream. */
            sg_queue_move(&c->q, it->name, SG_Q_ACTIVE, SG_Q_INCOMING);
            continue;
        }
        if (it->failed)
            continue;
        /* The outputs are durable; losing this unlink in a crash only means re-processing. */
        unlinkat(c->q.dirfd[SG_Q_ACTIVE], it->name, 0);
        m.v[SG_M_IN]++;
        for (size_t k = 0; k < it->nw; k++)
            m.v[it->res.out[k].hold ? SG_M_HELD : SG_M_OUT]++;
        count_done(&m, it);
        sg_info(it->name, "event=processed groups=%zu size=%zu from=<%s> nrcpt=%zu", it->res.nout, it->len,
                SG_LOG_TOK(it->env.from), it->env.nrcpt);
    }
    m.v[SG_M_LATENCY_MS_SUM] = (us + 500) / 1000;
    sg_cmetrics_add(&c->metrics, &m, time(NULL));
}

static void *worker(void *arg)
{
    cryptd *c = arg;
    item items[BATCH_MAX];
    char names[BATCH_MAX][SG_QID_MAX];
    for (;;) {
        size_t got = sg_wq_pop(&c->wq, names, BATCH_MAX);
        if (got == 0)
            break; /* stopping */
        size_t n = 0, bytes = 0;
        for (size_t i = 0; i < got; i++) {
            item *it = &items[n];
            memset(it, 0, sizeof *it);
            memcpy(it->name, names[i], SG_QID_MAX);
            it->qm.fd = -1;
            if (claim(c, it) < 0) {
                item_free(it);
                continue;
            }
            n++;
            bytes += it->len;
            if (bytes > BATCH_BYTES) {
                process_batch(c, items, n);
                for (size_t k = 0; k < n; k++)
                    item_free(&items[k]);
                n = bytes = 0;
            }
        }
        if (n)
            process_batch(c, items, n);
        for (size_t k = 0; k < n; k++)
            item_free(&items[k]);
    }
    return NULL;
}

/* A file in dsn/ is taken only as what relay may make: a DSN, from the null sender. Anything
 * else (a compromised relay asking cryptd to sign as an internal sender) goes to corrupt/. */
static bool is_dsn(cryptd *c, const char *name)
{
    sg_envelope e;
    char *file = NULL, err[256] = "";
    const char *data;
    size_t len;
    int rc = sg_queue_read(&c->q, SG_Q_DSN, name, &e, &file, &data, &len, err, sizeof err);
    if (rc == -1)
        return false; /* gone, or unreadable for now: looked at again at the next scan */
    bool ok = rc == 0 && !*e.from;
    if (rc == 0)
        sg_env_free(&e);
    free(file);
    if (!ok) {
        int m = sg_queue_move(&c->q, name, SG_Q_DSN, SG_Q_CORRUPT);
        sg_error(name, "event=corrupt state=dsn reason=\"%s\" moved=%s",
                 rc == -2 ? err : "not from the null sender", m == 0 ? "corrupt" : "no");
    }
    return ok;
}

/* Moves the relay's DSNs from dsn/ into incoming/, where the watch on incoming/ hands them to
 * the workers. RENAME_NOREPLACE: a name relay chose never replaces a message already there. */
static void take_dsns(cryptd *c)
{
    char **names;
    size_t n, moved = 0;
    if (sg_queue_list(&c->q, SG_Q_DSN, &names, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (!sg_queue_name_valid(names[i]) || !is_dsn(c, names[i]))
            continue;
        if (renameat2(c->q.dirfd[SG_Q_DSN], names[i], c->q.dirfd[SG_Q_INCOMING], names[i],
                      RENAME_NOREPLACE) == 0)
            moved++;
        else if (errno != ENOENT)
            sg_error(names[i], "event=dsn-intake-failed error=\"%s\" action=left-in-dsn", strerror(errno));
    }
    if (moved) {
        /* Relay's bounces, as cryptd sees them (docs/web.md "Metrics"). */
        sg_store_metrics m = {0};
        m.v[SG_M_BOUNCED] = (int64_t)moved;
        sg_cmetrics_add(&c->metrics, &m, time(NULL));
        fsync(c->q.dirfd[SG_Q_INCOMING]);
        fsync(c->q.dirfd[SG_Q_DSN]);
    }
    sg_queue_names_free(names, n);
}

static void scan_incoming(cryptd *c)
{
    char **names;
    size_t n;
    if (sg_queue_list(&c->q, SG_Q_INCOMING, &names, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (sg_queue_name_valid(names[i]))
            sg_wq_push(&c->wq, names[i]);
    sg_queue_names_free(names, n);
}

static int workers_from_config(const sg_config *cfg)
{
    if (cfg->cryptd.workers > 0)
        return cfg->cryptd.workers;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int sg_cryptd_main(const sg_config *cfg)
{
    static cryptd c;
    c.give_up_after = cfg->relay.queue_lifetime;
    sg_cmetrics_init(&c.metrics);
    pthread_mutex_init(&c.log_lock, NULL);
    c.node = cfg->hostname;
    c.no_entries = !cfg->audit.mail_entries;
    if (c.no_entries)
        sg_warn(NULL, "event=audit-mail-entries-off note=\"audit.mail_entries = false: no evidence of mail is kept\"");
    if (sg_queue_precreate(cfg->spool_dir, "cryptd") < 0)
        sg_fatal("cannot open the spool %s: %s", cfg->spool_dir, strerror(errno));
    char err[256];
    /* CRL and OCSP fetches run in a child of their own, forked now: before the drop (it drops
     * to revocation.helper_user) and before the KEK or any key is in memory (docs/x509.md).
     * Key discovery's requests go through the same helper (docs/discovery.md). */
    if ((cfg->revocation.fetch || sg_discovery_uses_network(&cfg->discovery)) &&
        sg_fetch_helper_start(cfg->revocation.helper_user, cfg->revocation.helper_group, err, sizeof err) < 0)
        sg_fatal("cannot start the revocation fetch helper: %s", err);
    /* The scanners are reached the same way (docs/scanning.md): a child forked now, before the
     * drop and before any key is loaded, running as the helper user. */
    if (cfg->scan.enabled &&
        sg_scan_helper_start(cfg->revocation.helper_user, cfg->revocation.helper_group, err, sizeof err) < 0)
        sg_fatal("cannot start the scan helper: %s", err);
    /* The control socket, made while still root so that the web role's group can own it, and
     * after the helper was forked so that the helper never holds it (control.h). */
    int ctl_fd = sg_control_listen(cfg, err, sizeof err);
    if (ctl_fd < 0)
        sg_fatal("%s", err);
    if (sg_priv_drop(cfg->users.cryptd, cfg->users.group, err, sizeof err) < 0)
        sg_fatal("%s", err);
    /* The spool as the cryptd user (as smtpd, src/smtpd/smtpd.c): handles with its own rights. */
    if (sg_queue_open(&c.q, cfg->spool_dir, "cryptd", false) < 0)
        sg_fatal("cannot open the spool %s: %s", cfg->spool_dir, strerror(errno));
    /* Addresses in mail entries as HMACs (docs/audit.md): without its key nothing is logged
     * in the clear by mistake, cryptd does not start. */
    if (cfg->audit.hmac_addresses) {
        if (sg_tlog_hmac_load(cfg->base_dir, c.hmac) < 0)
            sg_fatal("audit.hmac_addresses is on but %s/audit/hmac.key cannot be read (sealgate prepare makes it)",
                     cfg->base_dir);
        c.hmac_key = c.hmac;
    }
    /* The key stores, with the KEK that only the cryptd user can read: the engines sign,
     * encrypt and decrypt with them. Without it cryptd cannot apply protection, so it
     * stops rather than pass mail on unprotected. Opened after the drop: the store's directory
     * belongs to the cryptd user (src/master/prepare.c), so SQLite's WAL files are its own. */
    sg_store *st = sg_store_open_auth(cfg->store_path, cfg->store_password_file, err, sizeof err);
    if (!st)
        sg_fatal("cannot open the store: %s", err);
    /* The engines read generations per message: with PostgreSQL they come from memory until
     * another node's NOTIFY says a kind changed (docs/cluster.md). */
    sg_store_trust_announcements(st);
    char kek[PATH_MAX];
    sg_kek_path(cfg->base_dir, kek, sizeof kek);
    sg_keystore *ks = sg_keystore_open(st, kek, 0);
    sg_certstore *cs = sg_certstore_open(st, kek, 0);
    if (!ks || !cs)
        sg_fatal("cannot open the key stores");
    sg_certstore_set_revocation(cs, &cfg->revocation);
    /* The engines and the policy share the one store handle under this lock (engine.h). */
    static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
    static sg_engine_env env;
    env = (sg_engine_env){.cfg = cfg, .st = st, .ks = ks, .cs = cs, .lock = &store_lock};
    /* Validation releases it while a CRL or OCSP fetch runs (no lock across network I/O). */
    sg_certstore_set_lock(cs, &store_lock);
    sg_keystore_domain_address(cfg->internal_domains.n ? cfg->internal_domains.v[0] : NULL, cfg->hostname,
                               env.domain_addr, sizeof env.domain_addr);
    /* The policy decides per recipient; the engines protect and peel (docs/policy.md). */
    if (sg_transform_policy_init(&env) < 0)
        sg_fatal("cannot start the policy transform");
    c.transform = sg_transform_policy;
    int recovered = sg_queue_recover_active(&c.q);
    if (recovered > 0)
        sg_info(NULL, "event=recovered count=%d from=active to=incoming", recovered);

    int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK), dsn_wd = -1;
    char dir[PATH_MAX], dsn_dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/incoming", cfg->spool_dir);
    snprintf(dsn_dir, sizeof dsn_dir, "%s/dsn", cfg->spool_dir);
    if (ino < 0 || inotify_add_watch(ino, dir, IN_MOVED_TO) < 0 ||
        (dsn_wd = inotify_add_watch(ino, dsn_dir, IN_MOVED_TO)) < 0)
        sg_fatal("inotify on %s: %s", dsn_wd < 0 && ino >= 0 ? dsn_dir : dir, strerror(errno));
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &mask, NULL); /* before the threads start, so they inherit it */
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC);

    sg_store *logst = sg_store_open_auth(cfg->store_path, cfg->store_password_file, err, sizeof err);
    if (!logst)
        sg_error(NULL, "event=checkpoint-store-failed error=\"%s\"", err);
    c.log = logst; /* the workers' entries and the checkpoints, one handle under log_lock */
    /* The figures' writes get a handle of their own too: under the workers' store_lock, a
     * locked store held every key lookup up for a busy timeout each second (test_failclosed). */
    pthread_mutex_t met_lock = PTHREAD_MUTEX_INITIALIZER;
    sg_store *metst = sg_store_open_auth(cfg->store_path, cfg->store_password_file, err, sizeof err);
    if (!metst)
        sg_error(NULL, "event=metrics-store-failed error=\"%s\"", err);
    int nworkers = workers_from_config(cfg);
    sg_wq_init(&c.wq);
    pthread_t *tids = calloc((size_t)nworkers, sizeof *tids);
    for (int i = 0; i < nworkers; i++)
        pthread_create(&tids[i], NULL, worker, &c);
    static sg_ctl_ops_env ctl_env;
    ctl_env = (sg_ctl_ops_env){.cfg = cfg};
    if (sg_control_start(ctl_fd, sg_ctl_ops_dispatch, &ctl_env) < 0)
        sg_fatal("cannot start the control socket's thread");
    /* The store's work on a clock runs in a thread of its own (ticker.h): this loop never
     * waits for the store. */
    static sg_ticker_env tenv;
    tenv = (sg_ticker_env){.cfg = cfg, .metrics = &c.metrics, .metst = metst, .met_lock = &met_lock,
                           .logst = logst, .log_lock = &c.log_lock};
    if (sg_ticker_start(&tenv) < 0)
        sg_fatal("cannot start the store ticker's thread");
    sg_info(NULL, "event=started workers=%d spool=%s", nworkers, cfg->spool_dir);
    sg_ready_tell();

    take_dsns(&c);
    scan_incoming(&c);
    time_t checked = time(NULL);
    int rc = 0;
    for (;;) {
        struct pollfd p[2] = {{.fd = ino, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        int r = poll(p, 2, 1000);
        if (r < 0 && errno != EINTR)
            break;
        bool reload = false;
        if (p[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo != SIGHUP)
                break;
            reload = true; /* SIGHUP: look for a new policy now */
        }
        if (reload)
            sg_ticker_poke(); /* SIGHUP: look for a new policy now */
        if (time(NULL) != checked) {
            checked = time(NULL);
            /* A dead helper cannot be forked again now that keys are in memory: exit, and the
             * master restarts cryptd with a new one. Meanwhile fetches fail (docs/x509.md). */
            if (sg_fetch_helper_lost()) {
                sg_error(NULL, "event=fetch-helper-died action=exit");
                rc = 1;
                break;
            }
            if (sg_scan_helper_lost()) {
                sg_error(NULL, "event=scan-helper-died action=exit");
                rc = 1;
                break;
            }
            /* Deferred messages whose next attempt is due go back to incoming/ (the watch
             * sees them); one that is gone (deleted by the administrator) is forgotten. */
            char due[64][SG_QID_MAX];
            size_t nd = sg_retry_due(time(NULL), due, 64);
            for (size_t i = 0; i < nd; i++)
                if (sg_queue_move(&c.q, due[i], SG_Q_ACTIVE, SG_Q_INCOMING) < 0)
                    sg_retry_done(due[i]);
        }
        if (p[0].revents & POLLIN) {
            char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
            ssize_t len;
            int overflow = 0, dsns = 0;
            while ((len = read(ino, buf, sizeof buf)) > 0) {
                for (char *ptr = buf; ptr < buf + len;) {
                    struct inotify_event *ev = (struct inotify_event *)ptr;
                    if (ev->mask & IN_Q_OVERFLOW)
                        overflow = 1;
                    else if (ev->wd == dsn_wd)
                        dsns = 1;
                    else if (ev->len && sg_queue_name_valid(ev->name))
                        sg_wq_push(&c.wq, ev->name);
                    ptr += sizeof *ev + ev->len;
                }
            }
            if (dsns || overflow)
                take_dsns(&c);
            if (overflow)
                scan_incoming(&c);
        } else if (r == 0 && sg_wq_idle(&c.wq)) {
            take_dsns(&c);
            scan_incoming(&c); /* safety net for anything the watch missed */
        }
    }
    sg_info(NULL, "event=stopping");
    sg_ticker_stop();
    sg_control_stop();
    sg_wq_stop(&c.wq);
    for (int i = 0; i < nworkers; i++)
        pthread_join(tids[i], NULL);
    free(tids);
    c.metrics.retry_at = 0; /* the last batches' figures: one more try whatever came before */
    if (metst)
        sg_cmetrics_flush(&c.metrics, metst, &met_lock, time(NULL));
    sg_queue_close(&c.q);
    sg_transform_policy_done();
    sg_certstore_close(cs);
    sg_keystore_close(ks);
    sg_store_close(st);
    sg_store_close(logst);
    sg_store_close(metst);
    sg_fetch_helper_stop();
    sg_scan_helper_stop();
    return rc;
}
