/* discover_ldap.c - LDAP as a key discovery source (discover_ldap.h). Owner: src/keys.
 * SECURITY: see discover_ldap.h. The bind password is read from its file for each lookup and
 * wiped after it; it is never logged. Certificates in the answer are for discover_smime.c
 * (sg_ldap_answer_values with index 0). */
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

static size_t be32(const uint8_t *p)
{
    return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
}

int sg_ldap_answer_values(const uint8_t *ans, size_t len, int idx, sg_ldap_value_cb cb, void *ctx)
{
    if (len < SG_LDAP_ANSWER_MAGIC_LEN || memcmp(ans, SG_LDAP_ANSWER_MAGIC, SG_LDAP_ANSWER_MAGIC_LEN) != 0)
        return -1;
    /* The whole answer is checked before any value is used: a truncated one is an error. */
    int values = 0;
    for (size_t o = SG_LDAP_ANSWER_MAGIC_LEN; o < len; o += 5 + be32(ans + o + 1))
        if (len - o < 5 || ans[o] >= SG_LDAP_MAX_ATTRS || ++values > SG_LDAP_MAX_VALUES ||
            be32(ans + o + 1) > len - o - 5)
            return -1;
    int n = 0;
    for (size_t o = SG_LDAP_ANSWER_MAGIC_LEN; o < len; o += 5 + be32(ans + o + 1)) {
        if (ans[o] != idx)
            continue;
        n++;
        /* Each value on its own: a key in one value cannot borrow packets from another. */
        int r = cb ? cb(ctx, ans + o + 5, be32(ans + o + 1)) : 0;
        if (r != 0)
            return r;
    }
    return n;
}

typedef struct pgp_pick {
    const char *addr;
    int64_t now;
    uint8_t *out;
    size_t outlen;
    char *fpr, *why;
    size_t whylen;
} pgp_pick;

/* 1 stops at the first acceptable key, -1 out of memory, 0 goes on. */
static int pick_pgp(void *ctx, const uint8_t *v, size_t l)
{
    pgp_pick *p = ctx;
    char f[SG_PGP_FPR_LEN + 1];
    int r = sg_discover_filter(v, l, p->addr, p->now, &p->out, &p->outlen, f, p->why, p->whylen);
    if (r == 1)
        memcpy(p->fpr, f, sizeof f);
    return r < 0 ? -2 : r;
}

int sg_discover_ldap_answer(const uint8_t *ans, size_t len, const char *addr, int64_t now, uint8_t **out,
                            size_t *outlen, char fpr[SG_PGP_FPR_LEN + 1], char *why, size_t whylen)
{
    *out = NULL;
    *outlen = 0;
    snprintf(why, whylen, "no entry with a key");
    pgp_pick p = {.addr = addr, .now = now, .fpr = fpr, .why = why, .whylen = whylen};
    int r = sg_ldap_answer_values(ans, len, 1, pick_pgp, &p);
    if (r == -1)
        snprintf(why, whylen, "malformed answer from the fetch helper");
    if (r == -1 || r == -2)
        return -1; /* out of memory in the filter: its why says so */
    if (r == 1 && p.out) {
        *out = p.out;
        *outlen = p.outlen;
        return 1;
    }
    return 0;
}

int sg_discover_ldap_fetch(const sg_discovery_ldap *l, const sg_discovery_cfg *dc, const char *addr, int64_t left_ms,
                           uint8_t **ans, size_t *alen, char url[512], char *err, size_t errlen)
{
    *ans = NULL;
    *alen = 0;
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
    if (left_ms <= 0) {
        snprintf(err, errlen, "ldap: not asked, discovery.timeout (%d s) is over", dc->timeout);
        return -1;
    }
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
    char ferr[SG_FETCH_MAX_ERR];
    int rc = sg_ldap_search(&q, ans, alen, ferr, sizeof ferr);
    if (pw) {
        explicit_bzero(pw, pwlen);
        free(pw);
    }
    if (rc != SG_FETCH_OK) {
        snprintf(err, errlen, "%.150s: %.200s", url, ferr);
        sg_warn(NULL, "event=discovery addr=%s source=ldap url=\"%s\" result=error error=\"%s\"", addr, url, ferr);
        return -1;
    }
    return 0;
}

int sg_discover_ldap(const sg_discovery_ldap *l, const sg_discovery_cfg *dc, const char *addr, int64_t left_ms,
                     uint8_t **out, size_t *outlen, char fpr[SG_PGP_FPR_LEN + 1], char url[512], char *err,
                     size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    uint8_t *ans = NULL;
    size_t alen = 0;
    if (sg_discover_ldap_fetch(l, dc, addr, left_ms, &ans, &alen, url, err, errlen) < 0)
        return -1;
    char why[200];
    int r = sg_discover_ldap_answer(ans, alen, addr, (int64_t)time(NULL), out, outlen, fpr, why, sizeof why);
    int certs = r == 0 ? sg_ldap_answer_values(ans, alen, 0, NULL, NULL) : 0;
    free(ans);
    if (r < 0) {
        snprintf(err, errlen, "%.150s: %.200s", url, why);
        sg_warn(NULL, "event=discovery addr=%s source=ldap url=\"%s\" result=error error=\"%s\"", addr, url, why);
    } else if (r == 0) {
        sg_info(NULL, "event=discovery addr=%s source=ldap url=\"%s\" result=not-found reason=\"%s\" certificates=%d",
                addr, url, why, certs);
    }
    return r;
}
