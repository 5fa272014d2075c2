/* transform_pgp.c - the OpenPGP transform of cryptd (see transform_pgp.h), a thin layer over
 * the OpenPGP engine (engine_pgp.c) and the single decrypt/verify entry point (unwrap.c) until
 * the policy transform replaces it. Owner: src/cryptd (OpenPGP).
 * SECURITY: runs in cryptd. Rules kept here: a message the built-in rule wants encrypted is
 * never released in the clear when encryption fails (it is held); whatever unwrap says must
 * be held is held (EFAIL, too large); recipients get only the decryption unwrap says they can
 * read. */
#include "cryptd/transform_pgp.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptd/engine.h"
#include "cryptd/transform_rule.h"
#include "cryptd/unwrap.h"
#include "lib/log.h"
#include "mime/mime.h"

static struct {
    const sg_config *cfg;
    sg_engine_env env;
    pthread_mutex_t lock;
} T = {.lock = PTHREAD_MUTEX_INITIALIZER};

int sg_transform_pgp_init(const sg_config *cfg, sg_keystore *ks)
{
    sg_mime_init();
    T.cfg = cfg;
    T.env.cfg = cfg;
    T.env.ks = ks;
    T.env.lock = &T.lock;
    sg_keystore_domain_address(cfg->internal_domains.n ? cfg->internal_domains.v[0] : NULL, cfg->hostname,
                               T.env.domain_addr, sizeof T.env.domain_addr);
    /* unwrap peels through every registered engine, so each must be set up; there is no
     * certificate store here (cs NULL): an S/MIME engine then peels nothing. */
    for (size_t e = 0; sg_engines[e]; e++)
        if (sg_engines[e]->init(&T.env) < 0)
            return -1;
    return sg_engine_by_method(SG_METHOD_PGP) ? 0 : -1;
}

/* ---- outputs: one per group of recipients with the same treatment ---- */

static int add_output(sg_transform_result *res, const sg_envelope *in, const char *data, size_t len,
                      char *owned)
{
    sg_output *o = realloc(res->out, (res->nout + 1) * sizeof *o);
    if (!o) {
        free(owned);
        return -1;
    }
    res->out = o;
    o = &res->out[res->nout];
    memset(o, 0, sizeof *o);
    o->data = data;
    o->len = len;
    o->owned = owned;
    if (sg_env_copy_without_rcpts(&o->env, in) < 0) {
        free(owned);
        sg_env_free(&o->env);
        return -1;
    }
    return (int)res->nout++;
}

/* An output of the bytes in b (taken over) for the recipients in in whose mark equals want. */
static int emit(sg_transform_result *res, const sg_envelope *in, const int *mark, int want, sg_buf *b,
                const char *data, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < in->nrcpt; i++)
        n += mark[i] == want;
    if (n == 0) {
        if (b)
            sg_buf_free(b);
        return 0;
    }
    int g = b ? add_output(res, in, b->data, b->len, b->data) : add_output(res, in, data, len, NULL);
    if (b)
        memset(b, 0, sizeof *b); /* owned by the output now */
    if (g < 0)
        return -1;
    for (size_t i = 0; i < in->nrcpt; i++)
        if (mark[i] == want &&
            sg_env_add_rcpt(&res->out[g].env, in->rcpt[i].addr, in->rcpt[i].notify, in->rcpt[i].orcpt) < 0)
            return -1;
    return 0;
}

static int hold(sg_transform_result *res, const char *qid, const char *why)
{
    sg_transform_result_free(res);
    res->hold = 1;
    snprintf(res->reason, sizeof res->reason, "%s", why);
    sg_warn(qid, "event=pgp-hold reason=\"%s\"", why);
    return 0;
}

/* ---- outgoing ---- */

enum { M_PLAIN, M_ENCRYPT, M_INCOMING, M_READER, M_OTHER };

static int outgoing(sg_transform_result *res, const sg_envelope *in, const int *mark, const char *data,
                    size_t len, size_t nenc)
{
    const char **rcpts = calloc(nenc, sizeof *rcpts);
    if (!rcpts)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < in->nrcpt; i++)
        if (mark[i] == M_ENCRYPT)
            rcpts[n++] = in->rcpt[i].addr;
    char *from = sg_mime_from_address(data, len);
    sg_protect_req req = {.sender = from ? from : in->from, .sign = SG_SIGN_SENDER, .rcpts = rcpts,
                          .nrcpt = n, .qid = in->id};
    char err[200] = "";
    sg_buf b;
    sg_buf_init(&b, SG_MIME_MAX_OUT);
    int rc = sg_engine_by_method(SG_METHOD_PGP)->protect(&req, data, len, &b, err, sizeof err);
    free(from);
    free(rcpts);
    if (rc < 0) {
        sg_buf_free(&b);
        char why[256];
        snprintf(why, sizeof why, "PGP encryption failed: %s", err);
        return hold(res, in->id, why);
    }
    if (emit(res, in, mark, M_ENCRYPT, &b, NULL, 0) < 0)
        return -1;
    sg_info(in->id, "event=pgp-encrypted rcpts=%zu", n);
    return 0;
}

/* ---- incoming ---- */

static int incoming(sg_transform_result *res, const sg_envelope *in, int *mark, const char *data, size_t len)
{
    size_t n = 0;
    const char **rcpts = calloc(in->nrcpt, sizeof *rcpts);
    size_t *idx = calloc(in->nrcpt, sizeof *idx);
    int rc = -1;
    if (!rcpts || !idx)
        goto out;
    for (size_t i = 0; i < in->nrcpt; i++)
        if (mark[i] == M_INCOMING) {
            idx[n] = i;
            rcpts[n++] = in->rcpt[i].addr;
        }
    sg_unwrap_req req = {.rcpts = rcpts, .nrcpt = n, .authserv_id = T.cfg->hostname,
                         .max_layers = T.cfg->cryptd.max_layers, .qid = in->id};
    sg_unwrap_result u;
    if (sg_unwrap(&req, data, len, &u) < 0)
        goto out;
    if (u.hold) {
        rc = hold(res, in->id, u.reason);
    } else if (u.unchanged) {
        for (size_t k = 0; k < n; k++)
            mark[idx[k]] = M_PLAIN;
        rc = 0;
    } else {
        for (size_t k = 0; k < n; k++)
            mark[idx[k]] = u.readable[k] ? M_READER : M_OTHER;
        sg_buf b;
        rc = 0;
        if (u.reader_msg) {
            b = (sg_buf){.data = u.reader_msg, .len = u.reader_len};
            u.reader_msg = NULL;
            rc = emit(res, in, mark, M_READER, &b, NULL, 0);
        }
        if (rc == 0 && u.other_msg) {
            b = (sg_buf){.data = u.other_msg, .len = u.other_len};
            u.other_msg = NULL;
            rc = emit(res, in, mark, M_OTHER, &b, NULL, 0);
        }
    }
    sg_unwrap_result_free(&u);
out:
    free(rcpts);
    free(idx);
    return rc;
}

/* ---- the transform ---- */

/* The top-level layer as the direction rule knows it (enum sg_mime_kind). */
static int top_kind(const char *data, size_t len)
{
    int kind = SG_LAYER_NONE;
    for (size_t e = 0; sg_engines[e] && kind == SG_LAYER_NONE; e++)
        kind = sg_engines[e]->detect(data, len);
    return kind == SG_LAYER_ENCRYPTED ? SG_MIME_PGP_ENCRYPTED
           : kind == SG_LAYER_SIGNED  ? SG_MIME_PGP_SIGNED
                                      : SG_MIME_OTHER;
}

int sg_transform_pgp(const sg_envelope *in, const char *data, size_t len, sg_transform_result *res)
{
    memset(res, 0, sizeof *res);
    int kind = top_kind(data, len);
    int *mark = calloc(in->nrcpt ? in->nrcpt : 1, sizeof *mark);
    int rc = -1;
    size_t nenc = 0, ninc = 0;
    if (!mark)
        goto out;
    const sg_engine *pgp = sg_engine_by_method(SG_METHOD_PGP);
    for (size_t i = 0; i < in->nrcpt; i++) {
        int dir = sg_rule_direction(T.cfg, in->from, in->rcpt[i].addr, kind);
        mark[i] = M_PLAIN;
        if (dir == SG_DIR_OUTGOING) {
            int k = pgp->can_encrypt_to(in->rcpt[i].addr);
            if (k < 0)
                goto out; /* store error: cryptd holds the message rather than send it in the clear */
            if (k == 1) {
                mark[i] = M_ENCRYPT;
                nenc++;
            }
        } else if (dir == SG_DIR_INCOMING) {
            mark[i] = M_INCOMING;
            ninc++;
        }
    }
    if (nenc && outgoing(res, in, mark, data, len, nenc) < 0)
        goto out;
    if (res->hold) {
        rc = 0;
        goto out;
    }
    if (ninc && incoming(res, in, mark, data, len) < 0)
        goto out;
    if (res->hold) {
        rc = 0;
        goto out;
    }
    rc = emit(res, in, mark, M_PLAIN, NULL, data, len);
    /* Nothing to do for anyone: cryptd may move the input on by rename instead of copying. */
    if (rc == 0 && res->nout == 1 && res->out[0].data == data && res->out[0].env.nrcpt == in->nrcpt)
        res->unchanged = 1;
out:
    if (rc < 0)
        sg_transform_result_free(res);
    free(mark);
    return rc;
}
