/* walk.c - what the decrypt/verify entry point needs to walk a message's parts: the parts of
 * a multipart in the original bytes, and whether a message holds markup a client renders
 * around other parts (the EFAIL direct-exfiltration channel). Owner: src/mime. Input is
 * untrusted; depth and counts are bounded. */
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime.h"
#include "mime/rawmsg.h"

#define MAX_DEPTH 32

int sg_mime_split_multipart(const char *ent, size_t len, sg_rawpart *parts, size_t max, char *boundary,
                            size_t blen)
{
    sg_rawmsg m;
    if (sg_rawmsg_parse(ent, len, &m) < 0)
        return 0;
    const sg_rawhdr *h = sg_rawmsg_find(&m, "Content-Type");
    char *v = h ? sg_rawhdr_value(h) : NULL;
    GMimeContentType *ct = v ? g_mime_content_type_parse(NULL, v) : NULL;
    free(v);
    const char *b = ct ? g_mime_content_type_get_parameter(ct, "boundary") : NULL;
    int n = 0;
    /* signed and encrypted multiparts belong to their layer: their parts are not walked */
    if (b && g_mime_content_type_is_type(ct, "multipart", "*") &&
        !g_mime_content_type_is_type(ct, "multipart", "signed") &&
        !g_mime_content_type_is_type(ct, "multipart", "encrypted") && strlen(b) < blen) {
        n = sg_rawmsg_split(m.body, m.bodylen, b, parts, max);
        snprintf(boundary, blen, "%s", b);
    }
    if (ct)
        g_object_unref(ct);
    sg_rawmsg_free(&m);
    return n;
}

/* text/html and the other types a client renders as markup, in which an attacker's part can
 * wrap the text of the parts after it. */
static bool is_markup(GMimeContentType *ct)
{
    return ct && (g_mime_content_type_is_type(ct, "text", "html") ||
                  g_mime_content_type_is_type(ct, "application", "xhtml+xml") ||
                  g_mime_content_type_is_type(ct, "image", "svg+xml") || g_mime_content_type_is_type(ct, "text", "xml") ||
                  g_mime_content_type_is_type(ct, "text", "enriched") || g_mime_content_type_is_type(ct, "text", "richtext"));
}

static bool markup_in(GMimeObject *obj, int depth)
{
    if (!obj || depth > MAX_DEPTH)
        return true; /* too deep to tell: assume the worst */
    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n; i++)
            if (markup_in(g_mime_multipart_get_part(mp, i), depth + 1))
                return true;
        return false;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        return m && markup_in(g_mime_message_get_mime_part(m), depth + 1);
    }
    return is_markup(g_mime_object_get_content_type(obj));
}

bool sg_mime_has_markup(const char *ent, size_t len)
{
    GMimeStream *in = g_mime_stream_mem_new_with_buffer(ent, len);
    GMimeParser *p = g_mime_parser_new_with_stream(in);
    GMimeObject *obj = g_mime_parser_construct_part(p, NULL);
    bool found = markup_in(obj, 0);
    if (obj)
        g_object_unref(obj);
    g_object_unref(p);
    g_object_unref(in);
    return found;
}
