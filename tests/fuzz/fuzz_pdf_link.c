/* fuzz_pdf_link.c - libFuzzer target for the Reply link's token check (engine/pdf/pdf_link.c,
 * issue 12): any bytes as a token, against a fixed key and against a token made from the
 * fuzzer's bytes as fields. Checks beyond "no crash": random input never checks as valid
 * (-1); a made token always checks back to its fields. Owner: src/engine/pdf. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pdf/pdf_link.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    static const uint8_t key[SG_PDF_LINK_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    char *s = malloc(len + 1);
    if (!s)
        abort();
    memcpy(s, buf, len);
    s[len] = '\0';
    sg_pdf_link got, l = {.expires = 2000000000};
    if (sg_pdf_link_check(key, s, 0, &got) >= 0 && len > 0)
        abort(); /* a forgery from random bytes: the MAC would have to be guessed */
    size_t a = len / 3;
    snprintf(l.sender, sizeof l.sender, "%.*s", (int)a, s);
    snprintf(l.rcpt, sizeof l.rcpt, "%.*s", (int)a, s + a);
    snprintf(l.msgid, sizeof l.msgid, "%s", s + 2 * a);
    char tok[SG_PDF_LINK_MAX + 1];
    if (sg_pdf_link_make(key, &l, tok, sizeof tok) == 0 &&
        (sg_pdf_link_check(key, tok, 0, &got) != 0 || strcmp(got.sender, l.sender) != 0 ||
         strcmp(got.rcpt, l.rcpt) != 0 || strcmp(got.msgid, l.msgid) != 0))
        abort();
    free(s);
    return 0;
}
