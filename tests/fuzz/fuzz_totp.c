/* fuzz_totp.c - libFuzzer target for the second factor's parsers of untrusted text: RFC 4648
 * base32 (lib/zbase32.h; a stored secret), a TOTP code against a secret (admin/totp.h) and the
 * sign-in's second-step ticket (web/login_ticket.h), which comes back as form input. Checks
 * beyond "no crash": base32 decodes what it encoded; a ticket made here checks, the same ticket
 * with the input appended never does, and the input as a ticket never checks for a token it
 * was not made for. Owner: src/admin (for src/web). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin/totp.h"
#include "lib/zbase32.h"
#include "web/login_ticket.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    char *s = malloc(len + 1);
    if (!s)
        abort();
    memcpy(s, buf, len);
    s[len] = '\0';
    uint8_t dec[256];
    int n = sg_base32_decode(s, dec, sizeof dec);
    if (n > (int)sizeof dec)
        abort();
    if (n > 0) {
        char enc[512];
        uint8_t back[256];
        if (sg_base32_encode(dec, (size_t)n, enc, sizeof enc) < 0 || sg_base32_decode(enc, back, sizeof back) != n ||
            memcmp(dec, back, (size_t)n) != 0)
            abort();
    }
    /* the input as a code of a fixed secret, and as a secret for a fixed code */
    int64_t step;
    (void)sg_totp_verify("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", s, 1700000000, &step);
    (void)sg_totp_verify(s, "123456", 1700000000, &step);
    char name[SG_ADMIN_NAME_MAX + 1], t[SG_WEB_TICKET_MAX];
    const char *pre = "0123456789abcdef0123456789abcdef";
    if (sg_web_ticket_check(s, pre, 0, name) == 0)
        abort(); /* forging needs the process's random key */
    if (sg_web_ticket_make("alice", pre, 1700000000, t) != 0 || sg_web_ticket_check(t, pre, 1700000000, name) != 0 ||
        strcmp(name, "alice") != 0)
        abort();
    size_t tl = strlen(t);
    if (len && tl + len < sizeof t) {
        memcpy(t + tl, s, strlen(s) + 1);
        if (strlen(s) && sg_web_ticket_check(t, pre, 1700000000, name) == 0 && strcmp(name, "alice") == 0 &&
            strlen(t) != tl)
            abort();
    }
    free(s);
    return 0;
}
