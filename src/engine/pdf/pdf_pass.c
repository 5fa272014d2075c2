/* pdf_pass.c - the pdf method's passwords per (sender, recipient) pair: made by the CSPRNG,
 * wrapped by the KEK in the store, reused for later mail (pdf_pass.h). Owner: src/engine/pdf.
 * SECURITY: see pdf_pass.h. Every store call is made with env->lock held; the argon2id hash
 * (64 MiB, a fraction of a second) is computed outside it. */
#include <argon2.h>
#include <ctype.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/kek.h"
#include "engine/pdf/pdf_pass.h"
#include "store/pdfpass_rows.h"

#define ARGON_T 3
#define ARGON_M_KIB 65536

int sg_pdf_password_new(char pw[SG_PDF_PASS_LEN + 1])
{
    static const char alpha[] = SG_PDF_PASS_ALPHABET;
    const unsigned n = sizeof alpha - 1, limit = 256 - 256 % n; /* no modulo bias */
    size_t got = 0;
    while (got < SG_PDF_PASS_LEN) {
        unsigned char r[32];
        if (RAND_bytes(r, sizeof r) != 1)
            return -1;
        for (size_t i = 0; i < sizeof r && got < SG_PDF_PASS_LEN; i++)
            if (r[i] < limit)
                pw[got++] = alpha[r[i] % n];
        OPENSSL_cleanse(r, sizeof r);
    }
    pw[SG_PDF_PASS_LEN] = '\0';
    return 0;
}

int sg_pdf_password_verifier(const char *pw, char *out, size_t outlen)
{
    unsigned char salt[16];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return -1;
    return argon2id_hash_encoded(ARGON_T, ARGON_M_KIB, 1, pw, strlen(pw), salt, sizeof salt, 32, out, outlen) ==
                   ARGON2_OK
               ? 0
               : -1;
}

static void lower(const char *in, char *out, size_t n)
{
    size_t i = 0;
    for (; in && in[i] && i + 1 < n; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

/* The AAD that binds a wrapped password to its pair. */
static void aad_of(const char *sender, const char *rcpt, char *out, size_t n)
{
    snprintf(out, n, "pdf-password:%s|%s", sender, rcpt);
}

/* Reads and unwraps the pair's password: 0 into pw, 1 none, -1. */
static int read_pw(const sg_engine_env *env, const char *kek_path, const char *s, const char *r, char *pw,
                   char *err, size_t errlen)
{
    sg_pdfpass_row row;
    pthread_mutex_lock(env->lock);
    int rc = sg_store_pdfpass_get(env->st, s, r, true, &row);
    if (rc < 0)
        snprintf(err, errlen, "store: %s", sg_store_error(env->st));
    pthread_mutex_unlock(env->lock);
    if (rc != 0)
        return rc;
    char aad[700];
    aad_of(s, r, aad, sizeof aad);
    sg_kek kek;
    uint8_t *plain = NULL;
    size_t plen = 0;
    rc = -1;
    if (sg_kek_load(kek_path, &kek) < 0)
        snprintf(err, errlen, "cannot load the key-encryption key");
    else if (sg_kek_unwrap_fresh(&kek, kek_path, aad, row.wrapped, row.wrapped_len, &plain, &plen) < 0)
        snprintf(err, errlen, "the stored pdf password of %s does not unwrap", r);
    else if (plen != SG_PDF_PASS_LEN)
        snprintf(err, errlen, "the stored pdf password of %s has a wrong length", r);
    else {
        memcpy(pw, plain, plen);
        pw[plen] = '\0';
        rc = 0;
    }
    if (plain)
        sg_kek_free_plain(plain, plen);
    sg_kek_wipe(&kek);
    sg_pdfpass_row_free(&row);
    return rc;
}

int sg_pdf_password(const sg_engine_env *env, const char *sender, const char *rcpt, char pw[SG_PDF_PASS_LEN + 1],
                    bool *created, char *err, size_t errlen)
{
    char s[320], r[320], kek_path[PATH_MAX];
    lower(sender, s, sizeof s);
    lower(rcpt, r, sizeof r);
    sg_kek_path(env->cfg->base_dir, kek_path, sizeof kek_path);
    *created = false;
    int rc = read_pw(env, kek_path, s, r, pw, err, errlen);
    if (rc <= 0)
        return rc;
    /* None yet: make one, wrap it, store it; a worker that raced us and won gives us its own. */
    char verifier[256], aad[700];
    sg_kek kek;
    uint8_t *wrapped = NULL;
    size_t wlen = 0;
    aad_of(s, r, aad, sizeof aad);
    if (sg_pdf_password_new(pw) < 0 || sg_pdf_password_verifier(pw, verifier, sizeof verifier) < 0) {
        snprintf(err, errlen, "cannot make a pdf password (random source or argon2)");
        return -1;
    }
    if (sg_kek_load(kek_path, &kek) < 0 || sg_kek_wrap(&kek, aad, (const uint8_t *)pw, SG_PDF_PASS_LEN, &wrapped,
                                                       &wlen) < 0) {
        sg_kek_wipe(&kek);
        snprintf(err, errlen, "cannot wrap the pdf password with the key-encryption key");
        return -1;
    }
    sg_kek_wipe(&kek);
    sg_pdfpass_row row = {.wrapped = wrapped, .wrapped_len = wlen, .verifier = verifier, .created = time(NULL)};
    pthread_mutex_lock(env->lock);
    rc = sg_store_pdfpass_add(env->st, s, r, &row);
    if (rc < 0)
        snprintf(err, errlen, "store: %s", sg_store_error(env->st));
    pthread_mutex_unlock(env->lock);
    free(wrapped);
    if (rc == 0) {
        *created = true;
        return 0;
    }
    OPENSSL_cleanse(pw, SG_PDF_PASS_LEN);
    return rc < 0 ? -1 : read_pw(env, kek_path, s, r, pw, err, errlen) == 0 ? 0 : -1;
}

int sg_pdf_password_forget(const sg_engine_env *env, const char *sender, const char *rcpt)
{
    char s[320], r[320];
    lower(sender, s, sizeof s);
    lower(rcpt, r, sizeof r);
    pthread_mutex_lock(env->lock);
    int rc = sg_store_pdfpass_delete(env->st, s, r);
    pthread_mutex_unlock(env->lock);
    return rc;
}
