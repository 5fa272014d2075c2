/* msgdata.c - the relay's view of a queued message's data: read from the spool file in pieces
 * of PIECE bytes, so a relay worker's memory does not grow with the message (issue 11).
 * Owner: src/relay. */
#include <errno.h>
#include <stdlib.h>

#include "relay/dsn.h"
#include "relay/relay_int.h"

#define PIECE (64u << 10)

int sg_relay_read_data(void *ctx, size_t off, char *buf, size_t n)
{
    return sg_qmsg_read(ctx, off, buf, n);
}

int sg_relay_has_8bit(const sg_qmsg *m)
{
    unsigned char *buf = malloc(PIECE);
    if (!buf)
        return -1;
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < m->data_len; off += PIECE) {
        size_t n = m->data_len - off < PIECE ? m->data_len - off : PIECE;
        if (sg_qmsg_read(m, off, buf, n) < 0) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < n && !rc; i++)
            rc = buf[i] >= 0x80;
    }
    free(buf);
    return rc;
}

int sg_relay_read_dsn_part(const sg_qmsg *m, bool headers_only, sg_buf *out)
{
    char *buf = malloc(PIECE);
    if (!buf)
        return -1;
    int rc = 0;
    for (size_t off = 0; off < m->data_len; off += PIECE) {
        size_t n = m->data_len - off < PIECE ? m->data_len - off : PIECE;
        if (sg_qmsg_read(m, off, buf, n) < 0 || sg_buf_append(out, buf, n) < 0) {
            rc = -1;
            break;
        }
        /* A header end found before the last byte read is the first one in the whole data
         * too; one that could still be completed by the next piece starts within its last
         * 3 bytes, so the scan resumes there. */
        size_t from = off >= 3 ? off - 3 : 0;
        if (headers_only && from + sg_dsn_header_len(out->data + from, out->len - from) < out->len)
            break;
    }
    free(buf);
    return rc;
}
