/* cms.h - the CMS operations of S/MIME (RFC 8551, RFC 5652, RFC 5083) on memory buffers:
 * sign, encrypt, decrypt, verify, with certificates and keys from the certificate store.
 * Owner: src/engine (S/MIME). The MIME around them is src/mime/smime.h; the engine that uses
 * both is src/engine/smime/engine_smime.c. In the engine, not in crypto/, because every call
 * reads the certificate store: crypto/ knows no store (its input limits are crypto/cms_limits.h).
 * SECURITY: for cryptd only (and the test driver). A private key is unwrapped from the
 * certificate store for one call and freed before it returns (OpenSSL clears key material on
 * free; the PKCS#8 bytes are wiped by the store). Decrypted output is released only when the
 * content decryption completed; for AuthEnvelopedData that includes the GCM tag check, and a
 * failed tag is SG_DEC_NO_INTEGRITY with the partial plaintext wiped. The store (one SQLite
 * handle, lazily loaded KEK) is not thread-safe: every call on it is made with *lock held. */
#ifndef SG_SMIME_H
#define SG_SMIME_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "crypto/cms_limits.h"
#include "crypto/verdict.h"
#include "keys/certstore.h"

typedef struct sg_smime_keys {
    sg_certstore *cs;
    pthread_mutex_t *lock;
    sg_store *st; /* the store under cs, for remembering answers (cms_valid.c); may be NULL */
} sg_smime_keys;

/* The certificate fpr, parsed once and cached (public data; see smime.c); X509_free it. The
 * caller holds the store's lock (*k->lock). NULL when the store has no such certificate. */
X509 *sg_smime_cert_locked(sg_certstore *cs, const char *fpr);

/* sg_cert_validate(cs, x, addr, purpose, now) remembering "valid" for a short while as long as
 * the store st is unchanged (cms_valid.c says exactly when it forgets). fpr is x's
 * fingerprint; st may be NULL (no memory). The caller holds the store's lock, which is
 * released while revocation data is fetched (certstore.h, sg_certstore_set_lock). */
int sg_smime_validate_locked(sg_certstore *cs, sg_store *st, X509 *x, const char *fpr, const char *addr,
                             int purpose, char *why, size_t whylen);

/* The same memory for any answer that is a fingerprint (e.g. "the certificate the engine
 * selects for this address and purpose"), under the same rules; x is the certificate named,
 * whose notAfter ends the entry. The caller holds the store's lock. */
bool sg_smime_memo_get(sg_store *st, const char *key, char fpr[SG_CERT_FPR_LEN + 1]);
void sg_smime_memo_put(sg_store *st, const char *key, const char *fpr, X509 *x);
/* The store's generation now (0, or -1), and sg_smime_memo_put only when it is still that
 * generation: for answers worked out across a validation, which may release the lock. */
typedef struct sg_smime_gen {
    int64_t gen; /* the store's x509 generation */
} sg_smime_gen;
int sg_smime_memo_mark(sg_store *st, sg_smime_gen *g);
void sg_smime_memo_put_since(sg_store *st, const sg_smime_gen *g, const char *key, const char *fpr, X509 *x);

/* How a message is signed. */
typedef struct sg_smime_sign_opts {
    const char *digest; /* "sha256" (NULL), "sha384", "sha512" */
    bool pss;           /* RSA keys: RSASSA-PSS instead of PKCS#1 v1.5 */
    bool detached;      /* clear signing (multipart/signed); false: opaque, content inside */
} sg_smime_sign_opts;

/* SignedData over data (taken as binary: the caller canonicalised it) by the certificate
 * signer_fpr with its held key; the signer's chain from the store and SMIMECapabilities
 * (AES-256-GCM, AES-128-GCM, AES-256-CBC, AES-128-CBC) go into it. *der malloc'd.
 * Returns 0, or -1 with a reason in err. */
int sg_smime_sign(const sg_smime_keys *k, const char *signer_fpr, const sg_smime_sign_opts *o,
                  const char *data, size_t len, unsigned char **der, size_t *derlen, char *err,
                  size_t errlen);

/* One envelope of data for every certificate in rcpts: AuthEnvelopedData with AES-256-GCM when
 * gcm, else EnvelopedData with AES-256-CBC. RSA recipients by RSAES-OAEP (SHA-256) when oaep,
 * else PKCS#1 v1.5; EC recipients by ECDH (dhSinglePass-stdDH-sha256kdf, AES-256 key wrap). */
int sg_smime_encrypt(const sg_smime_keys *k, char (*rcpts)[SG_CERT_FPR_LEN + 1], size_t nrcpt, bool gcm,
                     bool oaep, const char *data, size_t len, unsigned char **der, size_t *derlen, char *err,
                     size_t errlen);

/* The same as streams for a large message (issue 11, cms_stream.c): the data is read in
 * pieces through read (the number of bytes, 0 at the end) and the envelope's BER written
 * through write (0, or -1 on an error), both with ctx. sg_smime_sign_stream makes a detached
 * signature only (o->detached), *der malloc'd; sg_smime_encrypt_stream writes the whole
 * ContentInfo. 0, or -1 with a reason in err. */
typedef struct sg_smime_stream_io {
    size_t (*read)(void *ctx, char *buf, size_t cap);
    int (*write)(void *ctx, const void *buf, size_t n);
    void *ctx;
} sg_smime_stream_io;
int sg_smime_sign_stream(const sg_smime_keys *k, const char *signer_fpr, const sg_smime_sign_opts *o,
                         const sg_smime_stream_io *io, unsigned char **der, size_t *derlen, char *err,
                         size_t errlen);
int sg_smime_encrypt_stream(const sg_smime_keys *k, char (*rcpts)[SG_CERT_FPR_LEN + 1], size_t nrcpt, bool gcm,
                            bool oaep, const sg_smime_stream_io *io, char *err, size_t errlen);

/* The content type of a DER ContentInfo, by structure only (no keys). */
enum sg_smime_type {
    SG_SMIME_T_OTHER = 0,      /* not CMS, or a type S/MIME does not use */
    SG_SMIME_T_ENVELOPED,      /* EnvelopedData with RecipientInfos and encrypted content */
    SG_SMIME_T_AUTH_ENVELOPED, /* AuthEnvelopedData (RFC 5083), the same */
    SG_SMIME_T_SIGNED,         /* SignedData with at least one signer */
    SG_SMIME_T_CERTS_ONLY,     /* SignedData without signers (a certificate bundle) */
};
int sg_smime_der_type(const unsigned char *der, size_t len);

typedef struct sg_smime_decrypted {
    int status; /* enum sg_dec_status */
    char reason[96];
    char *plain; /* SG_DEC_OK only; malloc'd, NUL-terminated */
    size_t plainlen;
    bool *hits; /* [ncand] (malloc'd): the message has a RecipientInfo for cands[i] */
    bool aead;  /* AuthEnvelopedData */
} sg_smime_decrypted;

/* Decrypts EnvelopedData or AuthEnvelopedData with the held key of the first certificate of
 * cands (fingerprints with a key in the store) that the message has a RecipientInfo for; no
 * other key is unwrapped. Plaintext over max_plain is SG_DEC_TOO_LARGE. 0, -1 on ENOMEM. */
int sg_smime_decrypt(const sg_smime_keys *k, char (*cands)[SG_CERT_FPR_LEN + 1], size_t ncand,
                     const unsigned char *der, size_t len, size_t max_plain, sg_smime_decrypted *res);
void sg_smime_decrypted_free(sg_smime_decrypted *res);
/* sg_smime_decrypt for a large message (issue 11): CMS_decrypt writes the plaintext to fd (a
 * fresh file) as it decrypts; res->plain stays NULL, plainlen is the file's size. What fd
 * holds may be used only when res->status is SG_DEC_OK: with AuthEnvelopedData the GCM tag is
 * checked at the end, after the writing; otherwise the caller discards the file. */
int sg_smime_decrypt_to_fd(const sg_smime_keys *k, char (*cands)[SG_CERT_FPR_LEN + 1], size_t ncand,
                           const unsigned char *der, size_t len, size_t max_plain, int fd, sg_smime_decrypted *res);

typedef struct sg_smime_verified {
    sg_sig_verdict v;
    char *content; /* opaque SignedData: the signed content (malloc'd); NULL when detached */
    size_t contentlen;
    unsigned char *chain; /* the signer's certificate, then the others carried, DER (malloc'd) */
    size_t chainlen;
    bool signer_aead;    /* the signer's SMIMECapabilities name AES-GCM (for learning) */
    unsigned char *caps; /* the DER of that attribute's value, for the store to learn; malloc'd */
    size_t capslen;
} sg_smime_verified;

/* Verifies SignedData der: over detached (exactly as given, binary) when not NULL, else over
 * its own content (at most max_plain bytes). Every SignerInfo must verify with a SHA-2 digest;
 * the signer's certificate (carried in the message, or stored for from) must validate for
 * signing with the address from at time at (sg_cert_validate). v.sig is VALID only then, with
 * from_match; otherwise INVALID with a reason word (docs/smime.md). 0, -1 on ENOMEM. */
int sg_smime_verify(const sg_smime_keys *k, const char *from, time_t at, const unsigned char *der, size_t len,
                    const char *detached, size_t dlen, size_t max_plain, sg_smime_verified *res);
void sg_smime_verified_free(sg_smime_verified *res);

#endif
