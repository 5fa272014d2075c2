/* test_pdf_reply.c - the reply portal's request arguments (engine/pdf/pdf_reply.h, issue 12):
 * a check and a submit parse with their fields and decoded attachments; unknown arguments, a
 * missing or oversized token, text over its bound or with a NUL, too many or too large
 * attachments, bad base64, names with a path separator or control character, a bad type, and
 * every way of being a PDF (declared type, magic at the start or later in the first 1024
 * bytes) are refused. Owner: src/engine/pdf. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/pdf/pdf_reply.h"

static int refused(const char *op, const char *json, const char *want_field)
{
    sg_pdf_reply_req r;
    char field[64] = "?", err[256] = "";
    if (sg_pdf_reply_parse(op, json, &r, field, sizeof field, err, sizeof err) == 0) {
        sg_pdf_reply_free(&r);
        return 0;
    }
    return strcmp(field, want_field) == 0 && err[0];
}

int main(void)
{
    sg_pdf_reply_req r;
    char field[64], err[256];
    CHECK(sg_pdf_reply_parse("reply.check", "{\"token\":\"1.abc.def\"}", &r, field, sizeof field, err, sizeof err) ==
                  0 &&
              !strcmp(r.token, "1.abc.def") && !r.text && r.nfiles == 0,
          "reply.check with a token");
    sg_pdf_reply_free(&r);
    CHECK(sg_pdf_reply_parse("reply.submit",
                             "{\"token\":\"1.a.b\",\"text\":\"Gr\\u00fc\\u00dfe\\nline 2\",\"attachments\":["
                             "{\"name\":\"notes.txt\",\"type\":\"Text/Plain\",\"data\":\"aGVsbG8=\"},"
                             "{\"name\":\"empty.bin\",\"type\":\"application/octet-stream\",\"data\":\"\"}]}",
                             &r, field, sizeof field, err, sizeof err) == 0 &&
              !strcmp(r.text, "Gr\xc3\xbc\xc3\x9f" "e\nline 2") && r.nfiles == 2 && !strcmp(r.files[0].name, "notes.txt") &&
              !strcmp(r.files[0].type, "text/plain") && r.files[0].len == 5 && !memcmp(r.files[0].data, "hello", 5) &&
              r.files[1].len == 0,
          "reply.submit with text and two attachments (%s)", err);
    sg_pdf_reply_free(&r);
    CHECK(refused("reply.check", "{\"token\":\"x\",\"text\":\"a\"}", ""), "check takes no text");
    CHECK(refused("reply.other", "{\"token\":\"x\"}", ""), "another op");
    CHECK(refused("reply.check", "[1]", ""), "not an object");
    CHECK(refused("reply.check", "{\"token\":\"x\",\"token\":\"y\"}", ""), "a duplicate key");
    CHECK(refused("reply.check", "{}", "token"), "no token");
    CHECK(refused("reply.check", "{\"token\":\"a\\nb\"}", "token"), "a token with a line break");
    char *big = malloc(SG_PDF_LINK_MAX + 64);
    snprintf(big, SG_PDF_LINK_MAX + 64, "{\"token\":\"%0*d\"}", SG_PDF_LINK_MAX + 1, 0);
    CHECK(refused("reply.check", big, "token"), "a token over its maximum");
    free(big);
    CHECK(refused("reply.submit", "{\"token\":\"x\"}", "text"), "submit without text");
    CHECK(refused("reply.submit", "{\"token\":\"x\",\"text\":\"a\\u0000b\"}", ""), "text with a NUL (jansson refuses it: not JSON without JSON_ALLOW_NUL)");
    size_t n = SG_PDF_REPLY_TEXT_MAX + 64;
    char *longtext = malloc(n);
    int o = snprintf(longtext, n, "{\"token\":\"x\",\"text\":\"");
    memset(longtext + o, 'a', SG_PDF_REPLY_TEXT_MAX + 1);
    strcpy(longtext + o + SG_PDF_REPLY_TEXT_MAX + 1, "\"}");
    CHECK(refused("reply.submit", longtext, "text"), "text over its maximum");
    free(longtext);
    const char *bad_files[] = {
        "[{\"name\":\"a/b\",\"type\":\"text/plain\",\"data\":\"\"}]",
        "[{\"name\":\"a\\u0001\",\"type\":\"text/plain\",\"data\":\"\"}]",
        "[{\"name\":\"..\",\"type\":\"text/plain\",\"data\":\"\"}]",
        "[{\"name\":\"a\",\"type\":\"text\",\"data\":\"\"}]",
        "[{\"name\":\"a\",\"type\":\"text/plain;x=\\\"\",\"data\":\"\"}]",
        "[{\"name\":\"a\",\"type\":\"text/plain\",\"data\":\"aGVsbG8\"}]",
        "[{\"name\":\"a\",\"type\":\"text/plain\",\"data\":\"aG=sbG8=\"}]",
        "[{\"name\":\"a\",\"type\":\"text/plain\",\"data\":\"\",\"x\":1}]",
        "[{\"name\":\"a.pdf\",\"type\":\"application/pdf\",\"data\":\"\"}]",
        "[{\"name\":\"a\",\"type\":\"APPLICATION/PDF; x=y\",\"data\":\"\"}]",
        "[{\"name\":\"a.txt\",\"type\":\"text/plain\",\"data\":\"JVBERi0xLjcK\"}]",     /* %PDF-1.7 */
        "[{\"name\":\"a.txt\",\"type\":\"text/plain\",\"data\":\"ICAgJVBERi0xLjcK\"}]", /* after spaces */
        "[1]",
        "{}",
    };
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        char json[512];
        snprintf(json, sizeof json, "{\"token\":\"x\",\"text\":\"t\",\"attachments\":%s}", bad_files[i]);
        CHECK(refused("reply.submit", json, "attachments"), "refused attachments: %s", bad_files[i]);
    }
    char many[2048];
    int m = snprintf(many, sizeof many, "{\"token\":\"x\",\"text\":\"t\",\"attachments\":[");
    for (int i = 0; i <= SG_PDF_REPLY_FILES_MAX; i++)
        m += snprintf(many + m, sizeof many - (size_t)m, "%s{\"name\":\"f%d\",\"type\":\"text/plain\",\"data\":\"\"}",
                      i ? "," : "", i);
    snprintf(many + m, sizeof many - (size_t)m, "]}");
    CHECK(refused("reply.submit", many, "attachments"), "more attachments than allowed");
    /* Two attachments of 400 KiB each: over the total, though each alone fits. */
    size_t each = (400u << 10) / 3 * 4;
    char *huge = malloc(2 * each + 256);
    int h = sprintf(huge, "{\"token\":\"x\",\"text\":\"t\",\"attachments\":[");
    for (int i = 0; i < 2; i++) {
        h += sprintf(huge + h, "%s{\"name\":\"f%d\",\"type\":\"text/plain\",\"data\":\"", i ? "," : "", i);
        memset(huge + h, 'A', each);
        h += (int)each;
        h += sprintf(huge + h, "\"}");
    }
    sprintf(huge + h, "]}");
    CHECK(refused("reply.submit", huge, "attachments"), "attachments over the total");
    free(huge);
    CHECK(sg_pdf_reply_is_pdf("text/plain", (const unsigned char *)"hello %PD", 9) == 0, "a partial magic is not a PDF");
    return CHECK_DONE();
}
