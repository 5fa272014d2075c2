/* buf.h - growable byte buffer with a hard maximum (every buffer has a maximum size).
 * Owner: src/lib. */
#ifndef SG_BUF_H
#define SG_BUF_H

#include <stddef.h>

typedef struct sg_buf {
    char *data; /* always NUL-terminated after a successful append */
    size_t len;
    size_t cap;
    size_t max; /* appends that would exceed this fail with -1 and leave the buffer unchanged */
} sg_buf;

void sg_buf_init(sg_buf *b, size_t max);
int sg_buf_append(sg_buf *b, const void *data, size_t len);
int sg_buf_appendf(sg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sg_buf_consume(sg_buf *b, size_t n); /* drop the first n bytes */
void sg_buf_reset(sg_buf *b);
void sg_buf_free(sg_buf *b);

#endif
