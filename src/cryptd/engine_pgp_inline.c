/* engine_pgp_inline.c - inline PGP for the OpenPGP engine: output (an armored message or
 * cleartext-signed text as the body of a single text/plain message, when configured) and
 * input (armored blocks inside text/plain entities). Owner: src/cryptd (OpenPGP).
 * SECURITY: inline input is attacker-made text around the armor. Decrypted text is returned
 * only for an entity whose whole text is one armored block (possibly with whitespace around
 * it); a block inside other text is never spliced into it (see sg_pgp_inline_peel). */
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptd/engine_pgp_int.h"
#include "mime/mime.h"

/* The decoded text of a message (or entity) whose body is a single text/plain part, and its
 * charset (malloc'd, NULL when none is given). 1 when it is one, 0 when not, -1 on error. */
static int plain_text(const char *msg, size_t len, char **text, size_t *tlen, char **charset)
{
    GMimeStream *in = g_mime_stream_mem_new_with_buffer(msg, len);
    GMimeParser *p = g_mime_parser_new_with_stream(in);
    GMimeObject *obj = g_mime_parser_construct_part(p, NULL);
    int rc = 0;
    if (obj && GMIME_IS_TEXT_PART(obj)) {
        GMimeContentType *ct = g_mime_object_get_content_type(obj);
        GMimeContentDisposition *cd = g_mime_object_get_content_disposition(obj);
        bool attachment = cd && g_mime_content_disposition_is_attachment(cd);
        if (ct && g_mime_content_type_is_type(ct, "text", "plain") && !attachment) {
            rc = 1;
            if (text) {
                GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(obj));
                GMimeStream *mem = g_mime_stream_mem_new();
                GByteArray *ba = NULL;
                if (w && g_mime_data_wrapper_write_to_stream(w, mem) >= 0)
                    ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
                const char *cs = g_mime_content_type_get_parameter(ct, "charset");
                *charset = cs ? strdup(cs) : NULL;
                if (!ba || !(*text = malloc(ba->len + 1))) {
                    rc = -1;
                } else {
                    memcpy(*text, ba->data, ba->len);
                    (*text)[ba->len] = '\0';
                    *tlen = ba->len;
                }
                g_object_unref(mem);
            }
        }
    }
    if (obj)
        g_object_unref(obj);
    g_object_unref(p);
    g_object_unref(in);
    return rc;
}

bool sg_pgp_inline_eligible(const char *msg, size_t len)
{
    return plain_text(msg, len, NULL, NULL, NULL) == 1;
}

/* Appends a text/plain entity (header and body, CRLF) holding data, 7-bit encoded. */
static int text_entity(const char *data, size_t n, const char *charset, sg_buf *out)
{
    GMimeTextPart *tp = g_mime_text_part_new_with_subtype("plain");
    GMimeStream *s = g_mime_stream_mem_new_with_buffer(data, n);
    GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(s, GMIME_CONTENT_ENCODING_DEFAULT);
    g_mime_part_set_content(GMIME_PART(tp), w);
    g_mime_text_part_set_charset(tp, charset ? charset : "us-ascii");
    g_mime_part_set_content_encoding(
        GMIME_PART(tp), g_mime_part_get_best_content_encoding(GMIME_PART(tp), GMIME_ENCODING_CONSTRAINT_7BIT));
    GMimeFormatOptions *fo = g_mime_format_options_clone(NULL);
    g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
    GMimeStream *mem = g_mime_stream_mem_new();
    int rc = -1;
    if (g_mime_object_write_to_stream(GMIME_OBJECT(tp), fo, mem) >= 0) {
        GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
        rc = sg_mime_to_crlf((const char *)ba->data, ba->len, out);
    }
    g_object_unref(mem);
    g_mime_format_options_free(fo);
    g_object_unref(w);
    g_object_unref(s);
    g_object_unref(tp);
    return rc;
}

/* The outgoing inline message: the header as it was (without Content-*), then text/plain
 * holding body. */
static int inline_message(const char *msg, size_t len, const char *body, size_t blen, const char *charset,
                          sg_buf *out)
{
    if (sg_mime_outer_fields(msg, len, false, out) < 0 || sg_buf_append(out, "MIME-Version: 1.0\r\n", 19) < 0)
        return -1;
    return text_entity(body, blen, charset, out);
}

typedef int (*inline_op)(const sg_pgpmime_keys *k, const char *signer, char (*fprs)[SG_PGP_FPR_LEN + 1],
                         size_t n, const char *text, size_t tlen, char **res, size_t *rlen, char *err,
                         size_t errlen);

static int op_encrypt(const sg_pgpmime_keys *k, const char *signer, char (*fprs)[SG_PGP_FPR_LEN + 1], size_t n,
                      const char *text, size_t tlen, char **res, size_t *rlen, char *err, size_t errlen)
{
    return sg_pgpmime_encrypt(k, signer, fprs, n, text, tlen, res, rlen, err, errlen);
}

static int op_sign(const sg_pgpmime_keys *k, const char *signer, char (*fprs)[SG_PGP_FPR_LEN + 1], size_t n,
                   const char *text, size_t tlen, char **res, size_t *rlen, char *err, size_t errlen)
{
    (void)fprs;
    (void)n;
    return sg_pgpmime_sign(k, signer, true, text, tlen, res, rlen, err, errlen);
}

static int inline_apply(inline_op op, const sg_pgpmime_keys *k, const char *signer,
                        char (*fprs)[SG_PGP_FPR_LEN + 1], size_t n, const char *msg, size_t len, sg_buf *out,
                        char *err, size_t errlen)
{
    char *text = NULL, *charset = NULL, *res = NULL;
    size_t tlen = 0, rlen = 0;
    sg_buf crlf;
    sg_buf_init(&crlf, SG_MIME_MAX_OUT);
    int rc = -1;
    if (plain_text(msg, len, &text, &tlen, &charset) != 1 || sg_mime_to_crlf(text, tlen, &crlf) < 0)
        snprintf(err, errlen, "message is not a single text/plain part");
    else if (op(k, signer, fprs, n, crlf.data ? crlf.data : "", crlf.len, &res, &rlen, err, errlen) == 0 &&
             (rc = inline_message(msg, len, res, rlen, charset, out)) < 0)
        snprintf(err, errlen, "cannot build the inline message");
    if (text)
        memset(text, 0, tlen);
    free(text);
    free(charset);
    free(res);
    sg_buf_free(&crlf);
    return rc;
}

int sg_pgp_inline_encrypt(const sg_pgpmime_keys *k, const char *signer, char (*fprs)[SG_PGP_FPR_LEN + 1],
                          size_t n, const char *msg, size_t len, sg_buf *out, char *err, size_t errlen)
{
    return inline_apply(op_encrypt, k, signer, fprs, n, msg, len, out, err, errlen);
}

int sg_pgp_inline_sign(const sg_pgpmime_keys *k, const char *signer, const char *msg, size_t len, sg_buf *out,
                       char *err, size_t errlen)
{
    return inline_apply(op_sign, k, signer, NULL, 0, msg, len, out, err, errlen);
}

/* ---- incoming ---- */

static const char BEGIN_MSG[] = "-----BEGIN PGP MESSAGE-----", END_MSG[] = "-----END PGP MESSAGE-----",
                  BEGIN_SIGNED[] = "-----BEGIN PGP SIGNED MESSAGE-----", END_SIG[] = "-----END PGP SIGNATURE-----";

static bool ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The text, whitespace around it ignored, is exactly one armored block from begin to end. */
static bool whole_block(const char *t, size_t n, const char *begin, const char *end)
{
    size_t a = 0, b = n, bl = strlen(begin), el = strlen(end);
    while (a < b && ws(t[a]))
        a++;
    while (b > a && ws(t[b - 1]))
        b--;
    if (b - a < bl + el || memcmp(t + a, begin, bl) != 0 || !ws(t[a + bl]) || memcmp(t + b - el, end, el) != 0)
        return false;
    /* no second block inside: the end marker occurs once */
    const char *first = memmem(t + a, b - a, end, el);
    return first == t + b - el;
}

/* The packet tag of the first packet of an armored message (its first base64 characters),
 * -1 when it cannot be read. Encrypted messages start with a session key packet. */
static int first_packet_tag(const char *t, size_t n)
{
    const char *p = memmem(t, n, BEGIN_MSG, sizeof BEGIN_MSG - 1);
    if (!p)
        return -1;
    /* armor headers end at the first empty line */
    const char *e = t + n, *body = NULL;
    for (const char *q = p; q < e; q++) {
        if (*q != '\n')
            continue;
        const char *r = q + 1;
        while (r < e && (*r == ' ' || *r == '\t' || *r == '\r'))
            r++;
        if (r < e && *r == '\n') {
            body = r + 1;
            break;
        }
    }
    if (!body || e - body < 2)
        return -1;
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *c0 = strchr(b64, body[0]), *c1 = strchr(b64, body[1]);
    if (!body[0] || !body[1] || !c0 || !c1)
        return -1;
    unsigned char octet = (unsigned char)(((c0 - b64) << 2) | ((c1 - b64) >> 4));
    if (!(octet & 0x80))
        return -1;
    return octet & 0x40 ? (octet & 0x3f) : ((octet >> 2) & 0x0f);
}

/* What one armored text is: ENCRYPTED (starts with a public- or symmetric-key session key
 * packet), SIGNED (cleartext signature, or a signed message without encryption), or NONE. */
static int block_kind(const char *t, size_t n)
{
    if (whole_block(t, n, BEGIN_SIGNED, END_SIG))
        return SG_LAYER_SIGNED;
    if (!whole_block(t, n, BEGIN_MSG, END_MSG))
        return SG_LAYER_NONE;
    int tag = first_packet_tag(t, n);
    return tag == 1 || tag == 3 ? SG_LAYER_ENCRYPTED : tag == 4 || tag == 8 || tag == 11 ? SG_LAYER_SIGNED : SG_LAYER_NONE;
}

int sg_pgp_inline_detect(const char *msg, size_t len)
{
    char *text = NULL, *charset = NULL;
    size_t tlen = 0;
    int kind = SG_LAYER_NONE;
    if (plain_text(msg, len, &text, &tlen, &charset) == 1)
        kind = block_kind(text, tlen);
    free(text);
    free(charset);
    return kind;
}

/* The entity that replaces an inline layer: text/plain in the part's charset, 7-bit encoded.
 * CRLF (engine.h), NUL-terminated for the caller's convenience. */
static int text_inner(const char *text, size_t tlen, const char *charset, sg_layer *out)
{
    sg_buf crlf, ent;
    sg_buf_init(&crlf, SG_MIME_MAX_OUT);
    sg_buf_init(&ent, SG_MIME_MAX_OUT);
    int rc = -1;
    if (sg_mime_to_crlf(text, tlen, &crlf) == 0 && text_entity(crlf.data ? crlf.data : "", crlf.len, charset, &ent) == 0 &&
        sg_buf_append(&ent, "", 1) == 0) {
        out->inner = ent.data;
        out->innerlen = ent.len - 1;
        memset(&ent, 0, sizeof ent);
        rc = 0;
    }
    if (crlf.data)
        memset(crlf.data, 0, crlf.len);
    sg_buf_free(&crlf);
    sg_buf_free(&ent);
    return rc;
}

/* A whole text/plain entity that is one armored block is a layer like PGP/MIME: decrypted
 * text (or a signed message's text) replaces the whole entity; a cleartext signature is
 * verified and the text delivered as it arrived. Text with anything else around the block is
 * no layer here (docs/openpgp.md, "Inline PGP in").  */
int sg_pgp_inline_peel(const sg_peel_req *req, const char *msg, size_t len, sg_layer *out)
{
    char *text = NULL, *charset = NULL, *signed_text = NULL;
    size_t tlen = 0, slen = 0;
    int rc = 0, kind = SG_LAYER_NONE;
    int pt = plain_text(msg, len, &text, &tlen, &charset);
    if (pt < 0)
        return -1;
    if (pt == 1)
        kind = block_kind(text, tlen);
    out->kind = SG_LAYER_NONE;
    if (kind == SG_LAYER_ENCRYPTED) {
        sg_pgp_decrypted d;
        rc = sg_engine_pgp_decrypt(req, text, tlen, out, &d);
        if (rc == 0 && d.status == SG_DEC_OK)
            rc = text_inner(d.plain, d.plainlen, charset, out);
        if (d.plain)
            memset(d.plain, 0, d.plainlen);
        sg_pgp_decrypted_free(&d);
    } else if (kind == SG_LAYER_SIGNED) {
        out->kind = SG_LAYER_SIGNED;
        out->method = SG_METHOD_PGP;
        bool cleartext = whole_block(text, tlen, BEGIN_SIGNED, END_SIG);
        rc = sg_pgpmime_verify_inline(sg_engine_pgp_keys(), req->from, text, tlen,
                                      req->max_plain ? req->max_plain : SG_MIME_MAX_OUT, &signed_text, &slen,
                                      &out->sig);
        /* A signed (not cleartext) message's text is only readable once opened. */
        if (rc == 0 && !cleartext && signed_text)
            rc = text_inner(signed_text, slen, charset, out);
    }
    free(signed_text);
    if (text)
        memset(text, 0, tlen);
    free(text);
    free(charset);
    return rc;
}
