/* smime_build.c - building S/MIME entities (RFC 8551 3.3-3.5) and putting an entity in place
 * of a message's body (see smime.h). Owner: src/mime (S/MIME).
 * Kept header fields are copied raw (bare LF made CRLF); nothing is re-folded or re-encoded. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "mime/mime.h"
#include "mime/smime.h"

#define B64_LINE 57 /* input bytes per base64 line: 76 characters (RFC 2045 6.8) */

int sg_mime_base64_lines(const unsigned char *d, size_t n, sg_buf *out)
{
    unsigned char line[80];
    for (size_t off = 0; off < n; off += B64_LINE) {
        size_t chunk = n - off < B64_LINE ? n - off : B64_LINE;
        int l = EVP_EncodeBlock(line, d + off, (int)chunk);
        if (sg_buf_append(out, line, (size_t)l) < 0 || sg_buf_append(out, "\r\n", 2) < 0)
            return -1;
    }
    return 0;
}

int sg_mime_smime_p7m_entity(const char *smime_type, const unsigned char *der, size_t len, sg_buf *out)
{
    if (sg_mime_smime_p7m_head(smime_type, out) < 0)
        return -1;
    return sg_mime_base64_lines(der, len, out);
}

int sg_mime_smime_p7m_head(const char *smime_type, sg_buf *out)
{
    return sg_buf_appendf(out,
                       "Content-Type: application/pkcs7-mime; smime-type=%s;\r\n"
                       " name=\"smime.p7m\"\r\n"
                       "Content-Transfer-Encoding: base64\r\n"
                       "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n"
                       "\r\n",
                       smime_type) < 0
               ? -1
               : 0;
}

int sg_b64_piece(sg_b64 *b, const unsigned char *d, size_t n, sg_buf *out)
{
    while (n) {
        size_t k = B64_LINE - b->n < n ? B64_LINE - b->n : n;
        memcpy(b->rest + b->n, d, k);
        b->n += k;
        d += k;
        n -= k;
        if (b->n == B64_LINE) {
            if (sg_mime_base64_lines(b->rest, B64_LINE, out) < 0)
                return -1;
            b->n = 0;
        }
    }
    return 0;
}

int sg_b64_end(sg_b64 *b, sg_buf *out)
{
    int rc = sg_mime_base64_lines(b->rest, b->n, out);
    b->n = 0;
    return rc;
}

/* "sealgate-smime-" and 24 random hex digits: cannot occur in base64 or in the canonical
 * content by chance (RFC 2046 5.1.1 asks only that it does not). */
int sg_mime_smime_boundary(char b[64])
{
    unsigned char r[12];
    if (RAND_bytes(r, sizeof r) != 1)
        return -1;
    static const char hex[] = "0123456789abcdef";
    size_t n = (size_t)snprintf(b, 64, "sealgate-smime-");
    for (size_t i = 0; i < sizeof r; i++) {
        b[n++] = hex[r[i] >> 4];
        b[n++] = hex[r[i] & 15];
    }
    b[n] = '\0';
    return 0;
}

int sg_mime_smime_signed_entity(const char *content, size_t clen, const unsigned char *sig, size_t siglen,
                                const char *micalg, sg_buf *out)
{
    char b[64];
    if (sg_mime_smime_boundary(b) < 0 || sg_mime_smime_signed_head(micalg, b, out) < 0 ||
        sg_buf_append(out, content, clen) < 0)
        return -1;
    return sg_mime_smime_signed_tail(b, sig, siglen, out);
}

int sg_mime_smime_signed_head(const char *micalg, const char *b, sg_buf *out)
{
    return sg_buf_appendf(out,
                       "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n"
                       " micalg=%s; boundary=\"%s\"\r\n"
                       "\r\n"
                       "This is a cryptographically signed message in MIME format.\r\n"
                       "\r\n"
                       "--%s\r\n",
                          micalg, b, b) < 0
               ? -1
               : 0;
}

int sg_mime_smime_signed_tail(const char *b, const unsigned char *sig, size_t siglen, sg_buf *out)
{
    /* The CRLF before the delimiter belongs to the delimiter, not to the signed content. */
    if (sg_buf_appendf(out,
                       "\r\n--%s\r\n"
                       "Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
                       "Content-Transfer-Encoding: base64\r\n"
                       "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n"
                       "Content-Description: S/MIME Cryptographic Signature\r\n"
                       "\r\n",
                       b) < 0 ||
        sg_mime_base64_lines(sig, siglen, out) < 0)
        return -1;
    return sg_buf_appendf(out, "\r\n--%s--\r\n", b) < 0 ? -1 : 0;
}

int sg_mime_wrap_entity(const char *msg, size_t len, const char *entity, size_t elen, bool hide_subject,
                        sg_buf *out)
{
    if (sg_mime_outer_fields(msg, len, hide_subject ? "..." : NULL, out) < 0 ||
        sg_buf_append(out, "MIME-Version: 1.0\r\n", 19) < 0)
        return -1;
    return sg_mime_to_crlf(entity, elen, out);
}
