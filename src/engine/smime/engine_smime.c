/* engine_smime.c - the S/MIME engine of engine.h: OpenSSL CMS (src/engine/smime/cms.h) around
 * the MIME of src/mime/smime.h, with certificates and keys from the certificate store.
 * Owner: src/engine (S/MIME).
 * Outgoing: protected-headers entity -> signed (multipart/signed, or opaque SignedData) ->
 * one envelope for the whole group -> the original header with Subject "...". Incoming: one
 * layer per call (unwrap.c loops): EnvelopedData/AuthEnvelopedData decrypted with the held keys
 * of the recipients asked, SignedData verified against the From address.
 * SECURITY: see engine.h. A certificate is used for encryption or signing only when
 * sg_cert_validate accepts it for that purpose and address now; the local CA issues one only
 * when the order asks for a sender key (or for the gateway's own domain identity). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "engine/smime/cms.h"
#include "engine/engine.h"
#include "keys/ca.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/mapview.h"
#include "mime/mime.h"
#include "mime/mime_stream.h"
#include "mime/smime.h"

#define ISSUE_DAYS 730 /* certificates the local CA issues on demand (docs/x509.md) */

static const sg_engine_env *E;

static int smime_init(const sg_engine_env *env)
{
    E = env;
    return 0;
}

static sg_smime_keys keys(void)
{
    return (sg_smime_keys){.cs = E->cs, .lock = E->lock, .st = E->st};
}

/* The newest certificate of addr that validates for purpose now (with a held key when
 * need_key). 1 with fpr, 0 none, -1 store error. */
static int find_cert(const char *addr, int purpose, bool need_key, char fpr[SG_CERT_FPR_LEN + 1])
{
    if (!E || !E->cs || !addr || !*addr)
        return 0;
    sg_cert_info *list = NULL;
    size_t n = 0;
    int found = 0;
    char memo[400];
    snprintf(memo, sizeof memo, "select|%d|%d|%s", purpose, need_key, addr);
    pthread_mutex_lock(E->lock);
    if (sg_smime_memo_get(E->st, memo, fpr)) {
        pthread_mutex_unlock(E->lock);
        return 1;
    }
    /* Validation may release the lock while it fetches revocation data: the selection is
     * remembered only if nothing in the store changed since this point. */
    sg_smime_gen gen;
    bool marked = sg_smime_memo_mark(E->st, &gen) == 0;
    if (sg_certstore_list(E->cs, addr, &list, &n) < 0)
        found = -1;
    for (size_t i = 0; found == 0 && i < n; i++) {
        if (list[i].is_ca || (need_key && !list[i].has_key))
            continue;
        X509 *x = sg_smime_cert_locked(E->cs, list[i].fpr);
        char why[160];
        /* A listed certificate that cannot be read, or a validation that failed on the store,
         * is an error, not "no certificate" (a fallback must not send it unprotected). */
        int v = x ? sg_smime_validate_locked(E->cs, E->st, x, list[i].fpr, addr, purpose, why, sizeof why)
                  : SG_CERT_ERROR;
        if (v == SG_CERT_VALID) {
            memcpy(fpr, list[i].fpr, SG_CERT_FPR_LEN + 1);
            if (marked)
                sg_smime_memo_put_since(E->st, &gen, memo, fpr, x);
            found = 1;
        } else if (v == SG_CERT_ERROR) {
            found = -1;
        }
        X509_free(x);
    }
    pthread_mutex_unlock(E->lock);
    sg_certstore_free_list(list, n);
    return found;
}

static int smime_can_encrypt_to(const char *addr)
{
    char fpr[SG_CERT_FPR_LEN + 1];
    return find_cert(addr, SG_CERT_ENCRYPT, false, fpr);
}

static int smime_can_sign_as(const char *addr)
{
    char fpr[SG_CERT_FPR_LEN + 1];
    return find_cert(addr, SG_CERT_SIGN, true, fpr);
}

/* Without a local CA nothing can be issued: only a held domain certificate can sign then. */
static int smime_can_make_signer(void)
{
    char fpr[SG_CERT_FPR_LEN + 1];
    pthread_mutex_lock(E->lock);
    int ca = sg_ca_fpr(E->cs, fpr);
    pthread_mutex_unlock(E->lock);
    if (ca < 0)
        return -1;
    return ca == 0 ? 1 : find_cert(E->domain_addr, SG_CERT_SIGN, true, fpr);
}

/* A new signing+encryption certificate for addr from the local CA: 1 issued, 0 no local CA. */
static int issue(const char *addr, char fpr[SG_CERT_FPR_LEN + 1])
{
    pthread_mutex_lock(E->lock);
    int rc = sg_ca_issue(E->cs, addr, SG_CA_USAGE_SIGN | SG_CA_USAGE_ENCRYPT, ISSUE_DAYS, false, fpr);
    pthread_mutex_unlock(E->lock);
    return rc == 0 ? 1 : rc == 1 ? 0 : -1;
}

static bool is_internal(const char *addr)
{
    const char *at = strrchr(addr, '@');
    return at && sg_config_is_internal_domain(E->cfg, at + 1);
}

/* The certificate to sign with (engine.h sign modes). 0, or -1 with err. */
static int signer_cert(const sg_protect_req *req, char fpr[SG_CERT_FPR_LEN + 1], char *err, size_t errlen)
{
    int r = 0;
    if (req->sign == SG_SIGN_SENDER && req->sender) {
        r = find_cert(req->sender, SG_CERT_SIGN, true, fpr);
        if (r == 0 && req->create_sender_key && is_internal(req->sender))
            r = issue(req->sender, fpr);
    }
    if (r == 0) {
        /* The gateway's own identity, made by the local CA on first need like the PGP domain
         * key. */
        r = find_cert(E->domain_addr, SG_CERT_SIGN, true, fpr);
        if (r == 0)
            r = issue(E->domain_addr, fpr);
    }
    if (r == 1)
        return 0;
    snprintf(err, errlen, "no S/MIME signing certificate for %s%s",
             req->sender ? req->sender : E->domain_addr, r < 0 ? " (store error)" : "");
    return -1;
}

/* The newest validly signed mail from addr said its client reads AES-256-GCM (RFC 8551
 * 2.5.2: SMIMECapabilities), as learned by peel_signed. */
static bool learned_gcm(const char *addr)
{
    sg_smime_caps c;
    pthread_mutex_lock(E->lock);
    int r = sg_certstore_caps(E->cs, addr, &c);
    pthread_mutex_unlock(E->lock);
    return r == 0 && (c.flags & SG_CAP_AES256_GCM);
}

/* addr is listed in smime.gcm_for, by address or by its domain. */
static bool reads_gcm(const char *addr)
{
    const char *at = strrchr(addr, '@');
    const sg_strlist *l = &E->cfg->smime.gcm_for;
    for (size_t i = 0; i < l->n; i++)
        if (strcasecmp(l->v[i], addr) == 0 ||
            (at && !strchr(l->v[i], '@') && strcasecmp(l->v[i], at + 1) == 0))
            return true;
    return false;
}

static const char *const digests[] = {"sha256", "sha384", "sha512"};
static const char *const micalgs[] = {"sha-256", "sha-384", "sha-512"};

/* content signed as an entity: multipart/signed, or application/pkcs7-mime signed-data. */
static int sign_entity(const char *signer, bool opaque, const sg_buf *content, sg_buf *out, char *err,
                       size_t errlen)
{
    int d = E->cfg->smime.digest;
    sg_smime_sign_opts o = {
        .digest = digests[d], .pss = E->cfg->smime.rsa_signature == SG_SMIME_SIG_PSS, .detached = !opaque};
    sg_smime_keys k = keys();
    unsigned char *der = NULL;
    size_t derlen = 0;
    if (sg_smime_sign(&k, signer, &o, content->data, content->len, &der, &derlen, err, errlen) < 0)
        return -1;
    int rc = opaque ? sg_mime_smime_p7m_entity("signed-data", der, derlen, out)
                    : sg_mime_smime_signed_entity(content->data, content->len, der, derlen, micalgs[d], out);
    free(der);
    if (rc < 0)
        snprintf(err, errlen, "building the signed entity failed");
    return rc;
}

/* The certificates of the group (one per recipient, duplicates once) plus the sender's own
 * when smime.encrypt_to_sender. Writes *n; returns a malloc'd array or NULL with err. */
static char (*group_certs(const sg_protect_req *req, size_t *n, bool *gcm, char *err,
                          size_t errlen))[SG_CERT_FPR_LEN + 1]
{
    char(*f)[SG_CERT_FPR_LEN + 1] = calloc(req->nrcpt + 1, sizeof *f);
    *n = 0;
    *gcm = true;
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i <= req->nrcpt; i++) {
        bool own = i == req->nrcpt;
        const char *a = own ? req->sender : req->rcpts[i];
        if (own && (!E->cfg->smime.encrypt_to_sender || !a))
            break;
        char fpr[SG_CERT_FPR_LEN + 1];
        int r = find_cert(a, SG_CERT_ENCRYPT, false, fpr);
        if (r == 0 && own)
            break; /* the sender without a certificate: nothing to add */
        if (r != 1) {
            snprintf(err, errlen, "no valid S/MIME encryption certificate for %s%s", a,
                     r < 0 ? " (store error)" : "");
            free(f);
            return NULL;
        }
        *gcm = *gcm && (own || reads_gcm(a) || learned_gcm(a));
        bool dup = false;
        for (size_t j = 0; j < *n && !dup; j++)
            dup = strcmp(f[j], fpr) == 0;
        if (!dup)
            memcpy(f[(*n)++], fpr, sizeof fpr);
    }
    return f;
}

static int smime_protect(const sg_protect_req *req, const char *msg, size_t len, sg_buf *out, char *err,
                         size_t errlen)
{
    if (!E || !E->cs) {
        snprintf(err, errlen, "no certificate store");
        return -1;
    }
    if (req->sign == SG_SIGN_NONE && req->nrcpt == 0) {
        snprintf(err, errlen, "neither signing nor encryption was asked for");
        return -1;
    }
    char signer[SG_CERT_FPR_LEN + 1];
    if (req->sign != SG_SIGN_NONE && signer_cert(req, signer, err, errlen) < 0)
        return -1;
    size_t nf = 0;
    bool gcm = false;
    char(*fprs)[SG_CERT_FPR_LEN + 1] = NULL;
    if (req->nrcpt && !(fprs = group_certs(req, &nf, &gcm, err, errlen)))
        return -1;
    sg_protect_note_keys(req, req->sign != SG_SIGN_NONE ? signer : NULL, fprs ? fprs[0] : "", sizeof *fprs, nf);
    sg_buf content, signed_ent, env;
    sg_buf_init(&content, SG_MIME_MAX_OUT);
    sg_buf_init(&signed_ent, SG_MIME_MAX_OUT);
    sg_buf_init(&env, SG_MIME_MAX_OUT);
    const sg_buf *inner = &content;
    int rc = -1;
    if (sg_mime_protected_entity(msg, len, &content) < 0) {
        snprintf(err, errlen, "the message is not MIME that can be protected");
        goto out;
    }
    if (req->sign != SG_SIGN_NONE) {
        bool opaque = req->opaque || E->cfg->smime.signing == SG_SMIME_SIGN_OPAQUE;
        if (sign_entity(signer, opaque, &content, &signed_ent, err, errlen) < 0)
            goto out;
        inner = &signed_ent;
    }
    if (req->nrcpt) {
        sg_smime_keys k = keys();
        unsigned char *der = NULL;
        size_t derlen = 0;
        if (sg_smime_encrypt(&k, fprs, nf, gcm, E->cfg->smime.rsa_padding == SG_SMIME_RSA_OAEP, inner->data,
                             inner->len, &der, &derlen, err, errlen) < 0)
            goto out;
        int r = sg_mime_smime_p7m_entity(gcm ? "authEnveloped-data" : "enveloped-data", der, derlen, &env);
        free(der);
        if (r < 0) {
            snprintf(err, errlen, "building the enveloped entity failed");
            goto out;
        }
        inner = &env;
    }
    rc = sg_mime_wrap_entity(msg, len, inner->data, inner->len, req->nrcpt > 0, out);
    if (rc < 0)
        snprintf(err, errlen, "building the message failed");
out:
    free(fprs);
    sg_buf_free(&content);
    sg_buf_free(&signed_ent);
    sg_buf_free(&env);
    return rc;
}

/* ---- sign+encrypt as a stream (issue 11) ---- */

#define WRITE_AT (256u << 10) /* the output is written to the file in pieces of about this */

/* What is encrypted, read in order: pre (the signed entity's head), the inner entity, post (its
 * tail with the signature); the envelope's BER goes out as base64 lines through buf to fd. */
typedef struct sstream {
    sg_entity_stream ent;
    sg_buf pre, post;
    size_t prepos, postpos;
    sg_b64 b64;
    sg_buf buf;
    int fd;
} sstream;

static size_t take(const sg_buf *b, size_t *pos, char *out, size_t cap)
{
    size_t n = b->len - *pos < cap ? b->len - *pos : cap;
    if (n)
        memcpy(out, b->data + *pos, n);
    *pos += n;
    return n;
}

static size_t entity_read(void *ctx, char *out, size_t cap)
{
    return sg_entity_stream_read(&((sstream *)ctx)->ent, out, cap);
}

static size_t content_read(void *ctx, char *out, size_t cap)
{
    sstream *st = ctx;
    size_t n = take(&st->pre, &st->prepos, out, cap);
    if (n == 0)
        n = sg_entity_stream_read(&st->ent, out, cap);
    return n ? n : take(&st->post, &st->postpos, out, cap);
}

static int flush_to(sstream *st)
{
    if (st->buf.len && sg_write_all(st->fd, st->buf.data, st->buf.len) < 0)
        return -1;
    st->buf.len = 0;
    return 0;
}

static int ber_write(void *ctx, const void *p, size_t n)
{
    sstream *st = ctx;
    if (sg_b64_piece(&st->b64, p, n, &st->buf) < 0)
        return -1;
    return st->buf.len >= WRITE_AT ? flush_to(st) : 0;
}

/* smime_protect's message written to fd with the inner entity read in pieces twice (once for
 * the signature, once into the envelope) and the envelope written in pieces. Encrypted mail
 * with a clear signature or none; 1 for anything else (sign-only, opaque signing, an entity
 * that needs re-encoding: the caller uses smime_protect), 0 written, -1 with err. */
static int smime_protect_to_fd(const sg_protect_req *req, const char *msg, size_t len, int fd, char *err,
                               size_t errlen)
{
    bool sign = req->sign != SG_SIGN_NONE;
    if (!E || !E->cs || req->nrcpt == 0 ||
        (sign && (req->opaque || E->cfg->smime.signing == SG_SMIME_SIGN_OPAQUE)))
        return 1;
    sstream st = {.fd = fd};
    sg_buf_init(&st.pre, SG_MIME_MAX_OUT);
    sg_buf_init(&st.post, SG_MIME_MAX_OUT);
    sg_buf_init(&st.buf, SG_MIME_MAX_OUT);
    int o = sg_entity_stream_open(&st.ent, msg, len, NULL, 0);
    if (o != 0) {
        if (o < 0)
            snprintf(err, errlen, "the message is not MIME that can be protected");
        sg_buf_free(&st.pre);
        sg_buf_free(&st.post);
        sg_buf_free(&st.buf);
        return o;
    }
    char signer[SG_CERT_FPR_LEN + 1], b[64];
    size_t nf = 0;
    bool gcm = false;
    char(*fprs)[SG_CERT_FPR_LEN + 1] = NULL;
    sg_smime_keys k = keys();
    int rc = -1;
    if ((sign && signer_cert(req, signer, err, errlen) < 0) || !(fprs = group_certs(req, &nf, &gcm, err, errlen)))
        goto out;
    sg_protect_note_keys(req, sign ? signer : NULL, fprs[0], sizeof fprs[0], nf);
    if (sign) {
        int d = E->cfg->smime.digest;
        sg_smime_sign_opts so = {
            .digest = digests[d], .pss = E->cfg->smime.rsa_signature == SG_SMIME_SIG_PSS, .detached = true};
        sg_smime_stream_io rd = {.read = entity_read, .ctx = &st};
        unsigned char *sig = NULL;
        size_t siglen = 0;
        if (sg_smime_sign_stream(&k, signer, &so, &rd, &sig, &siglen, err, errlen) < 0)
            goto out;
        /* The second pass over the same entity goes into the envelope, between its head and
         * its tail with the signature. */
        sg_entity_stream_close(&st.ent);
        o = sg_entity_stream_open(&st.ent, msg, len, NULL, 0);
        int r = o != 0 || sg_mime_smime_boundary(b) < 0 || sg_mime_smime_signed_head(micalgs[d], b, &st.pre) < 0 ||
                sg_mime_smime_signed_tail(b, sig, siglen, &st.post) < 0;
        free(sig);
        if (r) {
            snprintf(err, errlen, "building the signed entity failed");
            goto out;
        }
    }
    if (sg_mime_outer_fields(msg, len, "...", &st.buf) < 0 || sg_buf_append(&st.buf, "MIME-Version: 1.0\r\n", 19) < 0 ||
        sg_mime_smime_p7m_head(gcm ? "authEnveloped-data" : "enveloped-data", &st.buf) < 0 || flush_to(&st) < 0) {
        snprintf(err, errlen, "building the message failed");
        goto out;
    }
    sg_smime_stream_io io = {.read = content_read, .write = ber_write, .ctx = &st};
    if (sg_smime_encrypt_stream(&k, fprs, nf, gcm, E->cfg->smime.rsa_padding == SG_SMIME_RSA_OAEP, &io, err,
                                errlen) < 0)
        goto out;
    if (sg_b64_end(&st.b64, &st.buf) < 0 || flush_to(&st) < 0) {
        snprintf(err, errlen, "cannot write the message");
        goto out;
    }
    rc = 0;
out:
    if (o == 0)
        sg_entity_stream_close(&st.ent);
    free(fprs);
    sg_buf_free(&st.pre);
    sg_buf_free(&st.post);
    sg_buf_free(&st.buf);
    return rc;
}

/* The kind of layer a detected S/MIME structure is, from its CMS content type. */
static int layer_kind(const sg_mime_smime *s)
{
    if (s->kind == SG_MIME_SMIME_CLEAR)
        return SG_LAYER_SIGNED;
    if (s->kind != SG_MIME_SMIME_P7M)
        return SG_LAYER_NONE;
    switch (sg_smime_der_type(s->der, s->derlen)) {
    case SG_SMIME_T_ENVELOPED:
    case SG_SMIME_T_AUTH_ENVELOPED:
        return SG_LAYER_ENCRYPTED;
    case SG_SMIME_T_SIGNED:
        return SG_LAYER_SIGNED;
    default:
        return SG_LAYER_NONE; /* certs-only bundles and anything else are not protection */
    }
}

static int smime_detect(const char *msg, size_t len)
{
    sg_mime_smime s;
    if (sg_mime_smime_detect(msg, len, &s) < 0)
        return SG_LAYER_NONE;
    int kind = layer_kind(&s);
    sg_mime_smime_free(&s);
    return kind;
}

/* malloc'd CRLF copy of s (engine.h: inner entities are CRLF). */
static int crlf_copy(const char *s, size_t n, char **out, size_t *outlen)
{
    sg_buf b;
    sg_buf_init(&b, SG_MIME_MAX_OUT);
    if (sg_mime_to_crlf(s, n, &b) < 0 || (!b.data && sg_buf_append(&b, "", 0) < 0)) {
        sg_buf_free(&b);
        return -1;
    }
    *out = b.data ? b.data : strdup("");
    *outlen = b.len;
    return *out ? 0 : -1;
}

/* An envelope at least this large is decrypted into a file (issue 11). */
#define STREAM_MIN ((size_t)1 << 20)

/* s[0, n) has a line end that is a bare LF. Mapped pages behind the scan are given back. */
static bool bare_lf(const char *s, size_t n)
{
    const char *given = s, *end = s + n;
    for (const char *p = s; p < end;) {
        const char *lf = memchr(p, '\n', (size_t)(end - p));
        if (lf && (lf == s || lf[-1] != '\r'))
            return true;
        p = lf ? lf + 1 : end;
        if (p - given >= (1 << 20)) {
            sg_mapview_release(given, p);
            given = p;
        }
    }
    return false;
}

/* The text of m with every bare LF made CRLF, written into a new unnamed file in dir in
 * pieces (mapped pages given back behind the reader) and mapped; NULL on failure. */
static sg_mapview *crlf_file(const sg_mapview *m, const char *dir)
{
    int fd = sg_tmpfile(dir);
    if (fd < 0)
        return NULL;
    sg_buf b;
    sg_buf_init(&b, (4u << 20));
    char prev = 0;
    const size_t piece = (size_t)1 << 20;
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < m->len; off += piece) {
        size_t k = m->len - off < piece ? m->len - off : piece;
        rc = sg_crlf_piece(&prev, m->base + off, k, &b) < 0 || sg_write_all(fd, b.data, b.len) < 0 ? -1 : 0;
        memset(b.data, 0, b.len); /* plaintext */
        b.len = 0;
        sg_mapview_release(m->base + off, m->base + off + k);
    }
    sg_buf_free(&b);
    if (rc < 0) {
        close(fd);
        return NULL;
    }
    return sg_mapview_new(fd);
}

/* The decrypted file fd (closed here) as the inner entity (engine.h: CRLF): mapped, through a
 * converted copy in a second file when it has bare LF line ends (OpenSSL's tools write LF).
 * 0 or -1. */
static int file_inner(int fd, const char *dir, sg_layer *out)
{
    sg_mapview *m = sg_mapview_new(fd);
    if (!m)
        return -1;
    if (bare_lf(m->base, m->len)) {
        sg_mapview *c = crlf_file(m, dir);
        sg_mapview_free(m);
        if (!(m = c))
            return -1;
    }
    out->inner_map = m;
    out->inner = (char *)m->base;
    out->innerlen = m->len;
    return 0;
}

static int peel_encrypted(const sg_peel_req *req, const sg_mime_smime *s, sg_layer *out)
{
    if (!(out->readable = calloc(req->nrcpt ? req->nrcpt : 1, sizeof *out->readable)))
        return -1;
    /* Candidates: every held key of the recipients asked, with the recipient it belongs to. */
    char(*cands)[SG_CERT_FPR_LEN + 1] = NULL;
    size_t *owner = NULL, nc = 0, cap = 0;
    int rc = 0;
    for (size_t i = 0; E->cs && i < req->nrcpt && rc == 0; i++) {
        sg_cert_info *list = NULL;
        size_t n = 0;
        pthread_mutex_lock(E->lock);
        rc = sg_certstore_list(E->cs, req->rcpts[i], &list, &n);
        pthread_mutex_unlock(E->lock);
        for (size_t j = 0; rc == 0 && j < n; j++) {
            if (list[j].is_ca || !list[j].has_key)
                continue;
            if (nc == cap) {
                cap = cap ? cap * 2 : 8;
                void *c2 = realloc(cands, cap * sizeof *cands),
                     *o2 = c2 ? realloc(owner, cap * sizeof *owner) : NULL;
                if (c2)
                    cands = c2;
                if (!o2) {
                    rc = -1;
                    break;
                }
                owner = o2;
            }
            memcpy(cands[nc], list[j].fpr, SG_CERT_FPR_LEN + 1);
            owner[nc++] = i;
        }
        sg_certstore_free_list(list, n);
    }
    if (rc < 0)
        goto out;
    sg_smime_keys k = keys();
    sg_smime_decrypted d;
    size_t max = req->max_plain ? req->max_plain : SG_SMIME_MAX_DER;
    /* A large envelope is decrypted into an unnamed file (issue 11), used only after
     * CMS_decrypt succeeded (for AuthEnvelopedData: the GCM tag verified at the end). */
    int fd = req->tmpdir && s->derlen >= STREAM_MIN ? sg_tmpfile(req->tmpdir) : -1;
    if ((fd >= 0 ? sg_smime_decrypt_to_fd(&k, cands, nc, s->der, s->derlen, max, fd, &d)
                 : sg_smime_decrypt(&k, cands, nc, s->der, s->derlen, max, &d)) < 0) {
        rc = -1;
        goto out;
    }
    for (size_t c = 0; c < nc; c++)
        if (d.hits[c])
            out->readable[owner[c]] = true;
    out->dec = d.status;
    snprintf(out->reason, sizeof out->reason, "%s", d.reason);
    if (d.status == SG_DEC_OK && fd >= 0)
        rc = file_inner(fd, req->tmpdir, out);
    else if (d.status == SG_DEC_OK && crlf_copy(d.plain, d.plainlen, &out->inner, &out->innerlen) < 0)
        rc = -1;
    if (fd >= 0 && d.status != SG_DEC_OK) {
        /* Unverified plaintext: emptied (its cached pages dropped) and gone with the close. */
        if (ftruncate(fd, 0) < 0)
            sg_warn(req->qid, "event=smime-tmp-truncate-failed");
        close(fd);
    }
    sg_smime_decrypted_free(&d);
out:
    free(cands);
    free(owner);
    return rc;
}

static int peel_signed(const sg_peel_req *req, const sg_mime_smime *s, sg_layer *out)
{
    sg_buf data;
    sg_buf_init(&data, SG_MIME_MAX_OUT);
    /* RFC 8551 3.1.1: signed content is canonical (CRLF); transports may have made it LF.
     * Content that is CRLF already is verified where it lies (a large decrypted entity is a
     * mapped file, issue 11), not copied. */
    const char *content = NULL;
    size_t clen = 0;
    if (s->kind == SG_MIME_SMIME_CLEAR && !bare_lf(s->signed_data, s->signed_len)) {
        content = s->signed_data;
        clen = s->signed_len;
    } else if (s->kind == SG_MIME_SMIME_CLEAR) {
        if (sg_mime_to_crlf(s->signed_data, s->signed_len, &data) < 0) {
            sg_buf_free(&data);
            return -1;
        }
        content = data.data ? data.data : "";
        clen = data.len;
    }
    sg_smime_keys k = keys();
    sg_smime_verified v;
    size_t max = req->max_plain ? req->max_plain : SG_SMIME_MAX_DER;
    int rc = sg_smime_verify(&k, req->from, req->at ? req->at : time(NULL), s->der, s->derlen, content, clen,
                             max, &v);
    sg_buf_free(&data);
    if (rc < 0)
        return -1;
    /* A valid signature bound to From: keep the signer's certificate, the chain the message
     * carried and its capabilities, so replies can be encrypted (and with GCM when it says
     * so). Learned certificates stay untrusted until they validate (certstore.h). */
    if (v.v.sig == SG_SIG_VALID && v.v.from_match && req->from && v.chain) {
        pthread_mutex_lock(E->lock);
        int l = sg_certstore_learn(E->cs, v.chain, v.chainlen, req->from, v.caps, v.capslen, time(NULL), NULL);
        pthread_mutex_unlock(E->lock);
        if (l != 0)
            sg_warn(req->qid, "event=smime-learn-skipped from=<%s> result=%d", SG_LOG_TOK(req->from), l);
    }
    out->sig = v.v;
    out->signer_aead = v.signer_aead;
    out->signer_cert = v.chain;
    out->signer_certlen = v.chainlen;
    v.chain = NULL;
    if (v.content && crlf_copy(v.content, v.contentlen, &out->inner, &out->innerlen) < 0)
        rc = -1;
    sg_smime_verified_free(&v);
    return rc;
}

static int smime_peel(const sg_peel_req *req, const char *msg, size_t len, sg_layer *out)
{
    memset(out, 0, sizeof *out);
    sg_mime_smime s;
    if (sg_mime_smime_detect(msg, len, &s) < 0)
        return -1;
    int kind = layer_kind(&s), rc = 0;
    if (kind != SG_LAYER_NONE) {
        out->kind = kind;
        out->method = SG_METHOD_SMIME;
        if (!E || !E->cs) {
            /* No certificate store: the layer is reported, nothing can be opened. */
            out->dec = SG_DEC_NO_KEY;
            out->sig.sig = SG_SIG_INVALID;
            snprintf(kind == SG_LAYER_ENCRYPTED ? out->reason : out->sig.reason, sizeof out->reason,
                     "no-key");
            rc = kind == SG_LAYER_ENCRYPTED && !(out->readable = calloc(req->nrcpt ? req->nrcpt : 1, 1)) ? -1
                                                                                                         : 0;
        } else {
            rc = kind == SG_LAYER_ENCRYPTED ? peel_encrypted(req, &s, out) : peel_signed(req, &s, out);
        }
    }
    sg_mime_smime_free(&s);
    if (rc < 0)
        sg_layer_free(out);
    return rc;
}

/* The certificate a correspondent needs to encrypt to addr (else the one to verify addr's
 * signatures), DER, for {send_keys_smime}. */
static int smime_export_public(const char *addr, sg_buf *out)
{
    char fpr[SG_CERT_FPR_LEN + 1];
    int r = find_cert(addr, SG_CERT_ENCRYPT, false, fpr);
    if (r == 0)
        r = find_cert(addr, SG_CERT_SIGN, false, fpr);
    if (r != 1)
        return r;
    uint8_t *der = NULL;
    size_t len = 0;
    pthread_mutex_lock(E->lock);
    r = sg_certstore_export(E->cs, fpr, true, &der, &len);
    pthread_mutex_unlock(E->lock);
    if (r != 0)
        return -1;
    r = sg_buf_append(out, der, len) < 0 ? -1 : 1;
    free(der);
    return r;
}

const sg_engine sg_engine_smime = {
    .name = "smime",
    .method = SG_METHOD_SMIME,
    .init = smime_init,
    .can_encrypt_to = smime_can_encrypt_to,
    .can_sign_as = smime_can_sign_as,
    .can_make_signer = smime_can_make_signer,
    .protect = smime_protect,
    .protect_to_fd = smime_protect_to_fd,
    .detect = smime_detect,
    .peel = smime_peel,
    .export_public = smime_export_public,
};
