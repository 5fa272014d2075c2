/* fuzz_pdf_html.c - libFuzzer target for the pdf method's HTML-to-text reduction
 * (engine/pdf/pdf_html.c, issue 12): any bytes as an HTML body. Checks beyond "no crash": the
 * text never exceeds its cap, is NUL-terminated at its length, and the same input gives the
 * same text twice (no state kept between calls). Owner: src/engine/pdf. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pdf/pdf.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    sg_buf a, b;
    sg_buf_init(&a, SG_PDF_MAX_TEXT + 64);
    sg_buf_init(&b, SG_PDF_MAX_TEXT + 64);
    if (sg_pdf_html_to_text((const char *)buf, len, &a) < 0 || sg_pdf_html_to_text((const char *)buf, len, &b) < 0)
        abort();
    if (a.len > SG_PDF_MAX_TEXT + 64 || a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
        abort();
    if (a.len && strlen(a.data) > a.len)
        abort();
    sg_buf_free(&a);
    sg_buf_free(&b);
    return 0;
}
