/* mapview.c - read-only file mappings and giving their pages back (mapview.h). Owner: src/lib. */
#include "lib/mapview.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static _Thread_local const sg_mapview *current;

int sg_mapview_open(sg_mapview *v, int fd, size_t len)
{
    *v = (sg_mapview){.fd = fd};
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
    v->base = res;
    v->len = len;
    v->maplen = filepart + page;
    return 0;
}

void sg_mapview_close(sg_mapview *v)
{
    if (current == v)
        current = NULL;
    if (v->base)
        munmap((void *)(uintptr_t)v->base, v->maplen);
    v->base = NULL;
}

void sg_mapview_use(const sg_mapview *v)
{
    current = v && v->base ? v : NULL;
}

static int inside(const void *p, size_t n)
{
    const char *c = p;
    return current && c >= current->base && n <= current->len &&
           (size_t)(c - current->base) <= current->len - n;
}

void sg_mapview_release(const void *from, const void *to)
{
    const char *a = from, *b = to;
    if (b <= a || !inside(a, (size_t)(b - a)))
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
    if (!inside(p, n))
        return -1;
    *off = (off_t)((const char *)p - current->base);
    return current->fd;
}
