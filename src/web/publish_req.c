/* publish_req.c - what a request for a published key asks for, from path, Host and search alone
 * (publish_req.h). Owner: src/web. SECURITY: see publish_req.h. */
#include "web/publish_req.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ZB32 "ybndrfg8ejkmcpqxot1uwisza345h769"

/* A host name as it may stand in a path and a Host header: letters, digits, '-' and '.'. */
static bool hostname(const char *s, size_t n)
{
    if (n == 0 || n >= sizeof((sg_pub_req *)0)->domain)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
            return false;
    return true;
}

void sg_pub_parse_wkd(const char *rest, const char *host, sg_pub_req *r)
{
    memset(r, 0, sizeof *r);
    size_t hn = host ? strcspn(host, ":") : 0; /* the Host without its port */
    const char *slash = strchr(rest, '/');
    if (slash && strncmp(rest, "hu/", 3) != 0) {
        /* advanced: DOMAIN/... under Host openpgpkey.DOMAIN */
        size_t n = (size_t)(slash - rest);
        if (!hostname(rest, n) || hn != 11 + n || strncasecmp(host, "openpgpkey.", 11) != 0 ||
            strncasecmp(host + 11, rest, n) != 0)
            return;
        memcpy(r->domain, rest, n);
        rest = slash + 1;
    } else {
        /* direct: the Host names the domain */
        if (!hostname(host ? host : "", hn))
            return;
        memcpy(r->domain, host, hn);
    }
    if (strcmp(rest, "policy") == 0) {
        r->kind = SG_PUB_POLICY;
        return;
    }
    if (strncmp(rest, "hu/", 3) != 0 || strlen(rest + 3) != 32 || strspn(rest + 3, ZB32) != 32)
        return;
    memcpy(r->hash, rest + 3, 33);
    r->kind = SG_PUB_WKD;
}

void sg_pub_parse_hkp(const char *search, sg_pub_req *r)
{
    memset(r, 0, sizeof *r);
    size_t n = search ? strlen(search) : 0;
    if (n == 2 + SG_PGP_FPR_LEN && search[0] == '0' && (search[1] == 'x' || search[1] == 'X') &&
        strspn(search + 2, "0123456789abcdefABCDEF") == SG_PGP_FPR_LEN) {
        for (size_t i = 0; i < SG_PGP_FPR_LEN; i++)
            r->fpr[i] = (char)toupper((unsigned char)search[2 + i]);
        r->kind = SG_PUB_HKP_FPR;
        return;
    }
    if (n > 2 && search[0] == '<' && search[n - 1] == '>') {
        search++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof r->addr)
        return;
    memcpy(r->addr, search, n);
    r->addr[n] = '\0';
    char *at = strchr(r->addr, '@');
    /* One address, nothing around it: no spaces, brackets or quotes, one '@', a host name after it. */
    if (!at || at == r->addr || strchr(at + 1, '@') || strpbrk(r->addr, " <>\"\t\r\n") ||
        !hostname(at + 1, strlen(at + 1))) {
        r->addr[0] = '\0';
        return;
    }
    snprintf(r->domain, sizeof r->domain, "%s", at + 1);
    r->kind = SG_PUB_HKP_ADDR;
}
