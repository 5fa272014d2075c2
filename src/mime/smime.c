/* smime.c - recognising S/MIME at the top level of a message or entity (see smime.h).
 * Owner: src/mime (S/MIME). Input is untrusted; this is the MIME end of fuzz_smime.
 * Accepted (RFC 8551 3.2 and 3.5): application/pkcs7-mime and application/x-pkcs7-mime
 * whatever their smime-type says (the CMS content type decides, later), application/octet-stream
 * named *.p7m (3.2.2), and multipart/signed whose protocol is application/(x-)pkcs7-signature
 * with exactly two parts, the second of that type. */
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/cms_limits.h"
#include "lib/mapview.h"
#include "mime/rawmsg.h"
#include "mime/smime.h"

/* The parsed Content-Type of a raw header block; NULL when absent or unparsable. */
static GMimeContentType *ctype_of(const sg_rawmsg *m)
{
    const sg_rawhdr *h = sg_rawmsg_find(m, "Content-Type");
    char *v = h ? sg_rawhdr_value(h) : NULL;
    if (!v)
        return NULL;
    GMimeContentType *ct = g_mime_content_type_parse(NULL, v);
    free(v);
    return ct;
}

static bool is_p7(GMimeContentType *ct, const char *what)
{
    char x[40];
    snprintf(x, sizeof x, "x-%s", what);
    return ct && (g_mime_content_type_is_type(ct, "application", what) ||
                  g_mime_content_type_is_type(ct, "application", x));
}

static bool ends_with_p7m(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n >= 4 && strcasecmp(name + n - 4, ".p7m") == 0;
}

/* The body of m with its Content-Transfer-Encoding undone (base64, quoted-printable; any
 * other encoding is taken as it is), at most SG_SMIME_MAX_DER bytes. 1 done, 0 too large, -1
 * ENOMEM. */
static int decode_body(const sg_rawmsg *m, unsigned char **out, size_t *outlen)
{
    const sg_rawhdr *h = sg_rawmsg_find(m, "Content-Transfer-Encoding");
    char *v = h ? sg_rawhdr_value(h) : NULL;
    GMimeContentEncoding enc = v ? g_mime_content_encoding_from_string(v) : GMIME_CONTENT_ENCODING_DEFAULT;
    free(v);
    if (m->bodylen > 2 * (size_t)SG_SMIME_MAX_DER)
        return 0;
    bool transform = enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
    GMimeEncoding st;
    size_t cap = m->bodylen + 1;
    if (transform) {
        g_mime_encoding_init_decode(&st, enc);
        cap = g_mime_encoding_outlen(&st, m->bodylen) + 1;
    }
    if (!(*out = malloc(cap)))
        return -1;
    if (transform) {
        /* In pieces, so that the pages of a large body mapped from the spool are given back
         * behind the decoder (issue 11); the state carries what a piece leaves open. */
        const size_t piece = (size_t)1 << 20;
        size_t off = 0;
        *outlen = 0;
        for (; m->bodylen - off > piece; off += piece) {
            *outlen += g_mime_encoding_step(&st, m->body + off, piece, (char *)*out + *outlen);
            sg_mapview_release(m->body + off, m->body + off + piece);
        }
        *outlen += g_mime_encoding_flush(&st, m->body + off, m->bodylen - off, (char *)*out + *outlen);
    } else {
        memcpy(*out, m->body, m->bodylen);
        *outlen = m->bodylen;
    }
    if (*outlen > SG_SMIME_MAX_DER) {
        free(*out);
        *out = NULL;
        *outlen = 0;
        return 0;
    }
    return 1;
}

static int detect_clear(const sg_rawmsg *m, const char *boundary, sg_mime_smime *out)
{
    sg_rawpart parts[3];
    if (sg_rawmsg_split(m->body, m->bodylen, boundary, parts, 3) != 2)
        return 0;
    sg_rawmsg sp;
    if (sg_rawmsg_parse(parts[1].data, parts[1].len, &sp) < 0)
        return 0;
    GMimeContentType *ct = ctype_of(&sp);
    int rc = 0;
    if (is_p7(ct, "pkcs7-signature")) {
        rc = decode_body(&sp, &out->der, &out->derlen);
        if (rc == 1) {
            out->kind = SG_MIME_SMIME_CLEAR;
            out->signed_data = parts[0].data;
            out->signed_len = parts[0].len;
            rc = 0;
        }
    }
    if (ct)
        g_object_unref(ct);
    sg_rawmsg_free(&sp);
    return rc;
}

int sg_mime_smime_detect(const char *msg, size_t len, sg_mime_smime *out)
{
    memset(out, 0, sizeof *out);
    sg_rawmsg m;
    if (sg_rawmsg_parse(msg, len, &m) < 0)
        return 0; /* not a usable message: NONE */
    GMimeContentType *ct = ctype_of(&m);
    int rc = 0;
    const char *boundary = ct ? g_mime_content_type_get_parameter(ct, "boundary") : NULL;
    const char *proto = ct ? g_mime_content_type_get_parameter(ct, "protocol") : NULL;
    if (is_p7(ct, "pkcs7-mime") || (ct && g_mime_content_type_is_type(ct, "application", "octet-stream") &&
                                    ends_with_p7m(g_mime_content_type_get_parameter(ct, "name")))) {
        rc = decode_body(&m, &out->der, &out->derlen);
        if (rc == 1) {
            out->kind = SG_MIME_SMIME_P7M;
            rc = 0;
        }
    } else if (ct && boundary && proto && g_mime_content_type_is_type(ct, "multipart", "signed") &&
               (strcasecmp(proto, "application/pkcs7-signature") == 0 ||
                strcasecmp(proto, "application/x-pkcs7-signature") == 0)) {
        rc = detect_clear(&m, boundary, out);
    }
    if (ct)
        g_object_unref(ct);
    sg_rawmsg_free(&m);
    if (rc < 0)
        sg_mime_smime_free(out);
    return rc < 0 ? -1 : 0;
}

void sg_mime_smime_free(sg_mime_smime *s)
{
    free(s->der);
    memset(s, 0, sizeof *s);
}
