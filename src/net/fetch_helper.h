/* fetch_helper.h - a small child process that makes the revocation fetches for its parent, as
 * an unprivileged user with no files, no store and no KEK. Owner: src/net.
 * SECURITY: libcurl's HTTP and TLS code then runs outside the process that holds unwrapped
 * keys; the parent only parses the bytes it gets back (and caps them itself). Start it before
 * opening the KEK or the store: the child is a fork and keeps a copy of the parent's memory at
 * that moment. As root the child drops to user:group (default nobody:nogroup) and cannot
 * regain root; as non-root (tests, development) it keeps the uid but still has no secrets in
 * memory. When the helper is running, sg_http_fetch goes through it; when it died, fetches
 * fail ("fetch helper not running") rather than fall back to fetching in-process. */
#ifndef SG_FETCH_HELPER_H
#define SG_FETCH_HELPER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/http_fetch.h"

/* Forks the helper (user/group for the drop when root). 0, or -1 with err. Call once, while
 * still root when the helper is to drop (before the caller's own drop), before any thread is
 * started and before secrets are loaded, from the thread that lives as long as the process
 * (the helper gets SIGTERM when the forking thread ends: PR_SET_PDEATHSIG). */
int sg_fetch_helper_start(const char *user, const char *group, char *err, size_t errlen);
/* Ends the helper (closes its socket, reaps it). Safe to call when none runs. */
void sg_fetch_helper_stop(void);
/* The helper's pid, or 0 when none was started. */
pid_t sg_fetch_helper_pid(void);

#endif
