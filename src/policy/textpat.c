/* textpat.c - the PCRE2 patterns of the `text` condition (textpat.h). Owner: src/policy.
 * SECURITY: patterns run over decrypted attacker-supplied text with PCRE2's match limit; an
 * error, the limit included, counts as a match, so a forbidding rule holds (fail closed). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "policy/textpat.h"

#include <pcre2.h>
#include <stdio.h>

#define MATCH_LIMIT 1000000u

void *sg_ptext_compile(const char *pattern, char *err, size_t errlen)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_CASELESS | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        snprintf(err, errlen, "bad pattern at offset %zu: %s", (size_t)off, (char *)msg);
    }
    return re;
}

int sg_ptext_match(const void *code, const char *s, size_t len)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    if (!md || !mc) {
        pcre2_match_data_free(md);
        pcre2_match_context_free(mc);
        return 1; /* out of memory: fail closed */
    }
    pcre2_set_match_limit(mc, MATCH_LIMIT);
    int r = pcre2_match(code, (PCRE2_SPTR)s, len, 0, 0, md, mc);
    pcre2_match_data_free(md);
    pcre2_match_context_free(mc);
    return r == PCRE2_ERROR_NOMATCH ? 0 : 1; /* an error (the match limit) counts as a match */
}

void sg_ptext_free(void *code)
{
    pcre2_code_free(code);
}
