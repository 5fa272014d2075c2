/* kekfile.c - the passphrase-wrapped KEK file (format in kekfile.h). Owner: src/crypto.
 * SECURITY: the derived key and the decrypted KEK are wiped on every path; a failing tag never
 * yields key bytes; parsing checks every bound before the KDF runs. */
#include "crypto/kekfile.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

enum {
    OFF_VERSION = 8,
    OFF_KDF = 9,
    OFF_T = 12,
    OFF_M = 16,
    OFF_P = 20,
    OFF_SALT = 24,
    SALT_LEN = 16,
    OFF_NONCE = 40,
    OFF_CT = 52,
    OFF_TAG = 84,
    OFF_SHA = 100,
    VERSION = 1,
    KDF_ARGON2ID = 1,
};

const sg_kekfile_params sg_kekfile_default = {3, 65536, 1};

const char *sg_kekfile_status_text(sg_kekfile_status st)
{
    switch (st) {
    case SG_KEKFILE_OK:
        return "ok";
    case SG_KEKFILE_TRUNCATED:
        return "truncated or padded: not the length of a KEK file";
    case SG_KEKFILE_NOT_KEKFILE:
        return "not a sealgate KEK file (bad magic)";
    case SG_KEKFILE_VERSION:
        return "a KEK file version or KDF this sealgate does not know";
    case SG_KEKFILE_PARAMS:
        return "argon2 parameters outside the accepted bounds";
    case SG_KEKFILE_CORRUPT:
        return "corrupt: its checksum does not match (damaged, not a passphrase problem)";
    case SG_KEKFILE_PASSPHRASE:
        return "wrong passphrase (the file is intact)";
    case SG_KEKFILE_ERROR:
        break;
    }
    return "internal error (key derivation or cipher)";
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Bounds: argon2's own minimums, and maxima a restore on a small machine can afford. */
static int params_ok(const sg_kekfile_params *p)
{
    return p->t_cost >= 1 && p->t_cost <= 16 && p->parallelism >= 1 && p->parallelism <= 16 &&
           p->m_cost_kib >= 8 * p->parallelism && p->m_cost_kib <= 1048576;
}

static int derive(const char *pass, size_t passlen, const uint8_t *salt, const sg_kekfile_params *p,
                  uint8_t key[32])
{
    return argon2id_hash_raw(p->t_cost, p->m_cost_kib, p->parallelism, pass, passlen, salt, SALT_LEN, key,
                             32) == ARGON2_OK
               ? 0
               : -1;
}

static int sha(const uint8_t *in, size_t len, uint8_t out[32])
{
    unsigned int n = 0;
    return EVP_Digest(in, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

int sg_kekfile_seal(const sg_kek *kek, const char *pass, size_t passlen, const sg_kekfile_params *params,
                    uint8_t out[SG_KEKFILE_LEN])
{
    if (!params_ok(params))
        return -1;
    memset(out, 0, SG_KEKFILE_LEN);
    memcpy(out, SG_KEKFILE_MAGIC, 8);
    out[OFF_VERSION] = VERSION;
    out[OFF_KDF] = KDF_ARGON2ID;
    put32(out + OFF_T, params->t_cost);
    put32(out + OFF_M, params->m_cost_kib);
    put32(out + OFF_P, params->parallelism);
    uint8_t key[32];
    if (RAND_bytes(out + OFF_SALT, SALT_LEN) != 1 || RAND_bytes(out + OFF_NONCE, SG_KEK_NONCE_LEN) != 1 ||
        derive(pass, passlen, out + OFF_SALT, params, key) < 0)
        return -1;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0,
        ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, out + OFF_NONCE) == 1 &&
             EVP_EncryptUpdate(c, NULL, &n, out, OFF_CT) == 1 &&
             EVP_EncryptUpdate(c, out + OFF_CT, &n, kek->key, SG_KEK_LEN) == 1 &&
             EVP_EncryptFinal_ex(c, out + OFF_CT + n, &fin) == 1 && n + fin == SG_KEK_LEN &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SG_KEK_TAG_LEN, out + OFF_TAG) == 1 &&
             sha(out, OFF_SHA, out + OFF_SHA) == 0;
    EVP_CIPHER_CTX_free(c);
    OPENSSL_cleanse(key, sizeof key);
    return ok ? 0 : -1;
}

sg_kekfile_status sg_kekfile_parse(const uint8_t *in, size_t len, sg_kekfile_params *params)
{
    /* The magic is checked first so that "not a KEK file" is said of any file that is not one,
     * whatever its length; then the length, so a truncated file is named as such. */
    if (len < 8 || memcmp(in, SG_KEKFILE_MAGIC, 8) != 0)
        return len < 8 && memcmp(in, SG_KEKFILE_MAGIC, len) == 0 ? SG_KEKFILE_TRUNCATED
                                                                 : SG_KEKFILE_NOT_KEKFILE;
    if (len != SG_KEKFILE_LEN)
        return SG_KEKFILE_TRUNCATED;
    uint8_t d[32];
    if (sha(in, OFF_SHA, d) < 0)
        return SG_KEKFILE_ERROR;
    if (CRYPTO_memcmp(d, in + OFF_SHA, 32) != 0)
        return SG_KEKFILE_CORRUPT;
    if (in[OFF_VERSION] != VERSION || in[OFF_KDF] != KDF_ARGON2ID || in[10] || in[11])
        return SG_KEKFILE_VERSION;
    params->t_cost = get32(in + OFF_T);
    params->m_cost_kib = get32(in + OFF_M);
    params->parallelism = get32(in + OFF_P);
    return params_ok(params) ? SG_KEKFILE_OK : SG_KEKFILE_PARAMS;
}

sg_kekfile_status sg_kekfile_open(const uint8_t *in, size_t len, const char *pass, size_t passlen,
                                  sg_kek *kek)
{
    sg_kekfile_params p;
    sg_kekfile_status st = sg_kekfile_parse(in, len, &p);
    if (st != SG_KEKFILE_OK)
        return st;
    uint8_t key[32], tag[SG_KEK_TAG_LEN];
    if (derive(pass, passlen, in + OFF_SALT, &p, key) < 0)
        return SG_KEKFILE_ERROR;
    memcpy(tag, in + OFF_TAG, sizeof tag);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0,
        ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, in + OFF_NONCE) == 1 &&
             EVP_DecryptUpdate(c, NULL, &n, in, OFF_CT) == 1 &&
             EVP_DecryptUpdate(c, kek->key, &n, in + OFF_CT, SG_KEK_LEN) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SG_KEK_TAG_LEN, tag) == 1;
    int tag_ok = ok && EVP_DecryptFinal_ex(c, kek->key + n, &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    OPENSSL_cleanse(key, sizeof key);
    if (!tag_ok) {
        sg_kek_wipe(kek);
        return ok ? SG_KEKFILE_PASSPHRASE : SG_KEKFILE_ERROR;
    }
    return SG_KEKFILE_OK;
}
