/* log.c - appending to and verifying the tamper-evident log (log.h). Owner: src/audit.
 * SECURITY: see log.h. Verification trusts nothing stored but the signed checkpoints and the
 * public key: every leaf hash and frontier is recomputed from the entries. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/checkpoint.h"
#include "audit/log.h"
#include "lib/log.h"
#include "store/notary_rows.h"

static _Thread_local char log_err[512];

const char *sg_tlog_error(void)
{
    return log_err;
}

static int log_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int log_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(log_err, sizeof log_err, fmt, ap);
    va_end(ap);
    return -1;
}

/* The store's error as ours; returns -1. */
static int store_fail(sg_store *s)
{
    return log_fail("%s", sg_store_error(s));
}

void sg_tlog_entry_init(sg_tlog_entry *e, uint8_t kind)
{
    e->buf[0] = 0x01;
    e->buf[1] = kind;
    e->len = 2;
    e->overflow = 0;
}

void sg_tlog_entry_field(sg_tlog_entry *e, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = value ? strlen(value) : 0;
    if (nl > 255 || e->len + 1 + nl + 4 + vl > sizeof e->buf) {
        e->overflow = 1;
        return;
    }
    uint8_t *p = e->buf + e->len;
    *p++ = (uint8_t)nl;
    memcpy(p, name, nl);
    p += nl;
    *p++ = (uint8_t)(vl >> 24);
    *p++ = (uint8_t)(vl >> 16);
    *p++ = (uint8_t)(vl >> 8);
    *p++ = (uint8_t)vl;
    if (vl)
        memcpy(p, value, vl);
    e->len += 1 + nl + 4 + vl;
}

/* The frontier stored with row (count hashes), checked for shape. */
static int frontier_of(const sg_store_log_row *row, sg_mhash *f, size_t *count)
{
    uint64_t size = (uint64_t)row->index + 1;
    size_t want = (size_t)__builtin_popcountll(size);
    if (row->frontier_len != want * SG_MERKLE_HASH)
        return -1;
    memcpy(f, row->frontier, row->frontier_len);
    *count = want;
    return 0;
}

/* Appends e[0..n) as the next leaves in one transaction (one commit, one WAL sync). 0 with *index
 * the first one's, 1 when another writer took an index meanwhile (try again), -1. */
static int append_once(sg_store *s, const sg_tlog_entry *const *e, const char *const *queue_id, size_t n,
                       int64_t *index)
{
    if (sg_store_begin(s) < 0)
        return store_fail(s);
    sg_store_log_row last;
    sg_mhash f[SG_MERKLE_MAX_FRONTIER];
    size_t count = 0;
    int64_t next = 0;
    int rc = sg_store_log_last(s, &last);
    if (rc < 0)
        store_fail(s);
    if (rc == 0) {
        next = last.index + 1;
        if (frontier_of(&last, f, &count) < 0)
            rc = log_fail("log: the frontier of entry %lld is damaged (run sealgate audit verify)",
                               (long long)last.index);
        sg_store_log_free(&last);
    }
    if (rc < 0) {
        sg_store_rollback(s);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        sg_mhash leaf;
        sg_merkle_leaf(e[i]->buf, e[i]->len, leaf);
        count = sg_merkle_frontier_push(f, count, (uint64_t)(next + (int64_t)i), leaf);
        sg_store_log_row row = {.index = next + (int64_t)i, .entry = (uint8_t *)e[i]->buf, .entry_len = e[i]->len,
                                .frontier = (uint8_t *)f, .frontier_len = count * SG_MERKLE_HASH};
        snprintf(row.queue_id, sizeof row.queue_id, "%s", queue_id && queue_id[i] ? queue_id[i] : "");
        rc = sg_store_log_add(s, &row);
        if (rc != 0) {
            if (rc < 0)
                store_fail(s);
            sg_store_rollback(s);
            return rc;
        }
    }
    if (sg_store_commit(s) < 0) {
        store_fail(s);
        sg_store_rollback(s);
        return -1;
    }
    if (index)
        *index = next;
    return 0;
}

int sg_tlog_append_many(sg_store *s, const sg_tlog_entry *const *e, const char *const *queue_id, size_t n,
                        int64_t *first)
{
    for (size_t i = 0; i < n; i++)
        if (e[i]->overflow)
            return log_fail("log: entry too long");
    if (n == 0)
        return 0;
    /* 1: another writer took the index between our read and insert; read again. */
    for (int tries = 0; tries < 20; tries++) {
        int rc = append_once(s, e, queue_id, n, first);
        if (rc <= 0)
            return rc;
    }
    return log_fail("log: could not append after 20 tries (contention)");
}

int sg_tlog_append(sg_store *s, const sg_tlog_entry *e, const char *queue_id, int64_t *index)
{
    return sg_tlog_append_many(s, &e, &queue_id, 1, index);
}

int sg_tlog_append_admin(sg_store *s, const sg_store_audit *ev)
{
    sg_tlog_entry e;
    char num[32];
    sg_tlog_entry_init(&e, SG_TLOG_KIND_ADMIN);
    snprintf(num, sizeof num, "%lld", (long long)ev->id);
    sg_tlog_entry_field(&e, "event", num);
    snprintf(num, sizeof num, "%lld", (long long)ev->time);
    sg_tlog_entry_field(&e, "time", num);
    sg_tlog_entry_field(&e, "actor", ev->actor);
    snprintf(num, sizeof num, "%u", (unsigned)ev->roles);
    sg_tlog_entry_field(&e, "roles", num);
    sg_tlog_entry_field(&e, "op", ev->op);
    sg_tlog_entry_field(&e, "target", ev->target);
    sg_tlog_entry_field(&e, "result", ev->result);
    sg_tlog_entry_field(&e, "client", ev->client);
    sg_tlog_entry_field(&e, "detail", ev->detail);
    return sg_tlog_append(s, &e, "", NULL);
}

void sg_tlog_origin(const sg_config *cfg, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/sealgate-audit", cfg->hostname && *cfg->hostname ? cfg->hostname : "localhost");
}

int sg_tlog_checkpoint(sg_store *s, const sg_config *cfg, int64_t min_new, int64_t *covered_cache, char *why,
                      size_t whylen)
{
    int64_t local = -1;
    sg_store_log_row last;
    int rc = sg_store_log_last(s, &last);
    if (rc != 0) {
        if (rc < 0)
            snprintf(why, whylen, "%s", sg_store_error(s));
        return rc < 0 ? -1 : 0;
    }
    sg_mhash f[SG_MERKLE_MAX_FRONTIER], root;
    size_t count;
    uint64_t size = (uint64_t)last.index + 1;
    rc = frontier_of(&last, f, &count);
    sg_store_log_free(&last);
    if (rc < 0) {
        snprintf(why, whylen, "the log's last frontier is damaged");
        return -1;
    }
    if (!covered_cache || *covered_cache < 0) {
        sg_store_checkpoint *cps;
        size_t ncp;
        if (sg_store_checkpoint_list(s, &cps, &ncp) < 0) {
            snprintf(why, whylen, "%s", sg_store_error(s));
            return -1;
        }
        local = ncp ? cps[ncp - 1].size : 0;
        free(cps);
        if (!covered_cache)
            covered_cache = &local;
        *covered_cache = local;
    }
    uint64_t covered = (uint64_t)*covered_cache;
    if (size <= covered || size - covered < (uint64_t)(min_new > 0 ? min_new : 1))
        return 0;
    sg_merkle_frontier_root(f, count, root);
    char origin[SG_CKPT_ORIGIN_MAX];
    sg_tlog_origin(cfg, origin, sizeof origin);
    sg_store_checkpoint c = {.size = (int64_t)size};
    if (sg_checkpoint_sign(cfg->base_dir, origin, size, root, c.note, sizeof c.note, why, whylen) < 0)
        return -1;
    rc = sg_store_checkpoint_add(s, &c);
    if (rc < 0) {
        snprintf(why, whylen, "%s", sg_store_error(s));
        return -1;
    }
    *covered_cache = (int64_t)size;
    return rc == 0 ? 1 : 0;
}

void sg_tlog_tick(sg_store *s, const sg_config *cfg, sg_tlog_ticker *t, time_t now)
{
    if (now < t->retry_at)
        return;
    if (!t->last)
        t->last = now;
    bool timed = now - t->last >= cfg->audit.checkpoint_seconds;
    char why[256];
    int rc = sg_tlog_checkpoint(s, cfg, timed ? 1 : cfg->audit.checkpoint_every, &t->covered, why, sizeof why);
    if (rc < 0) {
        sg_error(NULL, "event=checkpoint-failed error=\"%s\" retry_in=30", why);
        t->covered = -1; /* read again next time: another signer may have added one */
        t->retry_at = now + 30;
    }
    if (rc != 0 || timed)
        t->last = now;
}

int sg_tlog_leaves(sg_store *s, sg_mhash **leaves, uint64_t *n, int64_t *first_bad, char *why, size_t whylen)
{
    *leaves = NULL;
    *n = 0;
    *first_bad = -1;
    size_t cap = 0;
    sg_mhash f[SG_MERKLE_MAX_FRONTIER];
    size_t count = 0;
    for (;;) {
        sg_store_log_row *rows;
        size_t got;
        if (sg_store_log_range(s, (int64_t)*n, 4096, &rows, &got) < 0) {
            free(*leaves);
            *leaves = NULL;
            return -1;
        }
        /* A range that starts past *n means rows are missing (deleted). */
        bool stop = got == 0;
        for (size_t i = 0; i < got; i++) {
            sg_store_log_row *r = &rows[i];
            if (!stop && *first_bad < 0) {
                if ((uint64_t)r->index != *n) {
                    *first_bad = (int64_t)*n;
                    snprintf(why, whylen, "entry %llu is missing", (unsigned long long)*n);
                } else {
                    if (*n == cap) {
                        cap = cap ? cap * 2 : 4096;
                        sg_mhash *nv = realloc(*leaves, cap * sizeof *nv);
                        if (!nv)
                            abort();
                        *leaves = nv;
                    }
                    sg_merkle_leaf(r->entry, r->entry_len, (*leaves)[*n]);
                    count = sg_merkle_frontier_push(f, count, *n, (*leaves)[*n]);
                    if (r->frontier_len != count * SG_MERKLE_HASH || memcmp(r->frontier, f, r->frontier_len) != 0) {
                        *first_bad = (int64_t)*n;
                        snprintf(why, whylen, "entry %llu does not match the tree stored after it",
                                 (unsigned long long)*n);
                    } else {
                        (*n)++;
                    }
                }
            }
            sg_store_log_free(r);
        }
        free(rows);
        if (stop || got < 4096 || *first_bad >= 0) {
            /* A short range may still hide rows after a gap: look for any row past *n. */
            if (*first_bad < 0) {
                if (sg_store_log_range(s, (int64_t)*n, INT64_MAX / 2, &rows, &got) < 0)
                    return -1;
                if (got > 0) {
                    *first_bad = (int64_t)*n;
                    snprintf(why, whylen, "entry %llu is missing", (unsigned long long)*n);
                }
                for (size_t i = 0; i < got; i++)
                    sg_store_log_free(&rows[i]);
                free(rows);
            }
            return 0;
        }
    }
}

int sg_tlog_verify(sg_store *s, const uint8_t pub[32], FILE *out)
{
    sg_mhash *leaves;
    uint64_t n;
    int64_t bad;
    char why[512] = "";
    if (sg_tlog_leaves(s, &leaves, &n, &bad, why, sizeof why) < 0)
        return -1;
    sg_store_checkpoint *cps = NULL;
    size_t ncp = 0;
    if (sg_store_checkpoint_list(s, &cps, &ncp) < 0) {
        free(leaves);
        return -1;
    }
    uint64_t good_size = 0; /* the largest size a checkpoint vouched for so far */
    /* Checkpoints come in size order: one frontier walks the leaves once for all their roots. */
    sg_mhash f[SG_MERKLE_MAX_FRONTIER];
    size_t fcount = 0;
    uint64_t fsize = 0;
    for (size_t i = 0; bad < 0 && i < ncp; i++) {
        sg_checkpoint c;
        char cwhy[200];
        if (!sg_checkpoint_verify(cps[i].note, strlen(cps[i].note), pub, &c, cwhy, sizeof cwhy) ||
            c.size != (uint64_t)cps[i].size) {
            bad = cps[i].size > 0 ? cps[i].size - 1 : 0;
            snprintf(why, sizeof why, "checkpoint of size %lld: %s", (long long)cps[i].size,
                     c.size != (uint64_t)cps[i].size ? "size differs from its row" : cwhy);
            break;
        }
        if (c.size > n) {
            bad = (int64_t)n;
            snprintf(why, sizeof why, "entry %llu is missing: a checkpoint covers %llu entries, the log has %llu",
                     (unsigned long long)n, (unsigned long long)c.size, (unsigned long long)n);
            break;
        }
        sg_mhash root;
        for (; fsize < c.size; fsize++)
            fcount = sg_merkle_frontier_push(f, fcount, fsize, leaves[fsize]);
        sg_merkle_frontier_root(f, fcount, root);
        if (memcmp(root, c.root, SG_MERKLE_HASH) != 0) {
            /* The stored tree is self-consistent but not the one that was signed: an entry in
             * [good_size, c.size) was replaced together with the frontiers after it. */
            bad = (int64_t)good_size;
            snprintf(why, sizeof why,
                     "the entries do not match the signed checkpoint of size %llu: an entry at index %llu"
                     " or later (before %llu) was changed",
                     (unsigned long long)c.size, (unsigned long long)good_size, (unsigned long long)c.size);
            break;
        }
        good_size = c.size;
    }
    if (bad >= 0)
        fprintf(out, "audit verify: FAILED: first bad index %lld: %s\n", (long long)bad, why);
    else
        fprintf(out, "audit verify: ok: %llu entries, %zu checkpoints, last signed size %llu\n",
                (unsigned long long)n, ncp, (unsigned long long)good_size);
    free(leaves);
    free(cps);
    return bad >= 0 ? 1 : 0;
}
