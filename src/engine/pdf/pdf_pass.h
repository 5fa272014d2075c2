/* pdf_pass.h - the pdf method's passwords (issue 12, docs/pdf.md "Passwords"): one per
 * (internal sender, external recipient) pair, made on first use and reused after.
 * Owner: src/engine/pdf.
 * SECURITY: runs in cryptd only. The password is made by OpenSSL's CSPRNG (20 characters of an
 * alphabet without look-alikes: about 115 bits), stored wrapped by the KEK (AES-256-GCM, the
 * pair as AAD so a row copied onto another pair does not open) next to an argon2id verifier,
 * the only thing the web role's reply portal reads. Plaintext passwords live in the caller's
 * buffer for one message and are wiped by it. */
#ifndef SG_ENGINE_PDF_PASS_H
#define SG_ENGINE_PDF_PASS_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"

#define SG_PDF_PASS_LEN 20
#define SG_PDF_PASS_ALPHABET "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"

/* The pair's password into pw (NUL-terminated); *created is true when it was made now (the
 * sender is then told it). 0, or -1 with err (store, KEK, random source): fail closed. */
int sg_pdf_password(const sg_engine_env *env, const char *sender, const char *rcpt, char pw[SG_PDF_PASS_LEN + 1],
                    bool *created, char *err, size_t errlen);

/* Forgets the pair's password (the message that made it failed, so the sender was never told
 * it; or an administrator's reset). 0 forgotten, 1 there was none, -1 store error. */
int sg_pdf_password_forget(const sg_engine_env *env, const char *sender, const char *rcpt);

/* A fresh password from the CSPRNG. 0 or -1. */
int sg_pdf_password_new(char pw[SG_PDF_PASS_LEN + 1]);

/* The argon2id verifier of pw (encoded, into out). 0 or -1. */
int sg_pdf_password_verifier(const char *pw, char *out, size_t outlen);

#endif
