/* pgp_rsasign.c - OpenPGP signed messages with an RSA key through OpenSSL (see pgp_rsasign.h).
 * Owner: src/crypto (PGP/MIME). Packet formats: RFC 4880 5.2.3 (v4 signature), 5.2.4 (hashing
 * a binary document), 5.4 (one-pass signature), 5.5.3 (secret key packet), 5.9 (literal data),
 * 12.2 (v4 fingerprint). librnp parses and verifies the result in the tests, gpg and sqop in the
 * integration tests, so nothing here is trusted beyond producing bytes. */
#include "crypto/pgp_rsasign.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/pgp_packet.h"

enum { ALG_RSA = 1, ALG_RSA_SIGN = 3, HASH_SHA256 = 8, SIG_BINARY = 0x00, TAG_SECKEY = 5 };

struct sg_pgp_rsasigner {
    EVP_PKEY *key;
    uint8_t fpr[20];
    size_t modlen; /* bytes of n: no signature is longer */
    uint8_t alg;   /* the key's algorithm (RSA, or RSA sign-only), named in the packets */
};

void sg_pgp_rsasigner_free(sg_pgp_rsasigner *s)
{
    if (!s)
        return;
    EVP_PKEY_free(s->key);
    free(s);
}

/* OpenSSL's key from OpenPGP's n, e, d, p, q, u (u = p^-1 mod q). OpenSSL's coefficient is
 * factor2^-1 mod factor1, so OpenPGP's q is passed as factor1 and p as factor2: then u is
 * exactly that coefficient, and only the two CRT exponents need computing. */
static EVP_PKEY *make_key(BIGNUM *const v[6])
{
    BIGNUM *n = v[0], *e = v[1], *d = v[2], *p = v[3], *q = v[4], *u = v[5];
    BN_CTX *bc = BN_CTX_new();
    BIGNUM *dq = BN_secure_new(), *dp = BN_secure_new(), *t = BN_new();
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *par = NULL;
    EVP_PKEY_CTX *c = NULL, *chk = NULL;
    EVP_PKEY *k = NULL;
    BN_set_flags(d, BN_FLG_CONSTTIME);
    int ok = bc && dq && dp && t && b && BN_sub(t, q, BN_value_one()) && BN_mod(dq, d, t, bc) &&
             BN_sub(t, p, BN_value_one()) && BN_mod(dp, d, t, bc) &&
             OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) &&
             OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e) &&
             OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_D, d) &&
             OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR1, q) &&
             OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR2, p) &&
             OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT1, dq) &&
             OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT2, dp) &&
             OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, u) &&
             (par = OSSL_PARAM_BLD_to_param(b)) && (c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) &&
             EVP_PKEY_fromdata_init(c) == 1 && EVP_PKEY_fromdata(c, &k, EVP_PKEY_KEYPAIR, par) == 1;
    /* n = pq, de = 1 mod lcm(p-1, q-1), the CRT values agree: a damaged or forged row fails
     * here instead of producing wrong (and factor-leaking) signatures. */
    ok = ok && (chk = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL)) && EVP_PKEY_pairwise_check(chk) == 1;
    if (!ok) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    EVP_PKEY_CTX_free(chk);
    EVP_PKEY_CTX_free(c);
    OSSL_PARAM_free(par);
    OSSL_PARAM_BLD_free(b);
    BN_clear_free(dq);
    BN_clear_free(dp);
    BN_free(t);
    BN_CTX_free(bc);
    return k;
}

/* v4 fingerprint: SHA-1 over 0x99, the 16-bit length and the public key part (RFC 4880 12.2). */
static int fingerprint(const uint8_t *pub, size_t n, uint8_t out[20])
{
    uint8_t pre[3] = {0x99, (uint8_t)(n >> 8), (uint8_t)n};
    unsigned len = 0;
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    int ok = h && n <= 0xffff && EVP_DigestInit_ex(h, EVP_sha1(), NULL) == 1 &&
             EVP_DigestUpdate(h, pre, 3) == 1 && EVP_DigestUpdate(h, pub, n) == 1 &&
             EVP_DigestFinal_ex(h, out, &len) == 1 && len == 20;
    EVP_MD_CTX_free(h);
    return ok ? 0 : -1;
}

sg_pgp_rsasigner *sg_pgp_rsasigner_new(const uint8_t *sec, size_t len, const char *fpr)
{
    const uint8_t *b, *m[6];
    size_t bn, mn[6], off = 6;
    int tag;
    uint8_t want[20];
    /* version 4 | created (4) | algorithm | MPI n | MPI e | S2K usage 0 | d | p | q | u | sum16 */
    if (sg_pgp_first_packet(sec, len, &tag, &b, &bn) < 0 || tag != TAG_SECKEY || bn < 6 || b[0] != 4 ||
        (b[5] != ALG_RSA && b[5] != ALG_RSA_SIGN) || sg_pgp_hexbytes(fpr, want, 20) < 0)
        return NULL;
    if (sg_pgp_get_mpi(b, bn, &off, &m[0], &mn[0]) < 0 || sg_pgp_get_mpi(b, bn, &off, &m[1], &mn[1]) < 0)
        return NULL;
    size_t pubend = off;
    if (off >= bn || b[off++] != 0)
        return NULL; /* protected: the keystore holds only unprotected (KEK-wrapped) secrets */
    size_t sum_from = off;
    for (int i = 2; i < 6; i++)
        if (sg_pgp_get_mpi(b, bn, &off, &m[i], &mn[i]) < 0)
            return NULL;
    unsigned sum = 0;
    for (size_t i = sum_from; i < off; i++)
        sum += b[i];
    if (off + 2 != bn || ((sum & 0xffff) != (((unsigned)b[off] << 8) | b[off + 1])))
        return NULL;
    sg_pgp_rsasigner *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (fingerprint(b, pubend, s->fpr) < 0 || memcmp(s->fpr, want, 20) != 0) {
        free(s);
        return NULL;
    }
    BIGNUM *v[6] = {0};
    int ok = 1;
    for (int i = 0; i < 6 && ok; i++)
        ok = (v[i] = i < 2 ? BN_bin2bn(m[i], (int)mn[i], NULL) : BN_secure_new()) != NULL &&
             (i < 2 || BN_bin2bn(m[i], (int)mn[i], v[i]) != NULL);
    if (ok)
        s->key = make_key(v);
    for (int i = 0; i < 6; i++)
        BN_clear_free(v[i]);
    s->modlen = mn[0];
    s->alg = b[5];
    if (!s->key) {
        free(s);
        return NULL;
    }
    return s;
}

int sg_pgp_rsasign_message(sg_pgp_rsasigner *s, const char *data, size_t len, uint8_t **out, size_t *outlen)
{
    uint32_t now = (uint32_t)time(NULL);
    sg_pgp_sig sg;
    sg_pgp_sig_init(&sg, SIG_BINARY, s->alg, HASH_SHA256, now, s->fpr);

    /* A binary document's signature hashes the literal data's content, then the signature's
     * hashed part and the trailer (RFC 4880 5.2.4). */
    uint8_t digest[32], sig[1024];
    unsigned dlen = 0;
    size_t slen = sizeof sig;
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    EVP_PKEY_CTX *c = NULL;
    int ok = h && s->modlen <= sizeof sig && EVP_DigestInit_ex(h, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(h, data, len) == 1 && EVP_DigestUpdate(h, sg.head, sizeof sg.head) == 1 &&
             EVP_DigestUpdate(h, sg.trailer, sizeof sg.trailer) == 1 &&
             EVP_DigestFinal_ex(h, digest, &dlen) == 1 && dlen == 32;
    /* PKCS#1 v1.5 with SHA-256's DigestInfo, what OpenPGP's RSA signatures are (RFC 4880 5.2.2). */
    ok = ok && (c = EVP_PKEY_CTX_new(s->key, NULL)) && EVP_PKEY_sign_init(c) == 1 &&
         EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
         EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1 && EVP_PKEY_sign(c, sig, &slen, digest, 32) == 1;
    EVP_PKEY_CTX_free(c);
    EVP_MD_CTX_free(h);
    if (!ok)
        return -1;

    uint8_t ops[13] = {3, SIG_BINARY, HASH_SHA256, s->alg};
    memcpy(ops + 4, s->fpr + 12, 8);
    ops[12] = 1; /* the last one-pass signature: the literal data follows */
    size_t litlen = 6 + len;
    size_t siglen = sizeof sg.head + sizeof sg.unhashed + 2 + slen + 2;
    size_t cap = 2 + sizeof ops + 6 + litlen + 6 + siglen, n = 0;
    uint8_t *o = malloc(cap);
    if (!o)
        return -1;
    n += sg_pgp_put_header(o + n, 4, sizeof ops);
    memcpy(o + n, ops, sizeof ops), n += sizeof ops;
    n += sg_pgp_put_header(o + n, 11, litlen);
    o[n++] = 'b', o[n++] = 0; /* binary, no file name */
    sg_pgp_put32(o + n, now), n += 4;
    memcpy(o + n, data, len), n += len;
    uint8_t body[sizeof sg.head + sizeof sg.unhashed + 2 + 2 + sizeof sig];
    size_t bl = sg_pgp_sig_body(&sg, digest, body);
    bl += sg_pgp_put_mpi(body + bl, sig, slen);
    n += sg_pgp_put_header(o + n, 2, bl);
    memcpy(o + n, body, bl), n += bl;
    *out = o;
    *outlen = n;
    return 0;
}
