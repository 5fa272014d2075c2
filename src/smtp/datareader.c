/* datareader.c - DATA content state machine (see datareader.h for the rules). Owner: src/smtp.
 * Byte at a time on purpose: the states are few and each transition is easy to check against
 * RFC 5321 4.5.2 and the smuggling cases; speed is bounded by the disk anyway. */
#include "smtp/datareader.h"

#include <string.h>

enum {
    ST_BOL,    /* at the start of a line */
    ST_DOT,    /* "." at the start of a line, not yet known whether it ends data */
    ST_DOT_CR, /* "." CR at the start of a line */
    ST_MID,    /* inside a line */
    ST_CR,     /* CR inside or at the start of a line */
};

void sg_dr_init(sg_datareader *r, bool normalize, size_t max_line)
{
    memset(r, 0, sizeof *r);
    r->state = ST_BOL;
    r->normalize = normalize;
    r->prev_crlf = true; /* the CRLF that ended the DATA command */
    r->status = SG_DR_MORE;
    r->max_line = max_line;
}

void sg_dr_init_chunked(sg_datareader *r, bool normalize, size_t max_line)
{
    sg_dr_init(r, normalize, max_line);
    r->chunked = true;
}

static void put(sg_datareader *r, char *out, size_t *o, const char *s, size_t n)
{
    memcpy(out + *o, s, n);
    *o += n;
    r->total_out += n;
}

static void line_byte(sg_datareader *r)
{
    if (++r->linelen > r->max_line)
        r->line_too_long = true;
}

/* A line ended; crlf tells whether with a real CRLF. */
static void eol(sg_datareader *r, char *out, size_t *o, bool crlf)
{
    put(r, out, o, "\r\n", 2);
    r->linelen = 0;
    r->prev_crlf = crlf;
    r->state = ST_BOL;
}

/* Handles one byte; returns false when it must be fed again (state changed without consuming). */
static bool step(sg_datareader *r, char c, char *out, size_t *o)
{
    switch (r->state) {
    case ST_BOL:
        if (c == '.' && !r->chunked) {
            line_byte(r);
            r->state = ST_DOT;
            return true;
        }
        r->state = ST_MID;
        return false;
    case ST_DOT:
        if (c == '\r') {
            r->state = ST_DOT_CR;
            return true;
        }
        if (c == '\n') {
            if (!r->normalize) {
                r->status = SG_DR_BARE_LF;
                return true;
            }
            put(r, out, o, ".", 1); /* a lone "." ended by bare LF is content */
            eol(r, out, o, false);
            return true;
        }
        /* dot-unstuffing: the leading "." of a longer line is dropped */
        r->state = ST_MID;
        return false;
    case ST_DOT_CR:
        if (c == '\n' && r->prev_crlf) {
            r->status = SG_DR_END;
            return true;
        }
        if (c == '\n') {
            /* ".\r\n" after a normalized line end: content, never the end of data */
            put(r, out, o, ".", 1);
            eol(r, out, o, true);
            return true;
        }
        if (!r->normalize) {
            r->status = SG_DR_BARE_CR;
            return true;
        }
        put(r, out, o, ".", 1);
        eol(r, out, o, false);
        return false; /* c starts the next line */
    case ST_MID:
        if (c == '\r') {
            r->state = ST_CR;
            return true;
        }
        if (c == '\n') {
            if (!r->normalize) {
                r->status = SG_DR_BARE_LF;
                return true;
            }
            eol(r, out, o, false);
            return true;
        }
        line_byte(r);
        put(r, out, o, &c, 1);
        return true;
    case ST_CR:
    default:
        if (c == '\n') {
            eol(r, out, o, true);
            return true;
        }
        if (!r->normalize) {
            r->status = SG_DR_BARE_CR;
            return true;
        }
        eol(r, out, o, false);
        return false;
    }
}

size_t sg_dr_feed(sg_datareader *r, const char *in, size_t len, char *out, size_t outcap, size_t *outlen)
{
    size_t i = 0;
    while (i < len && r->status == SG_DR_MORE && outcap - *outlen >= SG_DR_OUT_SLACK) {
        if (step(r, in[i], out, outlen)) {
            i++;
            r->total_in++;
        }
    }
    return i;
}

void sg_dr_finish(sg_datareader *r, char *out, size_t *outlen)
{
    if (r->status != SG_DR_MORE)
        return;
    if (r->state == ST_CR && !r->normalize) {
        r->status = SG_DR_BARE_CR;
        return;
    }
    if (r->state == ST_CR)
        eol(r, out, outlen, false);
    r->status = SG_DR_END;
}
