/* web_int.h - the web role's shared state and the functions its files call in each other.
 * Owner: src/web (one module: web.c, router.c, and the page and API files). */
#ifndef SG_WEB_INT_H
#define SG_WEB_INT_H

#include <stddef.h>

#include "lib/config.h"
#include "store/store.h"
#include "web/http.h"

typedef struct sg_web {
    const sg_config *cfg;
    sg_store *store; /* opened after the privilege drop; used on the daemon's one thread */
} sg_web;

/* Opens what the handlers need (the store). 0, or -1 with err. */
int sg_web_init(sg_web *w, const sg_config *cfg, char *err, size_t errlen);
void sg_web_free(sg_web *w);
/* The one request handler (sg_http_handler): static files, pages, /api/v1. */
void sg_web_route(void *ctx, sg_http_req *req);

/* A file of src/web/static/, embedded at build time (scripts/embed-static.py). */
typedef struct sg_web_asset {
    const char *path; /* "/static/portal.css" */
    const char *type;
    const unsigned char *data;
    size_t len;
} sg_web_asset;
extern const sg_web_asset sg_web_assets[]; /* ends with a NULL path */

#endif
