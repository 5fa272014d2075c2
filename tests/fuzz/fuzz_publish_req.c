/* fuzz_publish_req.c - libFuzzer target for what a request for a published key asks for
 * (src/web/publish_req.c): the input is "REST\nHOST\nSEARCH". Checks beyond "no crash": a WKD
 * answer names a plain host name that the Host header names too, a hash of exactly 32 z-base-32
 * characters; an HKP answer one address with one '@' or 40 upper-case hex digits. Owner: src/web. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "web/publish_req.h"

static void check_domain(const char *d)
{
    if (!*d || strspn(d, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") != strlen(d))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    char *s = malloc(len + 1);
    if (!s)
        return 0;
    memcpy(s, buf, len);
    s[len] = '\0';
    char *host = strchr(s, '\n'), *search = NULL;
    if (host) {
        *host++ = '\0';
        search = strchr(host, '\n');
        if (search)
            *search++ = '\0';
    }
    sg_pub_req r;
    sg_pub_parse_wkd(s, host, &r);
    if (r.kind == SG_PUB_WKD || r.kind == SG_PUB_POLICY) {
        check_domain(r.domain);
        size_t dn = strlen(r.domain);
        if (!host || (strncasecmp(host, r.domain, dn) != 0 &&
                      (strlen(host) < 11 || strncasecmp(host + 11, r.domain, dn) != 0)))
            abort();
        if (r.kind == SG_PUB_WKD &&
            (strlen(r.hash) != 32 || strspn(r.hash, "ybndrfg8ejkmcpqxot1uwisza345h769") != 32))
            abort();
    } else if (r.kind != SG_PUB_NONE)
        abort();
    sg_pub_parse_hkp(search, &r);
    if (r.kind == SG_PUB_HKP_FPR) {
        if (strlen(r.fpr) != SG_PGP_FPR_LEN || strspn(r.fpr, "0123456789ABCDEF") != SG_PGP_FPR_LEN)
            abort();
    } else if (r.kind == SG_PUB_HKP_ADDR) {
        const char *at = strchr(r.addr, '@');
        if (!at || at == r.addr || strchr(at + 1, '@') || strcmp(at + 1, r.domain) != 0 ||
            strpbrk(r.addr, " <>\""))
            abort();
        check_domain(r.domain);
    } else if (r.kind != SG_PUB_NONE)
        abort();
    free(s);
    return 0;
}
