/* fuzz_web_form.c - libFuzzer target for the web role's form decoding (src/web/form.c): the
 * first byte picks urlencoded or multipart (with a fixed boundary), the rest is the body.
 * Checks beyond "no crash": a decoded form has valid names and values of the stated length, and
 * a refused body leaves no field. Owner: src/web. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    if (len < 1)
        return 0;
    static const char *const types[] = {"application/x-www-form-urlencoded", "multipart/form-data; boundary=xYz",
                                        "multipart/form-data; boundary=\"a b\"", "text/plain"};
    const char *type = types[buf[0] % 4];
    static sg_form f; /* 256 fields: not on the stack */
    char err[128];
    int rc = sg_form_parse(type, (const char *)buf + 1, len - 1, &f, err, sizeof err);
    if (rc < 0 && f.n != 0)
        abort();
    for (size_t i = 0; i < f.n; i++) {
        size_t nl = strlen(f.v[i].name);
        if (nl == 0 || nl > SG_FORM_NAME_MAX || f.v[i].len > len || f.v[i].value[f.v[i].len] != '\0')
            abort();
        if (sg_form_field_get(&f, f.v[i].name) == NULL)
            abort();
    }
    sg_form_free(&f);
    return 0;
}
