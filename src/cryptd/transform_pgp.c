/* transform_pgp.c - the PGP/MIME transform (see transform_pgp.h). Owner: src/cryptd (PGP/MIME).
 * SECURITY: runs in cryptd, which holds the KEK; secret keys are only touched through
 * src/crypto/pgpmime.c, which wipes them after use. Rules kept here: a message that policy
 * wants encrypted is never released in the clear when encryption fails (it is held); decrypted
 * text is released only when the ciphertext was integrity-protected (else the message is held:
 * EFAIL); the decrypted entity replaces the whole body, never a part of attacker-made MIME;
 * sealgate's stamp fields from outside are removed before ours are added. */
#include "cryptd/transform_pgp.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/pgpmime.h"
#include "cryptd/transform_rule.h"
#include "lib/log.h"
#include "mime/mime.h"

static struct {
    const sg_config *cfg;
    sg_pgpmime_keys keys;
    pthread_mutex_t lock;
    char domain_addr[320];
} T = {.lock = PTHREAD_MUTEX_INITIALIZER};

int sg_transform_pgp_init(const sg_config *cfg, sg_keystore *ks)
{
    sg_mime_init();
    T.cfg = cfg;
    T.keys.ks = ks;
    T.keys.lock = &T.lock;
    sg_keystore_domain_address(cfg->internal_domains.n ? cfg->internal_domains.v[0] : NULL, cfg->hostname,
                               T.domain_addr, sizeof T.domain_addr);
    return 0;
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

enum { M_PLAIN, M_ENCRYPT, M_INCOMING, M_DECRYPTED, M_NOKEY, M_STAMPED };

static int encrypt_group(const sg_envelope *in, const char *data, size_t len,
                         char (*fprs)[SG_PGP_FPR_LEN + 1], size_t n, sg_buf *out, char *err, size_t errlen)
{
    char signer[SG_PGP_FPR_LEN + 1];
    char *from = sg_mime_from_address(data, len);
    const char *who = from ? from : in->from;
    pthread_mutex_lock(&T.lock);
    /* The sender's own key when held, else the domain key (created on first need). */
    int rc = sg_keystore_find_signing_key(T.keys.ks, who, NULL, signer);
    if (rc == 1)
        rc = sg_keystore_domain_key(T.keys.ks, T.domain_addr, true, signer);
    pthread_mutex_unlock(&T.lock);
    free(from);
    if (rc != 0)
        sg_warn(in->id, "event=pgp-unsigned reason=\"no signing key for %s\"", who);
    sg_buf inner;
    sg_buf_init(&inner, SG_MIME_MAX_OUT);
    char *armored = NULL;
    size_t alen = 0;
    int ret = -1;
    if (sg_mime_protected_entity(data, len, &inner) < 0) {
        snprintf(err, errlen, "message cannot be parsed for encryption");
    } else if (sg_pgpmime_encrypt(&T.keys, rc == 0 ? signer : NULL, fprs, n, inner.data, inner.len, &armored,
                                  &alen, err, errlen) == 0) {
        ret = sg_mime_wrap_encrypted(data, len, armored, alen, out);
        if (ret < 0)
            snprintf(err, errlen, "cannot build the encrypted message");
    }
    free(armored);
    sg_buf_free(&inner);
    return ret;
}

/* ---- incoming ---- */

static void sig_stamp(const sg_pgp_verdict *v, char *s, size_t n)
{
    if (v->sig == SG_SIG_VALID)
        snprintf(s, n, "X-Sealgate-Signature: valid; signer=%s; from-match=yes\r\n", v->signer);
    else if (v->sig == SG_SIG_INVALID && v->signer[0])
        snprintf(s, n, "X-Sealgate-Signature: invalid; reason=%s; signer=%s\r\n", v->reason, v->signer);
    else if (v->sig == SG_SIG_INVALID)
        snprintf(s, n, "X-Sealgate-Signature: invalid; reason=%s\r\n", v->reason);
    else
        snprintf(s, n, "X-Sealgate-Signature: none\r\n");
}

/* Verifies a multipart/signed's first part, in CRLF form, against its detached signature. */
static int verify_signed(const char *from, const sg_mime_pgp *pm, sg_pgp_verdict *v)
{
    sg_buf c;
    sg_buf_init(&c, SG_MIME_MAX_OUT);
    int rc = sg_mime_to_crlf(pm->signed_data, pm->signed_len, &c);
    if (rc == 0)
        rc = sg_pgpmime_verify_detached(&T.keys, from, c.data ? c.data : "", c.len, pm->sig, pm->siglen, v);
    sg_buf_free(&c);
    return rc;
}

/* Candidate keys of the incoming recipients: every stored key with its secret held. */
static int candidates(const sg_envelope *in, const int *mark, char (**cands)[SG_PGP_FPR_LEN + 1],
                      size_t *ncand, int **owner)
{
    size_t cap = 0;
    *cands = NULL;
    *owner = NULL;
    *ncand = 0;
    for (size_t i = 0; i < in->nrcpt; i++) {
        if (mark[i] != M_INCOMING)
            continue;
        sg_pgp_key *keys = NULL;
        size_t n = 0;
        pthread_mutex_lock(&T.lock);
        int rc = sg_keystore_list(T.keys.ks, in->rcpt[i].addr, &keys, &n);
        pthread_mutex_unlock(&T.lock);
        if (rc < 0)
            return -1;
        for (size_t k = 0; k < n; k++) {
            if (!keys[k].secret)
                continue;
            if (*ncand == cap) {
                cap = cap ? cap * 2 : 8;
                void *c = realloc(*cands, cap * sizeof **cands), *o = realloc(*owner, cap * sizeof **owner);
                if (c)
                    *cands = c;
                if (o)
                    *owner = o;
                if (!c || !o) {
                    sg_keystore_free_list(keys, n);
                    return -1;
                }
            }
            memcpy((*cands)[*ncand], keys[k].fpr, SG_PGP_FPR_LEN + 1);
            (*owner)[(*ncand)++] = (int)i;
        }
        sg_keystore_free_list(keys, n);
    }
    return 0;
}

/* Restamped copy for the recipients marked want. */
static int emit_stamped(sg_transform_result *res, const sg_envelope *in, const int *mark, int want,
                        const char *data, size_t len, const char *stamps)
{
    sg_buf b;
    sg_buf_init(&b, SG_MIME_MAX_OUT);
    if (sg_mime_restamp(data, len, stamps, &b) < 0) {
        sg_buf_free(&b);
        return -1;
    }
    return emit(res, in, mark, want, &b, NULL, 0);
}

/* The most plaintext one ciphertext may decrypt to: compression can expand text a lot, but
 * not without bound (DESIGN.md: limits on decompression ratio and message size). */
static size_t max_plain(size_t clen)
{
    size_t m = clen > SG_MIME_MAX_OUT / 64 ? SG_MIME_MAX_OUT : clen * 64;
    return m < (8u << 20) ? (8u << 20) : m;
}

/* The decrypted message for the recipients marked M_DECRYPTED, stamped. */
static int deliver_decrypted(sg_transform_result *res, const sg_envelope *in, const int *mark,
                             const char *data, size_t len, const char *from, const sg_pgp_decrypted *d)
{
    sg_pgp_verdict v = d->v;
    sg_mime_pgp inner = {0};
    /* Sign-then-encrypt (RFC 3156 6.1): the decrypted entity is itself multipart/signed. */
    if (v.sig == SG_SIG_NONE && sg_mime_detect(d->plain, d->plainlen, &inner) == 0 &&
        inner.kind == SG_MIME_PGP_SIGNED && verify_signed(from, &inner, &v) < 0) {
        v.sig = SG_SIG_INVALID;
        snprintf(v.reason, sizeof v.reason, "error");
    }
    sg_mime_pgp_free(&inner);
    sg_buf b;
    sg_buf_init(&b, SG_MIME_MAX_OUT);
    /* The signature was judged against the outer From; protected headers may put another From
     * in front of the reader. It counts only if the From shown is the one it was bound to. */
    if (sg_mime_unwrap(data, len, d->plain, d->plainlen, "", &b) < 0) {
        sg_buf_free(&b);
        return -1;
    }
    char *shown = sg_mime_from_address(b.data, b.len);
    if (v.sig == SG_SIG_VALID && (!shown || !from || strcmp(shown, from) != 0)) {
        v.sig = SG_SIG_INVALID;
        v.from_match = false;
        snprintf(v.reason, sizeof v.reason, "from-mismatch");
    }
    free(shown);
    char stamps[512], ss[256];
    sig_stamp(&v, ss, sizeof ss);
    snprintf(stamps, sizeof stamps, "X-Sealgate-Decryption: full\r\n%s", ss);
    sg_buf_reset(&b);
    if (sg_mime_unwrap(data, len, d->plain, d->plainlen, stamps, &b) < 0 ||
        emit(res, in, mark, M_DECRYPTED, &b, NULL, 0) < 0) {
        sg_buf_free(&b);
        return -1;
    }
    sg_info(in->id, "event=pgp-decrypted rcpts=%zu signature=%s", d->nhits,
            v.sig == SG_SIG_VALID  ? "valid"
            : v.sig == SG_SIG_NONE ? "none"
                                   : v.reason);
    return 0;
}

static int incoming_encrypted(sg_transform_result *res, const sg_envelope *in, int *mark, const char *data,
                              size_t len, const sg_mime_pgp *pm)
{
    char(*cands)[SG_PGP_FPR_LEN + 1] = NULL;
    int *owner = NULL;
    size_t ncand = 0;
    sg_pgp_decrypted d = {0};
    char *from = sg_mime_from_address(data, len);
    int rc = -1;
    if (candidates(in, mark, &cands, &ncand, &owner) < 0)
        goto out;
    if (ncand == 0) {
        d.status = SG_DEC_NO_KEY;
        snprintf(d.reason, sizeof d.reason, "no-key");
    } else if (sg_pgpmime_decrypt(&T.keys, cands, ncand, from, pm->cipher, pm->cipherlen,
                                  max_plain(pm->cipherlen), &d) < 0) {
        goto out;
    }
    if (d.status == SG_DEC_NO_INTEGRITY || d.status == SG_DEC_TOO_LARGE) {
        char why[200];
        snprintf(why, sizeof why, "%s (%s)",
                 d.status == SG_DEC_TOO_LARGE ? "PGP/MIME plaintext over the size limit"
                                              : "PGP/MIME message without valid integrity protection",
                 d.reason);
        rc = hold(res, in->id, why);
        goto out;
    }
    if (d.status == SG_DEC_OK) {
        /* Recipients whose held key the message was encrypted to get the plaintext; other
         * internal recipients (e.g. Bcc) do not get someone else's decryption. */
        for (size_t h = 0; h < d.nhits; h++)
            for (size_t c = 0; c < ncand; c++)
                if (strcmp(cands[c], d.hits[h]) == 0)
                    mark[owner[c]] = M_DECRYPTED;
        if (deliver_decrypted(res, in, mark, data, len, from, &d) < 0)
            goto out;
    }
    char stamp[200];
    if (d.status == SG_DEC_FAILED)
        snprintf(stamp, sizeof stamp, "X-Sealgate-Decryption: failed; reason=%s\r\n", d.reason);
    else
        snprintf(stamp, sizeof stamp, "X-Sealgate-Decryption: none; reason=no-key\r\n");
    for (size_t i = 0; i < in->nrcpt; i++)
        if (mark[i] == M_INCOMING)
            mark[i] = M_NOKEY;
    rc = emit_stamped(res, in, mark, M_NOKEY, data, len, stamp);
out:
    sg_pgp_decrypted_free(&d);
    free(from);
    free(cands);
    free(owner);
    return rc;
}

static int incoming_signed(sg_transform_result *res, const sg_envelope *in, int *mark, const char *data,
                           size_t len, const sg_mime_pgp *pm)
{
    char *from = sg_mime_from_address(data, len);
    sg_pgp_verdict v;
    int rc = verify_signed(from, pm, &v);
    free(from);
    char stamp[256];
    if (rc < 0)
        snprintf(stamp, sizeof stamp, "X-Sealgate-Signature: invalid; reason=error\r\n");
    else
        sig_stamp(&v, stamp, sizeof stamp);
    return emit_stamped(res, in, mark, M_INCOMING, data, len, stamp);
}

/* ---- the transform ---- */

static bool has_stamp_fields(const char *data, size_t len)
{
    for (const char *p = data; p && p < data + len;) {
        if ((size_t)(data + len - p) >= 11 && sg_mime_is_stamp_field(p, 11))
            return true;
        if ((p[0] == '\r' && p + 1 < data + len && p[1] == '\n') || p[0] == '\n')
            break; /* end of the header */
        const char *lf = memchr(p, '\n', (size_t)(data + len - p));
        p = lf ? lf + 1 : NULL;
    }
    return false;
}

int sg_transform_pgp(const sg_envelope *in, const char *data, size_t len, sg_transform_result *res)
{
    memset(res, 0, sizeof *res);
    sg_mime_pgp pm;
    if (sg_mime_detect(data, len, &pm) < 0)
        return -1;
    int *mark = calloc(in->nrcpt ? in->nrcpt : 1, sizeof *mark);
    char(*fprs)[SG_PGP_FPR_LEN + 1] = calloc(in->nrcpt ? in->nrcpt : 1, sizeof *fprs);
    int rc = -1;
    size_t nenc = 0;
    if (!mark || !fprs)
        goto out;
    bool stamped_outside = false;
    for (size_t i = 0; i < in->nrcpt; i++) {
        const char *r = in->rcpt[i].addr;
        int dir = sg_rule_direction(T.cfg, in->from, r, pm.kind);
        mark[i] = M_PLAIN;
        if (dir == SG_DIR_OUTGOING) {
            pthread_mutex_lock(&T.lock);
            int k = sg_keystore_find_encryption_key(T.keys.ks, r, fprs[nenc]);
            pthread_mutex_unlock(&T.lock);
            if (k < 0)
                goto out; /* store error: cryptd holds the message rather than send it in the clear */
            if (k == 0) {
                mark[i] = M_ENCRYPT;
                bool dup = false; /* two addresses of one key: encrypt to it once */
                for (size_t j = 0; j < nenc && !dup; j++)
                    dup = strcmp(fprs[j], fprs[nenc]) == 0;
                nenc += !dup;
            }
        } else if (dir == SG_DIR_INCOMING) {
            mark[i] = M_INCOMING;
        } else if (sg_config_is_internal_domain(T.cfg, sg_rule_domain(r)) && has_stamp_fields(data, len)) {
            mark[i] = M_STAMPED; /* forged stamps on plain mail to us: removed, nothing added */
            stamped_outside = true;
        }
    }
    if (nenc) {
        char err[200] = "";
        sg_buf b;
        sg_buf_init(&b, SG_MIME_MAX_OUT);
        if (encrypt_group(in, data, len, fprs, nenc, &b, err, sizeof err) < 0) {
            sg_buf_free(&b);
            char why[256];
            snprintf(why, sizeof why, "PGP encryption failed: %s", err);
            rc = hold(res, in->id, why);
            goto out;
        }
        if (emit(res, in, mark, M_ENCRYPT, &b, NULL, 0) < 0)
            goto out;
        sg_info(in->id, "event=pgp-encrypted rcpts=%zu", nenc);
    }
    bool incoming = false;
    for (size_t i = 0; i < in->nrcpt; i++)
        incoming = incoming || mark[i] == M_INCOMING;
    if (incoming && pm.kind == SG_MIME_PGP_ENCRYPTED && incoming_encrypted(res, in, mark, data, len, &pm) < 0)
        goto out;
    if (res->hold) {
        rc = 0;
        goto out;
    }
    if (incoming && pm.kind == SG_MIME_PGP_SIGNED && incoming_signed(res, in, mark, data, len, &pm) < 0)
        goto out;
    if (stamped_outside && emit_stamped(res, in, mark, M_STAMPED, data, len, "") < 0)
        goto out;
    rc = emit(res, in, mark, M_PLAIN, NULL, data, len);
    /* Nothing to do for anyone: cryptd may move the input on by rename instead of copying. */
    if (rc == 0 && res->nout == 1 && res->out[0].data == data && res->out[0].env.nrcpt == in->nrcpt)
        res->unchanged = 1;
out:
    if (rc < 0)
        sg_transform_result_free(res);
    sg_mime_pgp_free(&pm);
    free(mark);
    free(fprs);
    return rc;
}
