/* policy_chain.c - runs one group's action chain: edits, archive copies, the sender's keys,
 * one engine call to sign and/or encrypt, decryption through unwrap (which may split the group
 * into those who can read it and the others), notices, delivery. Owner: src/policy.
 * SECURITY: runs in cryptd. An action that fails makes the chain fail and the caller holds the
 * group: what a rule demanded protected never leaves unprotected. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy_run.h"
#include "engine/unwrap.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "mime/mime.h"
#include "policy/content.h"
#include "policy/engkeys.h"
#include "policy/msgedit.h"
#include "policy/scan_stage.h"
#include "policy/sendkeys.h"

/* Replaces cur's bytes by next (taken over). */
static void cur_take(sg_pcur *c, sg_buf *next)
{
    sg_mapview_free(c->map);
    c->map = NULL;
    sg_buf_free(&c->b);
    c->b = *next;
    memset(next, 0, sizeof *next);
    c->data = c->b.data ? c->b.data : "";
    c->len = c->b.len;
}

static int attach_keys(sg_prun *r, const sg_paction *a, sg_pcur *c, char *err, size_t errlen)
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
        int x = sg_policy_public_key(r->env, m, sender, &keys[n]);
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
        sg_warn(r->in->id, "event=policy-attach-keys-none sender=<%s>", SG_LOG_TOK(sender));
    }
    for (size_t i = 0; i < n; i++)
        sg_buf_free(&keys[i]);
    return rc;
}

/* A message at least this large is protected into a file when the engine can (issue 11). */
#define STREAM_MIN ((size_t)1 << 20)

/* The engine writes the protected message into an unnamed file in cryptd's spool tmp/, which
 * then stands for the current bytes (mapped). 0 done, 1 not this way (the engine's answer, or
 * no such file can be made here: the caller protects in memory), -1 with err. */
static int protect_to_file(sg_prun *r, const sg_engine *e, const sg_protect_req *req, sg_pcur *c, char *err,
                           size_t errlen)
{
    char dir[PATH_MAX];
    int w = snprintf(dir, sizeof dir, "%s/tmp/cryptd", r->env->cfg->spool_dir ? r->env->cfg->spool_dir : "");
    int fd = w > 0 && (size_t)w < sizeof dir ? sg_tmpfile(dir) : -1;
    if (fd < 0)
        return 1;
    int rc = e->protect_to_fd(req, c->data, c->len, fd, err, errlen);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    sg_mapview *m = sg_mapview_new(fd);
    if (!m) {
        snprintf(err, errlen, "cannot read the protected message back: %s", strerror(errno));
        return -1;
    }
    sg_buf_free(&c->b);
    sg_mapview_free(c->map);
    c->map = m;
    c->data = m->base;
    c->len = m->len;
    return 0;
}

static int protect(sg_prun *r, const sg_pdecision *d, const size_t *group, size_t g, sg_pcur *c, char *err,
                   size_t errlen)
{
    const sg_engine *e = sg_engine_by_method(d->method);
    if (!e || !e->protect) {
        snprintf(err, errlen, "no %s engine", sg_method_name(d->method));
        return -1;
    }
    const char **rcpts = calloc(r->in->nrcpt + 1, sizeof *rcpts);
    if (!rcpts)
        return -1;
    char used[1024] = "";
    size_t n = 0;
    for (size_t i = 0; d->encrypt && i < r->in->nrcpt; i++)
        if (group[i] == g)
            rcpts[n++] = r->in->rcpt[i].addr;
    char *notice = NULL; /* what the engine has to tell the sender (pdf: a new pair's password) */
    sg_protect_req req = {.sender = sg_pfacts_sender(r->f),
                          .sign = d->sign,
                          .create_sender_key = d->create_key,
                          .rcpts = rcpts,
                          .nrcpt = n,
                          .qid = r->in->id,
                          .env_from = r->in->from,
                          .notice = &notice,
                          .used = used,
                          .usedlen = sizeof used};
    int streamed = e->protect_to_fd && c->len >= STREAM_MIN ? protect_to_file(r, e, &req, c, err, errlen) : 1;
    if (streamed == 1) {
        sg_buf out;
        sg_buf_init(&out, SG_MIME_MAX_OUT);
        if (e->protect(&req, c->data, c->len, &out, err, errlen) < 0) {
            sg_buf_free(&out);
            streamed = -1;
        } else {
            cur_take(c, &out);
        }
    }
    free(rcpts);
    if (streamed >= 0 && notice && sg_prun_notice(r, SG_NOTICE_INFO, r->in->from, notice, NULL, 0) < 0) {
        snprintf(err, errlen, "cannot make the sender's notice");
        streamed = -1;
    }
    if (notice)
        explicit_bzero(notice, strlen(notice));
    free(notice);
    if (streamed < 0)
        return -1;
    sg_transform_note(r->res->keys, sizeof r->res->keys, "%s %s", sg_method_name(d->method), used);
    /* One line per protected group: what operators (and bench/pgp, bench/smime) count. */
    sg_info(r->in->id, "event=protected method=%s encrypted_to=%zu signed=%s streamed=%s",
            sg_method_name(d->method), n, d->sign ? "yes" : "no", streamed == 0 ? "yes" : "no");
    return 0;
}

/* Results in our name arriving from outside (X-Sealgate-*, our Authentication-Results) are
 * never shown to internal recipients, whatever the header looks like (a line scan). */
static int unstamp(const sg_prun *r, sg_pcur *c)
{
    sg_buf out;
    sg_buf_init(&out, SG_MIME_MAX_OUT);
    bool stripped;
    if (sg_mime_strip_results_if_any(c->data, c->len, r->env->cfg->hostname, &out, &stripped) < 0) {
        sg_buf_free(&out);
        return -1;
    }
    if (!stripped || out.len == c->len) { /* nothing removed: keep the input's bytes */
        sg_buf_free(&out);
        return 0;
    }
    cur_take(c, &out);
    return 0;
}

static int run_chain_from(sg_prun *r, const sg_pdecision *d, const size_t *group, size_t g, size_t start,
                          sg_pcur *cp, bool done_protect, char *err, size_t errlen);

/* The origin stamp: any X-Sealgate-Origin the message had is removed, whoever sent it and
 * wherever it goes; a partner's answer from the pdf reply portal (the envelope's origin, which
 * only cryptd sets) is then stamped so the internal recipient sees where it came from. */
static int stamp_origin(sg_pcur *c, bool pdf_reply)
{
    if (!pdf_reply && !sg_mime_has_origin(c->data, c->len))
        return 0;
    sg_buf a, b;
    sg_buf_init(&a, SG_MIME_MAX_OUT);
    sg_buf_init(&b, SG_MIME_MAX_OUT);
    int rc = sg_medit_remove_header(c->data, c->len, "X-Sealgate-Origin", &a);
    if (rc == 0 && pdf_reply)
        rc = sg_medit_add_header(a.data ? a.data : "", a.len, "X-Sealgate-Origin: pdf-reply", &b);
    if (rc < 0) {
        sg_buf_free(&a);
        sg_buf_free(&b);
        return -1;
    }
    if (pdf_reply) {
        sg_buf_free(&a);
        cur_take(c, &b);
    } else {
        sg_buf_free(&b);
        cur_take(c, &a);
    }
    return 0;
}

static int scan_rules(sg_prun *r, const size_t *group, size_t g, const sg_pscan *ps, const sg_prule **rule)
{
    sg_pfacts f = *r->f;
    f.scan = ps;
    const char **rcpts = calloc(r->in->nrcpt, sizeof *rcpts);
    sg_pdecision *dec = calloc(r->in->nrcpt, sizeof *dec);
    size_t n = 0;
    int rc = -1;
    if (!rcpts || !dec)
        goto out;
    for (size_t i = 0; i < r->in->nrcpt; i++)
        if (group[i] == g)
            rcpts[n++] = r->in->rcpt[i].addr;
    sg_pkeys k;
    sg_policy_engine_keys(&k);
    if (sg_policy_eval(r->p, &f, &k, rcpts, n, dec) < 0)
        goto out;
    bool stop = false, allowed = n > 0;
    *rule = NULL;
    for (size_t i = 0; i < n && !stop; i++) {
        const sg_prule *pr = dec[i].rule >= 0 ? &r->p->rules[dec[i].rule] : NULL;
        bool scans = pr && sg_prule_scans(pr);
        if (scans && dec[i].outcome != SG_OUT_DELIVER) {
            stop = true;
            *rule = pr;
        }
        allowed = allowed && scans && dec[i].outcome == SG_OUT_DELIVER;
    }
    if (!stop && ps->av == SG_AV_INFECTED && !allowed)
        stop = true; /* no rule of the policy said what to do with it: quarantine */
    rc = stop ? 1 : 0;
out:
    free(rcpts);
    free(dec);
    return rc;
}

/* The scanning stage (scan_stage.h), where the message is in the clear: after a decrypt,
 * before protection or delivery. Held by the verdict (scan_rules): -1 with the verdict and the
 * rule as err (the caller holds the group: quarantine). A scanner that failed: -1, and with
 * on_error "defer" r->scan_defer (the whole message waits and is tried again). Otherwise the
 * stamped message replaces cur. */
static int scan(sg_prun *r, const size_t *group, size_t g, sg_pcur *c, char *err, size_t errlen)
{
    const sg_config *cfg = r->env->cfg;
    const char *q = r->in->last_error;
    if (q && strncmp(q, SG_SCAN_QUARANTINE, strlen(SG_SCAN_QUARANTINE)) == 0) {
        /* Released from quarantine by an operator (audited): the stage's verdict was given and
         * overruled, so processing resumes after it; what follows (protection) runs as ever. */
        q += strlen(SG_SCAN_QUARANTINE);
        sg_info(r->in->id, "event=scan-released reason=\"%s\"", SG_LOG_STR(q));
        sg_buf out;
        sg_buf_init(&out, SG_MIME_MAX_OUT);
        if (sg_scan_stamp_released(q, c->data, c->len, &out) < 0) {
            sg_buf_free(&out);
            snprintf(err, errlen, "cannot stamp the release");
            return -1;
        }
        cur_take(c, &out);
        return 0;
    }
    sg_scan_verdict v;
    sg_pcontent content;
    if (sg_scan_message(cfg, r->in, c->data, c->len, &v, &content) < 0) {
        sg_pcontent_free(&content);
        snprintf(err, errlen, "scanning failed (out of memory)");
        return -1;
    }
    char text[260];
    sg_scan_av_text(&v, text, sizeof text);
    if (v.failed) {
        sg_pcontent_free(&content);
        sg_error(r->in->id, "event=scan-failed error=\"%s\" action=%s", SG_LOG_STR(v.err),
                 cfg->scan.on_error == SG_SCAN_HOLD ? "hold" : "defer");
        r->scan_defer = cfg->scan.on_error != SG_SCAN_HOLD;
        snprintf(err, errlen, SG_SCAN_QUARANTINE "unscanned (scanner unavailable: %.150s)", v.err);
        return -1;
    }
    sg_info(r->in->id, "event=scanned av=\"%s\" spam=%s score=%.2f action=\"%s\" parts=%zu part_bytes=%zu",
            SG_LOG_STR(text), v.spam ? "yes" : "no", v.score, v.spam ? v.action : "", v.parts, v.part_bytes);
    sg_pscan ps = {.av = v.av, .have_score = v.spam, .score = v.score, .content = &content};
    const sg_prule *rule = NULL;
    int held = scan_rules(r, group, g, &ps, &rule);
    if (held != 0) {
        /* The reason names what the deciding rule tested: forbidden content (the issue's
         * `forbidden (rule)` verdict), or the score and the AV verdict. */
        const sg_pcond *rc = rule ? &rule->c : NULL;
        bool forbidden = rc && v.av != SG_AV_INFECTED &&
                         (rc->ntext || rc->attachment_magic.n || rc->type_mismatch >= 0 || rc->archive_member.n);
        char spam[64] = "";
        if (v.spam && v.av != SG_AV_INFECTED)
            snprintf(spam, sizeof spam, "spam (score %.2f), ", v.score);
        if (held < 0)
            snprintf(err, errlen, "%.150s; the scan rules could not be evaluated (key lookup failed)", text);
        else if (forbidden)
            snprintf(err, errlen, SG_SCAN_QUARANTINE "forbidden (rule %.80s)%s%.100s", rule->name,
                     content.mismatch ? ": " : "", content.mismatch ? content.mismatch_what : "");
        else
            snprintf(err, errlen, SG_SCAN_QUARANTINE "%s%.150s (%s%.80s)", spam, text, rule ? "rule " : "",
                     rule ? rule->name : "no rule lets infected mail through");
        sg_pcontent_free(&content);
        return -1;
    }
    sg_pcontent_free(&content);
    sg_buf out;
    sg_buf_init(&out, SG_MIME_MAX_OUT);
    if (sg_scan_stamp(cfg, &v, c->data, c->len, &out) < 0) {
        sg_buf_free(&out);
        snprintf(err, errlen, "cannot stamp the scan verdict");
        return -1;
    }
    cur_take(c, &out);
    return 0;
}

/* What one unwrap summary said, for the notary log (transform.h). */
static void note_unwrap(sg_prun *r, const sg_unwrap_summary *s, bool used)
{
    if (!used || (!s->encrypted && !s->signed_))
        return;
    static const char *const sig[] = {"none", "valid", "invalid"};
    sg_transform_note(r->res->engine, sizeof r->res->engine, "%s decrypt=%s sig=%s signer=%s from-match=%s",
                      sg_method_name(s->method), sg_unwrap_dec_name(s->dec),
                      s->sig.sig >= 0 && s->sig.sig <= 2 ? sig[s->sig.sig] : "?", s->sig.signer,
                      s->sig.from_match ? "yes" : "no");
}

/* Decrypts and verifies for the group through the single entry point (unwrap.c). Recipients
 * whose held key opens the message get it decrypted and stamped; the others get it as it
 * arrived, stamped, forged results removed. When the group has both, the readers go through
 * the rest of the chain as a group of their own, and *grp (owned by the caller, freed there)
 * becomes the others. -1 with err (the group is held: EFAIL, too large, store error). */
static int decrypt(sg_prun *r, const sg_pdecision *d, const size_t *group, size_t g, size_t next, sg_pcur *c,
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
    char tmpdir[PATH_MAX];
    const char *spool = r->env->cfg->spool_dir;
    int w = snprintf(tmpdir, sizeof tmpdir, "%s/tmp/cryptd", spool ? spool : "");
    sg_unwrap_req req = {.rcpts = rcpts,
                         .nrcpt = n,
                         .authserv_id = r->env->cfg->hostname,
                         .max_layers = r->env->cfg->cryptd.max_layers,
                         .qid = r->in->id,
                         .tmpdir = spool && w > 0 && (size_t)w < sizeof tmpdir ? tmpdir : NULL};
    if (sg_unwrap(&req, c->data, c->len, &u) < 0) {
        snprintf(err, errlen, "decryption failed (store or memory error)");
        goto out;
    }
    const sg_paction *a = d->chain[next - 1]; /* this decrypt: whom to tell when it cannot */
    unsigned tell = a->notify & SG_PNOTIFY_WHO;
    if (u.hold) {
        snprintf(err, errlen, "%.190s", u.reason);
        r->undec_notify = tell;
        goto out;
    }
    /* What the rule holds for the administrator (who is alerted of every held incoming
     * message), rather than deliver it stamped. */
    if ((a->notify & SG_PHOLD_EMBEDDED) && (u.reader.embedded || u.other.embedded)) {
        snprintf(err, errlen, "encrypted content among other parts, not opened (embedded-ciphertext)");
        goto out;
    }
    if ((a->notify & SG_PHOLD_UNPROTECTED) && u.reader_msg && u.reader.unprotected) {
        snprintf(err, errlen, "decrypted content without protected headers (unprotected-headers)");
        goto out;
    }
    rc = 0;
    note_unwrap(r, &u.reader, u.reader_msg != NULL);
    note_unwrap(r, &u.other, u.other_msg != NULL && !u.unchanged);
    /* For the metrics only: a valid signature seen, some content opened with a held key. */
    if (u.reader.sig.sig == SG_SIG_VALID || u.other.sig.sig == SG_SIG_VALID)
        r->res->done |= SG_DONE_VERIFIED;
    if (u.reader_msg && (u.reader.dec == SG_UNWRAP_DEC_FULL || u.reader.dec == SG_UNWRAP_DEC_PARTIAL))
        r->res->done |= SG_DONE_DECRYPTED;
    if (u.unchanged)
        goto out;
    size_t readers = 0;
    for (size_t k = 0; k < n; k++)
        readers += u.readable && u.readable[k];
    if (tell && readers < n && u.other.encrypted && u.other.dec == SG_UNWRAP_DEC_FAILED) {
        /* Delivered still encrypted because decryption failed (not: encrypted to a key the
         * gateway does not hold, which is the recipient's own business). */
        size_t *others = malloc(r->in->nrcpt * sizeof *others);
        if (!others) {
            rc = -1;
            goto out;
        }
        for (size_t i = 0; i < r->in->nrcpt; i++)
            others[i] = (size_t)-1;
        for (size_t k = 0; k < n; k++)
            if (!(u.readable && u.readable[k]))
                others[idx[k]] = g;
        rc = sg_prun_tell_undecryptable(r, tell, others, g, u.other.dec_reason,
                                        "It was delivered as it arrived, still encrypted.");
        free(others);
        if (rc < 0)
            goto out;
    }
    sg_buf b;
    if (readers > 0 && readers < n) {
        /* Split: readers continue as their own group on the decrypted message. */
        size_t *mine = malloc(r->in->nrcpt * sizeof *mine), *others = malloc(r->in->nrcpt * sizeof *others);
        sg_pcur rc_cur = {.data = u.reader_msg, .len = u.reader_len, .decrypted = true};
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
    if (msg && readers == n && u.reader_map) {
        /* A large reader message in a file (issue 11): the mapping becomes the current bytes. */
        sg_buf_free(&c->b);
        sg_mapview_free(c->map);
        c->map = u.reader_map;
        c->data = c->map->base;
        c->len = c->map->len;
        u.reader_map = NULL;
        u.reader_msg = NULL;
        msg = NULL;
        c->decrypted = true;
    }
    if (msg && sg_buf_append(&b, msg, mlen) < 0) {
        sg_buf_free(&b);
        rc = -1;
        goto out;
    }
    if (msg)
        cur_take(c, &b);
    /* What the readers get was opened with a held key: its outputs are marked decrypted, so a
     * bounce about them returns only the header (relay/deliver.c). Any reader counts, whatever
     * the summary says: marking too much costs a shorter bounce, too little a leak. */
    if (msg && readers == n)
        c->decrypted = true;
out:
    sg_unwrap_result_free(&u);
    free(idx);
    free(rcpts);
    return rc;
}

/* Runs a delivering group's chain. -1 with err when an action failed: the caller holds the
 * group (fail closed). */
int sg_prun_chain(sg_prun *r, const sg_pdecision *d, const size_t *group, size_t g, char *err, size_t errlen)
{
    sg_pcur c = {.data = r->data, .len = r->len};
    sg_buf_init(&c.b, SG_MIME_MAX_OUT);
    int rc = 0;
    if (d->direction == SG_PDIR_INCOMING || d->direction == SG_PDIR_INTERNAL)
        rc = unstamp(r, &c);
    if (rc == 0)
        rc = stamp_origin(&c, r->in->pdf_reply);
    if (rc == 0)
        rc = run_chain_from(r, d, group, g, 0, &c, false, err, errlen);
    if (rc < 0 && !*err)
        snprintf(err, errlen, "out of memory");
    sg_buf_free(&c.b);
    return rc;
}

/* The chain from action `start` on, with the message as it is in *cp. */
static int run_chain_from(sg_prun *r, const sg_pdecision *d, const size_t *group, size_t g, size_t start,
                          sg_pcur *cp, bool done_protect, char *err, size_t errlen)
{
    sg_pcur c = *cp; /* *cp keeps ownership of its buffer; edits here make buffers of their own */
    c.b = (sg_buf){0};
    c.map = NULL;
    sg_buf_init(&c.b, SG_MIME_MAX_OUT);
    size_t *split = NULL; /* the group's members after a decrypt split them */
    int rc = 0;
    bool scanned = !r->env->cfg->scan.enabled, opened_tried = false;
    char admin[340];
    for (size_t i = start; i < d->nchain && rc == 0; i++) {
        const sg_paction *a = d->chain[i];
        sg_buf next;
        sg_buf_init(&next, SG_MIME_MAX_OUT);
        bool protects = (a->kind == SG_ACT_ENCRYPT || a->kind == SG_ACT_SIGN) && !done_protect &&
                        (d->encrypt || d->sign);
        if (!scanned && (protects || a->kind == SG_ACT_DELIVER)) {
            scanned = true;
            if ((rc = scan(r, split ? split : group, g, &c, err, errlen)) < 0) {
                sg_buf_free(&next);
                break;
            }
        }
        switch (a->kind) {
        case SG_ACT_ARCHIVE:
            rc = sg_prun_archive(r, a->arg, c.data, c.len);
            if (rc == 0 && c.decrypted) /* a decrypted copy is never the deduplicated original */
                r->res->out[r->res->nout - 1].env.decrypted = true;
            break;
        case SG_ACT_ADD_HEADER:
        case SG_ACT_REMOVE_HEADER:
        case SG_ACT_STRIP_KEYWORD:
            if (a->kind == SG_ACT_ADD_HEADER)
                rc = sg_medit_add_header(c.data, c.len, a->arg, &next);
            else if (a->kind == SG_ACT_REMOVE_HEADER)
                rc = sg_medit_remove_header(c.data, c.len, a->arg, &next);
            else
                rc = sg_medit_strip_words(c.data, c.len, (const char *const *)r->p->keywords, SG_KW__COUNT,
                                          &next);
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
            /* Encryption and signature are one engine call, where the first of them stands.
             * After a decrypt that could not open the message (the sandwich for a recipient
             * whose mail the gateway holds no key for) it goes on as it arrived: still
             * encrypted, not wrapped again. */
            if (opened_tried && r->f->encrypted && !c.decrypted)
                done_protect = true;
            if (!done_protect && (d->encrypt || d->sign)) {
                rc = protect(r, d, split ? split : group, g, &c, err, errlen);
                if (rc == 0)
                    r->res->done |= (d->encrypt ? SG_DONE_ENCRYPTED : 0u) | (d->sign ? SG_DONE_SIGNED : 0u);
            }
            done_protect = true;
            break;
        case SG_ACT_DECRYPT:
            opened_tried = true;
            rc = decrypt(r, d, split ? split : group, g, i + 1, &c, done_protect, &split, err, errlen);
            scanned = !r->env->cfg->scan.enabled; /* what was decrypted is scanned again */
            break;
        case SG_ACT_NOTIFY_SENDER:
            rc = sg_prun_notice(r, SG_NOTICE_INFO, r->in->from, a->arg, NULL, 0);
            break;
        case SG_ACT_ALERT_ADMIN:
            rc = sg_prun_notice(r, SG_NOTICE_ALERT, sg_prun_admin(r, admin, sizeof admin), a->arg, NULL, 0);
            break;
        case SG_ACT_DELIVER: {
            /* Bytes that belong to a caller (a decrypted message, an unstamped copy) are
             * copied: the output outlives them. */
            if (!c.b.data && !c.map && c.data != r->data && sg_buf_append(&c.b, c.data, c.len) < 0) {
                rc = -1;
                break;
            }
            sg_output *o = c.map      ? sg_prun_map_output(r, &c.map)
                           : c.b.data ? sg_prun_buf_output(r, &c.b)
                                      : sg_prun_output(r, c.data, c.len, NULL);
            rc = o ? sg_prun_add_rcpts(r, o, split ? split : group, g) : -1;
            if (o)
                o->env.decrypted = c.decrypted;
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
    sg_mapview_free(c.map);
    free(split);
    return rc;
}

/* Side effects that still happen for a group that is not delivered (archive, alerts). */
int sg_prun_side_effects(sg_prun *r, const sg_pdecision *d)
{
    char admin[340];
    for (size_t i = 0; i < d->nchain; i++) {
        const sg_paction *a = d->chain[i];
        int rc = 0;
        if (a->kind == SG_ACT_ARCHIVE)
            rc = sg_prun_archive(r, a->arg, r->data, r->len);
        else if (a->kind == SG_ACT_ALERT_ADMIN)
            rc = sg_prun_notice(r, SG_NOTICE_ALERT, sg_prun_admin(r, admin, sizeof admin), a->arg, NULL, 0);
        if (rc < 0)
            return -1;
    }
    return 0;
}
