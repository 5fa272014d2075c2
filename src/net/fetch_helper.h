/* fetch_helper.h - a small child process that makes the revocation fetches, and the key
 * discovery requests (HTTP, and LDAP searches: net/ldap_search.h), for its parent, as
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

/* A helper was started and is no longer usable: it died (reaped here), broke the protocol or
 * stopped answering. Fetches then fail; the helper cannot be forked again once secrets are
 * loaded, so cryptd exits and the master restarts it (docs/architecture.md). */
int sg_fetch_helper_lost(void);

/* ---- the protocol (native byte order: both ends are the same binary) ----
 * Parent -> helper: a request header, then URL, content type, CA file, body and connect_to. Helper ->
 * parent: a response header naming the request's id, then the error text and the body. The
 * helper answers up to SG_FETCH_HELPER_POOL requests at once, in any order. */
#define SG_FETCH_MAGIC 0x53474633u /* "SGF3" */
#define SG_FETCH_HELPER_POOL 4     /* requests the helper runs at once */
#define SG_FETCH_MAX_ERR 512u
typedef struct sg_fetch_req_hdr {
    uint32_t magic, timeout_ms, nports, url_len, ctype_len, ca_len, body_len;
    uint32_t flags, connect_len; /* sg_fetch_limits flags; connect_to text, sent after the body */
    int32_t ports[16];
    uint64_t id, max_size;
} sg_fetch_req_hdr;
typedef struct sg_fetch_resp_hdr {
    uint32_t magic;
    int32_t rc;
    uint32_t err_len;
    uint64_t id, body_len;
} sg_fetch_resp_hdr;
/* For the tests and the fuzz target: use fd (a socketpair end) as the helper's socket, with no
 * process behind it. Undone by sg_fetch_helper_stop. 0, or -1 when a helper is set already. */
int sg_fetch_helper_attach(int fd);

#endif
