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
 * Each thread keeps the list of the views it opened: sg_mapview_release() and sg_mapview_fd()
 * act only on addresses inside one of the calling thread's open views and do nothing for any
 * other memory (a heap buffer is never discarded), so code that does not know where its bytes
 * live can call them. A view is closed by the thread that opened it and must not move while
 * open (it is linked into that list). */
#ifndef SG_MAPVIEW_H
#define SG_MAPVIEW_H

#include <stddef.h>
#include <sys/types.h>

typedef struct sg_mapview {
    const char *base;        /* the file's first byte, NULL when not mapped */
    size_t len;              /* the file's length */
    size_t maplen;           /* what was reserved: len rounded up to pages, plus the zero page */
    int fd;                  /* the file's descriptor, for readers that prefer read() */
    int own_fd;              /* close fd with the view */
    struct sg_mapview *next; /* the thread's open views */
} sg_mapview;

/* Maps len bytes of the open file fd (closed with the view when own_fd). 0, or -1 with errno
 * (fd is then left open). */
int sg_mapview_open(sg_mapview *v, int fd, size_t len, int own_fd);
void sg_mapview_close(sg_mapview *v);
/* A view of the whole of fd in a view of its own (malloc'd, own_fd: fd is closed with it,
 * also on failure); NULL with errno. sg_mapview_free closes and frees it (NULL: nothing). */
sg_mapview *sg_mapview_new(int fd);
void sg_mapview_free(sg_mapview *v);
/* Gives back the whole pages of [from, to) when they lie in one of the thread's open views:
 * they leave the process's resident set and are read again from the page cache if touched. */
void sg_mapview_release(const void *from, const void *to);
/* Writes p[0, n) to fd (sg_write_all) in pieces of 1 MiB, giving back the pages of each piece
 * that lie in one of the thread's open views once written. 0 or -1 with errno. */
int sg_mapview_write(int fd, const char *p, size_t n);
/* The descriptor behind [p, p + n) and the file offset of p, when the range lies in one of
 * the thread's open views; else -1. */
int sg_mapview_fd(const void *p, size_t n, off_t *off);

#endif
