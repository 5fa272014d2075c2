/* netio.h - what the fetch helper and the scan helper share: whole reads and writes on their
 * socketpair (both ends of each protocol) and the fork of the helper itself. Owner: src/net.
 * SECURITY: the helper child keeps only the socket (as fd 3) and stderr, drops to user:group
 * when root, sets no_new_privs and dies with its parent. */
#ifndef SG_NET_NETIO_H
#define SG_NET_NETIO_H

#include <pthread.h>
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

/* The parent's view of one helper process (the fetch helper, the scan helper): its socket,
 * its pid, whether it is lost, and the lock that guards them (the owner may guard more of its
 * own state with it). fd < 0 and !dead: no helper was started (callers may then work in
 * their own process); dead: it was started and died or broke its protocol, and is never
 * asked again. pid 0: attached for a test (no process to wait for); -1: already reaped. */
typedef struct sg_net_helper {
    pthread_mutex_t lock;
    const char *name; /* "fetch helper", for messages */
    int fd;
    pid_t pid;
    bool dead;
} sg_net_helper;
#define SG_NET_HELPER_INIT(NAME) {PTHREAD_MUTEX_INITIALIZER, NAME, -1, 0, false}

/* Forks the helper running serve (sg_net_helper_fork) unless one runs. 0, or -1 with err. */
int sg_net_helper_start(sg_net_helper *h, const char *user, const char *group, void (*serve)(int), char *err,
                        size_t errlen);
/* For tests and fuzz targets: fd (a socketpair end) stands for the helper. 0, or -1 when one
 * is already there. */
int sg_net_helper_attach(sg_net_helper *h, int fd);
/* The helper's pid, 0 when none runs. */
pid_t sg_net_helper_pid(sg_net_helper *h);
/* With h->lock held: whether the helper process has exited (reaped here, once). */
bool sg_net_helper_exited_locked(sg_net_helper *h);
/* With h->lock held: never used again (the socket shut down, not closed: a reader may still
 * be in recv on it). */
void sg_net_helper_lose_locked(sg_net_helper *h);
/* With h->lock held: closes the socket, waits for the process, back to "not started". */
void sg_net_helper_close_locked(sg_net_helper *h);

#endif
