/* pgp_ops.c - sign+encrypt and decrypt+verify with librnp for the PGP/MIME transform (see
 * pgp_ops.h). Owner: src/engine (PGP/MIME).
 * SECURITY: all librnp contexts are in memory (never a home directory). Decryption and
 * verification build their own context per call and destroy it before returning, so a secret
 * unwrapped to decrypt lives for one message, and only candidates' secrets are reachable.
 * Sign+encrypt uses the calling thread's cached context (pgpcache.h): the signer's unwrapped
 * secret stays in that thread's memory until the keystore changes (generation), the key's
 * validity ends, the thread ends or sg_pgp_ops_cache_clear; librnp wipes it when the context
 * is destroyed. An RSA signer signs through OpenSSL (pgp_rsasign.h) only when librnp would
 * pick that same key (valid, allowed to sign). Secret key exports are wiped immediately after
 * librnp has imported them. Decrypted output is released to the caller only when the message
 * was integrity-protected (MDC or AEAD) and that protection verified; on any failure the
 * partial plaintext librnp wrote is wiped. */
#include "engine/pgp/pgp_ops.h"

#include <ctype.h>
#include <rnp/rnp.h>
#include <rnp/rnp_err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/pgp/pgpcache.h"
#include "lib/fsutil.h"
#include "lib/mapview.h"
#include "mime/mime_stream.h"

static rnp_ffi_t new_ffi(void)
{
    rnp_ffi_t ffi = NULL;
    return rnp_ffi_create(&ffi, "GPG", "GPG") == RNP_SUCCESS ? ffi : NULL;
}

static rnp_key_handle_t find(rnp_ffi_t ffi, const char *type, const char *id)
{
    rnp_key_handle_t h = NULL;
    if (rnp_locate_key(ffi, type, id, &h) != RNP_SUCCESS)
        return NULL;
    return h;
}

/* The primary fingerprint of key h (itself when it is a primary). 0 or -1. */
static int primary_fpr(rnp_key_handle_t h, char out[SG_PGP_FPR_LEN + 1])
{
    bool primary = false;
    char *s = NULL;
    if (rnp_key_is_primary(h, &primary) != RNP_SUCCESS)
        return -1;
    rnp_result_t r = primary ? rnp_key_get_fprint(h, &s) : rnp_key_get_primary_fprint(h, &s);
    if (r != RNP_SUCCESS || !s || strlen(s) != SG_PGP_FPR_LEN) {
        rnp_buffer_destroy(s);
        return -1;
    }
    memcpy(out, s, SG_PGP_FPR_LEN + 1);
    rnp_buffer_destroy(s);
    return 0;
}

/* The signed message for signer h when OpenSSL signs it (an RSA primary that librnp would pick
 * itself: valid and allowed to sign); *out NULL when librnp is to sign. 0 or -1. */
static int rsa_signed(rnp_key_handle_t h, const char *fpr, const char *data, size_t len, uint8_t **out,
                      size_t *outlen)
{
    sg_pgp_rsasigner *rs = sg_pgpcache_rsa(fpr);
    bool valid = false, sign = false;
    *out = NULL;
    if (!rs || rnp_key_is_valid(h, &valid) != RNP_SUCCESS || !valid ||
        rnp_key_allows_usage(h, "sign", &sign) != RNP_SUCCESS || !sign)
        return 0;
    return sg_pgp_rsasign_message(rs, data, len, out, outlen);
}

/* Encrypts in to o as sg_pgp_ops_encrypt describes, with signer (NULL: not signed) unless
 * presigned (in already holds the signed message). 0, or -1 with err. */
static int encrypt_io(const sg_pgp_ops_keys *k, rnp_ffi_t ffi, rnp_key_handle_t signer, const char *signer_fpr,
                      char (*rcpts)[SG_PGP_FPR_LEN + 1], size_t nrcpt, bool presigned, rnp_input_t in,
                      rnp_output_t o, char *err, size_t errlen)
{
    rnp_op_encrypt_t op = NULL;
    int rc = -1;
    if (rnp_op_encrypt_create(&op, ffi, in, o) != RNP_SUCCESS ||
        (presigned && rnp_op_encrypt_set_flags(op, RNP_ENCRYPT_NOWRAP) != RNP_SUCCESS)) {
        snprintf(err, errlen, "librnp setup");
        goto done;
    }
    for (size_t i = 0; i < nrcpt; i++) {
        rnp_key_handle_t h = NULL;
        if (sg_pgpcache_need(k, rcpts[i], false) < 0 || !(h = find(ffi, "fingerprint", rcpts[i])) ||
            rnp_op_encrypt_add_recipient(op, h) != RNP_SUCCESS) {
            rnp_key_handle_destroy(h);
            snprintf(err, errlen, "recipient key %s unusable", rcpts[i]);
            goto done;
        }
        rnp_key_handle_destroy(h);
    }
    if (signer && !presigned) {
        if (rnp_op_encrypt_add_signature(op, signer, NULL) != RNP_SUCCESS) {
            snprintf(err, errlen, "signing key %s unusable", signer_fpr);
            goto done;
        }
        rnp_op_encrypt_set_hash(op, "SHA256");
    }
    if (rnp_op_encrypt_set_cipher(op, "AES256") != RNP_SUCCESS ||
        rnp_op_encrypt_set_aead(op, "None") != RNP_SUCCESS ||
        /* Compression only when configured (docs/openpgp.md); a message an RSA key signed
         * through OpenSSL is already packets and stays as it is. */
        (k->compress > 0 && !presigned ? rnp_op_encrypt_set_compression(op, "ZLIB", k->compress)
                                       : rnp_op_encrypt_set_compression(op, "Uncompressed", 0)) != RNP_SUCCESS ||
        rnp_op_encrypt_set_armor(op, true) != RNP_SUCCESS) {
        snprintf(err, errlen, "librnp options");
        goto done;
    }
    rnp_result_t r = rnp_op_encrypt_execute(op);
    if (r != RNP_SUCCESS) {
        snprintf(err, errlen, "encryption failed: %s", rnp_result_to_string(r));
        goto done;
    }
    rc = 0;
done:
    rnp_op_encrypt_destroy(op);
    return rc;
}

int sg_pgp_ops_encrypt(const sg_pgp_ops_keys *k, const char *signer_fpr, char (*rcpts)[SG_PGP_FPR_LEN + 1],
                       size_t nrcpt, const char *data, size_t len, char **out, size_t *outlen, char *err,
                       size_t errlen)
{
    /* The keys come from this thread's cache (pgpcache.h): loaded once, not per message. */
    rnp_ffi_t ffi = sg_pgpcache_begin(k, nrcpt + (signer_fpr != NULL));
    rnp_key_handle_t signer = NULL;
    rnp_input_t in = NULL;
    rnp_output_t o = NULL;
    uint8_t *presigned = NULL;
    size_t plen = 0;
    int rc = -1;
    *out = NULL;
    if (!ffi) {
        snprintf(err, errlen, "librnp context or keystore generation unavailable");
        return -1;
    }
    if (signer_fpr &&
        (sg_pgpcache_need(k, signer_fpr, true) < 0 || !(signer = find(ffi, "fingerprint", signer_fpr)) ||
         rsa_signed(signer, signer_fpr, data, len, &presigned, &plen) < 0)) {
        snprintf(err, errlen, "signing key %s unusable", signer_fpr);
        goto done;
    }
    /* An RSA signature is already made (OpenSSL, pgp_rsasign.h): librnp encrypts the signed
     * message as it is instead of wrapping it into literal data again. */
    if (rnp_input_from_memory(&in, presigned ? presigned : (const uint8_t *)data, presigned ? plen : len,
                              false) != RNP_SUCCESS ||
        rnp_output_to_memory(&o, 0) != RNP_SUCCESS) {
        snprintf(err, errlen, "librnp setup");
        goto done;
    }
    if (encrypt_io(k, ffi, signer, signer_fpr, rcpts, nrcpt, presigned != NULL, in, o, err, errlen) < 0)
        goto done;
    uint8_t *buf = NULL;
    size_t blen = 0;
    if (rnp_output_memory_get_buf(o, &buf, &blen, false) != RNP_SUCCESS || !(*out = malloc(blen + 1))) {
        snprintf(err, errlen, "output");
        goto done;
    }
    memcpy(*out, buf, blen);
    (*out)[blen] = '\0';
    *outlen = blen;
    rc = 0;
done:
    rnp_output_destroy(o);
    rnp_input_destroy(in);
    rnp_key_handle_destroy(signer);
    free(presigned);
    return rc;
}

int sg_pgp_ops_encrypt_stream(const sg_pgp_ops_keys *k, const char *signer_fpr, char (*rcpts)[SG_PGP_FPR_LEN + 1],
                              size_t nrcpt, const sg_pgp_stream_io *io, char *err, size_t errlen)
{
    rnp_ffi_t ffi = sg_pgpcache_begin(k, nrcpt + (signer_fpr != NULL));
    rnp_key_handle_t signer = NULL;
    rnp_input_t in = NULL;
    rnp_output_t o = NULL;
    int rc = -1;
    if (!ffi) {
        snprintf(err, errlen, "librnp context or keystore generation unavailable");
        return -1;
    }
    if (signer_fpr &&
        (sg_pgpcache_need(k, signer_fpr, true) < 0 || !(signer = find(ffi, "fingerprint", signer_fpr)))) {
        snprintf(err, errlen, "signing key %s unusable", signer_fpr);
        goto done;
    }
    /* An RSA signer signs through OpenSSL over the whole message (rsa_signed): not a stream. */
    if (signer && sg_pgpcache_rsa(signer_fpr)) {
        rc = 1;
        goto done;
    }
    if (rnp_input_from_callback(&in, io->read, NULL, io->ctx) != RNP_SUCCESS ||
        rnp_output_to_callback(&o, io->write, NULL, io->ctx) != RNP_SUCCESS) {
        snprintf(err, errlen, "librnp setup");
        goto done;
    }
    rc = encrypt_io(k, ffi, signer, signer_fpr, rcpts, nrcpt, false, in, o, err, errlen);
    /* The armor's last line is written when the output is finished. */
    if (rnp_output_finish(o) != RNP_SUCCESS && rc == 0) {
        snprintf(err, errlen, "output");
        rc = -1;
    }
done:
    rnp_output_destroy(o);
    rnp_input_destroy(in);
    rnp_key_handle_destroy(signer);
    return rc;
}

/* ---- signatures ---- */

static bool uid_matches(rnp_key_handle_t primary, const char *from)
{
    size_t n = 0;
    if (!from || rnp_key_get_uid_count(primary, &n) != RNP_SUCCESS)
        return false;
    bool match = false;
    for (size_t i = 0; i < n && !match; i++) {
        rnp_uid_handle_t u = NULL;
        char *s = NULL;
        bool valid = false, revoked = false;
        if (rnp_key_get_uid_handle_at(primary, i, &u) != RNP_SUCCESS)
            continue;
        rnp_uid_is_valid(u, &valid);
        rnp_uid_is_revoked(u, &revoked);
        rnp_uid_handle_destroy(u);
        if (!valid || revoked || rnp_key_get_uid_at(primary, i, &s) != RNP_SUCCESS)
            continue;
        char *a = sg_pgp_uid_address(s);
        rnp_buffer_destroy(s);
        /* Both sides have lower-cased domains; local parts compare exactly. */
        match = a && strcmp(a, from) == 0;
        free(a);
    }
    return match;
}

/* Checks one signature; 1 valid, 0 not (reason set), fills signer when the key is known. */
static int check_sig(rnp_ffi_t ffi, rnp_op_verify_signature_t s, const char *from, sg_pgp_verdict *v,
                     char signer[SG_PGP_FPR_LEN + 1], const char **reason)
{
    rnp_result_t st = rnp_op_verify_signature_get_status(s);
    rnp_key_handle_t key = NULL, prim = NULL;
    signer[0] = '\0';
    if (st == RNP_ERROR_KEY_NOT_FOUND || rnp_op_verify_signature_get_key(s, &key) != RNP_SUCCESS || !key) {
        *reason = "unknown-key";
        return 0;
    }
    int ok = 0;
    if (primary_fpr(key, signer) < 0 || !(prim = find(ffi, "fingerprint", signer))) {
        *reason = "unknown-key";
        goto out;
    }
    if (st == RNP_ERROR_SIGNATURE_EXPIRED) {
        *reason = "expired";
        goto out;
    }
    if (st != RNP_SUCCESS) {
        *reason = "bad-signature";
        goto out;
    }
    /* Valid at signing time: the key existed then and its validity had not ended. */
    uint32_t created = 0, kcreated = 0;
    uint64_t till = 0;
    rnp_op_verify_signature_get_times(s, &created, NULL);
    if (rnp_key_get_creation(key, &kcreated) != RNP_SUCCESS ||
        rnp_key_valid_till64(key, &till) != RNP_SUCCESS || kcreated > created || till < created) {
        *reason = "key-invalid-at-signing";
        goto out;
    }
    v->from_match = uid_matches(prim, from);
    if (!v->from_match) {
        *reason = "from-mismatch";
        goto out;
    }
    ok = 1;
out:
    rnp_key_handle_destroy(prim);
    rnp_key_handle_destroy(key);
    return ok;
}

/* A signature counts only if it is good, by a key valid when it signed, and its signer's user
 * ID has the From address; the first such one makes the verdict valid. */
static void evaluate(rnp_ffi_t ffi, rnp_op_verify_t op, const char *from, sg_pgp_verdict *v)
{
    size_t n = 0;
    memset(v, 0, sizeof *v);
    if (rnp_op_verify_get_signature_count(op, &n) != RNP_SUCCESS || n == 0)
        return;
    const char *first_reason = NULL;
    char first_signer[SG_PGP_FPR_LEN + 1] = "";
    for (size_t i = 0; i < n; i++) {
        rnp_op_verify_signature_t s = NULL;
        if (rnp_op_verify_get_signature_at(op, i, &s) != RNP_SUCCESS)
            continue;
        char signer[SG_PGP_FPR_LEN + 1];
        const char *reason = NULL;
        v->from_match = false;
        if (check_sig(ffi, s, from, v, signer, &reason)) {
            v->sig = SG_SIG_VALID;
            memcpy(v->signer, signer, sizeof signer);
            v->reason[0] = '\0';
            return;
        }
        if (!first_reason) {
            first_reason = reason;
            memcpy(first_signer, signer, sizeof signer);
        }
    }
    v->sig = SG_SIG_INVALID;
    v->from_match = false;
    memcpy(v->signer, first_signer, sizeof first_signer);
    snprintf(v->reason, sizeof v->reason, "%s", first_reason ? first_reason : "error");
}

/* Public keys of every stored key bound to from, so signatures can be checked. */
static void load_sender_keys(const sg_pgp_ops_keys *k, rnp_ffi_t ffi, const char *from)
{
    if (!from)
        return;
    sg_pgp_key *keys = NULL;
    size_t n = 0;
    pthread_mutex_lock(k->lock);
    int rc = sg_keystore_list(k->ks, from, &keys, &n);
    pthread_mutex_unlock(k->lock);
    if (rc < 0)
        return;
    for (size_t i = 0; i < n && i < 16; i++)
        sg_pgpcache_load(k, ffi, keys[i].fpr, false);
    sg_keystore_free_list(keys, n);
}

/* ---- decryption ---- */

typedef struct provider {
    const sg_pgp_ops_keys *k;
    char (*cands)[SG_PGP_FPR_LEN + 1];
    size_t ncand;
    bool *loaded;
} provider;

/* librnp asks for a secret key it lacks: unwrap it from the keystore only when it belongs to
 * one of the candidates (keys of this message's internal recipients). */
static void provide(rnp_ffi_t ffi, void *ctx, const char *type, const char *id, bool secret)
{
    provider *p = ctx;
    if (!secret)
        return;
    rnp_key_handle_t h = find(ffi, type, id);
    char fpr[SG_PGP_FPR_LEN + 1];
    int got = h ? primary_fpr(h, fpr) : -1;
    rnp_key_handle_destroy(h);
    if (got < 0)
        return;
    for (size_t i = 0; i < p->ncand; i++) {
        if (strcasecmp(p->cands[i], fpr) == 0 && !p->loaded[i]) {
            p->loaded[i] = true;
            sg_pgpcache_load(p->k, ffi, fpr, true);
        }
    }
}

/* Which candidates the message is encrypted to (from its PKESK key IDs). */
static int collect_hits(rnp_ffi_t ffi, rnp_op_verify_t op, provider *p, sg_pgp_decrypted *res)
{
    size_t n = 0;
    rnp_op_verify_get_recipient_count(op, &n);
    if (!(res->hits = calloc(p->ncand ? p->ncand : 1, sizeof *res->hits)))
        return -1;
    for (size_t i = 0; i < n; i++) {
        rnp_recipient_handle_t r = NULL;
        char *keyid = NULL, fpr[SG_PGP_FPR_LEN + 1];
        if (rnp_op_verify_get_recipient_at(op, i, &r) != RNP_SUCCESS ||
            rnp_recipient_get_keyid(r, &keyid) != RNP_SUCCESS)
            continue;
        rnp_key_handle_t h = find(ffi, "keyid", keyid);
        rnp_buffer_destroy(keyid);
        int got = h ? primary_fpr(h, fpr) : -1;
        rnp_key_handle_destroy(h);
        if (got < 0)
            continue;
        for (size_t c = 0; c < p->ncand; c++) {
            bool dup = false;
            for (size_t j = 0; j < res->nhits; j++)
                dup = dup || strcmp(res->hits[j], p->cands[c]) == 0;
            if (!dup && strcasecmp(p->cands[c], fpr) == 0)
                memcpy(res->hits[res->nhits++], p->cands[c], SG_PGP_FPR_LEN + 1);
        }
    }
    return 0;
}

/* How one decryption ended, by the rules below: res->status and reason; true when the plaintext
 * may be released. olen: what librnp wrote (max_plain when it was stopped at the limit). */
static bool judge(rnp_result_t r, const char *mode, bool valid, bool used, size_t olen, size_t max_plain,
                  sg_pgp_decrypted *res)
{
    if (mode && strcmp(mode, "cfb") == 0) {
        /* EFAIL: without an MDC the ciphertext may have been modified to exfiltrate the
         * plaintext; nothing of it may leave, whatever librnp returned. */
        res->status = SG_DEC_NO_INTEGRITY;
        snprintf(res->reason, sizeof res->reason, "no-integrity-protection");
    } else if (r != RNP_SUCCESS && used && max_plain && olen + 65536 >= max_plain) {
        /* librnp stopped at the output limit (it writes in chunks, hence the margin). */
        res->status = SG_DEC_TOO_LARGE;
        snprintf(res->reason, sizeof res->reason, "plaintext-too-large");
    } else if (r != RNP_SUCCESS && used) {
        /* The session key was recovered yet the message failed: a failed MDC/AEAD check or
         * a corrupted stream. Treated like missing integrity protection. */
        res->status = SG_DEC_NO_INTEGRITY;
        snprintf(res->reason, sizeof res->reason, "integrity-check-failed");
    } else if (r != RNP_SUCCESS) {
        res->status = res->nhits == 0 ? SG_DEC_NO_KEY : SG_DEC_FAILED;
        snprintf(res->reason, sizeof res->reason, "%s", res->nhits == 0 ? "no-key" : "decryption-error");
    } else if (!mode || strcmp(mode, "none") == 0) {
        res->status = SG_DEC_FAILED;
        snprintf(res->reason, sizeof res->reason, "not-encrypted");
    } else if (!valid) {
        res->status = SG_DEC_NO_INTEGRITY;
        snprintf(res->reason, sizeof res->reason, "integrity-check-failed");
    } else {
        res->status = SG_DEC_OK;
        return true;
    }
    return false;
}

/* Decrypts from in to o and judges the result (res: status, hits, and the verdict when the
 * plaintext may be released). olen(ctx): the plaintext written so far. 0, -1 on ENOMEM. */
static int decrypt_io(const sg_pgp_ops_keys *k, char (*cands)[SG_PGP_FPR_LEN + 1], size_t ncand,
                      const char *from_addr, rnp_input_t in, rnp_output_t o, size_t max_plain,
                      size_t (*olen)(void *ctx), void *ctx, sg_pgp_decrypted *res)
{
    memset(res, 0, sizeof *res);
    res->status = SG_DEC_FAILED;
    rnp_ffi_t ffi = new_ffi();
    rnp_op_verify_t op = NULL;
    char *mode = NULL;
    bool *loaded = calloc(ncand ? ncand : 1, sizeof *loaded);
    provider p = {.k = k, .cands = cands, .ncand = ncand, .loaded = loaded};
    int rc = -1;
    if (!ffi || !loaded)
        goto done;
    /* Public halves first, so librnp can map PKESK key IDs (of subkeys) to our keys. */
    for (size_t i = 0; i < ncand; i++)
        sg_pgpcache_load(k, ffi, cands[i], false);
    load_sender_keys(k, ffi, from_addr);
    rnp_ffi_set_key_provider(ffi, provide, &p);
    if (!in || !o || rnp_op_verify_create(&op, ffi, in, o) != RNP_SUCCESS)
        goto done;
    /* Decryption must succeed on its own; signatures are judged below, not by librnp's
     * all-or-nothing result. */
    rnp_op_verify_set_flags(op, RNP_VERIFY_IGNORE_SIGS_ON_DECRYPT);
    rnp_result_t r = rnp_op_verify_execute(op);
    bool valid = false;
    rnp_recipient_handle_t used = NULL;
    rnp_op_verify_get_protection_info(op, &mode, NULL, &valid);
    rnp_op_verify_get_used_recipient(op, &used);
    if (collect_hits(ffi, op, &p, res) < 0)
        goto done;
    rc = 0;
    if (judge(r, mode, valid, used != NULL, olen(ctx), max_plain, res))
        evaluate(ffi, op, from_addr, &res->v);
done:
    rnp_buffer_destroy(mode);
    rnp_op_verify_destroy(op);
    rnp_ffi_destroy(ffi);
    free(loaded);
    if (rc < 0)
        sg_pgp_decrypted_free(res);
    return rc;
}

static size_t memory_len(void *ctx)
{
    uint8_t *buf = NULL;
    size_t blen = 0;
    return rnp_output_memory_get_buf(ctx, &buf, &blen, false) == RNP_SUCCESS ? blen : 0;
}

int sg_pgp_ops_decrypt(const sg_pgp_ops_keys *k, char (*cands)[SG_PGP_FPR_LEN + 1], size_t ncand,
                       const char *from_addr, const char *cipher, size_t clen, size_t max_plain,
                       sg_pgp_decrypted *res)
{
    rnp_input_t in = NULL;
    rnp_output_t o = NULL;
    if (rnp_input_from_memory(&in, (const uint8_t *)cipher, clen, false) != RNP_SUCCESS)
        in = NULL;
    if (rnp_output_to_memory(&o, max_plain) != RNP_SUCCESS)
        o = NULL;
    int rc = decrypt_io(k, cands, ncand, from_addr, in, o, max_plain, memory_len, o, res);
    uint8_t *buf = NULL;
    size_t blen = 0;
    if (o && rnp_output_memory_get_buf(o, &buf, &blen, false) != RNP_SUCCESS)
        buf = NULL;
    if (rc == 0 && res->status == SG_DEC_OK) {
        if (!buf && blen) {
            rc = -1;
        } else if ((res->plain = malloc(blen + 1))) {
            if (blen)
                memcpy(res->plain, buf, blen);
            res->plain[blen] = '\0';
            res->plainlen = blen;
        } else {
            rc = -1;
        }
    }
    /* Whatever librnp wrote (all of it when it failed) stays unreleased: wipe it. */
    if (buf)
        rnp_buffer_clear(buf, blen);
    rnp_output_destroy(o);
    rnp_input_destroy(in);
    if (rc < 0)
        sg_pgp_decrypted_free(res);
    return rc;
}

/* ---- decryption in pieces (issue 11) ---- */

#define GIVE_BACK ((size_t)1 << 20) /* mapped input pages are given back behind this much */
#define FLUSH_AT ((size_t)256 << 10)

typedef struct fdsink {
    const char *in; /* the ciphertext (perhaps in a mapped file) */
    size_t inlen, pos, given;
    int fd;
    sg_buf buf; /* plaintext with CRLF line ends, waiting to be written */
    char prev;  /* the last plaintext byte so far (sg_crlf_piece) */
    size_t n, max;
    bool over, failed;
} fdsink;

static bool sink_read(void *ctx, void *buf, size_t len, size_t *got)
{
    fdsink *s = ctx;
    size_t k = s->inlen - s->pos < len ? s->inlen - s->pos : len;
    memcpy(buf, s->in + s->pos, k);
    s->pos += k;
    *got = k;
    if (s->pos - s->given >= GIVE_BACK) {
        sg_mapview_release(s->in + s->given, s->in + s->pos);
        s->given = s->pos;
    }
    return true;
}

static bool sink_flush(fdsink *s)
{
    if (s->buf.len && sg_write_all(s->fd, s->buf.data, s->buf.len) < 0)
        s->failed = true;
    if (s->buf.data)
        memset(s->buf.data, 0, s->buf.len);
    s->buf.len = 0;
    return !s->failed;
}

static bool sink_write(void *ctx, const void *buf, size_t len)
{
    fdsink *s = ctx;
    if (s->failed || s->over)
        return false;
    if (len > s->max - s->n) {
        s->over = true; /* a compressed bomb: stopped here, judged too large */
        return false;
    }
    s->n += len;
    if (sg_crlf_piece(&s->prev, buf, len, &s->buf) < 0)
        s->failed = true;
    return !s->failed && (s->buf.len < FLUSH_AT || sink_flush(s));
}

static size_t sink_len(void *ctx)
{
    const fdsink *s = ctx;
    return s->over ? s->max : s->n;
}

int sg_pgp_ops_decrypt_to_fd(const sg_pgp_ops_keys *k, char (*cands)[SG_PGP_FPR_LEN + 1], size_t ncand,
                             const char *from_addr, const char *cipher, size_t clen, size_t max_plain, int fd,
                             sg_pgp_decrypted *res)
{
    fdsink s = {.in = cipher, .inlen = clen, .fd = fd, .max = max_plain ? max_plain : SIZE_MAX};
    sg_buf_init(&s.buf, FLUSH_AT * 2 + 65536);
    rnp_input_t in = NULL;
    rnp_output_t o = NULL;
    if (rnp_input_from_callback(&in, sink_read, NULL, &s) != RNP_SUCCESS)
        in = NULL;
    if (rnp_output_to_callback(&o, sink_write, NULL, &s) != RNP_SUCCESS)
        o = NULL;
    int rc = decrypt_io(k, cands, ncand, from_addr, in, o, max_plain, sink_len, &s, res);
    rnp_output_destroy(o);
    rnp_input_destroy(in);
    if (rc == 0 && res->status == SG_DEC_OK && (!sink_flush(&s) || s.failed)) {
        sg_pgp_decrypted_free(res);
        rc = -1; /* the file is incomplete: nothing of it counts */
    }
    if (s.buf.data)
        memset(s.buf.data, 0, s.buf.len);
    sg_buf_free(&s.buf);
    if (s.pos > s.given)
        sg_mapview_release(s.in + s.given, s.in + s.pos);
    if (rc == 0)
        res->plainlen = s.n;
    return rc;
}

void sg_pgp_decrypted_free(sg_pgp_decrypted *res)
{
    free(res->plain);
    free(res->hits);
    res->plain = NULL;
    res->hits = NULL;
    res->nhits = 0;
}

int sg_pgp_ops_verify_detached(const sg_pgp_ops_keys *k, const char *from_addr, const char *data, size_t len,
                               const char *sig, size_t siglen, sg_pgp_verdict *v)
{
    memset(v, 0, sizeof *v);
    rnp_ffi_t ffi = new_ffi();
    rnp_input_t din = NULL, sin = NULL;
    rnp_op_verify_t op = NULL;
    int rc = -1;
    if (!ffi)
        return -1;
    load_sender_keys(k, ffi, from_addr);
    if (rnp_input_from_memory(&din, (const uint8_t *)data, len, false) == RNP_SUCCESS &&
        rnp_input_from_memory(&sin, (const uint8_t *)sig, siglen, false) == RNP_SUCCESS &&
        rnp_op_verify_detached_create(&op, ffi, din, sin) == RNP_SUCCESS) {
        rnp_op_verify_execute(op); /* the per-signature results are what counts */
        evaluate(ffi, op, from_addr, v);
        if (v->sig == SG_SIG_NONE) {
            v->sig = SG_SIG_INVALID;
            snprintf(v->reason, sizeof v->reason, "no-signature");
        }
        rc = 0;
    }
    rnp_op_verify_destroy(op);
    rnp_input_destroy(sin);
    rnp_input_destroy(din);
    rnp_ffi_destroy(ffi);
    return rc;
}

/* ---- added for the engine interface: detached signing (multipart/signed), cleartext signing
 * (inline output) and verification of signed-only OpenPGP data (inline PGP) ---- */

/* The bytes librnp wrote to o, as a malloc'd NUL-terminated copy. 0 or -1. */
static int take_output(rnp_output_t o, char **out, size_t *outlen)
{
    uint8_t *buf = NULL;
    size_t blen = 0;
    if (rnp_output_memory_get_buf(o, &buf, &blen, false) != RNP_SUCCESS || !(*out = malloc(blen + 1)))
        return -1;
    memcpy(*out, buf, blen);
    (*out)[blen] = '\0';
    *outlen = blen;
    return 0;
}

int sg_pgp_ops_sign(const sg_pgp_ops_keys *k, const char *signer_fpr, bool cleartext, const char *data,
                    size_t len, char **out, size_t *outlen, char *err, size_t errlen)
{
    /* Signing keys come from this thread's cache (pgpcache.h), as for sign+encrypt: with the
     * default policy most outgoing mail is signed only. */
    rnp_ffi_t ffi = sg_pgpcache_begin(k, 1);
    rnp_input_t in = NULL;
    rnp_output_t o = NULL;
    rnp_op_sign_t op = NULL;
    rnp_key_handle_t h = NULL;
    int rc = -1;
    *out = NULL;
    if (!ffi) {
        snprintf(err, errlen, "librnp context");
        return -1;
    }
    if (rnp_input_from_memory(&in, (const uint8_t *)data, len, false) != RNP_SUCCESS ||
        rnp_output_to_memory(&o, 0) != RNP_SUCCESS ||
        (cleartext ? rnp_op_sign_cleartext_create(&op, ffi, in, o) : rnp_op_sign_detached_create(&op, ffi, in, o)) !=
            RNP_SUCCESS) {
        snprintf(err, errlen, "librnp setup");
        goto done;
    }
    if (sg_pgpcache_need(k, signer_fpr, true) < 0 || !(h = find(ffi, "fingerprint", signer_fpr)) ||
        rnp_op_sign_add_signature(op, h, NULL) != RNP_SUCCESS) {
        snprintf(err, errlen, "signing key %s unusable", signer_fpr);
        goto done;
    }
    /* SHA-256 is what the multipart/signed header announces (micalg=pgp-sha256). */
    if (rnp_op_sign_set_hash(op, "SHA256") != RNP_SUCCESS || rnp_op_sign_set_armor(op, true) != RNP_SUCCESS) {
        snprintf(err, errlen, "librnp options");
        goto done;
    }
    rnp_result_t r = rnp_op_sign_execute(op);
    if (r != RNP_SUCCESS) {
        snprintf(err, errlen, "signing failed: %s", rnp_result_to_string(r));
        goto done;
    }
    if (take_output(o, out, outlen) < 0) {
        snprintf(err, errlen, "output");
        goto done;
    }
    rc = 0;
done:
    rnp_key_handle_destroy(h);
    rnp_op_sign_destroy(op);
    rnp_output_destroy(o);
    rnp_input_destroy(in);
    return rc;
}

int sg_pgp_ops_verify_inline(const sg_pgp_ops_keys *k, const char *from_addr, const char *data, size_t len,
                             size_t max_plain, char **text, size_t *textlen, sg_pgp_verdict *v)
{
    memset(v, 0, sizeof *v);
    *text = NULL;
    *textlen = 0;
    rnp_ffi_t ffi = new_ffi();
    rnp_input_t in = NULL;
    rnp_output_t o = NULL;
    rnp_op_verify_t op = NULL;
    char *mode = NULL;
    int rc = -1;
    if (!ffi)
        return -1;
    load_sender_keys(k, ffi, from_addr);
    if (rnp_input_from_memory(&in, (const uint8_t *)data, len, false) != RNP_SUCCESS ||
        rnp_output_to_memory(&o, max_plain) != RNP_SUCCESS || rnp_op_verify_create(&op, ffi, in, o) != RNP_SUCCESS)
        goto done;
    rnp_result_t r = rnp_op_verify_execute(op);
    rnp_op_verify_get_protection_info(op, &mode, NULL, NULL);
    size_t nsig = 0;
    rnp_op_verify_get_signature_count(op, &nsig);
    rc = 0;
    if (!mode || strcmp(mode, "none") != 0 || nsig == 0) {
        /* Encrypted data is for sg_pgp_ops_decrypt; data without signatures proves nothing. */
        v->sig = SG_SIG_INVALID;
        snprintf(v->reason, sizeof v->reason, "%s", nsig == 0 ? "no-signature" : "encrypted");
        goto done;
    }
    /* The signed text is released even when a signature is bad: it was never secret, and the
     * verdict says what it is worth. A broken stream (r != success with no output) is not. */
    if (take_output(o, text, textlen) < 0) {
        rc = -1;
        goto done;
    }
    evaluate(ffi, op, from_addr, v);
    if (v->sig == SG_SIG_NONE || (r != RNP_SUCCESS && v->sig != SG_SIG_INVALID)) {
        v->sig = SG_SIG_INVALID;
        snprintf(v->reason, sizeof v->reason, "%s", r != RNP_SUCCESS ? "bad-signature" : "no-signature");
    }
done:
    rnp_buffer_destroy(mode);
    rnp_op_verify_destroy(op);
    rnp_output_destroy(o);
    rnp_input_destroy(in);
    rnp_ffi_destroy(ffi);
    return rc;
}
