/* signed.c - the outgoing multipart/signed message (RFC 3156 section 5): the original header
 * fields, then the canonical entity exactly as it was signed, then the detached signature.
 * Owner: src/mime. The first part's bytes are the signed bytes: the entity is written as
 * given (CRLF, 7-bit, see canon.c) and the CRLF before the next delimiter belongs to the
 * delimiter (RFC 2046 5.1.1), so what a verifier hashes is exactly what was signed. */
#include <string.h>

#include "mime/mime.h"
#include "mime/mime_int.h"

/* The boundary must not occur in the signed entity, or the first part would end early. */
static bool occurs(const char *s, size_t n, const char *b)
{
    size_t bl = strlen(b);
    for (size_t i = 0; i + bl <= n; i++)
        if (s[i] == b[0] && memcmp(s + i, b, bl) == 0)
            return true;
    return false;
}

int sg_mime_wrap_signed(const char *msg, size_t len, const char *entity, size_t elen, const char *sig,
                        size_t siglen, sg_buf *out)
{
    char boundary[64];
    do {
        if (sg_mime_new_boundary(boundary, sizeof boundary) < 0)
            return -1;
    } while (occurs(entity, elen, boundary));
    if (sg_mime_outer_fields(msg, len, NULL, out) < 0 ||
        sg_buf_appendf(out,
                       "MIME-Version: 1.0\r\n"
                       "Content-Type: multipart/signed; micalg=pgp-sha256;\r\n"
                       " protocol=\"application/pgp-signature\"; boundary=\"%s\"\r\n"
                       "\r\n"
                       "This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n"
                       "--%s\r\n",
                       boundary, boundary) < 0 ||
        sg_buf_append(out, entity, elen) < 0 ||
        sg_buf_appendf(out,
                       "\r\n--%s\r\n"
                       "Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n"
                       "Content-Description: OpenPGP digital signature\r\n"
                       "Content-Disposition: attachment; filename=\"signature.asc\"\r\n"
                       "\r\n",
                       boundary) < 0 ||
        sg_mime_append_crlf(out, sig, siglen) < 0)
        return -1;
    if (siglen && sig[siglen - 1] != '\n' && sg_buf_append(out, "\r\n", 2) < 0)
        return -1;
    return sg_buf_appendf(out, "--%s--\r\n", boundary) < 0 ? -1 : 0;
}
