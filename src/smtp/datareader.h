/* datareader.h - the DATA content state machine: dot-unstuffing, end-of-data detection and
 * bare CR/LF handling (SMTP smuggling defence). Owner: src/smtp.
 *
 * Only a literal CRLF "." CRLF ends DATA, and only when the line before it also ended in a real
 * CRLF (the DATA command's own CRLF counts). In reject mode the first bare CR or bare LF stops
 * the reader with an error; in normalize mode every bare CR, bare LF is stored as CRLF but never
 * counts towards the end-of-data sequence, so "\n.\n", "\r\n.\n", "\n.\r\n", "\r.\r" are all
 * content. Output is the unstuffed content with CRLF line ends. No I/O, no allocation.
 *
 * BDAT text (any BODY but BINARYMIME) goes through the same machine in chunk mode: no dots and
 * no end of data (the chunk sizes delimit the message), but bare CR and bare LF are refused or
 * normalised exactly as in DATA, and lines are measured the same way; a line end split across
 * two chunks is one line end. sg_dr_finish ends the last chunk (a final lone CR is bare). */
#ifndef SG_SMTP_DATAREADER_H
#define SG_SMTP_DATAREADER_H

#include <stdbool.h>
#include <stddef.h>

enum sg_dr_status {
    SG_DR_MORE,    /* needs more input */
    SG_DR_END,     /* end of data seen; bytes after it were not consumed */
    SG_DR_BARE_LF, /* reject mode: a bare LF was received */
    SG_DR_BARE_CR, /* reject mode: a bare CR was received */
};

/* Space the caller must leave in the output buffer per call (worst case per input byte). */
#define SG_DR_OUT_SLACK 8

typedef struct sg_datareader {
    int state;
    bool normalize;
    bool chunked;    /* BDAT text: no dot-stuffing, no end-of-data sequence */
    bool prev_crlf;  /* the last line ended with a real CRLF */
    int status;      /* enum sg_dr_status */
    size_t max_line; /* raw line length limit, without the line end */
    size_t linelen;
    bool line_too_long; /* some line exceeded max_line (reported after the end) */
    unsigned long long total_in, total_out;
} sg_datareader;

void sg_dr_init(sg_datareader *r, bool normalize, size_t max_line);
/* Consumes input up to the end of data, an error, or until out has fewer than SG_DR_OUT_SLACK
 * bytes free. Appends content to out (*outlen grows). Returns the input bytes consumed. */
size_t sg_dr_feed(sg_datareader *r, const char *in, size_t len, char *out, size_t outcap, size_t *outlen);
/* Chunk mode (BDAT text); feed each chunk with sg_dr_feed, then sg_dr_finish after the last:
 * status becomes SG_DR_END, or SG_DR_BARE_CR for a final lone CR in reject mode. Appends at
 * most 2 bytes (out needs SG_DR_OUT_SLACK free). */
void sg_dr_init_chunked(sg_datareader *r, bool normalize, size_t max_line);
void sg_dr_finish(sg_datareader *r, char *out, size_t *outlen);

#endif
