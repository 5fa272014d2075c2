/* pdf_link.h - the Reply link of a pdf-method message (issue 12, docs/pdf.md "The Reply link"):
 * a token that names who answers whom about which message until when, with an HMAC-SHA256 over
 * it, so the reply portal can trust what the link says without a database row per message.
 * Owner: src/engine/pdf.
 * Token: "1." base64url(payload) "." base64url(HMAC-SHA256(key, "1." base64url(payload))),
 * payload "EXPIRES\nSENDER\nRCPT\nMESSAGE-ID" (EXPIRES in Unix seconds, decimal).
 * SECURITY: the key is derived from the KEK (HKDF-SHA256, its own label), so it exists only in
 * cryptd: the web role hands a token to cryptd to check (over the control socket), never holds
 * the key. The token is signed, not encrypted: it shows both addresses and the Message-ID to
 * whoever holds the link (the partner). sg_pdf_link_check parses untrusted input: bounded
 * lengths, constant-time MAC comparison before the payload is parsed, no control characters;
 * fuzzed by tests/fuzz/fuzz_pdf_link.c. */
#ifndef SG_ENGINE_PDF_LINK_H
#define SG_ENGINE_PDF_LINK_H

#include <stddef.h>
#include <stdint.h>

#define SG_PDF_LINK_KEY_LEN 32
#define SG_PDF_LINK_MAX 1400 /* bytes of a token at most */

typedef struct sg_pdf_link {
    int64_t expires;  /* Unix seconds */
    char sender[321]; /* the internal sender: the answer goes to them */
    char rcpt[321];   /* the partner: signs in with the pair's password */
    char msgid[256];  /* the Message-ID answered (without <>; may be "") */
} sg_pdf_link;

/* The link key from the KEK file at kek_path. 0 or -1. */
int sg_pdf_link_key(const char *kek_path, uint8_t key[SG_PDF_LINK_KEY_LEN]);
/* The token for l into out (NUL-terminated). 0, or -1 (a field too long or with a line break). */
int sg_pdf_link_make(const uint8_t key[SG_PDF_LINK_KEY_LEN], const sg_pdf_link *l, char *out, size_t outlen);
/* Checks a token at time now: 0 valid (out filled), 1 expired (out filled: the page can say
 * so), -1 anything else (altered, another key, malformed): one answer for every forgery. */
int sg_pdf_link_check(const uint8_t key[SG_PDF_LINK_KEY_LEN], const char *token, int64_t now, sg_pdf_link *out);

#endif
