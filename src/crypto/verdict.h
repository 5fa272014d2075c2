/* verdict.h - the outcome words shared by every engine (OpenPGP, S/MIME): how a decryption
 * ended and what a signature proved. Owner: src/crypto. One vocabulary, so that the single
 * decrypt/verify entry point (src/engine/unwrap.c) and the stamps do not care which engine
 * produced a layer. */
#ifndef SG_VERDICT_H
#define SG_VERDICT_H

#include <stdbool.h>

enum sg_dec_status {
    SG_DEC_OK,           /* decrypted, integrity protection present and verified */
    SG_DEC_NO_KEY,       /* no held secret key is among the message's recipients */
    SG_DEC_NO_INTEGRITY, /* no MDC/AEAD, or it failed: plaintext must not be released */
    SG_DEC_FAILED,       /* malformed or otherwise undecryptable */
    SG_DEC_TOO_LARGE,    /* the plaintext would exceed the limit: held, never truncated */
};

enum sg_sig_status { SG_SIG_NONE, SG_SIG_VALID, SG_SIG_INVALID };

/* Long enough for an OpenPGP v4/v5 fingerprint (40/64 hex) and an X.509 SHA-256 one (64). */
#define SG_SIGNER_MAX 64

typedef struct sg_sig_verdict {
    int sig;                      /* enum sg_sig_status */
    char signer[SG_SIGNER_MAX + 1]; /* primary key / certificate fingerprint of the signature */
    bool from_match;              /* the signer's key or certificate is bound to the From address */
    char reason[96];              /* why invalid: bad, unknown-key, key-invalid, from-mismatch... */
} sg_sig_verdict;

#endif
