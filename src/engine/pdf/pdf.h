/* pdf.h - the pdf method's parts (issue 12, docs/pdf.md): a message taken apart into what the
 * PDF shows (pdf_msg.c), HTML reduced to text (pdf_html.c), the pages drawn with cairo and pango
 * (pdf_render.c), and the document encrypted with AES-256 (R=6) with the attachments embedded,
 * through qpdf's C API (pdf_seal.c). engine_pdf.c joins them into an sg_engine.
 * Owner: src/engine/pdf.
 * SECURITY: everything here handles the plaintext of a message from an internal sender and
 * runs in cryptd only. The input is untrusted in shape (any MIME, any HTML): every size is
 * bounded, HTML is parsed by libxml2 without network access and only its text is kept. */
#ifndef SG_ENGINE_PDF_H
#define SG_ENGINE_PDF_H

#include <stddef.h>

#include "lib/buf.h"
#include "lib/config.h"

/* HTML is reduced to at most this much text; more is cut with a note (never an error). */
#define SG_PDF_MAX_TEXT (8u << 20)
#define SG_PDF_MAX_ATTACH 256

typedef struct sg_pdf_file {
    char *name; /* the file name (UTF-8), never NULL ("attachment-N" when the part has none) */
    char *type; /* "type/subtype", lower case */
    unsigned char *data; /* the decoded bytes, exactly as the sender attached them */
    size_t len;
} sg_pdf_file;

/* What the PDF shows of one message; every string UTF-8 and malloc'd (may be ""). */
typedef struct sg_pdf_doc {
    char *from, *to, *cc, *date, *subject;
    char *msgid; /* the Message-ID without <> ("" when none): what a reply answers */
    char *body; /* text/plain as is, or text/html reduced to text */
    sg_pdf_file files[SG_PDF_MAX_ATTACH];
    size_t nfiles;
} sg_pdf_doc;

/* Takes a message apart. 0, or -1 with err (unparsable, too many attachments). */
int sg_pdf_doc_from_message(const char *msg, size_t len, sg_pdf_doc *doc, char *err, size_t errlen);
void sg_pdf_doc_free(sg_pdf_doc *doc);

/* Reduces HTML to readable text: block elements become line breaks, lists bullets, links
 * "text <url>", scripts, styles and the head are dropped. Appends to out (at most
 * SG_PDF_MAX_TEXT). 0, or -1 on a memory error. */
int sg_pdf_html_to_text(const char *html, size_t len, sg_buf *out);

/* What the first and the last page say. reply_url may be NULL (no portal: the last page says
 * to answer by mail). */
typedef struct sg_pdf_brand {
    const sg_pdf_cfg *cfg;
    const char *reply_url;
} sg_pdf_brand;

/* Draws the pages (first page, headers and body, last page) into an unencrypted PDF appended
 * to out. 0, or -1 with err. */
int sg_pdf_render(const sg_pdf_doc *doc, const sg_pdf_brand *brand, sg_buf *out, char *err, size_t errlen);

/* Encrypts pdf (AES-256, security handler revision 6, metadata encrypted) under password and
 * embeds doc's attachments with their names, types and bytes. Appends to out. 0, or -1. */
int sg_pdf_seal(const char *pdf, size_t len, const sg_pdf_doc *doc, const char *password, sg_buf *out,
                char *err, size_t errlen);

/* A message taken apart, rendered and sealed. 0, or -1 with err. */
int sg_pdf_make_doc(const sg_pdf_doc *doc, const sg_pdf_brand *brand, const char *password, sg_buf *out, char *err,
                    size_t errlen);

/* All of it: message in, encrypted PDF out. 0, or -1 with err. */
int sg_pdf_make(const char *msg, size_t len, const sg_pdf_brand *brand, const char *password, sg_buf *out,
                char *err, size_t errlen);

#endif
