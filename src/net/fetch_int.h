/* fetch_int.h - shared by http_fetch.c and fetch_helper.c only: one module (the bounded fetch,
 * in this process or through the helper) in two files. Owner: src/net.
 * http_fetch.c routes a request to the helper when one runs; the helper's child runs the
 * fetch itself with sg_http_fetch_direct. */
#ifndef SG_FETCH_INT_H
#define SG_FETCH_INT_H

#include <stddef.h>
#include <stdint.h>

#include "net/http_fetch.h"

/* The fetch itself, in this process (what the helper runs). */
int sg_http_fetch_direct(const char *url, const char *content_type, const uint8_t *body, size_t blen,
                         const sg_fetch_limits *lim, uint8_t **out, size_t *outlen, char *err, size_t errlen);

/* Whether a helper was started, and one request through it. Thread-safe: requests from
 * several threads are in flight at once, each answered by its id. */
int sg_fetch_helper_active(void);
int sg_fetch_helper_request(const char *url, const char *content_type, const uint8_t *body, size_t blen,
                            const sg_fetch_limits *lim, uint8_t **out, size_t *outlen, char *err, size_t errlen);

#endif
