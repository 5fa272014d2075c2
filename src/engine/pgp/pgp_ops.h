/* pgp_ops.h - the OpenPGP operations of the PGP/MIME transform: sign+encrypt one entity, and
 * decrypt+verify one message, with keys taken from the keystore. Owner: src/engine (PGP/MIME).
 * In the engine, not in crypto/, because it reads the keystore: crypto/ knows no store.
 * SECURITY: for cryptd only. Decryption unwraps secret keys into a librnp context that lives
 * for one call. Sign+encrypt keeps the keys it used (the signer's secret too) in a librnp
 * context per thread, dropped when the keystore's generation changes (import, update,
 * revocation, deletion by any process), a key's validity ends, the thread ends, or on
 * sg_pgp_ops_cache_clear (see pgpcache.h and docs/keys.md for the trade-off). Exported secret
 * bytes are wiped at once (sg_pgp_free_secret). The keystore (one store handle and a lazily
 * loaded KEK) is not thread-safe: every call on it is made with *lock held. */
#ifndef SG_ENGINE_PGP_OPS_H
#define SG_ENGINE_PGP_OPS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "crypto/openpgp.h"
#include "crypto/verdict.h"
#include "keys/keystore.h"

typedef struct sg_pgp_ops_keys {
    sg_keystore *ks;
    pthread_mutex_t *lock;
    int compress; /* ZLIB level 1..9 for sign+encrypt (cryptd.pgp_compression); 0: none */
} sg_pgp_ops_keys;

/* One OpenPGP message, armored: signed with signer_fpr (its secret from the keystore; NULL:
 * not signed) and encrypted to every key in rcpts. AES-256, SEIPD with MDC (no AEAD, which
 * older peers cannot read), no compression (no decompression-ratio risk at the peer, and
 * compression of attacker-influenced plaintext leaks length information).
 * *out is malloc'd. Returns 0, or -1 with a reason in err. */
int sg_pgp_ops_encrypt(const sg_pgp_ops_keys *k, const char *signer_fpr, char (*rcpts)[SG_PGP_FPR_LEN + 1],
                       size_t nrcpt, const char *data, size_t len, char **out, size_t *outlen, char *err,
                       size_t errlen);

/* The same as a stream (issue 11): the plaintext is read through read (librnp's input
 * reader: false on an error, *got 0 at the end) and the armored message written through
 * write (false on an error), both called with ctx, in bounded pieces. Returns 0, 1 when the
 * signer is an RSA key that OpenSSL signs over the whole message (use sg_pgp_ops_encrypt),
 * or -1 with a reason in err (also when read or write failed: nothing written counts). */
typedef struct sg_pgp_stream_io {
    bool (*read)(void *ctx, void *buf, size_t len, size_t *got);
    bool (*write)(void *ctx, const void *buf, size_t len);
    void *ctx;
} sg_pgp_stream_io;
int sg_pgp_ops_encrypt_stream(const sg_pgp_ops_keys *k, const char *signer_fpr, char (*rcpts)[SG_PGP_FPR_LEN + 1],
                              size_t nrcpt, const sg_pgp_stream_io *io, char *err, size_t errlen);

/* Drops the calling thread's cached signing/encryption keys (wiping the secrets) now, e.g.
 * before a thread that is not going to end soon stops signing; worker threads that end drop
 * theirs by themselves. */
void sg_pgp_ops_cache_clear(void);

/* Verdicts use the shared vocabulary of crypto/verdict.h. */
typedef sg_sig_verdict sg_pgp_verdict;

typedef struct sg_pgp_decrypted {
    int status; /* enum sg_dec_status */
    char reason[96];
    char *plain; /* SG_DEC_OK only; malloc'd */
    size_t plainlen;
    /* Held keys (primary fingerprints, from cands) that the message was encrypted to. */
    char (*hits)[SG_PGP_FPR_LEN + 1];
    size_t nhits;
    sg_pgp_verdict v;
} sg_pgp_decrypted;

/* Decrypts cipher (armored or binary) with the secret keys of cands (primary fingerprints of
 * keys whose secret the keystore holds; each is unwrapped only when librnp asks for it), then
 * checks the signatures against the keys bound to from_addr. Plaintext larger than max_plain
 * (a compressed bomb) gives SG_DEC_TOO_LARGE. */
int sg_pgp_ops_decrypt(const sg_pgp_ops_keys *k, char (*cands)[SG_PGP_FPR_LEN + 1], size_t ncand,
                       const char *from_addr, const char *cipher, size_t clen, size_t max_plain,
                       sg_pgp_decrypted *res);
void sg_pgp_decrypted_free(sg_pgp_decrypted *res);
/* sg_pgp_ops_decrypt for a large message (issue 11): the ciphertext is read in pieces (mapped
 * pages given back behind the reader) and the plaintext, its line ends made CRLF, is written
 * to fd as librnp produces it (res->plain stays NULL, plainlen counts librnp's bytes). What
 * fd holds may be used only when res->status is SG_DEC_OK: librnp checks the MDC / AEAD tag
 * at the end, after writing; on any other status, or -1, the caller discards the file. */
int sg_pgp_ops_decrypt_to_fd(const sg_pgp_ops_keys *k, char (*cands)[SG_PGP_FPR_LEN + 1], size_t ncand,
                             const char *from_addr, const char *cipher, size_t clen, size_t max_plain, int fd,
                             sg_pgp_decrypted *res);

/* Verifies a detached signature over data exactly as given (multipart/signed). */
int sg_pgp_ops_verify_detached(const sg_pgp_ops_keys *k, const char *from_addr, const char *data, size_t len,
                               const char *sig, size_t siglen, sg_pgp_verdict *v);

/* Signs data with signer_fpr (its secret from the keystore), SHA-256, armored: a detached
 * signature (multipart/signed, RFC 3156 section 5), or with cleartext a cleartext-signed
 * message (inline PGP output). *out is malloc'd. 0, or -1 with a reason in err. */
int sg_pgp_ops_sign(const sg_pgp_ops_keys *k, const char *signer_fpr, bool cleartext, const char *data,
                    size_t len, char **out, size_t *outlen, char *err, size_t errlen);

/* Verifies signed-only OpenPGP data (an inline cleartext-signed block, or an armored signed
 * message without encryption) against the keys bound to from_addr, and returns the signed
 * text (*text malloc'd; NULL when the data is not signed-only OpenPGP: then v says why).
 * Output larger than max_plain is not returned. 0, -1 on ENOMEM. */
int sg_pgp_ops_verify_inline(const sg_pgp_ops_keys *k, const char *from_addr, const char *data, size_t len,
                             size_t max_plain, char **text, size_t *textlen, sg_pgp_verdict *v);

#endif
