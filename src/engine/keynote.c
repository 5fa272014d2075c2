/* keynote.c - sg_protect_note_keys (engine.h): the keys an engine used for one protection,
 * written for the notary log (issue 14). Owner: src/engine. A file of its own: the engines call
 * it, and engine.c (the registry) calls the engines. */
#include <stdio.h>

#include "engine/engine.h"

void sg_protect_note_keys(const sg_protect_req *req, const char *signer, const char *fprs, size_t stride,
                          size_t n)
{
    if (!req->used || !req->usedlen)
        return;
    size_t off = (size_t)snprintf(req->used, req->usedlen, "sign=%s enc=", signer ? signer : "");
    for (size_t i = 0; i < n && off < req->usedlen; i++)
        off += (size_t)snprintf(req->used + off, req->usedlen - off, "%s%s", i ? "," : "", fprs + i * stride);
}
