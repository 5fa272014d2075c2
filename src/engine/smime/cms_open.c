/* cms_open.c - the receiving half of S/MIME's CMS work (see cms.h): decrypting
 * EnvelopedData / AuthEnvelopedData with exactly the held keys asked for, and verifying
 * SignedData with the signer's certificate validated by the certificate store.
 * Owner: src/engine (S/MIME). Input is untrusted; this is the crypto end of fuzz_smime.
 * SECURITY: only the key of a certificate the message names in a RecipientInfo is unwrapped.
 * Plaintext is collected in a secure-memory BIO (wiped on free) and copied out only after the
 * content decryption finished, which for AES-GCM includes the tag. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/smime/cms.h"
#include "engine/smime/cms_int.h"

#define MAX_REKS 1000 /* RecipientEncryptedKeys looked at in one KeyAgreeRecipientInfo */

static void set_reason(char *dst, size_t n, const char *s)
{
    snprintf(dst, n, "%s", s);
}

/* The RecipientInfo is addressed to certificate x (issuer+serial or subject key id). */
static bool ri_matches(CMS_RecipientInfo *ri, X509 *x)
{
    switch (CMS_RecipientInfo_type(ri)) {
    case CMS_RECIPINFO_TRANS:
        return CMS_RecipientInfo_ktri_cert_cmp(ri, x) == 0;
    case CMS_RECIPINFO_AGREE: {
        STACK_OF(CMS_RecipientEncryptedKey) *reks = CMS_RecipientInfo_kari_get0_reks(ri);
        int n = reks ? sk_CMS_RecipientEncryptedKey_num(reks) : 0;
        for (int i = 0; i < n && i < MAX_REKS; i++)
            if (CMS_RecipientEncryptedKey_cert_cmp(sk_CMS_RecipientEncryptedKey_value(reks, i), x) == 0)
                return true;
        return false;
    }
    default:
        return false; /* KEK, password and other types: no held key opens them */
    }
}

/* Recovers the content-encryption key with the first hit whose key works; 0 when one did. */
static int open_key(const sg_smime_keys *k, CMS_ContentInfo *cms, char (*cands)[SG_CERT_FPR_LEN + 1],
                    X509 **certs, size_t ncand, const bool *hits)
{
    for (size_t i = 0; i < ncand; i++) {
        if (!hits[i])
            continue;
        EVP_PKEY *pk = smime_load_key(k, cands[i]);
        int ok = pk && CMS_decrypt_set1_pkey_and_peer(cms, pk, certs[i], NULL);
        EVP_PKEY_free(pk);
        ERR_clear_error();
        if (ok)
            return 0;
    }
    return -1;
}

/* sg_smime_decrypt into fd when fd >= 0 (sg_smime_decrypt_to_fd), else into memory. */
static int decrypt_into(const sg_smime_keys *k, char (*cands)[SG_CERT_FPR_LEN + 1], size_t ncand,
                        const unsigned char *der, size_t len, size_t max_plain, int fd, sg_smime_decrypted *res)
{
    memset(res, 0, sizeof *res);
    res->status = SG_DEC_FAILED;
    if (!(res->hits = calloc(ncand ? ncand : 1, sizeof *res->hits)))
        return -1;
    X509 **certs = calloc(ncand ? ncand : 1, sizeof *certs);
    CMS_ContentInfo *cms = smime_parse(der, len);
    BIO *out = NULL;
    int rc = 0;
    if (!certs) {
        rc = -1;
        goto done;
    }
    int nid = cms ? OBJ_obj2nid(CMS_get0_type(cms)) : NID_undef;
    if (nid != NID_pkcs7_enveloped && nid != NID_id_smime_ct_authEnvelopedData) {
        set_reason(res->reason, sizeof res->reason, "not-enveloped-data");
        goto done;
    }
    res->aead = nid == NID_id_smime_ct_authEnvelopedData;
    STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
    int nri = ris ? sk_CMS_RecipientInfo_num(ris) : 0;
    if (nri <= 0 || nri > SG_SMIME_MAX_RECIPIENTS) {
        set_reason(res->reason, sizeof res->reason, nri <= 0 ? "no-recipients" : "too-many-recipients");
        goto done;
    }
    bool any = false;
    for (size_t i = 0; i < ncand; i++) {
        if (!(certs[i] = smime_load_cert(k, cands[i])))
            continue;
        for (int r = 0; r < nri && !res->hits[i]; r++)
            res->hits[i] = ri_matches(sk_CMS_RecipientInfo_value(ris, r), certs[i]);
        any = any || res->hits[i];
    }
    ERR_clear_error();
    if (!any) {
        res->status = SG_DEC_NO_KEY;
        set_reason(res->reason, sizeof res->reason, "no-key");
        goto done;
    }
    if (open_key(k, cms, cands, certs, ncand, res->hits) < 0) {
        set_reason(res->reason, sizeof res->reason, "key-decryption-failed");
        goto done;
    }
    out = fd >= 0 ? BIO_new_fd(fd, BIO_NOCLOSE) : BIO_new(BIO_s_secmem());
    if (!out) {
        rc = -1;
        goto done;
    }
    if (!CMS_decrypt(cms, NULL, NULL, NULL, out, CMS_BINARY)) {
        /* With GCM the key was right (it opened a RecipientInfo) and the content did not
         * authenticate: modified in transit. The partial plaintext in out is never used. */
        res->status = res->aead ? SG_DEC_NO_INTEGRITY : SG_DEC_FAILED;
        set_reason(res->reason, sizeof res->reason,
                   res->aead ? "gcm-tag-mismatch" : "content-decryption-failed");
        ERR_clear_error();
        goto done;
    }
    char *p = NULL;
    struct stat st;
    long n = -1;
    if (fd < 0)
        n = BIO_get_mem_data(out, &p);
    else if (BIO_flush(out) == 1 && fstat(fd, &st) == 0)
        n = (long)st.st_size;
    if (fd >= 0 && n >= 0 && (size_t)n <= max_plain) {
        res->plainlen = (size_t)n; /* in the file; used only because CMS_decrypt succeeded */
        res->status = SG_DEC_OK;
        res->reason[0] = '\0';
        goto done;
    }
    if (n < 0 || (size_t)n > max_plain) {
        res->status = SG_DEC_TOO_LARGE;
        set_reason(res->reason, sizeof res->reason, "plaintext-too-large");
        goto done;
    }
    if (!(res->plain = malloc((size_t)n + 1))) {
        rc = -1;
        goto done;
    }
    if (n)
        memcpy(res->plain, p, (size_t)n);
    res->plain[n] = '\0';
    res->plainlen = (size_t)n;
    res->status = SG_DEC_OK;
    res->reason[0] = '\0';
done:
    BIO_free(out);
    CMS_ContentInfo_free(cms);
    for (size_t i = 0; certs && i < ncand; i++)
        X509_free(certs[i]);
    free(certs);
    ERR_clear_error();
    return rc;
}

int sg_smime_decrypt(const sg_smime_keys *k, char (*cands)[SG_CERT_FPR_LEN + 1], size_t ncand,
                     const unsigned char *der, size_t len, size_t max_plain, sg_smime_decrypted *res)
{
    return decrypt_into(k, cands, ncand, der, len, max_plain, -1, res);
}

int sg_smime_decrypt_to_fd(const sg_smime_keys *k, char (*cands)[SG_CERT_FPR_LEN + 1], size_t ncand,
                           const unsigned char *der, size_t len, size_t max_plain, int fd, sg_smime_decrypted *res)
{
    return decrypt_into(k, cands, ncand, der, len, max_plain, fd, res);
}

void sg_smime_decrypted_free(sg_smime_decrypted *res)
{
    if (res->plain) {
        OPENSSL_cleanse(res->plain, res->plainlen);
        free(res->plain);
    }
    free(res->hits);
    memset(res, 0, sizeof *res);
}

/* ---- verification ---- */

/* SHA-2 only: MD5 and SHA-1 signatures can be forged by collision (RFC 8551 2.1 drops them). */
static bool strong_digest(CMS_SignerInfo *si)
{
    X509_ALGOR *dig = NULL;
    CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
    int nid = dig ? OBJ_obj2nid(dig->algorithm) : NID_undef;
    return nid == NID_sha224 || nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512;
}

/* The signer's SMIMECapabilities attribute: whether it names AES-GCM, and a copy of its DER
 * (SEQUENCE OF SMIMECapability, at most MAX_CAPS bytes) for the certificate store to learn. */
#define MAX_CAPS 4096
static int signer_caps(CMS_SignerInfo *si, sg_smime_verified *res)
{
    ASN1_STRING *s = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_SMIMECapabilities), -3, V_ASN1_SEQUENCE);
    int n = s ? ASN1_STRING_length(s) : 0;
    if (n <= 0 || n > MAX_CAPS)
        return 0;
    const unsigned char *p = ASN1_STRING_get0_data(s);
    if (!(res->caps = malloc((size_t)n)))
        return -1;
    memcpy(res->caps, p, (size_t)n);
    res->capslen = (size_t)n;
    X509_ALGORS *algs = d2i_X509_ALGORS(NULL, &p, n);
    for (int i = 0; algs && i < sk_X509_ALGOR_num(algs) && i < 64; i++) {
        int nid = OBJ_obj2nid(sk_X509_ALGOR_value(algs, i)->algorithm);
        res->signer_aead = res->signer_aead || nid == NID_aes_256_gcm || nid == NID_aes_128_gcm;
    }
    sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
    ERR_clear_error();
    return 0;
}

/* Why CMS_verify failed, from OpenSSL's error queue. */
static const char *verify_failure(void)
{
    const char *why = "bad-signature";
    unsigned long e;
    while ((e = ERR_get_error()))
        if (ERR_GET_LIB(e) == ERR_LIB_CMS && ERR_GET_REASON(e) == CMS_R_SIGNER_CERTIFICATE_NOT_FOUND)
            why = "unknown-key";
    return why;
}

static const char *verdict_word(int v)
{
    switch (v) {
    case SG_CERT_EXPIRED:
    case SG_CERT_NOT_YET_VALID:
        return "expired";
    case SG_CERT_UNTRUSTED:
        return "untrusted";
    case SG_CERT_REVOKED:
        return "revoked";
    case SG_CERT_ADDRESS_MISMATCH:
        return "from-mismatch";
    case SG_CERT_NO_EMAIL_PROTECTION:
    case SG_CERT_BAD_KEY_USAGE:
    case SG_CERT_INVALID:
        return "key-invalid";
    default:
        return "error";
    }
}

/* The stored, non-CA certificates for addr: for signers that do not carry their certificate. */
static int stored_certs(const sg_smime_keys *k, const char *addr, STACK_OF(X509) * into)
{
    sg_cert_info *list = NULL;
    size_t n = 0;
    pthread_mutex_lock(k->lock);
    int rc = sg_certstore_list(k->cs, addr, &list, &n);
    for (size_t i = 0; rc == 0 && i < n && i < SG_SMIME_MAX_CERTS; i++) {
        if (list[i].is_ca)
            continue;
        X509 *x = sg_smime_cert_locked(k->cs, list[i].fpr);
        if (x && !sk_X509_push(into, x))
            X509_free(x);
    }
    pthread_mutex_unlock(k->lock);
    sg_certstore_free_list(list, n);
    return rc;
}

static int append_der(X509 *x, unsigned char **buf, size_t *len)
{
    int n = i2d_X509(x, NULL);
    if (n <= 0)
        return -1;
    unsigned char *nb = realloc(*buf, *len + (size_t)n);
    if (!nb)
        return -1;
    *buf = nb;
    unsigned char *p = nb + *len;
    i2d_X509(x, &p);
    *len += (size_t)n;
    return 0;
}

/* The signer's certificate first, then every other certificate the message carried. */
static int signer_chain(X509 *signer, STACK_OF(X509) * carried, sg_smime_verified *res)
{
    if (append_der(signer, &res->chain, &res->chainlen) < 0)
        return -1;
    for (int i = 0; carried && i < sk_X509_num(carried); i++)
        if (X509_cmp(sk_X509_value(carried, i), signer) != 0 &&
            append_der(sk_X509_value(carried, i), &res->chain, &res->chainlen) < 0)
            return -1;
    return 0;
}

/* The content of opaque SignedData whose signature did not verify: still the message the
 * reader gets (with an invalid verdict), as long as it is within the limit. 0 or -1. */
static int opaque_content(CMS_ContentInfo *cms, size_t max_plain, sg_smime_verified *res)
{
    ASN1_OCTET_STRING **pos = CMS_get0_content(cms);
    if (!pos || !*pos || (size_t)ASN1_STRING_length(*pos) > max_plain)
        return 0;
    size_t n = (size_t)ASN1_STRING_length(*pos);
    if (!(res->content = malloc(n + 1)))
        return -1;
    memcpy(res->content, ASN1_STRING_get0_data(*pos), n);
    res->content[n] = '\0';
    res->contentlen = n;
    return 0;
}

int sg_smime_verify(const sg_smime_keys *k, const char *from, time_t at, const unsigned char *der, size_t len,
                    const char *detached, size_t dlen, size_t max_plain, sg_smime_verified *res)
{
    memset(res, 0, sizeof *res);
    sg_sig_verdict *v = &res->v;
    v->sig = SG_SIG_INVALID;
    CMS_ContentInfo *cms = smime_parse(der, len);
    STACK_OF(X509) *carried = NULL, *certs = sk_X509_new_null(), *signers = NULL;
    BIO *dc = NULL, *out = NULL;
    int rc = 0;
    if (!certs) {
        rc = -1;
        goto done;
    }
    if (!cms || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
        set_reason(v->reason, sizeof v->reason, "malformed");
        goto done;
    }
    STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
    int nsi = sis ? sk_CMS_SignerInfo_num(sis) : 0;
    if (nsi <= 0 || nsi > SG_SMIME_MAX_SIGNERS) {
        set_reason(v->reason, sizeof v->reason, nsi <= 0 ? "no-signature" : "too-many-signers");
        goto done;
    }
    for (int i = 0; i < nsi; i++)
        if (!strong_digest(sk_CMS_SignerInfo_value(sis, i))) {
            set_reason(v->reason, sizeof v->reason, "weak-digest");
            goto done;
        }
    carried = CMS_get1_certs(cms);
    if (carried && sk_X509_num(carried) > SG_SMIME_MAX_CERTS) {
        set_reason(v->reason, sizeof v->reason, "too-many-certificates");
        goto done;
    }
    for (int i = 0; carried && i < sk_X509_num(carried); i++) {
        X509 *x = sk_X509_value(carried, i);
        if (!X509_up_ref(x))
            continue;
        if (!sk_X509_push(certs, x)) {
            X509_free(x);
            rc = -1;
            goto done;
        }
    }
    if (from && stored_certs(k, from, certs) < 0) {
        set_reason(v->reason, sizeof v->reason, "error");
        goto done;
    }
    if (detached && !(dc = BIO_new_mem_buf(detached, (int)dlen))) {
        rc = -1;
        goto done;
    }
    if (!detached && !(out = BIO_new(BIO_s_mem()))) {
        rc = -1;
        goto done;
    }
    /* The signer's certificate is judged by sg_cert_validate below (the store's trust, CRLs,
     * address binding), not by OpenSSL's default store. */
    ERR_clear_error();
    if (!CMS_verify(cms, certs, NULL, dc, out, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY)) {
        set_reason(v->reason, sizeof v->reason, verify_failure());
        goto done;
    }
    if (out && smime_bio_take(out, &res->content, &res->contentlen) < 0) {
        rc = -1;
        goto done;
    }
    if (res->contentlen > max_plain) {
        free(res->content);
        res->content = NULL;
        res->contentlen = 0;
        set_reason(v->reason, sizeof v->reason, "content-too-large");
        goto done;
    }
    signers = CMS_get0_signers(cms);
    int best = -1, first_verdict = SG_CERT_ERROR;
    for (int i = 0; signers && i < sk_X509_num(signers) && best < 0; i++) {
        char why[160];
        pthread_mutex_lock(k->lock);
        int cv = sg_cert_validate(k->cs, sk_X509_value(signers, i), from, SG_CERT_SIGN, at, why, sizeof why);
        pthread_mutex_unlock(k->lock);
        if (i == 0)
            first_verdict = cv;
        if (cv == SG_CERT_VALID && from)
            best = i;
    }
    int pick = best >= 0 ? best : 0;
    X509 *signer = signers && sk_X509_num(signers) > 0 ? sk_X509_value(signers, pick) : NULL;
    if (!signer) {
        set_reason(v->reason, sizeof v->reason, "unknown-key");
        goto done;
    }
    sg_cert_fpr(signer, v->signer);
    if (signer_chain(signer, carried, res) < 0) {
        rc = -1;
        goto done;
    }
    if (signer_caps(sk_CMS_SignerInfo_value(sis, pick), res) < 0) {
        rc = -1;
        goto done;
    }
    if (best >= 0) {
        v->sig = SG_SIG_VALID;
        v->from_match = true;
        v->reason[0] = '\0';
    } else {
        set_reason(v->reason, sizeof v->reason, from ? verdict_word(first_verdict) : "from-mismatch");
    }
done:
    /* Opaque content whose signature does not count is still what the reader gets, with an
     * invalid verdict (CMS_verify's failure path extracts it too). */
    if (rc == 0 && !detached && !res->content && v->sig != SG_SIG_VALID && cms &&
        OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_signed)
        rc = opaque_content(cms, max_plain, res);
    sk_X509_free(signers);
    BIO_free(dc);
    BIO_free(out);
    sk_X509_pop_free(certs, X509_free);
    sk_X509_pop_free(carried, X509_free);
    CMS_ContentInfo_free(cms);
    ERR_clear_error();
    return rc;
}

void sg_smime_verified_free(sg_smime_verified *res)
{
    free(res->content);
    free(res->chain);
    free(res->caps);
    memset(res, 0, sizeof *res);
}
