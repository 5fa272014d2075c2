/* mapview.h - a file's bytes seen read-only through mmap instead of a heap copy, so that a
 * large queued message costs the process only the pages being read, and readers that walk it
 * from start to end can give the pages behind them back. Owner: src/lib.
 *
 * SECURITY: the mapping is PROT_READ and MAP_SHARED over a file that is never changed in place
 * (queue files are replaced by rename, docs/architecture.md "Spool"); a file truncated under
 * the mapping would make a read fault (SIGBUS), which stops the process: the master restarts
 * it and the message is read again, never passed on cut. One zero page is mapped after the
 * file, so the bytes are followed by a NUL as a whole-file read gives them (sg_read_fd).
 *
 * A view is made current for the calling thread (sg_mapview_use) while code that does not know
 * where its bytes live reads them: sg_mapview_release() and sg_mapview_fd() act only on
 * addresses inside the thread's current view and do nothing for any other memory (a heap
 * buffer is never discarded). */
#ifndef SG_MAPVIEW_H
#define SG_MAPVIEW_H

#include <stddef.h>
#include <sys/types.h>

typedef struct sg_mapview {
    const char *base; /* the file's first byte, NULL when not mapped */
    size_t len;       /* the file's length */
    size_t maplen;    /* what was reserved: len rounded up to pages, plus the zero page */
    int fd;           /* the caller's descriptor (not owned), for readers that prefer read() */
} sg_mapview;

/* Maps len bytes of the open file fd. 0, or -1 with errno. */
int sg_mapview_open(sg_mapview *v, int fd, size_t len);
void sg_mapview_close(sg_mapview *v);
/* Makes v (or NULL: none) the calling thread's current view. */
void sg_mapview_use(const sg_mapview *v);
/* Gives back the whole pages of [from, to) when they lie in the thread's current view: they
 * leave the process's resident set and are read again from the page cache if touched. */
void sg_mapview_release(const void *from, const void *to);
/* The descriptor behind [p, p + n) and the file offset of p, when the range lies in the
 * thread's current view; else -1. */
int sg_mapview_fd(const void *p, size_t n, off_t *off);

#endif
