/* test_web_form.c - the web role's request-body decoding: HTML forms (urlencoded, multipart
 * with a file) and JSON objects, and what each refuses. Owner: src/web. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "web/form.h"
#include "web/json_in.h"

static sg_form f;

static int parse(const char *type, const char *body, size_t len)
{
    char err[256];
    return sg_form_parse(type, body, len, &f, err, sizeof err);
}

int main(void)
{
    const char *u = "application/x-www-form-urlencoded";
    CHECK(parse(u, "a=x%20y&b=%C3%A9&c&d=1+2", 24) == 0 && f.n == 4, "urlencoded: four fields");
    CHECK(f.n == 4 && strcmp(sg_form_get(&f, "a"), "x y") == 0 && strcmp(sg_form_get(&f, "b"), "\xc3\xa9") == 0 &&
              strcmp(sg_form_get(&f, "c"), "") == 0 && strcmp(sg_form_get(&f, "d"), "1 2") == 0,
          "urlencoded: %%-escapes, '+' and a field without '=' decoded");
    sg_form_free(&f);
    CHECK(parse(u, "a=%2", 4) < 0 && f.n == 0, "urlencoded: a cut %%-escape is refused, no field kept");
    CHECK(parse(u, "a=1&%00x=2", 10) < 0, "urlencoded: a NUL in a name is refused");
    CHECK(parse("text/plain", "a=1", 3) < 0, "another media type is refused");
    static const char mp[] = "--xYz\r\nContent-Disposition: form-data; name=\"key\"; filename=\"k.asc\"\r\n"
                             "Content-Type: application/pgp-keys\r\n\r\nA\0B\r\n--xYz\r\n"
                             "Content-Disposition: form-data; name=csrf\r\n\r\nt0k\r\n--xYz--\r\n";
    CHECK(parse("multipart/form-data; boundary=xYz", mp, sizeof mp - 1) == 0 && f.n == 2, "multipart: two parts");
    const sg_form_field *k = sg_form_field_get(&f, "key");
    CHECK(k && k->len == 3 && memcmp(k->value, "A\0B", 3) == 0 && strcmp(k->filename, "k.asc") == 0 &&
              strcmp(k->type, "application/pgp-keys") == 0,
          "multipart: a file part keeps its bytes (NUL included), file name and type");
    CHECK(sg_form_get(&f, "csrf") && strcmp(sg_form_get(&f, "csrf"), "t0k") == 0, "multipart: a bare-token name");
    sg_form_free(&f);
    CHECK(parse("multipart/form-data; boundary=xYz", mp, sizeof mp - 12) < 0 && f.n == 0,
          "multipart: a body cut before its closing boundary is refused, no field kept");
    CHECK(parse("multipart/form-data", mp, sizeof mp - 1) < 0, "multipart: no boundary is refused");
    static const char noname[] = "--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n";
    CHECK(parse("multipart/form-data; boundary=b", noname, sizeof noname - 1) < 0, "multipart: a part without a name");

    char err[256];
    json_t *j = sg_json_in_object("{\"a\": 1, \"b\": [\"x\"]}", 20, err, sizeof err);
    CHECK(j && json_integer_value(json_object_get(j, "a")) == 1, "json: an object");
    json_decref(j);
    j = sg_json_in_object("  ", 2, err, sizeof err);
    CHECK(j && json_object_size(j) == 0, "json: an empty body is an empty object");
    json_decref(j);
    CHECK(!sg_json_in_object("{\"a\": 1,}", 9, err, sizeof err) && strstr(err, "malformed JSON"),
          "json: malformed is refused with its position: %s", err);
    CHECK(!sg_json_in_object("[1]", 3, err, sizeof err), "json: an array is refused");
    CHECK(!sg_json_in_object("{\"a\": 1, \"a\": 2}", 16, err, sizeof err), "json: a duplicate key is refused");
    CHECK(!sg_json_in_object("{\"a\":[[[[[[[[[1]]]]]]]]]}", 24, err, sizeof err), "json: nesting over the limit is refused");
    return CHECK_DONE();
}
