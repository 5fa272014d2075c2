/* router.c - the web role's one request handler: static files, the portal's pages, /api/v1.
 * Owner: src/web. */
#include <string.h>

#include "web/web_int.h"

static void not_found(sg_http_req *req)
{
    static const char body[] = "{\"error\": {\"code\": \"not_found\", \"message\": \"no such resource\"}}\n";
    sg_http_send(req, 404, "application/json", body, sizeof body - 1, SG_HTTP_NO_STORE, NULL);
}

void sg_web_route(void *ctx, sg_http_req *req)
{
    (void)ctx;
    for (const sg_web_asset *a = sg_web_assets; a->path; a++)
        if (strcmp(req->path, a->path) == 0 && strcmp(req->method, "GET") == 0) {
            sg_http_send(req, 200, a->type, a->data, a->len, 0, NULL);
            return;
        }
    not_found(req);
}
