/* cms_make.c - the producing half of S/MIME's CMS work (see cms.h): SignedData with the chain
 * and SMIMECapabilities, EnvelopedData / AuthEnvelopedData for every recipient of a group in
 * one envelope, and the small store helpers both halves share. Owner: src/engine (S/MIME).
 * SECURITY: the signing key comes from cms_signkey.c, which keeps a few unwrapped signing
 * keys while the store is unchanged (the trade-off is stated there and in docs/keys.md);
 * nothing is written to disk. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/smime/cms.h"
#include "engine/smime/cms_int.h"

#define MAX_CHAIN 8 /* issuers followed above a signer's certificate */

/* Parsed certificates by fingerprint. Parsing is most of the cost of a lookup with OpenSSL 3
 * (the public key goes through the provider decoders), and a fingerprint is the SHA-256 of the
 * DER, so an entry can never go stale: a certificate deleted from the store is simply never
 * asked for again (callers find fingerprints through the store). Public data only; bounded by
 * CACHE_SLOTS, a colliding entry replaces the old one. */
#define CACHE_SLOTS 512
static struct {
    char fpr[SG_CERT_FPR_LEN + 1];
    X509 *x;
} cache[CACHE_SLOTS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t slot_of(const char *fpr)
{
    size_t h = 5381;
    for (const char *c = fpr; *c; c++)
        h = h * 33 + (unsigned char)(*c | 0x20); /* hex in either case is the same certificate */
    return h % CACHE_SLOTS;
}

X509 *sg_smime_cert_locked(sg_certstore *cs, const char *fpr)
{
    size_t s = slot_of(fpr);
    X509 *x = NULL;
    pthread_mutex_lock(&cache_lock);
    if (cache[s].x && strcasecmp(cache[s].fpr, fpr) == 0 && X509_up_ref(cache[s].x))
        x = cache[s].x;
    pthread_mutex_unlock(&cache_lock);
    if (x || strlen(fpr) != SG_CERT_FPR_LEN || !(x = sg_certstore_load_cert(cs, fpr)))
        return x;
    pthread_mutex_lock(&cache_lock);
    if (X509_up_ref(x)) {
        X509_free(cache[s].x);
        cache[s].x = x;
        memcpy(cache[s].fpr, fpr, SG_CERT_FPR_LEN + 1);
    }
    pthread_mutex_unlock(&cache_lock);
    return x;
}

X509 *smime_load_cert(const sg_smime_keys *k, const char *fpr)
{
    pthread_mutex_lock(k->lock);
    X509 *x = sg_smime_cert_locked(k->cs, fpr);
    pthread_mutex_unlock(k->lock);
    return x;
}

EVP_PKEY *smime_load_key(const sg_smime_keys *k, const char *fpr)
{
    pthread_mutex_lock(k->lock);
    EVP_PKEY *p = sg_certstore_load_key(k->cs, fpr);
    pthread_mutex_unlock(k->lock);
    return p;
}

int smime_fail(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char detail[160] = "";
    if (e)
        ERR_error_string_n(e, detail, sizeof detail);
    if (err && errlen)
        snprintf(err, errlen, "%s%s%s", what, *detail ? ": " : "", detail);
    ERR_clear_error();
    return -1;
}

CMS_ContentInfo *smime_parse(const unsigned char *der, size_t len)
{
    if (!der || len == 0 || len > SG_SMIME_MAX_DER)
        return NULL;
    const unsigned char *p = der;
    CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    ERR_clear_error();
    return cms;
}

int smime_bio_take(BIO *b, char **out, size_t *outlen)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    if (n < 0 || !(*out = malloc((size_t)n + 1)))
        return -1;
    if (n)
        memcpy(*out, p, (size_t)n);
    (*out)[n] = '\0';
    *outlen = (size_t)n;
    return 0;
}

static bool enveloped_sane(CMS_ContentInfo *cms)
{
    STACK_OF(CMS_RecipientInfo) *ri = CMS_get0_RecipientInfos(cms);
    ASN1_OCTET_STRING **content = CMS_get0_content(cms);
    ERR_clear_error();
    return ri && sk_CMS_RecipientInfo_num(ri) > 0 && content && *content && ASN1_STRING_length(*content) > 0;
}

int sg_smime_der_type(const unsigned char *der, size_t len)
{
    CMS_ContentInfo *cms = smime_parse(der, len);
    if (!cms)
        return SG_SMIME_T_OTHER;
    int t = SG_SMIME_T_OTHER;
    switch (OBJ_obj2nid(CMS_get0_type(cms))) {
    case NID_pkcs7_enveloped:
    case NID_id_smime_ct_authEnvelopedData:
        /* Encrypted only with someone to decrypt it and content to decrypt: an envelope
         * without RecipientInfos or ciphertext is no protection. */
        if (enveloped_sane(cms))
            t = OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_enveloped ? SG_SMIME_T_ENVELOPED
                                                                        : SG_SMIME_T_AUTH_ENVELOPED;
        break;
    case NID_pkcs7_signed: {
        STACK_OF(CMS_SignerInfo) *si = CMS_get0_SignerInfos(cms);
        t = si && sk_CMS_SignerInfo_num(si) > 0 ? SG_SMIME_T_SIGNED : SG_SMIME_T_CERTS_ONLY;
        break;
    }
    default:
        break;
    }
    CMS_ContentInfo_free(cms);
    return t;
}

#define NO_ISSUER "0000000000000000000000000000000000000000000000000000000000000000"

/* The issuers of leaf (fingerprint fpr) among the store's CA certificates, nearest first, for
 * inclusion in SignedData so that peers can build the chain; no trust decision is made here.
 * Each link is remembered (cms_valid.c), so the store's certificates are scanned only after
 * a change instead of for every message. Caller holds k->lock. */
static int chain_walk_memo(const sg_smime_keys *k, X509 *leaf, const char *fpr, STACK_OF(X509) * chain)
{
    char cur[SG_CERT_FPR_LEN + 1], up_fpr[SG_CERT_FPR_LEN + 1], key[128];
    X509 *curx = leaf;
    snprintf(cur, sizeof cur, "%s", fpr);
    for (int depth = 0; depth < MAX_CHAIN; depth++) {
        if (X509_check_issued(curx, curx) == X509_V_OK)
            return 0;
        snprintf(key, sizeof key, "issuer|%s", cur);
        if (!k->st || !sg_smime_memo_get(k->st, key, up_fpr))
            return -1;
        if (strcmp(up_fpr, NO_ISSUER) == 0)
            return 0;
        X509 *up = sg_smime_cert_locked(k->cs, up_fpr);
        if (!up || X509_check_issued(up, curx) != X509_V_OK || !sk_X509_push(chain, up)) {
            X509_free(up);
            return -1;
        }
        curx = up;
        memcpy(cur, up_fpr, sizeof cur);
    }
    return 0;
}

static int chain_walk_scan(const sg_smime_keys *k, X509 *leaf, const char *fpr, STACK_OF(X509) * chain)
{
    STACK_OF(X509) *cas = sk_X509_new_null();
    sg_cert_info *list = NULL;
    size_t n = 0;
    int rc = cas ? sg_certstore_list(k->cs, NULL, &list, &n) : -1;
    char(*fprs)[SG_CERT_FPR_LEN + 1] = rc == 0 ? calloc(n ? n : 1, sizeof *fprs) : NULL;
    if (rc == 0 && !fprs)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        X509 *x = list[i].is_ca ? sg_smime_cert_locked(k->cs, list[i].fpr) : NULL;
        if (x && sk_X509_push(cas, x))
            memcpy(fprs[sk_X509_num(cas) - 1], list[i].fpr, SG_CERT_FPR_LEN + 1);
        else
            X509_free(x);
    }
    char cur[SG_CERT_FPR_LEN + 1], key[128];
    snprintf(cur, sizeof cur, "%s", fpr);
    X509 *curx = leaf;
    for (int depth = 0; rc == 0 && depth < MAX_CHAIN; depth++) {
        if (X509_check_issued(curx, curx) == X509_V_OK)
            break; /* self-signed: the root is included, the walk ends */
        int up = -1;
        for (int i = 0; i < sk_X509_num(cas) && up < 0; i++)
            if (X509_check_issued(sk_X509_value(cas, i), curx) == X509_V_OK)
                up = i;
        snprintf(key, sizeof key, "issuer|%s", cur);
        if (k->st)
            sg_smime_memo_put(k->st, key, up < 0 ? NO_ISSUER : fprs[up], curx);
        if (up < 0)
            break;
        X509 *x = sk_X509_value(cas, up);
        if (!X509_up_ref(x) || !sk_X509_push(chain, x)) {
            X509_free(x);
            rc = -1;
            break;
        }
        curx = x;
        memcpy(cur, fprs[up], sizeof cur);
    }
    sg_certstore_free_list(list, n);
    sk_X509_pop_free(cas, X509_free);
    free(fprs);
    return rc;
}

static STACK_OF(X509) * chain_of(const sg_smime_keys *k, X509 *leaf, const char *fpr)
{
    STACK_OF(X509) *chain = sk_X509_new_null();
    if (!chain)
        return NULL;
    pthread_mutex_lock(k->lock);
    int rc = chain_walk_memo(k, leaf, fpr, chain);
    if (rc < 0) {
        while (sk_X509_num(chain) > 0)
            X509_free(sk_X509_pop(chain));
        rc = chain_walk_scan(k, leaf, fpr, chain);
    }
    pthread_mutex_unlock(k->lock);
    ERR_clear_error();
    if (rc < 0) {
        sk_X509_pop_free(chain, X509_free);
        return NULL;
    }
    return chain;
}

/* What we can decrypt, strongest first (RFC 8551 2.7.1): peers learn from it that GCM works. */
static int add_smimecap(CMS_SignerInfo *si)
{
    STACK_OF(X509_ALGOR) *caps = NULL;
    static const int nids[] = {NID_aes_256_gcm, NID_aes_128_gcm, NID_aes_256_cbc, NID_aes_128_cbc};
    int ok = 1;
    for (size_t i = 0; i < sizeof nids / sizeof nids[0] && ok; i++)
        ok = CMS_add_simple_smimecap(&caps, nids[i], -1);
    ok = ok && CMS_add_smimecap(si, caps);
    sk_X509_ALGOR_pop_free(caps, X509_ALGOR_free);
    return ok;
}

/* Feeds data through the prepared structure (CMS_final) and encodes the result as DER. */
static int finish(CMS_ContentInfo *cms, const char *data, size_t len, unsigned flags, unsigned char **der,
                  size_t *derlen, char *err, size_t errlen, const char *what)
{
    BIO *in = len <= SG_SMIME_MAX_DER ? BIO_new_mem_buf(data, (int)len) : NULL;
    int ok = in && CMS_final(cms, in, NULL, flags);
    BIO_free(in);
    if (!ok)
        return smime_fail(err, errlen, what);
    unsigned char *p = NULL;
    int n = i2d_CMS_ContentInfo(cms, &p);
    if (n <= 0)
        return smime_fail(err, errlen, "DER encoding");
    *der = malloc((size_t)n);
    if (*der)
        memcpy(*der, p, (size_t)n);
    OPENSSL_free(p);
    *derlen = (size_t)n;
    if (!*der)
        snprintf(err, errlen, "out of memory");
    return *der ? 0 : -1;
}

static const EVP_MD *digest_of(const char *name)
{
    if (!name || strcmp(name, "sha256") == 0)
        return EVP_sha256();
    if (strcmp(name, "sha384") == 0)
        return EVP_sha384();
    if (strcmp(name, "sha512") == 0)
        return EVP_sha512();
    return NULL;
}

CMS_ContentInfo *smime_sign_setup(const sg_smime_keys *k, const char *signer_fpr, const sg_smime_sign_opts *o,
                                  unsigned flags, char *err, size_t errlen)
{
    const EVP_MD *md = digest_of(o->digest);
    if (!md) {
        snprintf(err, errlen, "unknown digest %s", o->digest);
        return NULL;
    }
    X509 *cert = smime_load_cert(k, signer_fpr);
    EVP_PKEY *key = cert ? smime_signing_key(k, signer_fpr) : NULL;
    STACK_OF(X509) *chain = key ? chain_of(k, cert, signer_fpr) : NULL;
    CMS_ContentInfo *cms = NULL;
    int rc = -1;
    if (!cert || !key || !chain) {
        snprintf(err, errlen, "signing certificate %.16s...: %s", signer_fpr,
                 !cert  ? "not in the store"
                 : !key ? "no usable private key"
                        : "store error");
        goto out;
    }
    cms = CMS_sign(NULL, NULL, chain, NULL, flags);
    if (!cms) {
        rc = smime_fail(err, errlen, "CMS_sign");
        goto out;
    }
    CMS_SignerInfo *si = CMS_add1_signer(cms, cert, key, md, flags | CMS_KEY_PARAM | CMS_NOSMIMECAP);
    if (!si || !add_smimecap(si)) {
        rc = smime_fail(err, errlen, "adding the signer");
        goto out;
    }
    if (o->pss && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        EVP_PKEY_CTX *pctx = CMS_SignerInfo_get0_pkey_ctx(si);
        if (!pctx || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0) {
            rc = smime_fail(err, errlen, "RSA-PSS parameters");
            goto out;
        }
    }
    rc = 0;
out:
    if (rc < 0) {
        CMS_ContentInfo_free(cms);
        cms = NULL;
    }
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
    X509_free(cert);
    return cms;
}

int sg_smime_sign(const sg_smime_keys *k, const char *signer_fpr, const sg_smime_sign_opts *o,
                  const char *data, size_t len, unsigned char **der, size_t *derlen, char *err, size_t errlen)
{
    /* Partial: the signer is added with its key context open, so PSS can be chosen, and the
     * content is digested in CMS_final. CMS_BINARY: the caller's bytes are canonical already;
     * OpenSSL's own text mode would change them. */
    unsigned flags = CMS_PARTIAL | CMS_BINARY | (o->detached ? CMS_DETACHED : 0);
    CMS_ContentInfo *cms = smime_sign_setup(k, signer_fpr, o, flags, err, errlen);
    int rc = cms ? finish(cms, data, len, flags, der, derlen, err, errlen, "signing") : -1;
    CMS_ContentInfo_free(cms);
    return rc;
}

/* Key transport / agreement parameters of one recipient (RFC 8551 2.3). */
static int recipient_params(CMS_RecipientInfo *ri, X509 *x, bool oaep)
{
    EVP_PKEY_CTX *pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
    int id = EVP_PKEY_get_base_id(X509_get0_pubkey(x));
    if (id == EVP_PKEY_RSA && oaep)
        return pctx && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
               EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) > 0 &&
               EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0;
    /* ECDH: the X9.63 KDF with SHA-256 (dhSinglePass-stdDH-sha256kdf-scheme) rather than
     * OpenSSL's SHA-1 default, as RFC 8551 and RFC 5753 recommend. */
    if (id == EVP_PKEY_EC)
        return pctx && EVP_PKEY_CTX_set_ecdh_kdf_md(pctx, EVP_sha256()) > 0;
    return 1;
}

CMS_ContentInfo *smime_encrypt_setup(const sg_smime_keys *k, char (*rcpts)[SG_CERT_FPR_LEN + 1], size_t nrcpt,
                                     bool gcm, bool oaep, unsigned flags, char *err, size_t errlen)
{
    CMS_ContentInfo *cms = CMS_encrypt(NULL, NULL, gcm ? EVP_aes_256_gcm() : EVP_aes_256_cbc(), flags);
    int rc = -1;
    if (!cms) {
        smime_fail(err, errlen, "CMS_encrypt");
        return NULL;
    }
    for (size_t i = 0; i < nrcpt; i++) {
        X509 *x = smime_load_cert(k, rcpts[i]);
        if (!x) {
            snprintf(err, errlen, "recipient certificate %.16s... is not in the store", rcpts[i]);
            goto out;
        }
        CMS_RecipientInfo *ri = CMS_add1_recipient_cert(cms, x, CMS_KEY_PARAM);
        int ok = ri && recipient_params(ri, x, oaep);
        X509_free(x);
        if (!ok) {
            rc = smime_fail(err, errlen, "adding a recipient");
            goto out;
        }
    }
    rc = 0;
out:
    if (rc < 0) {
        CMS_ContentInfo_free(cms);
        cms = NULL;
    }
    return cms;
}

int sg_smime_encrypt(const sg_smime_keys *k, char (*rcpts)[SG_CERT_FPR_LEN + 1], size_t nrcpt, bool gcm,
                     bool oaep, const char *data, size_t len, unsigned char **der, size_t *derlen, char *err,
                     size_t errlen)
{
    if (nrcpt == 0 || nrcpt > SG_SMIME_MAX_RECIPIENTS || len > SG_SMIME_MAX_DER) {
        snprintf(err, errlen, "%zu recipients or %zu bytes are out of range", nrcpt, len);
        return -1;
    }
    unsigned flags = CMS_PARTIAL | CMS_BINARY;
    CMS_ContentInfo *cms = smime_encrypt_setup(k, rcpts, nrcpt, gcm, oaep, flags, err, errlen);
    int rc = cms ? finish(cms, data, len, flags, der, derlen, err, errlen, "encrypting") : -1;
    CMS_ContentInfo_free(cms);
    return rc;
}
