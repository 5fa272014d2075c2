/* qmsg.c - reading a queued message's envelope at once and its data in pieces (qmsg.h).
 * Owner: src/queue. Memory is the envelope plus the caller's buffer, whatever the size of the
 * message. */
#include "queue/qmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (64u << 10)

static int pread_all(int fd, void *buf, size_t n, off_t off)
{
    char *p = buf;
    while (n) {
        ssize_t r = pread(fd, p, n, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0) {
            errno = EIO; /* shorter than its trailer said: a torn or replaced file */
            return -1;
        }
        p += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

int sg_qmsg_open(sg_queue *q, int state, const char *name, sg_envelope *e, sg_qmsg *m, char *err,
                 size_t errlen)
{
    m->fd = openat(q->dirfd[state], name, O_RDONLY | O_CLOEXEC);
    if (m->fd < 0)
        return -1;
    struct stat st;
    char tr[SG_ENV_TRAILER_LEN] = {0};
    size_t flen = 0, dlen = 0;
    if (fstat(m->fd, &st) < 0)
        goto io;
    flen = (size_t)st.st_size;
    if (flen >= SG_ENV_TRAILER_LEN &&
        pread_all(m->fd, tr, sizeof tr, (off_t)(flen - SG_ENV_TRAILER_LEN)) < 0)
        goto io;
    if (sg_qfile_trailer(tr, flen, &dlen, err, errlen) < 0)
        goto malformed;
    size_t hlen = flen - SG_ENV_TRAILER_LEN - dlen;
    char *hdr = malloc(hlen + 1);
    if (!hdr || pread_all(m->fd, hdr, hlen, 0) < 0) {
        free(hdr);
        goto io;
    }
    int rc = sg_qfile_header(hdr, hlen, e, err, errlen);
    free(hdr);
    if (rc < 0)
        goto malformed;
    /* The file name is the message's id, as in sg_queue_read. */
    snprintf(e->id, sizeof e->id, "%s", name);
    m->data_off = (off_t)hlen;
    m->data_len = dlen;
    return 0;
io:;
    int saved = errno;
    sg_qmsg_close(m);
    errno = saved;
    return -1;
malformed:
    sg_qmsg_close(m);
    return -2;
}

int sg_qmsg_read(const sg_qmsg *m, size_t off, void *buf, size_t n)
{
    if (off > m->data_len || n > m->data_len - off) {
        errno = EINVAL;
        return -1;
    }
    return pread_all(m->fd, buf, n, m->data_off + (off_t)off);
}

static int fill_copy(sg_qwriter *w, void *ctx)
{
    const sg_qmsg *m = ctx;
    char *buf = malloc(COPY_CHUNK);
    if (!buf)
        return -1;
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < m->data_len; off += COPY_CHUNK) {
        size_t n = m->data_len - off < COPY_CHUNK ? m->data_len - off : COPY_CHUNK;
        rc = sg_qmsg_read(m, off, buf, n) < 0 || sg_qw_write(w, buf, n) < 0 ? -1 : 0;
    }
    free(buf);
    return rc;
}

int sg_qmsg_copy(sg_queue *q, int state, const char *name, const sg_envelope *e, const sg_qmsg *m)
{
    return sg_queue_write_with(q, state, name, e, fill_copy, (void *)m);
}

void sg_qmsg_close(sg_qmsg *m)
{
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
}
