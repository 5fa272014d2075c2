/* dotstuff.c - dot-stuffing piece by piece (dotstuff.h). Owner: src/smtp (used by the relay).
 * Whether a dot starts a line depends only on the byte before it (LF, or CR: a CR followed by
 * this dot is a bare CR), so two bytes of state carry the step across any piece boundary. */
#include "smtp/dotstuff.h"

void sg_dotstuff_init(sg_dotstuff *s)
{
    s->seen = 0;
    s->last = s->prev = 0;
}

int sg_dotstuff_feed(sg_dotstuff *s, const char *in, size_t n, sg_buf *out)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] != '.')
            continue;
        char before = i ? in[i - 1] : s->last;
        if ((i == 0 && s->seen == 0) || before == '\n' || before == '\r') {
            if (sg_buf_append(out, in + start, i - start) < 0 || sg_buf_append(out, ".", 1) < 0)
                return -1;
            start = i;
        }
    }
    if (sg_buf_append(out, in + start, n - start) < 0)
        return -1;
    if (n >= 2) {
        s->prev = in[n - 2];
        s->last = in[n - 1];
    } else if (n == 1) {
        s->prev = s->last;
        s->last = in[0];
    }
    s->seen += n;
    return 0;
}

int sg_dotstuff_end(const sg_dotstuff *s, sg_buf *out)
{
    const char *tail = s->seen == 0 || (s->seen >= 2 && s->prev == '\r' && s->last == '\n') ? ""
                       : s->last == '\r'                                                   ? "\n"
                                                                                           : "\r\n";
    return sg_buf_appendf(out, "%s.\r\n", tail);
}
