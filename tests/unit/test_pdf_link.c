/* test_pdf_link.c - the Reply link's token (engine/pdf/pdf_link.h, issue 12): a made token
 * checks with its fields; expired is told apart; every altered byte, another key, a truncated
 * or padded token, garbage and a token with a line break in a field are refused; the link key
 * derives from the KEK file and changes with it. Owner: src/engine/pdf. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "crypto/kek.h"
#include "engine/pdf/pdf_link.h"

int main(void)
{
    uint8_t key[SG_PDF_LINK_KEY_LEN], other[SG_PDF_LINK_KEY_LEN];
    char dir[] = "/tmp/sg-pdflink-XXXXXX", kek[256], kek2[256];
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    snprintf(kek, sizeof kek, "%s/kek", dir);
    snprintf(kek2, sizeof kek2, "%s/kek2", dir);
    CHECK(sg_kek_create(kek) == 1 && sg_kek_create(kek2) == 1, "two KEK files");
    CHECK(sg_pdf_link_key(kek, key) == 0 && sg_pdf_link_key(kek2, other) == 0 && memcmp(key, other, sizeof key) != 0,
          "the link key derives from the KEK (two KEKs, two keys)");
    uint8_t again[SG_PDF_LINK_KEY_LEN];
    CHECK(sg_pdf_link_key(kek, again) == 0 && memcmp(key, again, sizeof key) == 0, "... and is the same each time");

    sg_pdf_link l = {.expires = 2000000000}, got;
    snprintf(l.sender, sizeof l.sender, "alice@demo.test");
    snprintf(l.rcpt, sizeof l.rcpt, "bob@partner.example");
    snprintf(l.msgid, sizeof l.msgid, "123.abc@demo.test");
    char tok[SG_PDF_LINK_MAX + 1];
    CHECK(sg_pdf_link_make(key, &l, tok, sizeof tok) == 0 && strncmp(tok, "1.", 2) == 0 &&
              strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") == strlen(tok),
          "a token is made of URL-safe characters (%s)", tok);
    CHECK(sg_pdf_link_check(key, tok, 1900000000, &got) == 0 && got.expires == l.expires &&
              strcmp(got.sender, l.sender) == 0 && strcmp(got.rcpt, l.rcpt) == 0 && strcmp(got.msgid, l.msgid) == 0,
          "it checks, with its fields");
    CHECK(sg_pdf_link_check(key, tok, 2000000001, &got) == 1 && strcmp(got.rcpt, l.rcpt) == 0,
          "past its time it is expired (1), told apart from a forgery");
    CHECK(sg_pdf_link_check(other, tok, 1900000000, &got) == -1, "another key refuses it");
    size_t n = strlen(tok), bad = 0;
    for (size_t i = 0; i < n; i++) {
        char t2[SG_PDF_LINK_MAX + 1];
        memcpy(t2, tok, n + 1);
        t2[i] = t2[i] == 'A' ? 'B' : 'A';
        if (sg_pdf_link_check(key, t2, 1900000000, &got) != -1)
            bad++;
    }
    CHECK(bad == 0, "every altered character is refused (%zu accepted of %zu)", bad, n);
    char t3[SG_PDF_LINK_MAX + 4];
    memcpy(t3, tok, n - 1);
    t3[n - 1] = '\0';
    CHECK(sg_pdf_link_check(key, t3, 1900000000, &got) == -1, "a truncated token is refused");
    snprintf(t3, sizeof t3, "%s=", tok);
    CHECK(sg_pdf_link_check(key, t3, 1900000000, &got) == -1, "a padded token is refused");
    const char *junk[] = {"", "1.", "1..", "2.abc.def", "1.abc", "1.!!!!.!!!!", "1.YQ.YQ", NULL};
    for (size_t i = 0; junk[i]; i++)
        CHECK(sg_pdf_link_check(key, junk[i], 0, &got) == -1, "garbage \"%s\" is refused", junk[i]);
    sg_pdf_link nl = l;
    snprintf(nl.msgid, sizeof nl.msgid, "x\ny");
    CHECK(sg_pdf_link_make(key, &nl, tok, sizeof tok) == -1, "a field with a line break makes no token");
    unlink(kek);
    unlink(kek2);
    rmdir(dir);
    return CHECK_DONE();
}
