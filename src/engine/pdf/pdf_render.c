/* pdf_render.c - the pages of a pdf-method message drawn with cairo and pango (issue 12): a
 * branded first page (organisation, logo, text: pdf.* of the configuration), the header fields
 * and the body flowed over as many pages as needed, the list of attachments, and a last page
 * with the Reply link. Text stays text (cairo embeds font subsets with their Unicode maps),
 * so pdftotext and screen readers get it back. Owner: src/engine/pdf.
 * Fonts: fontconfig picks them; the families asked for are Noto Sans and DejaVu Sans, and
 * fontconfig falls back per character to Noto Sans Arabic, Noto Sans CJK and the rest of
 * fonts-noto-core / fonts-noto-cjk (README "Dependencies").
 * SECURITY: the text is the sender's. It is made valid UTF-8 before pango sees it and laid out
 * in bounded pieces (a paragraph of at most PIECE bytes per layout), so a hostile body costs
 * time in proportion to its size, never a layout of megabytes at once. */
#include <cairo-pdf.h>
#include <cairo.h>
#include <glib.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <string.h>

#include "engine/pdf/pdf.h"

#define PAGE_W 595.28 /* A4 in points */
#define PAGE_H 841.89
#define MARGIN 56.0
#define PIECE 16384
#define FONT "Noto Sans, DejaVu Sans"

typedef struct pen {
    cairo_t *cr;
    PangoLayout *lay;
    double y;
} pen;

static cairo_status_t to_buf(void *closure, const unsigned char *data, unsigned int len)
{
    return sg_buf_append(closure, data, len) < 0 ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

static void font(pen *p, double size, bool bold)
{
    PangoFontDescription *fd = pango_font_description_from_string(FONT);
    pango_font_description_set_size(fd, (int)(size * PANGO_SCALE));
    pango_font_description_set_weight(fd, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(p->lay, fd);
    pango_font_description_free(fd);
}

static void new_page(pen *p)
{
    cairo_show_page(p->cr);
    p->y = MARGIN;
}

/* Lays out one piece of valid UTF-8 and draws it line by line, breaking pages as needed. */
static void draw_piece(pen *p, const char *s, int n, PangoAttrList *attrs)
{
    pango_layout_set_text(p->lay, s, n);
    /* A word broken at the margin gets no hyphen: text copied out of the PDF (a URL, an account
     * number) stays what the sender wrote. */
    PangoAttrList *a = attrs ? pango_attr_list_copy(attrs) : pango_attr_list_new();
    pango_attr_list_insert(a, pango_attr_insert_hyphens_new(FALSE));
    pango_layout_set_attributes(p->lay, a);
    pango_attr_list_unref(a);
    PangoLayoutIter *it = pango_layout_get_iter(p->lay);
    do {
        PangoRectangle logical;
        pango_layout_iter_get_line_extents(it, NULL, &logical);
        double h = (double)logical.height / PANGO_SCALE;
        double base = (double)(pango_layout_iter_get_baseline(it) - logical.y) / PANGO_SCALE;
        if (p->y + h > PAGE_H - MARGIN)
            new_page(p);
        cairo_move_to(p->cr, MARGIN + (double)logical.x / PANGO_SCALE, p->y + base);
        pango_cairo_show_layout_line(p->cr, pango_layout_iter_get_line_readonly(it));
        p->y += h;
    } while (pango_layout_iter_next_line(it));
    pango_layout_iter_free(it);
    pango_layout_set_attributes(p->lay, NULL);
}

/* Text of any length: paragraph by paragraph, long paragraphs in pieces cut at a character. */
static void flow(pen *p, const char *text)
{
    char *v = g_utf8_make_valid(text, -1);
    for (const char *s = v; *s;) {
        size_t n = strcspn(s, "\n");
        const char *end = s + n;
        do {
            const char *cut = end - s > PIECE ? g_utf8_find_prev_char(s, s + PIECE) : end;
            if (!cut || cut <= s)
                cut = end;
            draw_piece(p, s, (int)(cut - s), NULL);
            s = cut;
        } while (s < end);
        if (n == 0)
            draw_piece(p, "", 0, NULL); /* an empty line keeps its height */
        s = *end ? end + 1 : end;
    }
    g_free(v);
}

/* "Label: value" with the label in bold. */
static void field(pen *p, const char *label, const char *value)
{
    if (!value || !*value)
        return;
    char *v = g_utf8_make_valid(value, -1);
    char *line = g_strdup_printf("%s: %s", label, v);
    PangoAttrList *a = pango_attr_list_new();
    PangoAttribute *b = pango_attr_weight_new(PANGO_WEIGHT_BOLD);
    b->start_index = 0;
    b->end_index = (guint)strlen(label) + 1;
    pango_attr_list_insert(a, b);
    draw_piece(p, line, (int)strlen(line), a);
    pango_attr_list_unref(a);
    g_free(line);
    g_free(v);
}

static void logo(pen *p, const char *path)
{
    if (!path || !*path)
        return;
    cairo_surface_t *img = cairo_image_surface_create_from_png(path);
    if (cairo_surface_status(img) == CAIRO_STATUS_SUCCESS) {
        double w = cairo_image_surface_get_width(img), h = cairo_image_surface_get_height(img);
        double k = w > 0 && h > 0 ? (200.0 / w < 80.0 / h ? 200.0 / w : 80.0 / h) : 0;
        if (k > 0) {
            cairo_save(p->cr);
            cairo_translate(p->cr, MARGIN, p->y);
            cairo_scale(p->cr, k, k);
            cairo_set_source_surface(p->cr, img, 0, 0);
            cairo_paint(p->cr);
            cairo_restore(p->cr);
            p->y += h * k + 24;
        }
    }
    cairo_surface_destroy(img); /* an unreadable logo leaves the page without one (logged by the caller) */
}

static void first_page(pen *p, const sg_pdf_cfg *cfg)
{
    logo(p, cfg->logo);
    font(p, 22, true);
    flow(p, cfg->org_name);
    p->y += 12;
    font(p, 15, false);
    flow(p, "Confidential message");
    p->y += 18;
    font(p, 11, false);
    flow(p, cfg->intro);
    new_page(p);
}

static void message_pages(pen *p, const sg_pdf_doc *d)
{
    font(p, 10, false);
    field(p, "From", d->from);
    field(p, "To", d->to);
    field(p, "Cc", d->cc);
    field(p, "Date", d->date);
    field(p, "Subject", d->subject);
    cairo_set_line_width(p->cr, 0.5);
    cairo_move_to(p->cr, MARGIN, p->y + 6);
    cairo_line_to(p->cr, PAGE_W - MARGIN, p->y + 6);
    cairo_stroke(p->cr);
    p->y += 16;
    flow(p, d->body);
    if (d->nfiles) {
        p->y += 16;
        font(p, 10, true);
        flow(p, "Attachments (in your PDF reader's attachment panel):");
        font(p, 10, false);
        for (size_t i = 0; i < d->nfiles; i++) {
            char *line = g_strdup_printf("\xe2\x80\xa2 %s (%s, %zu bytes)", d->files[i].name, d->files[i].type,
                                         d->files[i].len);
            flow(p, line);
            g_free(line);
        }
    }
    new_page(p);
}

static void last_page(pen *p, const char *reply_url)
{
    font(p, 15, true);
    flow(p, "How to answer");
    p->y += 10;
    font(p, 11, false);
    if (!reply_url) {
        flow(p, "Answer by replying to the e-mail that brought you this document. Do not put "
                "confidential content in that reply: it travels unencrypted.");
        return;
    }
    flow(p, "Do not answer by replying to the e-mail that brought this document: that reply would "
            "travel unencrypted. Open the Reply link below instead. It leads to a secure web page "
            "where you sign in with the password of this document, write your answer and attach "
            "files. Your answer reaches the sender encrypted, and you receive a copy as a PDF "
            "document with the same password.");
    p->y += 14;
    font(p, 14, true);
    /* The link annotation (cairo's tags): the URL is ours, made without quotes or backslashes. */
    char *attr = g_strdup_printf("uri='%s'", reply_url);
    cairo_set_source_rgb(p->cr, 0.05, 0.25, 0.6);
    cairo_tag_begin(p->cr, CAIRO_TAG_LINK, attr);
    flow(p, "Reply");
    cairo_tag_end(p->cr, CAIRO_TAG_LINK);
    cairo_set_source_rgb(p->cr, 0, 0, 0);
    g_free(attr);
    p->y += 8;
    font(p, 9, false);
    flow(p, reply_url);
}

int sg_pdf_render(const sg_pdf_doc *doc, const sg_pdf_brand *brand, sg_buf *out, char *err, size_t errlen)
{
    if (brand->reply_url && strpbrk(brand->reply_url, "'\\ \"<>")) {
        snprintf(err, errlen, "the reply link has characters a PDF link cannot carry");
        return -1;
    }
    cairo_surface_t *surf = cairo_pdf_surface_create_for_stream(to_buf, out, PAGE_W, PAGE_H);
    cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_TITLE, "Confidential message");
    cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATOR, "sealgate");
    cairo_t *cr = cairo_create(surf);
    pen p = {.cr = cr, .lay = pango_cairo_create_layout(cr), .y = MARGIN};
    pango_layout_set_width(p.lay, (int)((PAGE_W - 2 * MARGIN) * PANGO_SCALE));
    pango_layout_set_wrap(p.lay, PANGO_WRAP_WORD_CHAR);
    cairo_set_source_rgb(cr, 0, 0, 0);
    first_page(&p, brand->cfg);
    message_pages(&p, doc);
    last_page(&p, brand->reply_url);
    g_object_unref(p.lay);
    cairo_destroy(cr);
    cairo_surface_finish(surf);
    cairo_status_t st = cairo_surface_status(surf);
    cairo_surface_destroy(surf);
    if (st != CAIRO_STATUS_SUCCESS) {
        snprintf(err, errlen, "rendering failed: %s", cairo_status_to_string(st));
        return -1;
    }
    return 0;
}
