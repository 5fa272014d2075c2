/* engine_pgp_int.h - shared by the files of the OpenPGP engine only (engine_pgp.c, the
 * inline PGP code in pgp_inline_out.c). Owner: src/engine (OpenPGP). */
#ifndef SG_ENGINE_PGP_INT_H
#define SG_ENGINE_PGP_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/pgp/pgp_ops.h"
#include "engine/engine.h"
#include "lib/buf.h"

extern const sg_engine sg_engine_pgp;

/* The engine's key access (set by its init). */
const sg_pgp_ops_keys *sg_engine_pgp_keys(void);

/* The most plaintext one OpenPGP layer of clen bytes may give (compression expands, but not
 * without limit): cryptd.pgp_max_ratio times clen, at least 8 MiB, never more than
 * cryptd.pgp_max_plaintext, and never more than req->max_plain when that is set. More is
 * SG_DEC_TOO_LARGE: the message is held, nothing is truncated. */
size_t sg_engine_pgp_max_plain(const sg_peel_req *req, size_t clen);

/* Decrypts cipher for the readers of req: fills out (kind ENCRYPTED, dec, reason, readable,
 * sig) and d (the plaintext when d->status is SG_DEC_OK; the caller frees d). 0 or -1. */
int sg_engine_pgp_decrypt(const sg_peel_req *req, const char *cipher, size_t clen, sg_layer *out,
                          sg_pgp_decrypted *d);

/* Inline PGP output is possible: the message is one text/plain part. */
bool sg_pgp_inline_eligible(const char *msg, size_t len);
/* The message with its text replaced by an armored OpenPGP message (signed when signer is not
 * NULL) or by cleartext-signed text; the header is kept (inline PGP cannot protect it). */
int sg_pgp_inline_encrypt(const sg_pgp_ops_keys *k, const char *signer, char (*fprs)[SG_PGP_FPR_LEN + 1],
                          size_t n, const char *msg, size_t len, sg_buf *out, char *err, size_t errlen);
int sg_pgp_inline_sign(const sg_pgp_ops_keys *k, const char *signer, const char *msg, size_t len, sg_buf *out,
                       char *err, size_t errlen);

/* The decoded text of a message or entity whose body is one text/plain part (not an
 * attachment), and its charset (malloc'd, NULL when none is given); text and charset may be
 * NULL to only ask. 1 when it is one, 0 when not, -1 on error. */
int sg_pgp_plain_text(const char *msg, size_t len, char **text, size_t *tlen, char **charset);
/* Appends a text/plain entity (header and body, CRLF) holding data, 7-bit encoded; with a
 * filename it is an attachment. 0 or -1. */
int sg_pgp_text_entity(const char *data, size_t n, const char *charset, const char *filename,
                       const char *description, sg_buf *out);

/* Incoming inline PGP in a text/plain entity (pgp_inline_in.c states the exact shapes). */
int sg_pgp_inline_detect(const char *msg, size_t len);
int sg_pgp_inline_peel(const sg_peel_req *req, const char *msg, size_t len, sg_layer *out);

#endif
