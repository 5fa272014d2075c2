/* transform_policy.c - the policy transform (transform_policy.h). Owner: src/policy.
 * SECURITY: runs in cryptd. It decides and orders; the engines sign, encrypt and decrypt.
 * Rules kept here: a group whose chain demanded protection is never emitted unprotected when
 * the engine fails (the group is held, the sender told); a held group keeps the original bytes
 * in hold/ (nothing is lost in any branch); sealgate's stamp fields arriving from outside are
 * removed before internal recipients see the message; notices go out with MAIL FROM <> so they
 * can never cause a loop of bounces, and are never sent for a message from the null sender. */
#include "cryptd/transform_policy.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cryptd/unwrap.h"
#include "lib/log.h"
#include "mime/mime.h"
#include "policy/engkeys.h"
#include "policy/explain.h"
#include "policy/facts.h"
#include "policy/msgedit.h"
#include "policy/notice.h"
#include "policy/pstore.h"
#include "policy/sendkeys.h"

/* The policy in force, shared by the workers; a reload swaps it, the last user frees it. */
typedef struct pol {
    sg_policy *p;
    long long rev;
    int refs;
} pol;

static struct {
    const sg_engine_env *env;
    pthread_mutex_t mu; /* guards cur and seen */
    pol *cur;
    long long seen; /* the newest revision looked at, good or not */
} T = {.mu = PTHREAD_MUTEX_INITIALIZER};

static pol *acquire(void)
{
    pthread_mutex_lock(&T.mu);
    pol *p = T.cur;
    p->refs++;
    pthread_mutex_unlock(&T.mu);
    return p;
}

static void release(pol *p)
{
    pthread_mutex_lock(&T.mu);
    int left = --p->refs;
    pthread_mutex_unlock(&T.mu);
    if (left == 0) {
        sg_policy_free(p->p);
        free(p);
    }
}

static const char *const *internal(void)
{
    return (const char *const *)T.env->cfg->internal_domains.v;
}

int sg_transform_policy_reload(void)
{
    pthread_mutex_lock(T.env->lock);
    long long newest = sg_pstore_newest(T.env->st);
    pthread_mutex_unlock(T.env->lock);
    if (newest < 0) {
        sg_error(NULL, "event=policy-reload-failed error=\"cannot read the store\" action=keeping-policy");
        return -1;
    }
    pthread_mutex_lock(&T.mu);
    bool same = T.cur && newest == T.seen;
    pthread_mutex_unlock(&T.mu);
    if (same)
        return 0;
    char broken[600];
    long long rev, broken_rev;
    pthread_mutex_lock(T.env->lock);
    sg_policy *p = sg_pstore_active(T.env->st, internal(), T.env->cfg->internal_domains.n, &rev, &broken_rev,
                                    broken, sizeof broken);
    pthread_mutex_unlock(T.env->lock);
    pthread_mutex_lock(&T.mu);
    T.seen = newest;
    pthread_mutex_unlock(&T.mu);
    if (broken_rev)
        sg_error(NULL, "event=policy-refused rev=%lld error=\"%s\" action=keeping-policy", broken_rev, broken);
    if (!p) {
        if (!broken_rev)
            sg_error(NULL, "event=policy-reload-failed error=\"%s\" action=keeping-policy", broken);
        return -1;
    }
    pthread_mutex_lock(&T.mu);
    pol *old = T.cur;
    if (old && old->rev == rev) { /* a broken newer revision: the one in force stays */
        pthread_mutex_unlock(&T.mu);
        sg_policy_free(p);
        return -1;
    }
    pol *n = calloc(1, sizeof *n);
    if (!n) {
        pthread_mutex_unlock(&T.mu);
        sg_policy_free(p);
        return -1;
    }
    *n = (pol){.p = p, .rev = rev, .refs = 1};
    T.cur = n;
    pthread_mutex_unlock(&T.mu);
    if (old)
        release(old);
    sg_info(NULL, "event=policy-loaded rev=%lld rules=%zu%s", rev, p->nrules, rev ? "" : " source=default");
    return 1;
}

int sg_transform_policy_init(const sg_engine_env *env)
{
    sg_mime_init();
    T.env = env;
    for (size_t i = 0; sg_engines[i]; i++)
        if (sg_engines[i]->init && sg_engines[i]->init(env) < 0) {
            sg_error(NULL, "event=engine-init-failed engine=%s", sg_engines[i]->name);
            return -1;
        }
    sg_transform_policy_reload();
    return T.cur ? 0 : -1;
}

void sg_transform_policy_done(void)
{
    if (T.cur)
        release(T.cur);
    T.cur = NULL;
}

/* ---- one message ---- */

typedef struct run {
    const sg_envelope *in;
    const char *data;
    size_t len;
    const sg_policy *p;
    const sg_pfacts *f;
    sg_transform_result *res;
    int ntoken; /* numbers the notices of this message */
    /* Recipients the sender is told about, by kind. */
    sg_notice_item held[1024], returned[1024], deleted[1024];
    size_t nheld, nreturned, ndeleted;
    char *archived[64]; /* archive addresses already given the unchanged original */
    size_t narchived;
} run;

/* A new output with the input's envelope fields and no recipients; data is taken over when
 * owned. Returns the output or NULL (owned is freed). */
static sg_output *add_output(run *r, const char *data, size_t len, char *owned)
{
    sg_output *o = realloc(r->res->out, (r->res->nout + 1) * sizeof *o);
    if (!o) {
        free(owned);
        return NULL;
    }
    r->res->out = o;
    o = &r->res->out[r->res->nout];
    memset(o, 0, sizeof *o);
    if (sg_env_copy_without_rcpts(&o->env, r->in) < 0) {
        sg_env_free(&o->env);
        free(owned);
        return NULL;
    }
    o->data = data;
    o->len = len;
    o->owned = owned;
    r->res->nout++;
    return o;
}

/* Bytes in b become an output's own; b is emptied. */
static sg_output *add_buf_output(run *r, sg_buf *b)
{
    sg_output *o = add_output(r, b->data ? b->data : "", b->len, b->data);
    memset(b, 0, sizeof *b);
    return o;
}

/* An output from the gateway itself (notice, archive copy): MAIL FROM <>, no DSN requests. */
static int own_envelope(sg_output *o, const char *rcpt, bool eightbit)
{
    if (sg_env_set(&o->env.from, "") < 0 || sg_env_set(&o->env.envid, NULL) < 0 || sg_env_set(&o->env.ret, NULL) < 0 ||
        sg_env_set(&o->env.body, eightbit ? "8BITMIME" : NULL) < 0)
        return -1;
    return sg_env_add_rcpt(&o->env, rcpt, "NEVER", NULL);
}

static int notice(run *r, int kind, const char *to, const char *text, const sg_notice_item *items, size_t n)
{
    if (!to || !*to)
        return 0; /* never a notice to the null sender */
    char token[96];
    snprintf(token, sizeof token, "%s.%d", r->in->id, r->ntoken++);
    sg_notice nt = {.kind = kind,
                    .hostname = T.env->cfg->hostname,
                    .to = to,
                    .sender = kind == SG_NOTICE_ALERT ? r->in->from : NULL,
                    .qid = r->in->id,
                    .text = text,
                    .items = items,
                    .n = n,
                    .now = (long long)time(NULL),
                    .token = token};
    sg_buf b;
    sg_buf_init(&b, SG_MIME_MAX_OUT);
    bool eightbit;
    if (sg_notice_build(&nt, r->data, r->len, &b, &eightbit) < 0) {
        sg_buf_free(&b);
        return -1;
    }
    sg_output *o = add_buf_output(r, &b);
    return o ? own_envelope(o, to, eightbit) : -1;
}

static const char *admin_address(run *r, char *buf, size_t n)
{
    if (r->p->admin)
        return r->p->admin;
    const sg_config *c = T.env->cfg;
    snprintf(buf, n, "postmaster@%s", c->internal_domains.n ? c->internal_domains.v[0] : c->hostname);
    return buf;
}

/* The group's recipients (with their DSN parameters) onto an output. */
static int add_group_rcpts(run *r, sg_output *o, const size_t *group, size_t g)
{
    for (size_t i = 0; i < r->in->nrcpt; i++)
        if (group[i] == g &&
            sg_env_add_rcpt(&o->env, r->in->rcpt[i].addr, r->in->rcpt[i].notify, r->in->rcpt[i].orcpt) < 0)
            return -1;
    return 0;
}

/* A copy of the message as it is now for the archive address; the unchanged original goes to
 * each archive address once per message, however many groups ask for it. */
static int archive(run *r, const char *addr, const char *cur, size_t curlen)
{
    bool original = cur == r->data;
    for (size_t i = 0; original && i < r->narchived; i++)
        if (strcmp(r->archived[i], addr) == 0)
            return 0;
    char *copy = original ? NULL : malloc(curlen ? curlen : 1);
    if (!original && !copy)
        return -1;
    if (copy)
        memcpy(copy, cur, curlen);
    sg_output *o = add_output(r, copy ? copy : r->data, curlen, copy);
    if (!o || own_envelope(o, addr, r->in->body && strcmp(r->in->body, "7BIT") != 0) < 0)
        return -1;
    /* An archive keeps what the sender's server said about the body, not ours. */
    if (sg_env_set(&o->env.body, r->in->body) < 0)
        return -1;
    if (original && r->narchived < sizeof r->archived / sizeof r->archived[0])
        r->archived[r->narchived++] = (char *)addr;
    return 0;
}

/* The current bytes of a chain: the input until an edit makes a buffer of its own. */
typedef struct cur {
    const char *data;
    size_t len;
    sg_buf b;
} cur;

/* Replaces cur's bytes by next (taken over). */
static void cur_take(cur *c, sg_buf *next)
{
    sg_buf_free(&c->b);
    c->b = *next;
    memset(next, 0, sizeof *next);
    c->data = c->b.data ? c->b.data : "";
    c->len = c->b.len;
}

static int attach_keys(run *r, const sg_paction *a, cur *c, char *err, size_t errlen)
{
    const char *sender = sg_pfacts_sender(r->f);
    sg_buf keys[SG_METHOD__COUNT];
    sg_medit_file files[SG_METHOD__COUNT];
    char names[SG_METHOD__COUNT][340];
    size_t n = 0;
    int rc = 0;
    for (int m = 1; m < SG_METHOD__COUNT && rc == 0; m++) {
        bool wanted = !a->methods[0];
        for (size_t k = 0; k < 3 && a->methods[k]; k++)
            wanted = wanted || a->methods[k] == m;
        if (!wanted || !sg_engine_by_method(m))
            continue;
        sg_buf_init(&keys[n], 4u << 20);
        int x = sg_policy_public_key(T.env, m, sender, &keys[n]);
        if (x < 0) {
            snprintf(err, errlen, "cannot export the %s key of %s", sg_method_name(m), sender);
            rc = -1;
        }
        if (x != 1) {
            sg_buf_free(&keys[n]);
            continue;
        }
        bool pgp = m == SG_METHOD_PGP;
        snprintf(names[n], sizeof names[n], "%s.%s", sender, pgp ? "asc" : "cer");
        files[n] = (sg_medit_file){.type = pgp ? "application/pgp-keys" : "application/pkix-cert",
                                   .filename = names[n],
                                   .data = keys[n].data,
                                   .len = keys[n].len};
        n++;
    }
    if (rc == 0 && n) {
        sg_buf out;
        sg_buf_init(&out, SG_MIME_MAX_OUT);
        if (sg_medit_attach(c->data, c->len, files, n, r->in->id, &out) < 0) {
            snprintf(err, errlen, "cannot attach the keys");
            rc = -1;
            sg_buf_free(&out);
        } else {
            cur_take(c, &out);
        }
    } else if (rc == 0) {
        sg_warn(r->in->id, "event=policy-attach-keys-none sender=<%s>", sender);
    }
    for (size_t i = 0; i < n; i++)
        sg_buf_free(&keys[i]);
    return rc;
}

static int protect(run *r, const sg_pdecision *d, const size_t *group, size_t g, cur *c, char *err, size_t errlen)
{
    const sg_engine *e = sg_engine_by_method(d->method);
    if (!e || !e->protect) {
        snprintf(err, errlen, "no %s engine", sg_method_name(d->method));
        return -1;
    }
    const char **rcpts = calloc(r->in->nrcpt + 1, sizeof *rcpts);
    if (!rcpts)
        return -1;
    size_t n = 0;
    for (size_t i = 0; d->encrypt && i < r->in->nrcpt; i++)
        if (group[i] == g)
            rcpts[n++] = r->in->rcpt[i].addr;
    sg_protect_req req = {.sender = sg_pfacts_sender(r->f),
                          .sign = d->sign,
                          .create_sender_key = d->create_key,
                          .rcpts = rcpts,
                          .nrcpt = n,
                          .qid = r->in->id};
    sg_buf out;
    sg_buf_init(&out, SG_MIME_MAX_OUT);
    int rc = e->protect(&req, c->data, c->len, &out, err, errlen);
    free(rcpts);
    if (rc < 0) {
        sg_buf_free(&out);
        return -1;
    }
    cur_take(c, &out);
    /* One line per protected group: what operators (and bench/pgp, bench/smime) count. */
    sg_info(r->in->id, "event=protected method=%s encrypted_to=%zu signed=%s", sg_method_name(d->method), n,
            d->sign ? "yes" : "no");
    return 0;
}

/* Sealgate's stamp fields arriving from outside are never shown to internal recipients. */
static int unstamp(cur *c)
{
    sg_rawmsg m;
    bool stamped = false;
    if (sg_rawmsg_parse(c->data, c->len, &m) == 0) {
        for (size_t i = 0; i < m.nh && !stamped; i++)
            stamped = sg_mime_is_stamp_field(m.h[i].name, m.h[i].namelen);
        sg_rawmsg_free(&m);
    }
    if (!stamped)
        return 0;
    sg_buf out;
    sg_buf_init(&out, SG_MIME_MAX_OUT);
    if (sg_mime_restamp(c->data, c->len, "", &out) < 0) {
        sg_buf_free(&out);
        return -1;
    }
    cur_take(c, &out);
    return 0;
}

static int run_chain_from(run *r, const sg_pdecision *d, const size_t *group, size_t g, size_t start, cur *cp,
                          bool done_protect, char *err, size_t errlen);

/* Decrypts and verifies for the group through the single entry point (unwrap.c). Recipients
 * whose held key opens the message get it decrypted and stamped; the others get it as it
 * arrived, stamped, forged results removed. When the group has both, the readers go through
 * the rest of the chain as a group of their own, and *grp (owned by the caller, freed there)
 * becomes the others. -1 with err (the group is held: EFAIL, too large, store error). */
static int decrypt(run *r, const sg_pdecision *d, const size_t *group, size_t g, size_t next, cur *c,
                   bool done_protect, size_t **grp, char *err, size_t errlen)
{
    size_t n = 0, *idx = calloc(r->in->nrcpt, sizeof *idx);
    const char **rcpts = calloc(r->in->nrcpt, sizeof *rcpts);
    int rc = -1;
    sg_unwrap_result u = {0};
    if (!idx || !rcpts)
        goto out;
    for (size_t i = 0; i < r->in->nrcpt; i++)
        if (group[i] == g) {
            idx[n] = i;
            rcpts[n++] = r->in->rcpt[i].addr;
        }
    sg_unwrap_req req = {.rcpts = rcpts,
                         .nrcpt = n,
                         .authserv_id = T.env->cfg->hostname,
                         .max_layers = T.env->cfg->cryptd.max_layers,
                         .qid = r->in->id};
    if (sg_unwrap(&req, c->data, c->len, &u) < 0) {
        snprintf(err, errlen, "decryption failed (store or memory error)");
        goto out;
    }
    if (u.hold) {
        snprintf(err, errlen, "%.190s", u.reason);
        goto out;
    }
    rc = 0;
    if (u.unchanged)
        goto out;
    size_t readers = 0;
    for (size_t k = 0; k < n; k++)
        readers += u.readable && u.readable[k];
    sg_buf b;
    if (readers > 0 && readers < n) {
        /* Split: readers continue as their own group on the decrypted message. */
        size_t *mine = malloc(r->in->nrcpt * sizeof *mine), *others = malloc(r->in->nrcpt * sizeof *others);
        cur rc_cur = {.data = u.reader_msg, .len = u.reader_len};
        sg_buf_init(&rc_cur.b, SG_MIME_MAX_OUT);
        rc = mine && others ? 0 : -1;
        for (size_t i = 0; rc == 0 && i < r->in->nrcpt; i++)
            mine[i] = others[i] = (size_t)-1;
        for (size_t k = 0; rc == 0 && k < n; k++)
            (u.readable[k] ? mine : others)[idx[k]] = g;
        if (rc == 0)
            rc = run_chain_from(r, d, mine, g, next, &rc_cur, done_protect, err, errlen);
        sg_buf_free(&rc_cur.b);
        free(mine);
        if (rc < 0) {
            free(others);
            goto out;
        }
        free(*grp);
        *grp = others;
    }
    const char *msg = readers == n ? u.reader_msg : u.other_msg;
    size_t mlen = readers == n ? u.reader_len : u.other_len;
    sg_buf_init(&b, SG_MIME_MAX_OUT);
    if (msg && sg_buf_append(&b, msg, mlen) < 0) {
        sg_buf_free(&b);
        rc = -1;
        goto out;
    }
    if (msg)
        cur_take(c, &b);
out:
    sg_unwrap_result_free(&u);
    free(idx);
    free(rcpts);
    return rc;
}

/* Runs a delivering group's chain. -1 with err when an action failed: the caller holds the
 * group (fail closed). */
static int run_chain(run *r, const sg_pdecision *d, const size_t *group, size_t g, char *err, size_t errlen)
{
    cur c = {.data = r->data, .len = r->len};
    sg_buf_init(&c.b, SG_MIME_MAX_OUT);
    int rc = 0;
    if (d->direction == SG_PDIR_INCOMING || d->direction == SG_PDIR_INTERNAL)
        rc = unstamp(&c);
    if (rc == 0)
        rc = run_chain_from(r, d, group, g, 0, &c, false, err, errlen);
    if (rc < 0 && !*err)
        snprintf(err, errlen, "out of memory");
    sg_buf_free(&c.b);
    return rc;
}

/* The chain from action `start` on, with the message as it is in *cp. */
static int run_chain_from(run *r, const sg_pdecision *d, const size_t *group, size_t g, size_t start, cur *cp,
                          bool done_protect, char *err, size_t errlen)
{
    cur c = *cp; /* *cp keeps ownership of its buffer; edits here make buffers of their own */
    c.b = (sg_buf){0};
    sg_buf_init(&c.b, SG_MIME_MAX_OUT);
    size_t *split = NULL; /* the group's members after a decrypt split them */
    int rc = 0;
    char admin[340];
    for (size_t i = start; i < d->nchain && rc == 0; i++) {
        const sg_paction *a = d->chain[i];
        sg_buf next;
        sg_buf_init(&next, SG_MIME_MAX_OUT);
        switch (a->kind) {
        case SG_ACT_ARCHIVE:
            rc = archive(r, a->arg, c.data, c.len);
            break;
        case SG_ACT_ADD_HEADER:
        case SG_ACT_REMOVE_HEADER:
        case SG_ACT_STRIP_KEYWORD:
            if (a->kind == SG_ACT_ADD_HEADER)
                rc = sg_medit_add_header(c.data, c.len, a->arg, &next);
            else if (a->kind == SG_ACT_REMOVE_HEADER)
                rc = sg_medit_remove_header(c.data, c.len, a->arg, &next);
            else
                rc = sg_medit_strip_words(c.data, c.len, (const char *const *)r->p->keywords, SG_KW__COUNT, &next);
            if (rc == 0)
                cur_take(&c, &next);
            else
                snprintf(err, errlen, "cannot %s", sg_policy_action_name(a->kind));
            break;
        case SG_ACT_ATTACH_KEYS:
            rc = attach_keys(r, a, &c, err, errlen);
            break;
        case SG_ACT_ENCRYPT:
        case SG_ACT_SIGN:
            /* Encryption and signature are one engine call, where the first of them stands. */
            if (!done_protect && (d->encrypt || d->sign))
                rc = protect(r, d, split ? split : group, g, &c, err, errlen);
            done_protect = true;
            break;
        case SG_ACT_DECRYPT:
            rc = decrypt(r, d, split ? split : group, g, i + 1, &c, done_protect, &split, err, errlen);
            break;
        case SG_ACT_NOTIFY_SENDER:
            rc = notice(r, SG_NOTICE_INFO, r->in->from, a->arg, NULL, 0);
            break;
        case SG_ACT_ALERT_ADMIN:
            rc = notice(r, SG_NOTICE_ALERT, admin_address(r, admin, sizeof admin), a->arg, NULL, 0);
            break;
        case SG_ACT_DELIVER: {
            /* Bytes that belong to a caller (a decrypted message, an unstamped copy) are
             * copied: the output outlives them. */
            if (!c.b.data && c.data != r->data && sg_buf_append(&c.b, c.data, c.len) < 0) {
                rc = -1;
                break;
            }
            sg_output *o = c.b.data ? add_buf_output(r, &c.b) : add_output(r, c.data, c.len, NULL);
            rc = o ? add_group_rcpts(r, o, split ? split : group, g) : -1;
            c.data = r->data; /* the bytes belong to the output now */
            c.len = r->len;
            break;
        }
        default: /* create_key is a flag of protect; hold/return/delete never reach here */
            break;
        }
        sg_buf_free(&next);
    }
    sg_buf_free(&c.b);
    free(split);
    return rc;
}

/* Side effects that still happen for a group that is not delivered (archive, alerts). */
static int side_effects(run *r, const sg_pdecision *d)
{
    char admin[340];
    for (size_t i = 0; i < d->nchain; i++) {
        const sg_paction *a = d->chain[i];
        int rc = 0;
        if (a->kind == SG_ACT_ARCHIVE)
            rc = archive(r, a->arg, r->data, r->len);
        else if (a->kind == SG_ACT_ALERT_ADMIN)
            rc = notice(r, SG_NOTICE_ALERT, admin_address(r, admin, sizeof admin), a->arg, NULL, 0);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* The original bytes for the group's recipients into hold/, with the reason. */
static int hold_group(run *r, const size_t *group, size_t g, const char *reason)
{
    sg_output *o = add_output(r, r->data, r->len, NULL);
    if (!o || add_group_rcpts(r, o, group, g) < 0 || sg_env_set(&o->env.last_error, reason) < 0)
        return -1;
    o->hold = 1;
    return 0;
}

static void note(sg_notice_item *list, size_t *n, size_t max, const char *rcpt, const char *reason)
{
    if (*n < max)
        list[(*n)++] = (sg_notice_item){.rcpt = rcpt, .reason = reason};
}

#define NOTE(r, kind, rcpt, why) note((r)->kind, &(r)->n##kind, sizeof (r)->kind / sizeof (r)->kind[0], rcpt, why)

static int apply_group(run *r, sg_pdecision *dec, const size_t *group, size_t g)
{
    sg_pdecision *d = NULL;
    size_t n = 0;
    for (size_t i = 0; i < r->in->nrcpt; i++)
        if (group[i] == g) {
            d = d ? d : &dec[i];
            n++;
        }
    char desc[400], err[sizeof d->reason] = "";
    sg_policy_describe(d, desc, sizeof desc);
    sg_info(r->in->id, "event=policy group=%zu rcpts=%zu rule=\"%s\" decision=\"%s\"", g, n,
            d->rule >= 0 ? r->p->rules[d->rule].name : "(none)", desc);
    if (d->outcome == SG_OUT_DELIVER) {
        if (run_chain(r, d, group, g, err, sizeof err) == 0)
            return 0;
        /* Fail closed: what this group's chain produced so far stays (archive copies), the
         * message is kept for its recipients and the sender is told. */
        sg_warn(r->in->id, "event=policy-action-failed group=%zu error=\"%s\" action=hold", g, err);
        snprintf(d->reason, sizeof d->reason, "%s", err);
        d->outcome = d->rule >= 0 && r->p->rules[d->rule].fallback == SG_FB_RETURN ? SG_OUT_RETURN : SG_OUT_HOLD;
        d->notify = true;
        for (size_t i = 0; i < r->in->nrcpt; i++)
            if (group[i] == g && &dec[i] != d)
                snprintf(dec[i].reason, sizeof dec[i].reason, "%s", err);
        if (d->direction == SG_PDIR_INCOMING && d->outcome == SG_OUT_HOLD) {
            /* Incoming mail held (e.g. EFAIL: no integrity protection): no notice to the
             * outside sender, which may be forged (backscatter) and would learn what the
             * gateway does with its crafted message; the administrator, who can release or
             * delete it, is alerted instead. */
            for (size_t i = 0; i < r->in->nrcpt; i++)
                if (group[i] == g)
                    dec[i].notify = false;
            char admin[340];
            if (notice(r, SG_NOTICE_ALERT, admin_address(r, admin, sizeof admin), err, NULL, 0) < 0)
                return -1;
        }
    } else if (side_effects(r, d) < 0) {
        return -1;
    }
    for (size_t i = 0; i < r->in->nrcpt; i++) {
        if (group[i] != g || !dec[i].notify)
            continue;
        const char *rc = r->in->rcpt[i].addr, *why = dec[i].reason;
        if (d->outcome == SG_OUT_HOLD)
            NOTE(r, held, rc, why);
        else if (d->outcome == SG_OUT_RETURN)
            NOTE(r, returned, rc, why);
        else if (d->outcome == SG_OUT_DELETE)
            NOTE(r, deleted, rc, why);
    }
    if (d->outcome == SG_OUT_HOLD)
        return hold_group(r, group, g, d->reason);
    return 0; /* returned and deleted recipients get nothing; the notice carries the original */
}

/* Nothing to do for anyone: cryptd moves the input on by rename. */
static bool identity(const sg_pdecision *dec, size_t ng)
{
    if (ng != 1 || dec[0].outcome != SG_OUT_DELIVER || dec[0].nchain != 1 || dec[0].chain[0]->kind != SG_ACT_DELIVER)
        return false;
    return dec[0].direction == SG_PDIR_OUTGOING || dec[0].direction == SG_PDIR_EXTERNAL;
}

static int whole_hold(sg_transform_result *res, const char *qid, const char *why)
{
    sg_transform_result_free(res);
    res->hold = 1;
    snprintf(res->reason, sizeof res->reason, "%s", why);
    sg_warn(qid, "event=policy-hold reason=\"%s\"", why);
    return 0;
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Groups whose chains ended in the same bytes with the same envelope (e.g. an incoming
 * recipient whose message had nothing to decrypt, and a relayed one) are one transaction:
 * fewer copies, fewer connections, and a message nothing changed is moved on by rename. */
static int merge_same_outputs(const sg_envelope *in, const char *data, size_t len, sg_transform_result *res)
{
    for (size_t a = 0; a < res->nout; a++) {
        for (size_t b = a + 1; b < res->nout;) {
            sg_output *x = &res->out[a], *y = &res->out[b];
            bool same = !x->hold && !y->hold && x->len == y->len && same_str(x->env.from, y->env.from) &&
                        same_str(x->env.envid, y->env.envid) && same_str(x->env.ret, y->env.ret) &&
                        same_str(x->env.body, y->env.body) && x->env.smtputf8 == y->env.smtputf8 &&
                        (x->data == y->data || memcmp(x->data, y->data, x->len) == 0);
            if (!same) {
                b++;
                continue;
            }
            for (size_t i = 0; i < y->env.nrcpt; i++)
                if (sg_env_add_rcpt(&x->env, y->env.rcpt[i].addr, y->env.rcpt[i].notify, y->env.rcpt[i].orcpt) < 0)
                    return -1;
            sg_env_free(&y->env);
            free(y->owned);
            memmove(y, y + 1, (res->nout - b - 1) * sizeof *y);
            res->nout--;
        }
    }
    /* One output of the input's bytes for every recipient, in the input's order: unchanged. */
    if (res->nout == 1 && !res->out[0].hold && res->out[0].len == len && res->out[0].env.nrcpt == in->nrcpt &&
        same_str(res->out[0].env.from, in->from) &&
        (res->out[0].data == data || memcmp(res->out[0].data, data, len) == 0)) {
        bool order = true;
        for (size_t i = 0; i < in->nrcpt && order; i++)
            order = strcmp(res->out[0].env.rcpt[i].addr, in->rcpt[i].addr) == 0;
        res->unchanged = order;
    }
    return 0;
}

int sg_transform_policy(const sg_envelope *in, const char *data, size_t len, sg_transform_result *res)
{
    memset(res, 0, sizeof *res);
    if (in->nrcpt == 0)
        return sg_transform_identity(in, data, len, res);
    pol *pp = acquire();
    sg_pfacts_holder fh;
    const char **rcpts = calloc(in->nrcpt, sizeof *rcpts);
    sg_pdecision *dec = calloc(in->nrcpt, sizeof *dec);
    size_t *group = calloc(in->nrcpt, sizeof *group);
    run *r = calloc(1, sizeof *r);
    int rc = -1;
    if (sg_pfacts_from_message(&fh, in->from, data, len) < 0 || !rcpts || !dec || !group || !r)
        goto out;
    for (size_t i = 0; i < in->nrcpt; i++)
        rcpts[i] = in->rcpt[i].addr;
    sg_pkeys k;
    sg_policy_engine_keys(&k);
    if (sg_policy_eval(pp->p, &fh.f, &k, rcpts, in->nrcpt, dec) < 0) {
        rc = whole_hold(res, in->id, "policy: a key lookup failed");
        goto out;
    }
    size_t ng = sg_policy_group(dec, in->nrcpt, group);
    if (identity(dec, ng)) {
        sg_info(in->id, "event=policy groups=1 rule=\"%s\" decision=unchanged",
                dec[0].rule >= 0 ? pp->p->rules[dec[0].rule].name : "(none)");
        rc = sg_transform_identity(in, data, len, res);
        goto out;
    }
    *r = (run){.in = in, .data = data, .len = len, .p = pp->p, .f = &fh.f, .res = res};
    rc = 0;
    for (size_t g = 0; g < ng && rc == 0; g++)
        rc = apply_group(r, dec, group, g);
    if (rc == 0 && r->nheld)
        rc = notice(r, SG_NOTICE_HELD, in->from, NULL, r->held, r->nheld);
    if (rc == 0 && r->nreturned)
        rc = notice(r, SG_NOTICE_RETURNED, in->from, NULL, r->returned, r->nreturned);
    if (rc == 0 && r->ndeleted)
        rc = notice(r, SG_NOTICE_DELETED, in->from, NULL, r->deleted, r->ndeleted);
    if (rc == 0)
        rc = merge_same_outputs(in, data, len, res);
out:
    if (rc < 0)
        sg_transform_result_free(res);
    sg_pfacts_free(&fh);
    free(rcpts);
    free(dec);
    free(group);
    free(r);
    release(pp);
    return rc;
}
