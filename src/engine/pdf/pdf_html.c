/* pdf_html.c - HTML mail reduced to readable text for the PDF (issue 12): libxml2's HTML parser
 * builds the tree, a walk keeps the text, turns blocks into line breaks, list items into
 * bullets and links into "text <url>". Owner: src/engine/pdf.
 * SECURITY: the HTML is the sender's and untrusted in shape. libxml2 parses it with network
 * access off (HTML_PARSE_NONET), no external entities, errors recovered; nothing is fetched or
 * run. The walk is iterative up to a depth bound and the output is capped at SG_PDF_MAX_TEXT.
 * Fuzzed by tests/fuzz/fuzz_pdf_html.c. */
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "engine/pdf/pdf.h"

#define MAX_DEPTH 256

typedef struct walk {
    sg_buf *out;
    bool space;   /* whitespace seen since the last text: one space before the next word */
    int newlines; /* line breaks at the end of out (0..2), so blocks do not pile up blank lines */
    bool full;
} walk;

static void put(walk *w, const char *s, size_t n)
{
    if (w->full || !n)
        return;
    if (w->out->len + n > SG_PDF_MAX_TEXT) {
        static const char cut[] = "\n[... text cut ...]\n";
        sg_buf_append(w->out, cut, sizeof cut - 1);
        w->full = true;
        return;
    }
    if (sg_buf_append(w->out, s, n) < 0)
        w->full = true;
}

static void newline(walk *w, int want)
{
    if (w->out->len == 0)
        return;
    while (w->newlines < want) {
        put(w, "\n", 1);
        w->newlines++;
    }
    w->space = false;
}

/* Text with HTML's whitespace folding: runs of spaces and line breaks become one space. */
static void text(walk *w, const char *s, bool pre)
{
    for (const char *p = s; *p;) {
        if (pre) {
            size_t n = strcspn(p, "\n");
            put(w, p, n);
            w->newlines = n ? 0 : w->newlines;
            p += n;
            if (*p == '\n') {
                put(w, "\n", 1);
                w->newlines = w->newlines < 2 ? w->newlines + 1 : 2;
                p++;
            }
            continue;
        }
        size_t ws = strspn(p, " \t\r\n\f\v");
        if (ws) {
            w->space = true;
            p += ws;
            continue;
        }
        size_t n = strcspn(p, " \t\r\n\f\v");
        if (w->space && w->newlines == 0 && w->out->len)
            put(w, " ", 1);
        put(w, p, n);
        w->space = false;
        w->newlines = 0;
        p += n;
    }
}

static bool named(const xmlNode *n, const char *const *names)
{
    for (size_t i = 0; names[i]; i++)
        if (strcasecmp((const char *)n->name, names[i]) == 0)
            return true;
    return false;
}

static const char *const skipped[] = {"script", "style", "head", "title", "template", "noscript", "iframe",
                                      "object", "svg", "math", NULL};
static const char *const blocks[] = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
                                     "blockquote", "pre", "section", "article", "header", "footer", "form",
                                     "dl", "address", "hr", "center", "fieldset", NULL};
static const char *const lines[] = {"tr", "li", "dt", "dd", "caption", NULL};

static int opens(walk *w, const xmlNode *n)
{
    if (named(n, blocks))
        newline(w, 2);
    else if (named(n, lines))
        newline(w, 1);
    if (strcasecmp((const char *)n->name, "br") == 0) {
        put(w, "\n", 1);
        w->newlines = w->newlines < 2 ? w->newlines + 1 : 2;
        w->space = false;
    } else if (strcasecmp((const char *)n->name, "li") == 0) {
        put(w, "\xe2\x80\xa2 ", 4); /* a bullet */
        w->newlines = 0;
    } else if (strcasecmp((const char *)n->name, "td") == 0 || strcasecmp((const char *)n->name, "th") == 0) {
        if (w->newlines == 0 && w->out->len)
            put(w, "\t", 1);
    } else if (strcasecmp((const char *)n->name, "img") == 0) {
        xmlChar *alt = xmlGetProp(n, (const xmlChar *)"alt");
        if (alt && *alt) {
            text(w, "[", false);
            w->space = false;
            text(w, (const char *)alt, false);
            put(w, "]", 1);
        }
        xmlFree(alt);
    }
    return 0;
}

/* A link keeps its target as text after its words, unless the words are the target already. */
static void closes(walk *w, const xmlNode *n, size_t start)
{
    if (strcasecmp((const char *)n->name, "a") == 0) {
        xmlChar *href = xmlGetProp(n, (const xmlChar *)"href");
        if (href && *href && strncasecmp((const char *)href, "javascript:", 11) != 0) {
            size_t hl = strlen((const char *)href);
            bool same = w->out->len - start == hl && memcmp(w->out->data + start, href, hl) == 0;
            const char *h = (const char *)href;
            if (strncasecmp(h, "mailto:", 7) == 0 && w->out->len - start == hl - 7 &&
                memcmp(w->out->data + start, h + 7, hl - 7) == 0)
                same = true;
            if (!same) {
                put(w, " <", 2);
                put(w, h, hl);
                put(w, ">", 1);
                w->newlines = 0;
                w->space = false;
            }
        }
        xmlFree(href);
    } else if (named(n, blocks)) {
        newline(w, 2);
    } else if (named(n, lines)) {
        newline(w, 1);
    }
}

int sg_pdf_html_to_text(const char *html, size_t len, sg_buf *out)
{
    if (len > (size_t)1 << 30)
        return -1;
    htmlDocPtr d = htmlReadMemory(html, (int)len, NULL, "UTF-8",
                                  HTML_PARSE_RECOVER | HTML_PARSE_NONET | HTML_PARSE_NOERROR |
                                      HTML_PARSE_NOWARNING | HTML_PARSE_NOBLANKS);
    if (!d)
        return 0; /* nothing readable: an empty body, not an error */
    walk w = {.out = out};
    const xmlNode *stack[MAX_DEPTH];
    size_t starts[MAX_DEPTH];
    int pre[MAX_DEPTH];
    int depth = 0;
    const xmlNode *n = xmlDocGetRootElement(d);
    int in_pre = 0;
    while (n && !w.full) {
        bool descend = false;
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            if (n->content)
                text(&w, (const char *)n->content, in_pre > 0);
        } else if (n->type == XML_ELEMENT_NODE && !named(n, skipped)) {
            opens(&w, n);
            if (n->children && depth < MAX_DEPTH) {
                stack[depth] = n;
                starts[depth] = out->len;
                pre[depth] = strcasecmp((const char *)n->name, "pre") == 0;
                in_pre += pre[depth];
                depth++;
                descend = true;
            } else {
                closes(&w, n, out->len);
            }
        }
        if (descend) {
            n = n->children;
            continue;
        }
        while (n && !n->next && depth > 0) {
            depth--;
            in_pre -= pre[depth];
            n = stack[depth];
            closes(&w, n, starts[depth]);
        }
        n = n ? n->next : NULL;
    }
    xmlFreeDoc(d);
    return 0;
}
