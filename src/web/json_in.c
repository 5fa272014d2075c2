/* json_in.c - JSON request bodies (json_in.h). Owner: src/web. SECURITY: see json_in.h. */
#include "web/json_in.h"

#include <stdio.h>

static int depth_of(json_t *v, int depth)
{
    if (depth > SG_JSON_MAX_DEPTH)
        return depth;
    int deepest = depth;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            int d = depth_of(x, depth + 1);
            if (d > deepest)
                deepest = d;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            int d = depth_of(x, depth + 1);
            if (d > deepest)
                deepest = d;
        }
    }
    return deepest;
}

json_t *sg_json_in_object(const char *body, size_t len, char *err, size_t errlen)
{
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
        i++;
    if (i == len)
        return json_object();
    json_error_t je;
    /* NUL bytes inside strings would cut names and addresses short further down: refused. */
    json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!v) {
        snprintf(err, errlen, "malformed JSON at line %d column %d: %s", je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        snprintf(err, errlen, "the request body must be a JSON object");
        return NULL;
    }
    if (depth_of(v, 1) > SG_JSON_MAX_DEPTH) {
        json_decref(v);
        snprintf(err, errlen, "the JSON object is nested more than %d levels deep", SG_JSON_MAX_DEPTH);
        return NULL;
    }
    return v;
}
