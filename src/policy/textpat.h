/* textpat.h - the PCRE2 patterns of the policy's `text` condition (docs/scanning.md "Content
 * rules"): compiled when the policy is parsed, matched at the scanning stage. Owner: src/policy. */
#ifndef SG_POLICY_TEXTPAT_H
#define SG_POLICY_TEXTPAT_H

#include <stddef.h>

/* PCRE2 patterns of the `text` condition: caseless, UTF-8 (invalid UTF-8 in the subject is
 * tolerated). compile: the code, or NULL with err. match: 1 match (or the match limit hit),
 * 0 none. */
void *sg_ptext_compile(const char *pattern, char *err, size_t errlen);
int sg_ptext_match(const void *code, const char *s, size_t len);
void sg_ptext_free(void *code);

#endif
