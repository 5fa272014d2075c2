/* policy_out.c - the outputs of one policy run: group outputs, notices from <>, archive
 * copies, held copies, undoing a failed chain, and merging outputs that ended the same.
 * Owner: src/policy.
 * SECURITY: notices and archive copies go out with MAIL FROM <> and NOTIFY=NEVER, so they can
 * never start a loop of bounces; nothing is ever sent to the null sender. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/policy_run.h"
#include "mime/mime.h"

/* A new output with the input's envelope fields and no recipients; data is taken over when
 * owned. Returns the output or NULL (owned is freed). */
sg_output *sg_prun_output(sg_prun *r, const char *data, size_t len, char *owned)
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

/* A file's bytes (*m) become an output's own; *m is taken (freed on failure). */
sg_output *sg_prun_map_output(sg_prun *r, sg_mapview **m)
{
    sg_mapview *v = *m;
    *m = NULL;
    sg_output *o = sg_prun_output(r, v->base, v->len, NULL);
    if (o)
        o->map = v;
    else
        sg_mapview_free(v);
    return o;
}

/* Bytes in b become an output's own; b is emptied. */
sg_output *sg_prun_buf_output(sg_prun *r, sg_buf *b)
{
    sg_output *o = sg_prun_output(r, b->data ? b->data : "", b->len, b->data);
    memset(b, 0, sizeof *b);
    return o;
}

/* An output from the gateway itself (notice, archive copy): MAIL FROM <>, no DSN requests. */
static int own_envelope(sg_output *o, const char *rcpt, bool eightbit)
{
    if (sg_env_set(&o->env.from, "") < 0 || sg_env_set(&o->env.envid, NULL) < 0 ||
        sg_env_set(&o->env.ret, NULL) < 0 || sg_env_set(&o->env.body, eightbit ? "8BITMIME" : NULL) < 0)
        return -1;
    return sg_env_add_rcpt(&o->env, rcpt, "NEVER", NULL);
}

int sg_prun_notice(sg_prun *r, int kind, const char *to, const char *text, const sg_notice_item *items,
                   size_t n)
{
    if (!to || !*to)
        return 0; /* never a notice to the null sender */
    char token[96];
    snprintf(token, sizeof token, "%s.%d", r->in->id, r->ntoken++);
    sg_notice nt = {.kind = kind,
                    .hostname = r->env->cfg->hostname,
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
    sg_output *o = sg_prun_buf_output(r, &b);
    return o ? own_envelope(o, to, eightbit) : -1;
}

const char *sg_prun_admin(sg_prun *r, char *buf, size_t n)
{
    if (r->p->admin)
        return r->p->admin;
    const sg_config *c = r->env->cfg;
    snprintf(buf, n, "postmaster@%s", c->internal_domains.n ? c->internal_domains.v[0] : c->hostname);
    return buf;
}

/* The group's recipients (with their DSN parameters) onto an output. */
int sg_prun_add_rcpts(sg_prun *r, sg_output *o, const size_t *group, size_t g)
{
    for (size_t i = 0; i < r->in->nrcpt; i++)
        if (group[i] == g &&
            sg_env_add_rcpt(&o->env, r->in->rcpt[i].addr, r->in->rcpt[i].notify, r->in->rcpt[i].orcpt) < 0)
            return -1;
    return 0;
}

/* A copy of the message as it is now for the archive address; the unchanged original goes to
 * each archive address once per message, however many groups ask for it. */
int sg_prun_archive(sg_prun *r, const char *addr, const char *cur, size_t curlen)
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
    sg_output *o = sg_prun_output(r, copy ? copy : r->data, curlen, copy);
    if (!o || own_envelope(o, addr, r->in->body && strcmp(r->in->body, "7BIT") != 0) < 0)
        return -1;
    /* An archive keeps what the sender's server said about the body, not ours. */
    if (sg_env_set(&o->env.body, r->in->body) < 0)
        return -1;
    if (original && r->narchived < sizeof r->archived / sizeof r->archived[0])
        r->archived[r->narchived++] = (char *)addr;
    return 0;
}

/* The original bytes for the group's recipients into hold/, with the reason. */
int sg_prun_hold(sg_prun *r, const size_t *group, size_t g, const char *reason)
{
    sg_output *o = sg_prun_output(r, r->data, r->len, NULL);
    if (!o || sg_prun_add_rcpts(r, o, group, g) < 0 || sg_env_set(&o->env.last_error, reason) < 0)
        return -1;
    o->hold = 1;
    return 0;
}

/* Drops the outputs from index from on: a failed chain leaves nothing half-done behind. */
void sg_prun_rollback(sg_prun *r, size_t from)
{
    for (size_t i = from; i < r->res->nout; i++) {
        sg_env_free(&r->res->out[i].env);
        sg_output_release(&r->res->out[i]);
    }
    r->res->nout = from;
}

/* A message that could not be decrypted, told as the rule's decrypt asks (SG_PNOTIFY_*): the
 * sender one notice naming the recipients, each recipient one of its own. */
int sg_prun_tell_undecryptable(sg_prun *r, unsigned who, const size_t *group, size_t g, const char *reason,
                               const char *what)
{
    sg_notice_item items[64] = {{0}};
    size_t n = 0;
    for (size_t i = 0; i < r->in->nrcpt && n < 64; i++)
        if (group[i] == g)
            items[n++] = (sg_notice_item){.rcpt = r->in->rcpt[i].addr, .reason = reason};
    if ((who & SG_PNOTIFY_SENDER) &&
        sg_prun_notice(r, SG_NOTICE_UNDECRYPTABLE, r->in->from, what, items, n) < 0)
        return -1;
    for (size_t k = 0; (who & SG_PNOTIFY_RECIPIENT) && k < n; k++)
        if (sg_prun_notice(r, SG_NOTICE_UNDECRYPTABLE, items[k].rcpt, what, &items[k], 1) < 0)
            return -1;
    return 0;
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Groups whose chains ended in the same bytes with the same envelope (e.g. an incoming
 * recipient whose message had nothing to decrypt, and a relayed one) are one transaction:
 * fewer copies, fewer connections, and a message nothing changed is moved on by rename. */
int sg_prun_merge_same(const sg_envelope *in, const char *data, size_t len, sg_transform_result *res)
{
    for (size_t a = 0; a < res->nout; a++) {
        for (size_t b = a + 1; b < res->nout;) {
            sg_output *x = &res->out[a], *y = &res->out[b];
            bool same = !x->hold && !y->hold && x->len == y->len && same_str(x->env.from, y->env.from) &&
                        same_str(x->env.envid, y->env.envid) && same_str(x->env.ret, y->env.ret) &&
                        same_str(x->env.body, y->env.body) && x->env.smtputf8 == y->env.smtputf8 &&
                        x->env.decrypted == y->env.decrypted &&
                        (x->data == y->data || memcmp(x->data, y->data, x->len) == 0);
            if (!same) {
                b++;
                continue;
            }
            for (size_t i = 0; i < y->env.nrcpt; i++)
                if (sg_env_add_rcpt(&x->env, y->env.rcpt[i].addr, y->env.rcpt[i].notify,
                                    y->env.rcpt[i].orcpt) < 0)
                    return -1;
            sg_env_free(&y->env);
            sg_output_release(y);
            memmove(y, y + 1, (res->nout - b - 1) * sizeof *y);
            res->nout--;
        }
    }
    /* One output of the input's bytes for every recipient, in the input's order: unchanged. */
    if (res->nout == 1 && !res->out[0].hold && !res->out[0].env.decrypted && res->out[0].len == len &&
        res->out[0].env.nrcpt == in->nrcpt && same_str(res->out[0].env.from, in->from) &&
        (res->out[0].data == data || memcmp(res->out[0].data, data, len) == 0)) {
        bool order = true;
        for (size_t i = 0; i < in->nrcpt && order; i++)
            order = strcmp(res->out[0].env.rcpt[i].addr, in->rcpt[i].addr) == 0;
        res->unchanged = order;
    }
    return 0;
}
