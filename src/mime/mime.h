/* mime.h - MIME work for cryptd over GMime 3.2: detecting PGP/MIME structures, canonicalising
 * an entity before it is signed, protected headers (RFC 9788 style), and rewriting the outer
 * message around an encrypted or decrypted entity. Owner: src/mime.
 * Everything works on whole messages in memory and returns malloc'd results in an sg_buf.
 * Fields and parts that are not transformed are copied byte for byte from the input.
 * Call sg_mime_init() once per process before any other function (before threads start). */
#ifndef SG_MIME_H
#define SG_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "mime/rawmsg.h"

/* Results never grow beyond this (a bound for every buffer, twice the largest message). */
#define SG_MIME_MAX_OUT (512u << 20)

void sg_mime_init(void);

enum sg_mime_kind {
    SG_MIME_OTHER = 0,
    SG_MIME_PGP_ENCRYPTED, /* multipart/encrypted; protocol="application/pgp-encrypted" */
    SG_MIME_PGP_SIGNED,    /* multipart/signed; protocol="application/pgp-signature" */
};

typedef struct sg_mime_pgp {
    int kind; /* enum sg_mime_kind */
    /* ENCRYPTED: the decoded content of the application/octet-stream part: its body in the
     * input itself when its transfer encoding changes nothing (7bit, 8bit, binary or none, as
     * RFC 3156 sends armor), so that a large ciphertext is not copied (issue 11); otherwise a
     * decoded copy (malloc'd, cipher_own). */
    const char *cipher;
    size_t cipherlen;
    char *cipher_own;
    /* SIGNED: the first part exactly as received (points into the input), and the decoded
     * signature of the second part (malloc'd). */
    const char *signed_data;
    size_t signed_len;
    char *sig;
    size_t siglen;
} sg_mime_pgp;

/* Looks at the top-level entity of a message (RFC 3156 structure). kind stays SG_MIME_OTHER
 * for anything that does not follow the structure exactly. Returns 0, -1 on ENOMEM. */
int sg_mime_detect(const char *msg, size_t len, sg_mime_pgp *out);
void sg_mime_pgp_free(sg_mime_pgp *p);

/* "Mixed-up" PGP/MIME, as MS Exchange and ProtonMail deliver it: multipart/mixed with exactly a
 * placeholder text/plain part (empty, or "Empty Message"), the application/pgp-encrypted control
 * part and the application/octet-stream part. kind is SG_MIME_PGP_ENCRYPTED when it is that,
 * with cipher set; the caller treats it like multipart/encrypted (the whole body). 0, -1. */
int sg_mime_detect_mixed_up(const char *msg, size_t len, sg_mime_pgp *out);

/* The top-level Content-Type of msg is type/sub (no Content-Type counts as text/plain), read
 * from the header alone: a cheap check before anything parses the whole body. */
bool sg_mime_top_is(const char *msg, size_t len, const char *type, const char *sub);

/* The content of a multipart/signed entity of any protocol (its first part exactly as
 * received, pointing into msg): 1 found, 0 when msg is not a two-part multipart/signed. */
int sg_mime_signed_content(const char *msg, size_t len, const char **part, size_t *plen);

/* Canonicalises the body entity of msg (its Content-* fields and body) for signing: CRLF line
 * ends, and every leaf whose content is 8-bit, binary, or has lines over 998 octets is
 * re-encoded as quoted-printable or base64, so the entity is 7-bit and survives any transport
 * unchanged. Leaves that are already 7-bit keep their bytes. Appends to out; 0 or -1. */
int sg_mime_canonical_entity(const char *msg, size_t len, sg_buf *out);

/* An entity (header and body) that SMTP can carry: when a line is longer than 998 octets, the
 * leaves with such lines are re-encoded (quoted-printable or base64) and everything else is
 * written as parsed; otherwise the bytes are appended unchanged (8-bit stays 8-bit). For
 * decrypted entities, whose sender never had to make them transportable. 0 or -1. */
int sg_mime_transportable_entity(const char *ent, size_t len, sg_buf *out);

/* The inner entity to encrypt: the canonical entity with protected-headers="v1" on its
 * Content-Type and copies of the message's Subject, From, To, Cc, Date, Message-ID, Reply-To,
 * In-Reply-To, References fields. 0 or -1. */
int sg_mime_protected_entity(const char *msg, size_t len, sg_buf *out);
/* The same with Subject and the fields named in names[n] (case-insensitive) copied. */
int sg_mime_protected_entity_with(const char *msg, size_t len, const char *const *names, size_t n, sg_buf *out);

/* The outgoing message: msg's header fields without Content-* and MIME-Version, Subject
 * replaced by "...", then a multipart/encrypted body (RFC 3156 section 4) holding armored. */
int sg_mime_wrap_encrypted(const char *msg, size_t len, const char *armored, size_t alen, sg_buf *out);
/* The same with the outer Subject's value replaced by subject (one line). */
int sg_mime_wrap_encrypted_with(const char *msg, size_t len, const char *armored, size_t alen, const char *subject,
                                sg_buf *out);

/* The incoming message after decryption: msg's header fields without Content-*, MIME-Version
 * and sealgate's stamp fields, then stamps (complete header lines, CRLF-terminated), then the
 * decrypted entity. When the entity's Content-Type carries protected-headers="v1", its
 * non-Content fields replace the outer fields of the same names, and the outer fields that
 * steer replies (Reply-To, Mail-Followup-To, From, To, Cc) are dropped unless the entity has
 * them too. 0 or -1. */
int sg_mime_unwrap(const char *msg, size_t len, const char *entity, size_t elen, const char *stamps,
                   sg_buf *out);
/* The entity's Content-Type carries protected-headers="v1". */
bool sg_mime_has_protected_headers(const char *entity, size_t elen);

/* msg with sealgate's stamp fields removed and stamps added after the remaining fields. */
int sg_mime_restamp(const char *msg, size_t len, const char *stamps, sg_buf *out);

/* The name is one of sealgate's stamp fields (X-Sealgate-*), which are never trusted from
 * outside. */
bool sg_mime_is_stamp_field(const char *name, size_t namelen);

/* The parts of a multipart entity (any subtype but signed and encrypted, whose parts belong to
 * their layer), pointing into ent, and its boundary: their number (at most max), 0 when ent is
 * no such multipart, -1 when it is malformed. */
int sg_mime_split_multipart(const char *ent, size_t len, sg_rawpart *parts, size_t max, char *boundary,
                            size_t blen);
/* The entity holds, at any depth, a part a client renders as markup (text/html, SVG, XHTML,
 * XML, enriched text), or is too deep to tell. */
bool sg_mime_has_markup(const char *ent, size_t len);

/* A fresh random boundary "sealgate-<24 hex>" (out: at least 34 bytes). 0 or -1. */
int sg_mime_new_boundary(char *out, size_t n);

/* The body entity of msg: its Content-* fields as they arrived, the empty line, the body.
 * Appends to out; 0 or -1. */
int sg_mime_content_entity(const char *msg, size_t len, sg_buf *out);

/* Appends msg's header fields without Content-* and MIME-Version, raw (bare LF made CRLF),
 * with the Subject's value replaced by subject unless that is NULL: the outer header of a
 * message whose body is replaced. subject must be one line. 0 or -1. */
int sg_mime_outer_fields(const char *msg, size_t len, const char *subject, sg_buf *out);

/* The outgoing clear-signed message (RFC 3156 section 5): msg's header fields without Content-*
 * and MIME-Version, then multipart/signed (micalg=pgp-sha256) whose first part is entity byte
 * for byte (the canonical entity that was signed) and whose second part is the armored
 * detached signature sig. 0 or -1. */
int sg_mime_wrap_signed(const char *msg, size_t len, const char *entity, size_t elen, const char *sig,
                        size_t siglen, sg_buf *out);

/* The field is a result sealgate writes: an X-Sealgate-* field, or an Authentication-Results
 * field whose authserv-id is authserv_id (case-insensitive; NULL: X-Sealgate-* only). Such
 * fields arriving from outside are forged and removed. */
bool sg_mime_is_own_result(const char *name, size_t namelen, const char *value, size_t valuelen,
                           const char *authserv_id);
/* msg without those fields (other bytes unchanged). A plain line scan up to the first empty
 * line, so it works on headers nothing can parse (no colon, too many fields, NUL bytes, a
 * continuation first): a field's name is what precedes its colon, whitespace and NULs
 * ignored. 0, or -1 on ENOMEM only. */
int sg_mime_strip_results(const char *msg, size_t len, const char *authserv_id, sg_buf *out);
/* msg's header has such a field (the same scan; true when out of memory). */
bool sg_mime_has_results(const char *msg, size_t len, const char *authserv_id);
/* msg's header (up to the first empty line) has a line starting X-Sealgate-Origin, in any case:
 * the pdf reply portal's stamp (issue 12), which no message may bring along. A cheap look
 * before a copy (sg_medit_remove_header removes it); leading whitespace or NULs before the name
 * are caught by sg_mime_strip_results for incoming and internal mail. */
bool sg_mime_has_origin(const char *msg, size_t len);
/* sg_mime_strip_results that copies only when there is a field to remove: *stripped false
 * leaves out empty, msg being its own result (a large message is not copied for nothing,
 * issue 11). A msg longer than out's maximum fails (-1) either way, as the copy would. */
int sg_mime_strip_results_if_any(const char *msg, size_t len, const char *authserv_id, sg_buf *out,
                                 bool *stripped);

/* Appends d as base64 in lines of 76 characters, each ended by CRLF (RFC 2045 6.8). 0 or -1. */
int sg_mime_base64_lines(const unsigned char *d, size_t n, sg_buf *out);

/* Appends s with every bare LF made CRLF (RFC 3156: signed data is verified in that form). */
int sg_mime_to_crlf(const char *s, size_t n, sg_buf *out);

/* The From field's address (the first mailbox), domain lower-cased; malloc'd, NULL when none. */
char *sg_mime_from_address(const char *msg, size_t len);

/* The author a reader's client shows, for binding a signature to it (author.c). */
typedef struct sg_mime_author {
    char *addr; /* the first mailbox of the first From field, domain lower-cased (malloc'd), or
                 * NULL when there is none */
    /* NULL when the header names exactly one author: one From field with one mailbox, no
     * display name or comment naming another address, no Sender but the same address. Else
     * why not, as a stamp reason: "ambiguous-from" (several From fields, mailboxes or a
     * group, or a header that cannot be parsed), "from-name-address", "sender-mismatch". */
    const char *problem;
} sg_mime_author;
/* 0 with a filled, -1 on ENOMEM. */
int sg_mime_author_of(const char *msg, size_t len, sg_mime_author *a);
void sg_mime_author_free(sg_mime_author *a);

#endif
