/* netio.h - what the fetch helper and the scan helper share: whole reads and writes on their
 * socketpair (both ends of each protocol) and the fork of the helper itself. Owner: src/net.
 * SECURITY: the helper child keeps only the socket (as fd 3) and stderr, drops to user:group
 * when root, sets no_new_privs and dies with its parent. */
#ifndef SG_NET_NETIO_H
#define SG_NET_NETIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads (wr false) or writes len bytes, each wait bounded by timeout_ms (< 0: forever). 0, or
 * -1 on timeout, error or end of stream. Writes never raise SIGPIPE. */
int sg_net_io_all(int fd, void *buf, size_t len, bool wr, int timeout_ms);

/* Forks a helper that runs serve(3) as user:group (NULL: nobody:nogroup) and exits; name is
 * for its error messages. The parent's socket end in *fd. The child's pid, or -1 with err. */
pid_t sg_net_helper_fork(const char *name, const char *user, const char *group, void (*serve)(int), int *fd,
                         char *err, size_t errlen);

#endif
