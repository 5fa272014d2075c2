/* discover_ldap.c - LDAP as a key discovery source (discover_ldap.h). Owner: src/keys.
 * SECURITY: see discover_ldap.h. The bind password is read from its file for each lookup and
 * wiped after it; it is never logged. Certificates found in the certificate attribute are not
 * taken yet (docs/discovery.md): they are counted and logged only. */
#include "keys/discover_ldap.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys/discover_filter.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "net/fetch_helper.h"
#include "net/http_fetch.h"
#include "net/ldap_search.h"

int sg_ldap_filter(const char *pattern, const char *addr, char *out, size_t outlen)
{
    const char *at = strstr(pattern, "{address}");
    if (!at || outlen == 0)
        return -1;
    size_t pre = (size_t)(at - pattern), o = 0;
    if (pre >= outlen)
        return -1;
    memcpy(out, pattern, pre);
    o = pre;
    for (const unsigned char *p = (const unsigned char *)addr; *p; p++) {
        bool esc = *p < 0x21 || *p > 0x7e || *p == '*' || *p == '(' || *p == ')' || *p == '\\';
        if (o + (esc ? 3 : 1) >= outlen)
            return -1;
        if (esc)
            o += (size_t)snprintf(out + o, outlen - o, "\\%02x", *p);
        else
            out[o++] = (char)*p;
    }
    const char *rest = at + strlen("{address}");
    size_t rl = strlen(rest);
    if (o + rl >= outlen)
        return -1;
    memcpy(out + o, rest, rl + 1);
    return 0;
}

int sg_discover_ldap_answer(const uint8_t *ans, size_t len, const char *addr, int64_t now, uint8_t **out,
                            size_t *outlen, char fpr[SG_PGP_FPR_LEN + 1], char *why, size_t whylen)
{
    *out = NULL;
    *outlen = 0;
    snprintf(why, whylen, "no entry with a key");
    if (len < SG_LDAP_ANSWER_MAGIC_LEN || memcmp(ans, SG_LDAP_ANSWER_MAGIC, SG_LDAP_ANSWER_MAGIC_LEN) != 0) {
        snprintf(why, whylen, "malformed answer from the fetch helper");
        return -1;
    }
    /* The whole answer is checked before any value is used: a truncated one is an error. */
    size_t o = SG_LDAP_ANSWER_MAGIC_LEN;
    int values = 0;
    while (o < len) {
        if (len - o < 5 || ans[o] >= SG_LDAP_MAX_ATTRS || ++values > SG_LDAP_MAX_VALUES) {
            snprintf(why, whylen, "malformed answer from the fetch helper");
            return -1;
        }
        size_t l = (size_t)ans[o + 1] << 24 | (size_t)ans[o + 2] << 16 | (size_t)ans[o + 3] << 8 | ans[o + 4];
        if (l > len - o - 5) {
            snprintf(why, whylen, "malformed answer from the fetch helper");
            return -1;
        }
        o += 5 + l;
    }
    int certs = 0;
    for (o = SG_LDAP_ANSWER_MAGIC_LEN; o < len;) {
        int idx = ans[o];
        size_t l = (size_t)ans[o + 1] << 24 | (size_t)ans[o + 2] << 16 | (size_t)ans[o + 3] << 8 | ans[o + 4];
        const uint8_t *v = ans + o + 5;
        o += 5 + l;
        if (idx == 0) {
            certs++;
            continue;
        }
        /* Each value on its own: a key in one value cannot borrow packets from another. */
        uint8_t *k = NULL;
        size_t kl = 0;
        char f[SG_PGP_FPR_LEN + 1];
        int r = sg_discover_filter(v, l, addr, now, &k, &kl, f, why, whylen);
        if (r < 0)
            return -1;
        if (r == 1) {
            /* The first acceptable value wins; several keys in one value are already judged by
             * the filter (the newest acceptable one). */
            *out = k;
            *outlen = kl;
            memcpy(fpr, f, sizeof f);
            return 1;
        }
    }
    if (certs)
        snprintf(why, whylen, "%d certificate value(s): certificates from LDAP are not taken yet", certs);
    return 0;
}

int sg_discover_ldap(const sg_discovery_ldap *l, const sg_discovery_cfg *dc, const char *addr, int64_t left_ms,
                     uint8_t **out, size_t *outlen, char fpr[SG_PGP_FPR_LEN + 1], char url[512], char *err,
                     size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    char filter[768];
    if (!l->uri[0] || !l->base[0]) {
        snprintf(err, errlen, "ldap: no discovery.ldap.uri and base configured for this domain");
        return -1;
    }
    if (sg_ldap_filter(l->filter, addr, filter, sizeof filter) < 0) {
        snprintf(err, errlen, "ldap: filter too long for this address");
        return -1;
    }
    snprintf(url, 512, "%.200s/%.100s?%.200s", l->uri, l->base, filter);
    char *pw = NULL;
    size_t pwlen = 0;
    if (l->password_file[0]) {
        if (sg_read_file(l->password_file, 4096, &pw, &pwlen) < 0) {
            snprintf(err, errlen, "ldap: cannot read %s", l->password_file);
            return -1;
        }
        pw[strcspn(pw, "\r\n")] = '\0'; /* the first line */
    }
    long t = (long)l->timeout * 1000;
    sg_ldap_query q = {.uri = l->uri,
                       .base = l->base,
                       .filter = filter,
                       .bind_dn = l->bind_dn,
                       .password = pw ? pw : "",
                       .attrs = {l->cert_attr, l->pgp_attr},
                       .sizelimit = l->size_limit,
                       .timeout_ms = left_ms < t ? left_ms : t,
                       .max_size = (size_t)dc->max_size,
                       .ca_file = dc->tls_ca_file};
    uint8_t *ans = NULL;
    size_t alen = 0;
    char ferr[SG_FETCH_MAX_ERR];
    int rc = sg_ldap_search(&q, &ans, &alen, ferr, sizeof ferr);
    if (pw) {
        explicit_bzero(pw, pwlen);
        free(pw);
    }
    if (rc != SG_FETCH_OK) {
        snprintf(err, errlen, "%.150s: %.200s", url, ferr);
        sg_warn(NULL, "event=discovery addr=%s source=ldap url=\"%s\" result=error error=\"%s\"", addr, url, ferr);
        return -1;
    }
    char why[200];
    int r = sg_discover_ldap_answer(ans, alen, addr, (int64_t)time(NULL), out, outlen, fpr, why, sizeof why);
    free(ans);
    if (r < 0) {
        snprintf(err, errlen, "%.150s: %.200s", url, why);
        sg_warn(NULL, "event=discovery addr=%s source=ldap url=\"%s\" result=error error=\"%s\"", addr, url, why);
    } else if (r == 0) {
        sg_info(NULL, "event=discovery addr=%s source=ldap url=\"%s\" result=not-found reason=\"%s\"", addr, url, why);
    }
    return r;
}
