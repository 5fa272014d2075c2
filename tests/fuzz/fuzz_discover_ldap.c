/* fuzz_discover_ldap.c - libFuzzer target for what key discovery makes of an LDAP answer
 * (keys/discover_ldap.h): the fetch helper's encoding of the attribute values a server sent,
 * each OpenPGP value then through the discovery filter; and the RFC 4515 escaping of an
 * address into the search filter. Checks beyond "no crash": an accepted key comes with a
 * fingerprint, a refused or malformed answer gives no key, and an escaped filter holds no
 * byte of the address that could end or widen the filter. Owner: src/keys. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys/discover_ldap.h"
#include "net/ldap_search.h"

static const char addr[] = "carol@wkd-a.test";

static void filter_check(const uint8_t *buf, size_t len)
{
    char a[128], out[512];
    size_t n = len < sizeof a - 1 ? len : sizeof a - 1;
    memcpy(a, buf, n);
    a[n] = '\0';
    if (sg_ldap_filter("(mail={address})", a, out, sizeof out) != 0)
        return;
    /* Between the pattern's parentheses only escapes and plain printable bytes remain. */
    size_t l = strlen(out);
    if (l < 7 || memcmp(out, "(mail=", 6) != 0 || out[l - 1] != ')')
        abort();
    for (size_t i = 6; i + 1 < l; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c == '(' || c == ')' || c == '*' || c < 0x21 || c > 0x7e)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    filter_check(buf, len);
    /* Mostly answers with the right magic (so the values are reached), sometimes raw bytes. */
    uint8_t *ans = malloc(len + SG_LDAP_ANSWER_MAGIC_LEN);
    if (!ans)
        return 0;
    size_t alen = len;
    if (len > 0 && (buf[0] & 1)) {
        memcpy(ans, buf, len);
    } else {
        memcpy(ans, SG_LDAP_ANSWER_MAGIC, SG_LDAP_ANSWER_MAGIC_LEN);
        if (len)
            memcpy(ans + SG_LDAP_ANSWER_MAGIC_LEN, buf + 1, len - 1);
        alen = len ? len - 1 + SG_LDAP_ANSWER_MAGIC_LEN : SG_LDAP_ANSWER_MAGIC_LEN;
    }
    uint8_t *out = NULL;
    size_t olen = 0;
    char fpr[SG_PGP_FPR_LEN + 1], why[200];
    int rc = sg_discover_ldap_answer(ans, alen, addr, (int64_t)time(NULL), &out, &olen, fpr, why, sizeof why);
    if (rc == 1 && (!out || !olen || strlen(fpr) != SG_PGP_FPR_LEN))
        abort();
    if (rc != 1 && out)
        abort();
    free(out);
    free(ans);
    return 0;
}
