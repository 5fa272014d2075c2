/* fsutil.h - durable file operations: full writes, fsync of files and directories,
 * mkdir -p, whole-file reads with a cap. Owner: src/lib. */
#ifndef SG_FSUTIL_H
#define SG_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

int sg_write_all(int fd, const void *buf, size_t len);
int sg_fsync_dir(const char *dir);
int sg_mkdirs(const char *path, mode_t mode);
/* Reads a whole open file, or a pipe or socket to its end (NUL-terminated copy in *out, malloc'd);
 * -1 with errno=EFBIG over max. A regular file is sized by fstat, anything else is read to EOF. */
int sg_read_fd(int fd, size_t max, char **out, size_t *len);
/* Reads at most max bytes; -1 with errno=EFBIG when the file is larger. *out is malloc'd. */
int sg_read_file(const char *path, size_t max, char **out, size_t *len);
/* An unnamed temporary file in dir (O_TMPFILE, 0600, read-write): gone when closed, never seen
 * by another process. The descriptor, or -1 with errno. */
int sg_tmpfile(const char *dir);
/* Writes data to path atomically: temp file beside it, fsync, rename, fsync directory. */
int sg_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

#endif
