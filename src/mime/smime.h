/* smime.h - the MIME of S/MIME (RFC 8551 section 3): recognising application/pkcs7-mime and
 * multipart/signed with an application/pkcs7-signature (also the x-pkcs7-* names of older
 * clients), and building them. Owner: src/mime (S/MIME files, smime*.c).
 * Like mime.h, everything works on whole messages or entities in memory; parts that are not
 * transformed keep their bytes; results are appended to an sg_buf. The CMS inside is
 * src/engine/smime/cms.h's business: nothing here needs keys. */
#ifndef SG_MIME_SMIME_H
#define SG_MIME_SMIME_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

enum sg_mime_smime_kind {
    SG_MIME_SMIME_NONE = 0,
    SG_MIME_SMIME_P7M,   /* application/pkcs7-mime (enveloped, authEnveloped or signed data) */
    SG_MIME_SMIME_CLEAR, /* multipart/signed; protocol="application/pkcs7-signature" */
};

typedef struct sg_mime_smime {
    int kind; /* enum sg_mime_smime_kind */
    /* P7M: the decoded CMS of the body; CLEAR: the decoded signature part (malloc'd). */
    unsigned char *der;
    size_t derlen;
    /* CLEAR: the first part exactly as received (points into the input). */
    const char *signed_data;
    size_t signed_len;
} sg_mime_smime;

/* Looks at the top-level entity of msg (a message, or an entity: Content-* fields and body).
 * A pkcs7-mime body over SG_SMIME_MAX_DER, a multipart/signed without exactly two parts or
 * without a pkcs7-signature second part is NONE. Returns 0, -1 on ENOMEM. */
int sg_mime_smime_detect(const char *msg, size_t len, sg_mime_smime *out);
void sg_mime_smime_free(sg_mime_smime *s);

/* An entity holding CMS der: application/pkcs7-mime; smime-type=<smime_type> ("enveloped-data",
 * "authEnveloped-data", "signed-data"), name smime.p7m, base64. */
int sg_mime_smime_p7m_entity(const char *smime_type, const unsigned char *der, size_t len, sg_buf *out);

/* The pieces of those two entities, for a large message made as a stream (issue 11): the
 * p7m entity's header fields and empty line (its body is the DER in base64 lines: sg_b64_*);
 * a fresh boundary, then the signed entity before its content (head) and after it (tail).
 * Each 0 or -1. */
int sg_mime_smime_p7m_head(const char *smime_type, sg_buf *out);
int sg_mime_smime_boundary(char b[64]);
int sg_mime_smime_signed_head(const char *micalg, const char *boundary, sg_buf *out);
int sg_mime_smime_signed_tail(const char *boundary, const unsigned char *sig, size_t siglen, sg_buf *out);
/* Base64 in 76-character CRLF lines, as the p7m entity has them, of bytes given in pieces:
 * sg_b64_piece for each piece, sg_b64_end once (start from {0}). */
typedef struct sg_b64 {
    unsigned char rest[57];
    size_t n;
} sg_b64;
int sg_b64_piece(sg_b64 *b, const unsigned char *d, size_t n, sg_buf *out);
int sg_b64_end(sg_b64 *b, sg_buf *out);

/* A clear-signed entity (RFC 8551 3.5.3): multipart/signed with content (a canonical entity,
 * taken byte for byte) and the detached signature as application/pkcs7-signature (smime.p7s);
 * micalg like "sha-256". */
int sg_mime_smime_signed_entity(const char *content, size_t clen, const unsigned char *sig, size_t siglen,
                                const char *micalg, sg_buf *out);

/* Generic: the message msg with its body replaced by entity (Content-* fields, empty line,
 * body). msg's header fields are kept byte for byte and in order, without Content-* and
 * MIME-Version; Subject becomes "..." when hide_subject (the real one travels protected inside);
 * then MIME-Version: 1.0 and the entity. */
int sg_mime_wrap_entity(const char *msg, size_t len, const char *entity, size_t elen, bool hide_subject,
                        sg_buf *out);

#endif
