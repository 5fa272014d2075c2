/* mapview.c - read-only file mappings and giving their pages back (mapview.h). Owner: src/lib. */
#include "lib/mapview.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"

static _Thread_local sg_mapview *open_views;

int sg_mapview_open(sg_mapview *v, int fd, size_t len, int own_fd)
{
    *v = (sg_mapview){.fd = -1};
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (len > SIZE_MAX - 2 * page) {
        errno = EFBIG;
        return -1;
    }
    size_t filepart = (len + page - 1) / page * page;
    /* Anonymous zero pages first, then the file over all but the last: the byte after the file
     * is always a readable NUL, even when the file ends on a page boundary. */
    char *res = mmap(NULL, filepart + page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (res == MAP_FAILED)
        return -1;
    if (filepart && mmap(res, filepart, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
        int saved = errno;
        munmap(res, filepart + page);
        errno = saved;
        return -1;
    }
    /* Read from start to end: read ahead further, and drop pages behind sooner. */
    if (filepart)
        madvise(res, filepart, MADV_SEQUENTIAL);
    *v = (sg_mapview){.base = res, .len = len, .maplen = filepart + page, .fd = fd, .own_fd = own_fd};
    v->next = open_views;
    open_views = v;
    return 0;
}

void sg_mapview_close(sg_mapview *v)
{
    if (!v->base)
        return;
    for (sg_mapview **p = &open_views; *p; p = &(*p)->next)
        if (*p == v) {
            *p = v->next;
            break;
        }
    munmap((void *)(uintptr_t)v->base, v->maplen);
    if (v->own_fd && v->fd >= 0)
        close(v->fd);
    v->base = NULL;
    v->fd = -1;
}

sg_mapview *sg_mapview_new(int fd)
{
    struct stat st;
    sg_mapview *v = malloc(sizeof *v);
    if (!v || fstat(fd, &st) < 0 || sg_mapview_open(v, fd, (size_t)st.st_size, 1) < 0) {
        int saved = errno;
        free(v);
        close(fd);
        errno = saved;
        return NULL;
    }
    return v;
}

void sg_mapview_free(sg_mapview *v)
{
    if (!v)
        return;
    sg_mapview_close(v);
    free(v);
}

/* The open view of this thread that holds [p, p + n), or NULL. */
static const sg_mapview *holding(const void *p, size_t n)
{
    const char *c = p;
    for (const sg_mapview *v = open_views; v; v = v->next)
        if (c >= v->base && n <= v->len && (size_t)(c - v->base) <= v->len - n)
            return v;
    return NULL;
}

void sg_mapview_release(const void *from, const void *to)
{
    const char *a = from, *b = to;
    if (b <= a || !holding(a, (size_t)(b - a)))
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)a + page - 1) & ~(page - 1), hi = (uintptr_t)b & ~(page - 1);
    /* Only pages wholly inside the range: a page a reader still stands in stays. The pages are
     * the file's (MAP_SHARED, never written), so nothing is lost: a later read faults them in
     * again from the page cache. */
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

int sg_mapview_fd(const void *p, size_t n, off_t *off)
{
    const sg_mapview *v = holding(p, n);
    if (!v)
        return -1;
    *off = (off_t)((const char *)p - v->base);
    return v->fd;
}

int sg_mapview_write(int fd, const char *p, size_t n)
{
    const size_t piece = (size_t)1 << 20;
    for (size_t off = 0; off < n; off += piece) {
        size_t k = n - off < piece ? n - off : piece;
        if (sg_write_all(fd, p + off, k) < 0)
            return -1;
        sg_mapview_release(p + off, p + off + k);
    }
    return 0;
}
