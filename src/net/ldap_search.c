/* ldap_search.c - one bounded LDAP search for key discovery (ldap_search.h), over libldap.
 * Owner: src/net.
 * SECURITY: runs in the fetch helper child only (sg_ldap_search refuses when no helper runs).
 * TLS is mandatory (StartTLS on ldap://, TLS on ldaps://) with the server's certificate
 * verified; every wait is bounded by the request's timeout; the server's answer is capped in
 * entries (sizelimit), values and bytes before it is sent to the parent. The server is the one
 * the administrator configured (not a name taken from mail), so there is no private-address
 * check here as for WKD. */
#include "net/ldap_search.h"

#include <ldap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "net/fetch_helper.h"
#include "net/fetch_int.h"
#include "net/http_fetch.h"

#define FIELDS 7 /* base, filter, bind DN, password, attribute 0, attribute 1, sizelimit */

int sg_ldap_search(const sg_ldap_query *q, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    if (!sg_fetch_helper_active() || sg_fetch_helper_lost()) {
        snprintf(err, errlen, "fetch helper not running");
        return SG_FETCH_UNREACHABLE;
    }
    if (strncmp(q->uri, "ldap://", 7) != 0 && strncmp(q->uri, "ldaps://", 8) != 0) {
        snprintf(err, errlen, "not an ldap:// or ldaps:// URI");
        return SG_FETCH_REFUSED;
    }
    char size[16];
    snprintf(size, sizeof size, "%d", q->sizelimit);
    const char *f[FIELDS] = {q->base, q->filter, q->bind_dn ? q->bind_dn : "", q->password ? q->password : "",
                             q->attrs[0] ? q->attrs[0] : "", q->attrs[1] ? q->attrs[1] : "", size};
    size_t blen = 0;
    for (int i = 0; i < FIELDS; i++)
        blen += strlen(f[i]) + 1;
    uint8_t *body = malloc(blen);
    if (!body) {
        snprintf(err, errlen, "out of memory");
        return SG_FETCH_UNREACHABLE;
    }
    size_t o = 0;
    for (int i = 0; i < FIELDS; i++) {
        size_t l = strlen(f[i]) + 1;
        memcpy(body + o, f[i], l);
        o += l;
    }
    sg_fetch_limits lim = {.timeout_ms = q->timeout_ms,
                           .max_size = q->max_size,
                           .ca_file = q->ca_file,
                           .flags = SG_FETCH_F_LDAP};
    int rc = sg_fetch_helper_request(q->uri, NULL, body, blen, &lim, out, outlen, err, errlen);
    explicit_bzero(body, blen); /* the bind password */
    free(body);
    return rc;
}

/* The NUL-separated fields of the request body; -1 when they are not exactly FIELDS. */
static int fields(const uint8_t *body, size_t blen, const char *f[FIELDS])
{
    size_t o = 0;
    for (int i = 0; i < FIELDS; i++) {
        const uint8_t *nul = o < blen ? memchr(body + o, 0, blen - o) : NULL;
        if (!nul)
            return -1;
        f[i] = (const char *)body + o;
        o = (size_t)(nul - body) + 1;
    }
    return o == blen ? 0 : -1;
}

typedef struct answer {
    uint8_t *buf;
    size_t len, max;
    int values;
} answer;

static int put(answer *a, int idx, const void *v, size_t l, char *err, size_t errlen)
{
    if (++a->values > SG_LDAP_MAX_VALUES || l > UINT32_MAX || a->len + 5 + l > a->max) {
        snprintf(err, errlen, "answer over the limits (values or discovery.max_size)");
        return SG_FETCH_TOO_LARGE;
    }
    uint8_t h[5] = {(uint8_t)idx, (uint8_t)(l >> 24), (uint8_t)(l >> 16), (uint8_t)(l >> 8), (uint8_t)l};
    memcpy(a->buf + a->len, h, 5);
    memcpy(a->buf + a->len + 5, v, l);
    a->len += 5 + l;
    return SG_FETCH_OK;
}

/* What is left of the request's time, set as libldap's timeouts for the next step; -1 when
 * nothing is left (the whole search, not each step, is bounded by the request's timeout). */
static int64_t mono_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static int left(LDAP *ld, int64_t end_ms, struct timeval *tv)
{
    int64_t ms = end_ms - mono_ms();
    if (ms <= 0)
        return -1;
    tv->tv_sec = ms / 1000;
    tv->tv_usec = (ms % 1000) * 1000;
    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, tv);
    ldap_set_option(ld, LDAP_OPT_TIMEOUT, tv);
    return 0;
}

static int ldap_fail(LDAP *ld, int lrc, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s", what, ldap_err2string(lrc));
    if (ld)
        ldap_unbind_ext_s(ld, NULL, NULL);
    return SG_FETCH_UNREACHABLE;
}

int sg_ldap_search_direct(const char *uri, const uint8_t *body, size_t blen, long timeout_ms, size_t max_size,
                          const char *ca_file, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    const char *f[FIELDS];
    if (fields(body, blen, f) < 0 || !f[0][0] || !f[1][0]) {
        snprintf(err, errlen, "malformed LDAP request");
        return SG_FETCH_REFUSED;
    }
    bool ldaps = strncmp(uri, "ldaps://", 8) == 0;
    if (!ldaps && strncmp(uri, "ldap://", 7) != 0) {
        snprintf(err, errlen, "not an ldap:// or ldaps:// URI");
        return SG_FETCH_REFUSED;
    }
    int sizelimit = atoi(f[6]);
    if (timeout_ms < 1)
        timeout_ms = 1;
    int64_t end = mono_ms() + timeout_ms;
    struct timeval tv;
    LDAP *ld = NULL;
    int lrc = ldap_initialize(&ld, uri);
    if (lrc != LDAP_SUCCESS)
        return ldap_fail(NULL, lrc, "ldap_initialize", err, errlen);
    int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, newctx = 0;
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF); /* never follow the server elsewhere */
    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
    if (ca_file && *ca_file)
        ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, ca_file);
    if ((lrc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &newctx)) != LDAP_OPT_SUCCESS)
        return ldap_fail(ld, lrc, "TLS context", err, errlen);
    if (left(ld, end, &tv) < 0)
        return ldap_fail(ld, LDAP_TIMEOUT, "connect", err, errlen);
    if (!ldaps && (lrc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS)
        return ldap_fail(ld, lrc, "StartTLS", err, errlen);
    if (left(ld, end, &tv) < 0)
        return ldap_fail(ld, LDAP_TIMEOUT, "StartTLS", err, errlen);
    struct berval cred = {.bv_val = (char *)f[3], .bv_len = strlen(f[3])};
    if ((lrc = ldap_sasl_bind_s(ld, f[2][0] ? f[2] : NULL, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL)) != LDAP_SUCCESS)
        return ldap_fail(ld, lrc, "bind", err, errlen);
    char *attrs[SG_LDAP_MAX_ATTRS + 1] = {NULL};
    int na = 0;
    for (int i = 0; i < SG_LDAP_MAX_ATTRS; i++)
        if (f[4 + i][0])
            attrs[na++] = (char *)f[4 + i];
    LDAPMessage *res = NULL;
    if (left(ld, end, &tv) < 0)
        return ldap_fail(ld, LDAP_TIMEOUT, "bind", err, errlen);
    lrc = ldap_search_ext_s(ld, f[0], LDAP_SCOPE_SUBTREE, f[1], attrs, 0, NULL, NULL, &tv, sizelimit, &res);
    if (lrc != LDAP_SUCCESS) {
        /* A partial answer (size limit) is an error too: the entry wanted may be the one left out. */
        ldap_msgfree(res);
        return ldap_fail(ld, lrc, "search", err, errlen);
    }
    answer a = {.max = max_size};
    a.buf = max_size >= SG_LDAP_ANSWER_MAGIC_LEN ? malloc(max_size) : NULL; /* the parent caps at max_size */
    int rc = a.buf ? SG_FETCH_OK : SG_FETCH_UNREACHABLE;
    if (a.buf) {
        memcpy(a.buf, SG_LDAP_ANSWER_MAGIC, SG_LDAP_ANSWER_MAGIC_LEN);
        a.len = SG_LDAP_ANSWER_MAGIC_LEN;
    } else
        snprintf(err, errlen, "out of memory");
    for (LDAPMessage *e = ldap_first_entry(ld, res); e && rc == SG_FETCH_OK; e = ldap_next_entry(ld, e))
        for (int i = 0; i < SG_LDAP_MAX_ATTRS && rc == SG_FETCH_OK; i++) {
            if (!f[4 + i][0])
                continue;
            struct berval **vals = ldap_get_values_len(ld, e, f[4 + i]);
            for (int k = 0; vals && vals[k] && rc == SG_FETCH_OK; k++)
                rc = put(&a, i, vals[k]->bv_val, vals[k]->bv_len, err, errlen);
            ldap_value_free_len(vals);
        }
    ldap_msgfree(res);
    ldap_unbind_ext_s(ld, NULL, NULL);
    if (rc != SG_FETCH_OK) {
        free(a.buf);
        return rc;
    }
    *out = a.buf;
    *outlen = a.len;
    return SG_FETCH_OK;
}
