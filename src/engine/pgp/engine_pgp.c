/* engine_pgp.c - the OpenPGP engine (engine.h) over librnp: PGP/MIME sign+encrypt and
 * multipart/signed out (RFC 3156), inline PGP out when configured; detection and peeling of
 * one PGP/MIME or inline PGP layer in. Owner: src/engine (OpenPGP).
 * SECURITY: runs in cryptd. Secret keys are touched only through src/engine/pgp/pgp_ops.c, which
 * unwraps them into a context that lives for one call and wipes them. Rules kept here: a
 * failure to protect is returned as -1 (the caller holds), never turned into plain output;
 * decrypted text is returned only when its integrity protection verified (EFAIL), otherwise
 * the layer reports SG_DEC_NO_INTEGRITY and carries no plaintext. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/pgp_packet.h"
#include "engine/pgp/pgp_ops.h"
#include "engine/engine.h"
#include "engine/pgp/engine_pgp_int.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/mapview.h"
#include "mime/mime.h"
#include "mime/mime_stream.h"

static const sg_engine_env *E;
static sg_pgp_ops_keys K;

static int pgp_init(const sg_engine_env *env)
{
    sg_mime_init();
    E = env;
    K.ks = env->ks;
    K.lock = env->lock;
    K.compress = env->cfg ? env->cfg->cryptd.pgp_compression : 0;
    return 0;
}

const sg_pgp_ops_keys *sg_engine_pgp_keys(void)
{
    return &K;
}

/* keystore answers (0 found, 1 none, -1 error) in engine.h's words (1, 0, -1) */
static int found(int rc)
{
    return rc == 0 ? 1 : rc == 1 ? 0 : -1;
}

static int pgp_can_encrypt_to(const char *addr)
{
    char fpr[SG_PGP_FPR_LEN + 1];
    pthread_mutex_lock(E->lock);
    int rc = sg_keystore_find_encryption_key(E->ks, addr, fpr);
    pthread_mutex_unlock(E->lock);
    return found(rc);
}

/* The domain key, and keys for internal senders, are generated on first need. */
static int pgp_can_make_signer(void)
{
    return 1;
}

static int pgp_can_sign_as(const char *addr)
{
    char fpr[SG_PGP_FPR_LEN + 1];
    pthread_mutex_lock(E->lock);
    int rc = sg_keystore_find_signing_key(E->ks, addr, NULL, fpr);
    pthread_mutex_unlock(E->lock);
    return found(rc);
}

static bool is_internal(const char *addr)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    return at && sg_config_is_internal_domain(E->cfg, at + 1);
}

/* The signing key the request asks for: the sender's own (made on request for an internal
 * sender who has none, certified by the domain key as `sealgate key generate` does), else the
 * domain key, created on first need. 0 with fpr set, 1 when no signature is wanted, -1. */
static int signer_for(const sg_protect_req *req, char fpr[SG_PGP_FPR_LEN + 1], char *err, size_t errlen)
{
    if (req->sign == SG_SIGN_NONE)
        return 1;
    int rc = 1;
    pthread_mutex_lock(E->lock);
    if (req->sign == SG_SIGN_SENDER && req->sender && *req->sender) {
        rc = sg_keystore_find_signing_key(E->ks, req->sender, NULL, fpr);
        if (rc == 1 && req->create_sender_key && is_internal(req->sender)) {
            rc = sg_keystore_generate(E->ks, req->sender, "ed25519", 0, E->domain_addr, fpr) == 0 ? 0 : -1;
            if (rc == 0)
                sg_info(req->qid, "event=pgp-key-generated address=%s fpr=%s", SG_LOG_TOK(req->sender), fpr);
        }
    }
    if (rc == 1)
        rc = sg_keystore_domain_key(E->ks, E->domain_addr, true, fpr);
    pthread_mutex_unlock(E->lock);
    if (rc != 0)
        snprintf(err, errlen, "no OpenPGP signing key for %s", req->sender ? req->sender : "(none)");
    return rc == 0 ? 0 : -1;
}

static bool have(char (*fprs)[SG_PGP_FPR_LEN + 1], size_t n, const char *fpr)
{
    for (size_t j = 0; j < n; j++)
        if (strcmp(fprs[j], fpr) == 0)
            return true;
    return false;
}

/* The configured archive keys (cryptd.pgp_archive_keys), each once: a missing one is an error,
 * so a message is never sent without the copy the organisation asked for. */
static int archive_keys(char (*fprs)[SG_PGP_FPR_LEN + 1], size_t *n, char *err, size_t errlen)
{
    const sg_strlist *a = &E->cfg->cryptd.pgp_archive_keys;
    for (size_t i = 0; i < a->n; i++) {
        sg_pgp_key k;
        pthread_mutex_lock(E->lock);
        int rc = sg_keystore_get(E->ks, a->v[i], &k);
        pthread_mutex_unlock(E->lock);
        if (rc != 0) {
            snprintf(err, errlen, "archive key %s %s", a->v[i], rc < 0 ? "keystore error" : "not in the keystore");
            return -1;
        }
        if (!have(fprs, *n, k.fpr))
            memcpy(fprs[(*n)++], k.fpr, SG_PGP_FPR_LEN + 1);
        sg_pgp_key_clear(&k);
    }
    return 0;
}

/* The recipients' encryption keys, each once (two addresses may share a key), noted in
 * req->used with the signer's (may be NULL). */
static int recipient_keys(const sg_protect_req *req, const char *signer, char (*fprs)[SG_PGP_FPR_LEN + 1],
                          size_t *n, char *err, size_t errlen)
{
    *n = 0;
    for (size_t i = 0; i < req->nrcpt; i++) {
        pthread_mutex_lock(E->lock);
        int rc = sg_keystore_find_encryption_key(E->ks, req->rcpts[i], fprs[*n]);
        pthread_mutex_unlock(E->lock);
        if (rc != 0) {
            snprintf(err, errlen, "%s for %s", rc < 0 ? "keystore error" : "no OpenPGP key", req->rcpts[i]);
            return -1;
        }
        *n += !have(fprs, *n, fprs[*n]);
    }
    if (archive_keys(fprs, n, err, errlen) < 0)
        return -1;
    sg_protect_note_keys(req, signer, fprs[0], sizeof fprs[0], *n);
    return 0;
}

static int protect_encrypted(const sg_protect_req *req, const char *signer, const char *msg, size_t len,
                             sg_buf *out, char *err, size_t errlen)
{
    const sg_config *cfg = E->cfg;
    char(*fprs)[SG_PGP_FPR_LEN + 1] = calloc(req->nrcpt + cfg->cryptd.pgp_archive_keys.n + 1, sizeof *fprs);
    size_t n = 0;
    sg_buf inner;
    sg_buf_init(&inner, SG_MIME_MAX_OUT);
    char *armored = NULL;
    size_t alen = 0;
    int rc = -1;
    if (!fprs) {
        snprintf(err, errlen, "out of memory");
    } else if (recipient_keys(req, signer, fprs, &n, err, errlen) < 0) {
        /* err set */
    } else if (E->cfg->cryptd.pgp_inline && sg_pgp_inline_eligible(msg, len)) {
        rc = sg_pgp_inline_encrypt(&K, signer, fprs, n, msg, len, out, err, errlen);
    } else if (sg_mime_protected_entity_with(msg, len, (const char *const *)cfg->cryptd.protected_headers.v,
                                             cfg->cryptd.protected_headers.n, &inner) < 0) {
        snprintf(err, errlen, "message cannot be parsed for encryption");
    } else if (sg_pgp_ops_encrypt(&K, signer, fprs, n, inner.data, inner.len, &armored, &alen, err, errlen) ==
               0) {
        rc = sg_mime_wrap_encrypted_with(msg, len, armored, alen, cfg->cryptd.outer_subject, out);
        if (rc < 0)
            snprintf(err, errlen, "cannot build the encrypted message");
    }
    free(armored);
    sg_buf_free(&inner);
    free(fprs);
    return rc;
}

/* ---- sign+encrypt as a stream (issue 11) ---- */

#define WRITE_AT (256u << 10) /* the output is written to the file in pieces of about this */

typedef struct fdout {
    sg_entity_stream in;
    int fd;
    sg_buf buf;  /* armored text with CRLF line ends, waiting to be written */
    char prev;   /* the armored text's last byte so far (sg_crlf_piece) */
    bool failed; /* a write failed: librnp is told, and nothing of the output counts */
} fdout;

static int flush(fdout *f)
{
    if (f->buf.len && sg_write_all(f->fd, f->buf.data, f->buf.len) < 0)
        return -1;
    f->buf.len = 0;
    return 0;
}

static bool stream_read(void *ctx, void *buf, size_t len, size_t *got)
{
    fdout *f = ctx;
    *got = sg_entity_stream_read(&f->in, buf, len);
    return true;
}

static bool stream_write(void *ctx, const void *buf, size_t len)
{
    fdout *f = ctx;
    if (f->failed || sg_crlf_piece(&f->prev, buf, len, &f->buf) < 0 || (f->buf.len >= WRITE_AT && flush(f) < 0))
        f->failed = true;
    return !f->failed;
}

/* pgp_protect's encrypted PGP/MIME message written to fd, the inner entity read from msg and
 * the armored data written in pieces: the same bytes as protect_encrypted's (mime_stream.h).
 * 0, 1 when this message is not streamed (inline PGP, an entity that needs re-encoding, an
 * RSA signer: the caller uses pgp_protect), -1 with err. */
static int pgp_protect_to_fd(const sg_protect_req *req, const char *msg, size_t len, int fd, char *err,
                             size_t errlen)
{
    const sg_config *cfg = E->cfg;
    if (req->nrcpt == 0 || (cfg->cryptd.pgp_inline && sg_pgp_inline_eligible(msg, len)))
        return 1; /* sign-only and inline PGP are made in memory */
    char signer[SG_PGP_FPR_LEN + 1], boundary[64];
    int s = signer_for(req, signer, err, errlen);
    if (s < 0)
        return -1;
    char(*fprs)[SG_PGP_FPR_LEN + 1] = calloc(req->nrcpt + cfg->cryptd.pgp_archive_keys.n + 1, sizeof *fprs);
    fdout f = {.fd = fd};
    sg_buf_init(&f.buf, SG_MIME_MAX_OUT);
    size_t n = 0;
    int rc = -1, o = 1;
    if (!fprs) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (recipient_keys(req, s == 0 ? signer : NULL, fprs, &n, err, errlen) < 0)
        goto out;
    o = sg_entity_stream_open(&f.in, msg, len, (const char *const *)cfg->cryptd.protected_headers.v,
                              cfg->cryptd.protected_headers.n);
    if (o != 0) {
        rc = o;
        if (o < 0)
            snprintf(err, errlen, "message cannot be parsed for encryption");
        goto out;
    }
    if (sg_mime_new_boundary(boundary, sizeof boundary) < 0 ||
        sg_mime_encrypted_head(msg, len, cfg->cryptd.outer_subject, boundary, &f.buf) < 0 || flush(&f) < 0) {
        snprintf(err, errlen, "cannot build the encrypted message");
        goto out;
    }
    sg_pgp_stream_io io = {.read = stream_read, .write = stream_write, .ctx = &f};
    rc = sg_pgp_ops_encrypt_stream(&K, s == 0 ? signer : NULL, fprs, n, &io, err, errlen);
    if (rc == 0 && (f.failed || sg_mime_encrypted_tail(f.prev, boundary, &f.buf) < 0 || flush(&f) < 0)) {
        snprintf(err, errlen, "cannot write the encrypted message");
        rc = -1;
    }
out:
    if (o == 0)
        sg_entity_stream_close(&f.in);
    sg_buf_free(&f.buf);
    free(fprs);
    return rc;
}

/* RFC 3156 section 5: the canonical (CRLF, 7-bit) entity is signed and sent byte for byte. */
static int protect_signed(const char *signer, const char *msg, size_t len, sg_buf *out, char *err, size_t errlen)
{
    if (E->cfg->cryptd.pgp_inline && sg_pgp_inline_eligible(msg, len))
        return sg_pgp_inline_sign(&K, signer, msg, len, out, err, errlen);
    sg_buf ent;
    sg_buf_init(&ent, SG_MIME_MAX_OUT);
    char *sig = NULL;
    size_t siglen = 0;
    int rc = -1;
    if (sg_mime_canonical_entity(msg, len, &ent) < 0) {
        snprintf(err, errlen, "message cannot be parsed for signing");
    } else if (sg_pgp_ops_sign(&K, signer, false, ent.data ? ent.data : "", ent.len, &sig, &siglen, err,
                               errlen) == 0) {
        rc = sg_mime_wrap_signed(msg, len, ent.data ? ent.data : "", ent.len, sig, siglen, out);
        if (rc < 0)
            snprintf(err, errlen, "cannot build the signed message");
    }
    free(sig);
    sg_buf_free(&ent);
    return rc;
}

static int pgp_protect(const sg_protect_req *req, const char *msg, size_t len, sg_buf *out, char *err,
                       size_t errlen)
{
    char signer[SG_PGP_FPR_LEN + 1];
    int s = signer_for(req, signer, err, errlen);
    if (s < 0)
        return -1;
    if (req->nrcpt > 0)
        return protect_encrypted(req, s == 0 ? signer : NULL, msg, len, out, err, errlen);
    if (s != 0) {
        snprintf(err, errlen, "nothing to do: neither recipients to encrypt to nor a signature asked for");
        return -1;
    }
    sg_protect_note_keys(req, signer, "", 0, 0);
    return protect_signed(signer, msg, len, out, err, errlen);
}

/* RFC 3156 structures, else the "mixed-up" form some servers make of multipart/encrypted. */
static int detect_pgpmime(const char *msg, size_t len, sg_mime_pgp *pm)
{
    if (sg_mime_detect(msg, len, pm) < 0)
        return -1;
    if (pm->kind == SG_MIME_OTHER && sg_mime_detect_mixed_up(msg, len, pm) < 0)
        return -1;
    return 0;
}

/* "Already encrypted" only when the packets parse as encryption (crypto/pgp_packet.h): a
 * multipart/encrypted dress around anything else is plain mail, and policy protects it. */
static int pgp_detect(const char *msg, size_t len)
{
    sg_mime_pgp pm;
    if (detect_pgpmime(msg, len, &pm) < 0)
        return SG_LAYER_NONE;
    int kind = pm.kind == SG_MIME_PGP_ENCRYPTED
                   ? (sg_pgp_text_is_encrypted(pm.cipher, pm.cipherlen) ? SG_LAYER_ENCRYPTED : SG_LAYER_NONE)
               : pm.kind == SG_MIME_PGP_SIGNED ? SG_LAYER_SIGNED
                                               : sg_pgp_inline_detect(msg, len);
    sg_mime_pgp_free(&pm);
    return kind;
}

/* ---- peel ---- */

/* The held secret keys of the readers, each with the index of its reader. */
static int candidates(const sg_peel_req *req, char (**cands)[SG_PGP_FPR_LEN + 1], size_t *ncand, size_t **owner)
{
    size_t cap = 0;
    *cands = NULL;
    *owner = NULL;
    *ncand = 0;
    for (size_t i = 0; i < req->nrcpt; i++) {
        sg_pgp_key *keys = NULL;
        size_t n = 0;
        pthread_mutex_lock(E->lock);
        int rc = sg_keystore_list(E->ks, req->rcpts[i], &keys, &n);
        pthread_mutex_unlock(E->lock);
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
            (*owner)[(*ncand)++] = i;
        }
        sg_keystore_free_list(keys, n);
    }
    return 0;
}

size_t sg_engine_pgp_max_plain(const sg_peel_req *req, size_t clen)
{
    const sg_config *cfg = E ? E->cfg : NULL;
    size_t cap = cfg ? cfg->cryptd.pgp_max_plaintext : SG_PGP_MAX_PLAINTEXT_DEFAULT;
    size_t ratio = cfg ? (size_t)cfg->cryptd.pgp_max_ratio : SG_PGP_MAX_RATIO_DEFAULT;
    size_t floor = 8u << 20;
    size_t m = clen > cap / ratio ? cap : clen * ratio;
    if (m < floor)
        m = floor < cap ? floor : cap;
    return req->max_plain && req->max_plain < m ? req->max_plain : m;
}

/* sg_engine_pgp_decrypt, the plaintext written to fd when fd >= 0 (sg_pgp_ops_decrypt_to_fd). */
static int decrypt_with(const sg_peel_req *req, const char *cipher, size_t clen, sg_layer *out, sg_pgp_decrypted *d,
                        int fd)
{
    char(*cands)[SG_PGP_FPR_LEN + 1] = NULL;
    size_t *owner = NULL, ncand = 0;
    int rc = -1;
    memset(d, 0, sizeof *d);
    out->kind = SG_LAYER_ENCRYPTED;
    out->method = SG_METHOD_PGP;
    if (!(out->readable = calloc(req->nrcpt ? req->nrcpt : 1, sizeof *out->readable)) ||
        candidates(req, &cands, &ncand, &owner) < 0)
        goto done;
    if (ncand == 0) {
        d->status = SG_DEC_NO_KEY;
        snprintf(d->reason, sizeof d->reason, "no-key");
    } else if ((fd >= 0 ? sg_pgp_ops_decrypt_to_fd(&K, cands, ncand, req->from, cipher, clen,
                                                   sg_engine_pgp_max_plain(req, clen), fd, d)
                        : sg_pgp_ops_decrypt(&K, cands, ncand, req->from, cipher, clen,
                                             sg_engine_pgp_max_plain(req, clen), d)) < 0) {
        goto done;
    }
    for (size_t h = 0; h < d->nhits; h++)
        for (size_t c = 0; c < ncand; c++)
            if (strcmp(cands[c], d->hits[h]) == 0)
                out->readable[owner[c]] = true;
    out->dec = d->status;
    snprintf(out->reason, sizeof out->reason, "%s", d->status == SG_DEC_OK ? "" : d->reason);
    if (d->status == SG_DEC_OK)
        out->sig = d->v;
    rc = 0;
done:
    free(cands);
    free(owner);
    return rc;
}

int sg_engine_pgp_decrypt(const sg_peel_req *req, const char *cipher, size_t clen, sg_layer *out,
                          sg_pgp_decrypted *d)
{
    return decrypt_with(req, cipher, clen, out, d, -1);
}

/* A ciphertext at least this large is decrypted into a file (issue 11). */
#define STREAM_MIN ((size_t)1 << 20)

/* The plaintext goes into an unnamed file in req->tmpdir as librnp makes it; the file becomes
 * the inner entity (mapped) only after librnp reported the MDC / AEAD tag valid at the end of
 * the stream (SG_DEC_OK). On any other result the file is emptied and closed: nothing of it
 * is ever read. 0, 1 when no such file can be made (the caller decrypts in memory), -1. */
static int peel_encrypted_to_file(const sg_peel_req *req, const sg_mime_pgp *pm, sg_layer *out)
{
    int fd = sg_tmpfile(req->tmpdir);
    if (fd < 0)
        return 1;
    sg_pgp_decrypted d;
    int rc = decrypt_with(req, pm->cipher, pm->cipherlen, out, &d, fd);
    if (rc == 0 && d.status == SG_DEC_OK) {
        sg_mapview *m = sg_mapview_new(fd); /* closes fd, also on failure */
        fd = -1;
        if (!m) {
            rc = -1;
        } else {
            out->inner_map = m;
            out->inner = (char *)m->base;
            out->innerlen = m->len;
        }
    }
    if (fd >= 0) {
        /* Unverified plaintext: emptied (its cached pages dropped) and gone with the close. */
        if (ftruncate(fd, 0) < 0)
            sg_warn(req->qid, "event=pgp-tmp-truncate-failed");
        close(fd);
    }
    sg_pgp_decrypted_free(&d);
    return rc;
}

static int peel_encrypted(const sg_peel_req *req, const sg_mime_pgp *pm, sg_layer *out)
{
    if (req->tmpdir && pm->cipherlen >= STREAM_MIN) {
        int s = peel_encrypted_to_file(req, pm, out);
        if (s <= 0)
            return s;
    }
    sg_pgp_decrypted d;
    int rc = sg_engine_pgp_decrypt(req, pm->cipher, pm->cipherlen, out, &d);
    if (rc == 0 && d.status == SG_DEC_OK) {
        /* engine.h: the inner entity is CRLF; some clients encrypt LF text. */
        sg_buf b;
        sg_buf_init(&b, SG_MIME_MAX_OUT);
        if (sg_mime_to_crlf(d.plain, d.plainlen, &b) < 0 || sg_buf_append(&b, "", 1) < 0) {
            sg_buf_free(&b);
            rc = -1;
        } else {
            out->inner = b.data;
            out->innerlen = b.len - 1;
        }
    }
    if (d.plain)
        memset(d.plain, 0, d.plainlen);
    sg_pgp_decrypted_free(&d);
    return rc;
}

/* multipart/signed: the first part, in CRLF form (RFC 3156 5), against the detached signature. */
static int peel_signed(const sg_peel_req *req, const sg_mime_pgp *pm, sg_layer *out)
{
    sg_buf c;
    sg_buf_init(&c, SG_MIME_MAX_OUT);
    int rc = sg_mime_to_crlf(pm->signed_data, pm->signed_len, &c);
    if (rc == 0 &&
        sg_pgp_ops_verify_detached(&K, req->from, c.data ? c.data : "", c.len, pm->sig, pm->siglen, &out->sig) < 0) {
        /* librnp could not even start: the layer is there, its signature proves nothing */
        memset(&out->sig, 0, sizeof out->sig);
        out->sig.sig = SG_SIG_INVALID;
        snprintf(out->sig.reason, sizeof out->sig.reason, "error");
    }
    sg_buf_free(&c);
    out->kind = SG_LAYER_SIGNED;
    out->method = SG_METHOD_PGP;
    return rc;
}

static int pgp_peel(const sg_peel_req *req, const char *msg, size_t len, sg_layer *out)
{
    memset(out, 0, sizeof *out);
    sg_mime_pgp pm;
    if (detect_pgpmime(msg, len, &pm) < 0)
        return -1;
    int rc;
    if (pm.kind == SG_MIME_PGP_ENCRYPTED)
        rc = peel_encrypted(req, &pm, out);
    else if (pm.kind == SG_MIME_PGP_SIGNED)
        rc = peel_signed(req, &pm, out);
    else
        rc = sg_pgp_inline_peel(req, msg, len, out);
    sg_mime_pgp_free(&pm);
    if (rc < 0)
        sg_layer_free(out);
    return rc;
}

const sg_engine sg_engine_pgp = {
    .name = "pgp",
    .method = SG_METHOD_PGP,
    .init = pgp_init,
    .can_encrypt_to = pgp_can_encrypt_to,
    .can_sign_as = pgp_can_sign_as,
    .can_make_signer = pgp_can_make_signer,
    .protect = pgp_protect,
    .detect = pgp_detect,
    .protect_to_fd = pgp_protect_to_fd,
    .peel = pgp_peel,
};
