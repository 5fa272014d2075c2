/* pgp_inline_out.c - inline PGP output for the OpenPGP engine (an armored message or
 * cleartext-signed text as the body of a single text/plain message, when configured), and the
 * text/plain helpers that inline input (pgp_inline_in.c) shares. Owner: src/engine (OpenPGP). */
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pgp/engine_pgp_int.h"
#include "mime/mime.h"

int sg_pgp_plain_text(const char *msg, size_t len, char **text, size_t *tlen, char **charset)
{
    /* Most entities are not text/plain: the header says so before GMime parses a whole tree. */
    if (!sg_mime_top_is(msg, len, "text", "plain"))
        return 0;
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
                    if (ba->len) /* an empty GByteArray has no data pointer */
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
    return sg_pgp_plain_text(msg, len, NULL, NULL, NULL) == 1;
}

int sg_pgp_text_entity(const char *data, size_t n, const char *charset, const char *filename,
                       const char *description, sg_buf *out)
{
    GMimeTextPart *tp = g_mime_text_part_new_with_subtype("plain");
    GMimeStream *s = g_mime_stream_mem_new_with_buffer(data, n);
    GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(s, GMIME_CONTENT_ENCODING_DEFAULT);
    g_mime_part_set_content(GMIME_PART(tp), w);
    g_mime_text_part_set_charset(tp, charset ? charset : "us-ascii");
    if (filename) {
        g_mime_object_set_disposition(GMIME_OBJECT(tp), "attachment");
        g_mime_part_set_filename(GMIME_PART(tp), filename);
    }
    if (description)
        g_mime_part_set_content_description(GMIME_PART(tp), description);
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
    if (sg_mime_outer_fields(msg, len, NULL, out) < 0 || sg_buf_append(out, "MIME-Version: 1.0\r\n", 19) < 0)
        return -1;
    return sg_pgp_text_entity(body, blen, charset, NULL, NULL, out);
}

typedef int (*inline_op)(const sg_pgp_ops_keys *k, const char *signer, char (*fprs)[SG_PGP_FPR_LEN + 1],
                         size_t n, const char *text, size_t tlen, char **res, size_t *rlen, char *err,
                         size_t errlen);

static int op_encrypt(const sg_pgp_ops_keys *k, const char *signer, char (*fprs)[SG_PGP_FPR_LEN + 1], size_t n,
                      const char *text, size_t tlen, char **res, size_t *rlen, char *err, size_t errlen)
{
    return sg_pgp_ops_encrypt(k, signer, fprs, n, text, tlen, res, rlen, err, errlen);
}

static int op_sign(const sg_pgp_ops_keys *k, const char *signer, char (*fprs)[SG_PGP_FPR_LEN + 1], size_t n,
                   const char *text, size_t tlen, char **res, size_t *rlen, char *err, size_t errlen)
{
    (void)fprs;
    (void)n;
    return sg_pgp_ops_sign(k, signer, true, text, tlen, res, rlen, err, errlen);
}

static int inline_apply(inline_op op, const sg_pgp_ops_keys *k, const char *signer,
                        char (*fprs)[SG_PGP_FPR_LEN + 1], size_t n, const char *msg, size_t len, sg_buf *out,
                        char *err, size_t errlen)
{
    char *text = NULL, *charset = NULL, *res = NULL;
    size_t tlen = 0, rlen = 0;
    sg_buf crlf;
    sg_buf_init(&crlf, SG_MIME_MAX_OUT);
    int rc = -1;
    if (sg_pgp_plain_text(msg, len, &text, &tlen, &charset) != 1 || sg_mime_to_crlf(text, tlen, &crlf) < 0)
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

int sg_pgp_inline_encrypt(const sg_pgp_ops_keys *k, const char *signer, char (*fprs)[SG_PGP_FPR_LEN + 1],
                          size_t n, const char *msg, size_t len, sg_buf *out, char *err, size_t errlen)
{
    return inline_apply(op_encrypt, k, signer, fprs, n, msg, len, out, err, errlen);
}

int sg_pgp_inline_sign(const sg_pgp_ops_keys *k, const char *signer, const char *msg, size_t len, sg_buf *out,
                       char *err, size_t errlen)
{
    return inline_apply(op_sign, k, signer, NULL, 0, msg, len, out, err, errlen);
}

