/* fuzz_web_json.c - libFuzzer target for the REST API's JSON request bodies
 * (src/web/json_in.c). Checks beyond "no crash": what is accepted is an object no deeper than
 * the limit, and it dumps and loads again to an equal value. Owner: src/web. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/json_in.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    char err[256];
    json_t *v = sg_json_in_object((const char *)buf, len, err, sizeof err);
    if (!v)
        return 0;
    if (!json_is_object(v))
        abort();
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        abort();
    json_t *again = sg_json_in_object(s, strlen(s), err, sizeof err);
    if (!again || !json_equal(v, again))
        abort();
    json_decref(again);
    free(s);
    json_decref(v);
    return 0;
}
