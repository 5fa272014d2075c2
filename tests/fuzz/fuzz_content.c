/* fuzz_content.c - arbitrary bytes as an attachment at the scanning stage: libmagic's type, the
 * name/type check and the archive walker (libarchive, nested archives) of src/policy/content.c,
 * then a PCRE2 pattern over the same bytes as a text part. Owner: src/policy.
 * Whatever arrives: no crash, no read past the input, at most SG_CONTENT_MAX_MEMBERS names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/content.h"
#include "policy/textpat.h"

static void *magic, *pattern;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!magic) {
        char err[200];
        magic = sg_pcontent_magic_open();
        pattern = sg_ptext_compile("(a|b)*c\\s+secret", err, sizeof err);
    }
    sg_pcontent c = {0};
    sg_pcontent_add_leaf(&c, magic, "x.pdf", "application/octet-stream", data, size);
    sg_pcontent_add_leaf(&c, NULL, NULL, "text/plain", data, size);
    if (c.nmembers > SG_CONTENT_MAX_MEMBERS || c.ntexts != 1 || c.text_lens[0] != size)
        abort();
    (void)sg_ptext_match(pattern, c.texts[0], c.text_lens[0]);
    sg_pcontent_free(&c);
    return 0;
}
