/* cms_int.h - helpers shared by src/engine/smime/cms*.c only. Owner: src/engine (S/MIME). */
#ifndef SG_SMIME_INT_H
#define SG_SMIME_INT_H

#include <openssl/cms.h>
#include <openssl/x509.h>

#include "engine/smime/cms.h"

/* A certificate / key from the store, taken with *lock held. NULL when absent. */
X509 *smime_load_cert(const sg_smime_keys *k, const char *fpr);
EVP_PKEY *smime_load_key(const sg_smime_keys *k, const char *fpr);

/* The signing key of certificate fpr, from a small cache (cms_signkey.c). NULL when absent. */
EVP_PKEY *smime_signing_key(const sg_smime_keys *k, const char *fpr);

/* The store's x509 generation (sg_store_generation, SG_GEN_X509), which every change of
 * certificates, trust, CRLs or OCSP answers by any process changes. 0, or -1 (also for st
 * NULL): then nothing is remembered or found. */
int sg_smime_generation(sg_store *st, int64_t *gen);

/* Writes "what: first OpenSSL error" into err and clears the error queue. Returns -1. */
int smime_fail(char *err, size_t errlen, const char *what);

/* Parses a DER ContentInfo (len capped by SG_SMIME_MAX_DER); NULL when it is not one. */
CMS_ContentInfo *smime_parse(const unsigned char *der, size_t len);

/* The prepared (CMS_PARTIAL) structures of sg_smime_sign and sg_smime_encrypt before any data
 * is fed (flags as CMS_sign / CMS_encrypt take them), shared with the streamed variants
 * (cms_stream.c). NULL with err. */
CMS_ContentInfo *smime_sign_setup(const sg_smime_keys *k, const char *signer_fpr, const sg_smime_sign_opts *o,
                                  unsigned flags, char *err, size_t errlen);
CMS_ContentInfo *smime_encrypt_setup(const sg_smime_keys *k, char (*rcpts)[SG_CERT_FPR_LEN + 1], size_t nrcpt,
                                     bool gcm, bool oaep, unsigned flags, char *err, size_t errlen);

/* The contents of a memory BIO as a malloc'd, NUL-terminated copy. 0 or -1. */
int smime_bio_take(BIO *b, char **out, size_t *outlen);

#endif
