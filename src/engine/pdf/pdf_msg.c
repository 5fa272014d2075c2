/* pdf_msg.c - a message taken apart into what its PDF shows (issue 12): From, To, Cc, Date and
 * Subject decoded, the body (the text/plain parts as they are, else the text/html reduced to
 * text), and every other part as an attachment with its name, type and decoded bytes.
 * Owner: src/engine/pdf.
 * SECURITY: the message is from an internal sender but any MIME shape; GMime parses it (its
 * own limits), attachments are bounded in number (SG_PDF_MAX_ATTACH: more is an error, the
 * rule's fallback then decides) and keep their exact decoded bytes. */
#include <gmime/gmime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pdf/pdf.h"

typedef struct walk {
    sg_pdf_doc *doc;
    sg_buf plain, html;
    int failed; /* 1 memory, 2 too many attachments */
} walk;

static char *dup0(const char *s)
{
    return strdup(s ? s : "");
}

static char *addresses(GMimeMessage *m, GMimeAddressType t)
{
    InternetAddressList *l = g_mime_message_get_addresses(m, t);
    char *s = l ? internet_address_list_to_string(l, NULL, FALSE) : NULL;
    char *r = dup0(s);
    g_free(s);
    return r;
}

static int add_file(walk *w, const char *name, const char *type, GMimeObject *obj, GMimeDataWrapper *content)
{
    sg_pdf_doc *d = w->doc;
    if (d->nfiles >= SG_PDF_MAX_ATTACH) {
        w->failed = 2;
        return -1;
    }
    GMimeStream *mem = g_mime_stream_mem_new();
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
    ssize_t n = content ? g_mime_data_wrapper_write_to_stream(content, mem)
                        : g_mime_object_write_to_stream(obj, NULL, mem);
    GByteArray *a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    g_object_unref(mem);
    if (n < 0) {
        g_byte_array_free(a, TRUE);
        w->failed = 1;
        return -1;
    }
    sg_pdf_file *f = &d->files[d->nfiles];
    f->len = a->len;
    f->data = g_byte_array_free(a, FALSE);
    char def[32];
    snprintf(def, sizeof def, "attachment-%zu", d->nfiles + 1);
    f->name = dup0(name && *name ? name : def);
    f->type = dup0(type);
    for (char *p = f->type; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    /* A file name never carries a path: the reader saves it where the user says. */
    for (char *p = f->name; *p; p++)
        if (*p == '/' || *p == '\\')
            *p = '_';
    d->nfiles++;
    if (!f->name || !f->type) {
        w->failed = 1;
        return -1;
    }
    return 0;
}

static void each_part(GMimeObject *parent, GMimeObject *part, gpointer data)
{
    (void)parent;
    walk *w = data;
    if (w->failed)
        return;
    GMimeContentType *ct = g_mime_object_get_content_type(part);
    char *type = ct ? g_mime_content_type_get_mime_type(ct) : g_strdup("application/octet-stream");
    if (GMIME_IS_MESSAGE_PART(part)) {
        add_file(w, "message.eml", "message/rfc822", part, NULL);
    } else if (GMIME_IS_PART(part)) {
        GMimePart *p = GMIME_PART(part);
        const char *fname = g_mime_part_get_filename(p);
        const char *disp = g_mime_object_get_disposition(part);
        bool attached = fname || (disp && g_ascii_strcasecmp(disp, "attachment") == 0);
        bool plain = ct && g_mime_content_type_is_type(ct, "text", "plain");
        bool html = ct && g_mime_content_type_is_type(ct, "text", "html");
        if (!attached && (plain || html) && GMIME_IS_TEXT_PART(part)) {
            char *t = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
            sg_buf *b = plain ? &w->plain : &w->html;
            if (t && ((b->len && sg_buf_append(b, "\n\n", 2) < 0) || sg_buf_append(b, t, strlen(t)) < 0))
                w->failed = 1;
            g_free(t);
        } else {
            add_file(w, fname, type, part, g_mime_part_get_content(p));
        }
    }
    g_free(type);
}

int sg_pdf_doc_from_message(const char *msg, size_t len, sg_pdf_doc *doc, char *err, size_t errlen)
{
    memset(doc, 0, sizeof *doc);
    /* The byte array wraps msg without copying it (a 25 MB attachment is not copied twice). */
    GByteArray *ba = g_byte_array_new_take((guint8 *)(uintptr_t)msg, len);
    GMimeStream *s = g_mime_stream_mem_new_with_byte_array(ba);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(s), FALSE);
    GMimeParser *p = g_mime_parser_new_with_stream(s);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
    int rc = -1;
    walk w = {.doc = doc};
    sg_buf_init(&w.plain, 64u << 20);
    sg_buf_init(&w.html, 64u << 20);
    if (!m) {
        snprintf(err, errlen, "the message cannot be parsed");
        goto out;
    }
    InternetAddressList *from = g_mime_message_get_from(m);
    char *fs = from ? internet_address_list_to_string(from, NULL, FALSE) : NULL;
    doc->from = dup0(fs);
    g_free(fs);
    doc->to = addresses(m, GMIME_ADDRESS_TYPE_TO);
    doc->cc = addresses(m, GMIME_ADDRESS_TYPE_CC);
    doc->date = dup0(g_mime_object_get_header(GMIME_OBJECT(m), "Date"));
    doc->subject = dup0(g_mime_message_get_subject(m));
    doc->msgid = dup0(g_mime_message_get_message_id(m));
    g_mime_message_foreach(m, each_part, &w);
    if (w.failed) {
        snprintf(err, errlen, w.failed == 2 ? "more than %d attachments" : "out of memory", SG_PDF_MAX_ATTACH);
        goto out;
    }
    if (w.plain.len) {
        doc->body = strdup(w.plain.data);
    } else {
        sg_buf t;
        sg_buf_init(&t, SG_PDF_MAX_TEXT + 64);
        if (w.html.len && sg_pdf_html_to_text(w.html.data, w.html.len, &t) < 0) {
            sg_buf_free(&t);
            snprintf(err, errlen, "the HTML body cannot be reduced to text");
            goto out;
        }
        doc->body = dup0(t.data);
        sg_buf_free(&t);
    }
    if (!doc->from || !doc->to || !doc->cc || !doc->date || !doc->subject || !doc->msgid || !doc->body) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = 0;
out:
    sg_buf_free(&w.plain);
    sg_buf_free(&w.html);
    if (m)
        g_object_unref(m);
    g_object_unref(p);
    g_object_unref(s);
    g_byte_array_free(ba, FALSE);
    if (rc < 0)
        sg_pdf_doc_free(doc);
    return rc;
}

void sg_pdf_doc_free(sg_pdf_doc *doc)
{
    char **s[] = {&doc->from, &doc->to, &doc->cc, &doc->date, &doc->subject, &doc->msgid, &doc->body};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        free(*s[i]);
    for (size_t i = 0; i < doc->nfiles; i++) {
        free(doc->files[i].name);
        free(doc->files[i].type);
        g_free(doc->files[i].data);
    }
    memset(doc, 0, sizeof *doc);
}
