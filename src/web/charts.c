/* charts.c - the dashboard's charts: SVG drawn here from the metrics operation's minutes (the
 * last hour per minute, the last day per 15 minutes), inline in the page. Owner: src/web.
 * SECURITY: no script and no remote asset; only SVG presentation attributes (no style
 * attribute), so CSP default-src 'self' holds. Every text is a number or a fixed label. */
#include <stdio.h>
#include <string.h>

#include "web/web_int.h"

#define W 560 /* the drawing area, in SVG units */
#define H 120
#define LEFT 44
#define TOP 10
#define BUCKETS_MAX 96

typedef struct series {
    const char *label, *colour;
    const char *num, *den; /* a metric column; den set: num/den per bucket (an average) */
} series;

typedef struct chart {
    const char *title;
    series s[4];
} chart;

static const chart charts[] = {
    {"Messages in and out", {{"in", "#2563eb", "msgs_in", NULL}, {"out", "#15803d", "msgs_out", NULL}}},
    {"Encrypted, signed, decrypted, verified",
     {{"encrypted", "#7c3aed", "encrypted", NULL},
      {"signed", "#0891b2", "signed", NULL},
      {"decrypted", "#c2410c", "decrypted", NULL},
      {"verified", "#4d7c0f", "verified", NULL}}},
    {"Held and bounced", {{"held", "#b45309", "held", NULL}, {"bounced", "#b91c1c", "bounced", NULL}}},
    {"Processing time per message (ms, average)", {{"ms", "#334155", "latency_ms_sum", "latency_count"}}},
};

/* Sums the column of every minute into its bucket: bucket i covers [start + i*step, +step). */
static void fill(const json_t *minutes, const char *col, int64_t start, int step, int n, double *v)
{
    memset(v, 0, sizeof(double) * (size_t)n);
    size_t i;
    const json_t *m;
    json_array_foreach(minutes, i, m)
    {
        int64_t t = json_integer_value(json_object_get(m, "minute"));
        if (t < start || t >= start + (int64_t)step * n)
            continue;
        v[(t - start) / step] += (double)json_integer_value(json_object_get(m, col));
    }
}

static void draw(sg_buf *b, const chart *c, const json_t *minutes, int64_t start, int step, int n,
                 const char *span)
{
    double v[4][BUCKETS_MAX], den[BUCKETS_MAX], max = 0;
    int ns = 0;
    for (; ns < 4 && c->s[ns].label; ns++) {
        fill(minutes, c->s[ns].num, start, step, n, v[ns]);
        if (c->s[ns].den) {
            fill(minutes, c->s[ns].den, start, step, n, den);
            for (int i = 0; i < n; i++)
                v[ns][i] = den[i] > 0 ? v[ns][i] / den[i] : 0;
        }
        for (int i = 0; i < n; i++)
            max = v[ns][i] > max ? v[ns][i] : max;
    }
    double top = max < 1 ? 1 : max;
    sg_buf_appendf(b,
                   "<figure class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                   "role=\"img\" aria-label=\"%s, %s\"><title>%s, %s</title>",
                   LEFT + W + 8, TOP + H + 24, c->title, span, c->title, span);
    /* Axes, the top value and the time span's ends. */
    sg_buf_appendf(b,
                   "<g fill=\"none\" stroke=\"#dde3ea\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
                   "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/></g>",
                   LEFT, TOP, LEFT + W, TOP, LEFT, TOP + H, LEFT + W, TOP + H);
    sg_buf_appendf(
        b,
        "<g fill=\"#5d6b7e\" font-size=\"11\"><text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.*f</text>"
        "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>"
        "<text x=\"%d\" y=\"%d\">-%s</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">now</text></g>",
        LEFT - 6, TOP + 4, top < 10 && c->s[0].den ? 1 : 0, top, LEFT - 6, TOP + H + 4, LEFT, TOP + H + 18,
        span, LEFT + W, TOP + H + 18);
    for (int s = 0; s < ns; s++) {
        /* Lines after the first are dashed: equal figures (in = out) would hide one under the other. */
        sg_buf_appendf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
                       c->s[s].colour, s ? " stroke-dasharray=\"6 4\"" : "");
        for (int i = 0; i < n; i++)
            sg_buf_appendf(b, "%s%.1f,%.1f", i ? " " : "", LEFT + (n > 1 ? (double)W * i / (n - 1) : 0),
                           TOP + H - H * v[s][i] / top);
        sg_buf_appendf(b, "\"/>");
    }
    sg_buf_appendf(b, "</svg><figcaption>%s", c->title);
    for (int s = 0; s < ns && ns > 1; s++)
        sg_buf_appendf(b,
                       " <span class=\"key\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" "
                       "height=\"10\" aria-hidden=\"true\"><rect width=\"10\" height=\"10\" "
                       "fill=\"%s\"/></svg> %s</span>",
                       c->s[s].colour, c->s[s].label);
    sg_buf_appendf(b, "</figcaption></figure>");
}

void sg_web_charts(sg_buf *b, const json_t *metrics)
{
    const json_t *minutes = json_object_get(metrics, "minutes");
    int64_t now = json_integer_value(json_object_get(metrics, "now"));
    int64_t minute = now - now % 60;
    static const struct {
        const char *heading, *span;
        int step, n;
    } views[] = {{"Last hour (per minute)", "60 min", 60, 60},
                 {"Last day (per 15 minutes)", "24 h", 900, 96}};
    for (size_t k = 0; k < sizeof views / sizeof views[0]; k++) {
        int64_t start = minute + 60 - (int64_t)views[k].step * views[k].n;
        sg_buf_appendf(b, "<section class=\"panel\"><h2>%s</h2><div class=\"body charts\">",
                       views[k].heading);
        for (size_t c = 0; c < sizeof charts / sizeof charts[0]; c++)
            draw(b, &charts[c], minutes, start, views[k].step, views[k].n, views[k].span);
        sg_buf_appendf(b, "</div></section>");
    }
}
