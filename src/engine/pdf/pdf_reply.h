/* pdf_reply.h - the reply portal's requests to cryptd (issue 12, docs/pdf.md "The reply portal",
 * docs/control.md "The reply portal's operations"): reply.check TOKEN and reply.submit TOKEN with
 * an answer (text and attachments), as typed, bounded values parsed from the JSON arguments a
 * control request carries. Owner: src/engine/pdf.
 * SECURITY: the arguments come from the web role, which faces the partner's browser: every
 * field has a type and a hard bound checked before anything is copied or decoded; unknown
 * fields are refused; an attachment that is a PDF (by its type or by the %PDF magic anywhere in
 * its first 1024 bytes, where readers look) is refused, the portal never takes a PDF as input;
 * names carry no control character, path separator or quote. Fuzzed through
 * tests/fuzz/fuzz_control.c (every request it decodes whose op is reply.*). */
#ifndef SG_ENGINE_PDF_REPLY_H
#define SG_ENGINE_PDF_REPLY_H

#include <stddef.h>

#include "engine/pdf/pdf_link.h"

#define SG_PDF_REPLY_TEXT_MAX (256u << 10)  /* bytes of the answer's text */
#define SG_PDF_REPLY_FILES_MAX 10           /* attachments of one answer */
#define SG_PDF_REPLY_NAME_MAX 200           /* bytes of an attachment's name */
#define SG_PDF_REPLY_TYPE_MAX 100           /* bytes of its "type/subtype" */
#define SG_PDF_REPLY_BYTES_MAX (700u << 10) /* decoded bytes of all attachments (a frame is 1 MiB) */

typedef struct sg_pdf_reply_file {
    char name[SG_PDF_REPLY_NAME_MAX + 1];
    char type[SG_PDF_REPLY_TYPE_MAX + 1]; /* lower case */
    unsigned char *data;
    size_t len;
} sg_pdf_reply_file;

typedef struct sg_pdf_reply_req {
    char token[SG_PDF_LINK_MAX + 1];
    char *text; /* reply.submit: malloc'd UTF-8, NULL for reply.check */
    sg_pdf_reply_file files[SG_PDF_REPLY_FILES_MAX];
    size_t nfiles;
} sg_pdf_reply_req;

/* Parses the JSON arguments of op ("reply.check": {"token"}; "reply.submit": {"token", "text",
 * "attachments": [{"name", "type", "data" (base64)}]}) into r (zeroed first). 0, or -1 with a
 * reason in err and the argument at fault in field (both may be NULL); nothing to free then. */
int sg_pdf_reply_parse(const char *op, const char *json, sg_pdf_reply_req *r, char *field, size_t fieldlen,
                       char *err, size_t errlen);
void sg_pdf_reply_free(sg_pdf_reply_req *r);

/* Whether an upload is a PDF: by its declared type or by its first bytes. */
int sg_pdf_reply_is_pdf(const char *type, const unsigned char *data, size_t len);

#endif
