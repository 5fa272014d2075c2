/* canon.c - canonical form of an entity before it is signed (RFC 3156 section 5: the signed
 * data must survive any transport unchanged). Owner: src/mime.
 * Two paths: an entity that is already 7-bit with lines of at most 998 octets keeps its bytes
 * (only bare LF becomes CRLF); otherwise GMime re-encodes exactly the leaves that need it
 * (quoted-printable for mostly-ASCII text, base64 otherwise) and writes the rest as parsed,
 * which keeps their raw header values and encoded content. */
#include <gmime/gmime.h>
#include <string.h>

#include "mime/mime.h"
#include "mime/mime_int.h"
#include "mime/rawmsg.h"

#define MAX_DEPTH 32 /* nesting limit for the walk below */
#define MAX_LINE 998 /* RFC 5322 2.1.1 */

int sg_mime_append_crlf(sg_buf *out, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) {
            if (sg_buf_append(out, s + start, i - start) < 0 || sg_buf_append(out, "\r\n", 2) < 0)
                return -1;
            start = i + 1;
        }
    }
    return sg_buf_append(out, s + start, n - start);
}

bool sg_mime_needs_encoding(const unsigned char *s, size_t n, bool long_only, size_t *line)
{
    for (size_t i = 0; i < n; i++) {
        if (!long_only && (s[i] >= 0x80 || s[i] == 0))
            return true;
        if (s[i] == '\n')
            *line = 0;
        else if (s[i] != '\r' && ++*line > MAX_LINE)
            return true;
    }
    return false;
}

/* True when bytes contain a line longer than MAX_LINE, or (unless long_only) 8-bit octets or
 * NUL. long_only: what SMTP cannot carry at all; otherwise what is not 7-bit. */
static bool needs_encoding(const unsigned char *s, size_t n, bool long_only)
{
    size_t line = 0;
    return sg_mime_needs_encoding(s, n, long_only, &line);
}

/* The encoded content of a leaf as it is stored, not decoded. */
static bool leaf_needs_encoding(GMimePart *part, bool long_only)
{
    GMimeDataWrapper *w = g_mime_part_get_content(part);
    if (!w)
        return false;
    GMimeStream *src = g_mime_data_wrapper_get_stream(w);
    GMimeStream *mem = g_mime_stream_mem_new();
    bool need = false;
    g_mime_stream_reset(src);
    if (g_mime_stream_write_to_stream(src, mem) >= 0) {
        GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
        need = needs_encoding(ba->data, ba->len, long_only);
    }
    g_mime_stream_reset(src);
    g_object_unref(mem);
    return need;
}

static int reencode(GMimeObject *obj, int depth, bool long_only)
{
    if (depth > MAX_DEPTH)
        return -1;
    /* Signed or encrypted content is someone else's canonical form: changing a byte of it
     * would break their signature, so it is written back as parsed. */
    if (GMIME_IS_MULTIPART_SIGNED(obj) || GMIME_IS_MULTIPART_ENCRYPTED(obj))
        return 0;
    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n; i++)
            if (reencode(g_mime_multipart_get_part(mp, i), depth + 1, long_only) < 0)
                return -1;
        /* A multipart's encoding only restates its children's; after re-encoding they are
         * 7-bit, so an "8bit" or "binary" label here would be false. */
        g_mime_object_remove_header(obj, "Content-Transfer-Encoding");
        return 0;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        GMimeObject *body = m ? g_mime_message_get_mime_part(m) : NULL;
        return body ? reencode(body, depth + 1, long_only) : 0;
    }
    if (GMIME_IS_PART(obj) && leaf_needs_encoding(GMIME_PART(obj), long_only)) {
        GMimePart *part = GMIME_PART(obj);
        GMimeContentEncoding enc =
            g_mime_part_get_best_content_encoding(part, GMIME_ENCODING_CONSTRAINT_7BIT);
        if (enc != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE)
            enc = GMIME_CONTENT_ENCODING_BASE64;
        g_mime_part_set_content_encoding(part, enc);
    }
    return 0;
}

static int gmime_canonical(const char *ent, size_t len, bool long_only, sg_buf *out)
{
    GMimeStream *in = g_mime_stream_mem_new_with_buffer(ent, len);
    GMimeParser *parser = g_mime_parser_new_with_stream(in);
    GMimeObject *obj = g_mime_parser_construct_part(parser, NULL);
    int rc = -1;
    if (obj && reencode(obj, 0, long_only) == 0) {
        GMimeFormatOptions *fo = g_mime_format_options_clone(NULL);
        g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
        GMimeStream *mem = g_mime_stream_mem_new();
        if (g_mime_object_write_to_stream(obj, fo, mem) >= 0) {
            GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
            rc = sg_mime_append_crlf(out, (const char *)ba->data, ba->len);
        }
        g_object_unref(mem);
        g_mime_format_options_free(fo);
    }
    if (obj)
        g_object_unref(obj);
    g_object_unref(parser);
    g_object_unref(in);
    return rc;
}

int sg_mime_content_entity(const char *msg, size_t len, sg_buf *out)
{
    sg_rawmsg m;
    if (sg_rawmsg_parse(msg, len, &m) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < m.nh && rc == 0; i++)
        if (sg_rawhdr_is_content(&m.h[i]))
            rc = sg_buf_append(out, m.h[i].raw, m.h[i].rawlen);
    if (rc == 0)
        rc = sg_buf_append(out, "\r\n", 2);
    if (rc == 0)
        rc = sg_buf_append(out, m.body, m.bodylen);
    sg_rawmsg_free(&m);
    return rc;
}

int sg_mime_canonical_entity(const char *msg, size_t len, sg_buf *out)
{
    sg_buf ent;
    sg_buf_init(&ent, SG_MIME_MAX_OUT);
    int rc = sg_mime_content_entity(msg, len, &ent);
    if (rc == 0) {
        if (needs_encoding((const unsigned char *)ent.data, ent.len, false))
            rc = gmime_canonical(ent.data, ent.len, false, out);
        else
            rc = sg_mime_append_crlf(out, ent.data, ent.len);
    }
    sg_buf_free(&ent);
    return rc;
}

int sg_mime_transportable_entity(const char *ent, size_t len, sg_buf *out)
{
    if (!needs_encoding((const unsigned char *)ent, len, true))
        return sg_buf_append(out, ent, len);
    return gmime_canonical(ent, len, true, out);
}
