/* json_in.h - decoding a JSON request body of the REST API (jansson). Owner: src/web.
 * SECURITY: the input is an untrusted request body (at most web.max_body bytes). Only a JSON
 * object is accepted, without duplicate keys, nested at most SG_JSON_MAX_DEPTH levels; anything
 * else is an error the API answers 400 before any operation runs. Fuzzed by
 * tests/fuzz/fuzz_web_json.c. */
#ifndef SG_WEB_JSON_IN_H
#define SG_WEB_JSON_IN_H

#include <jansson.h>
#include <stddef.h>

#define SG_JSON_MAX_DEPTH 8

/* The object in body[0..len) (a new reference), or NULL with a message for the client in err
 * (position included). An empty body is an empty object. */
json_t *sg_json_in_object(const char *body, size_t len, char *err, size_t errlen);

#endif
