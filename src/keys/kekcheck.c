/* kekcheck.c - the cluster's KEK check value (kekcheck.h). Owner: src/keys.
 * SECURITY: the stored value is untrusted input: it is hex-decoded with bounds, and a value
 * that does not decode or does not open is "not this KEK", never "no check". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/kekcheck.h"
#include "store/cluster_rows.h"

#define CHECK_KEY "kek_check"
#define CHECK_AAD "sealgate-kek-check"
#define CHECK_TEXT "sealgate cluster KEK"
#define CHECK_LEN (sizeof CHECK_TEXT - 1 + SG_KEK_OVERHEAD)

static int make_value(const sg_kek *kek, char *hex, size_t hexlen)
{
    uint8_t *w = NULL;
    size_t wlen = 0;
    if (sg_kek_wrap(kek, CHECK_AAD, (const uint8_t *)CHECK_TEXT, sizeof CHECK_TEXT - 1, &w, &wlen) < 0 ||
        wlen != CHECK_LEN || hexlen < 2 * wlen + 1) {
        free(w);
        return -1;
    }
    for (size_t i = 0; i < wlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", w[i]);
    free(w);
    return 0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* 1 when kek opens the value hex, 0 when not (or the value is malformed). */
static int opens(const sg_kek *kek, const char *hex)
{
    uint8_t w[CHECK_LEN];
    if (strlen(hex) != 2 * CHECK_LEN)
        return 0;
    for (size_t i = 0; i < CHECK_LEN; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        w[i] = (uint8_t)(hi << 4 | lo);
    }
    uint8_t *pt = NULL;
    size_t ptlen = 0;
    if (sg_kek_unwrap(kek, CHECK_AAD, w, sizeof w, &pt, &ptlen) < 0)
        return 0;
    int ok = ptlen == sizeof CHECK_TEXT - 1 && memcmp(pt, CHECK_TEXT, ptlen) == 0;
    sg_kek_free_plain(pt, ptlen);
    return ok;
}

int sg_kek_check_set(sg_store *st, const sg_kek *kek, char *err, size_t errlen)
{
    char hex[2 * CHECK_LEN + 1];
    if (make_value(kek, hex, sizeof hex) < 0) {
        snprintf(err, errlen, "cannot make the KEK check value");
        return -1;
    }
    if (sg_store_meta_set(st, CHECK_KEY, hex) < 0) {
        snprintf(err, errlen, "%s", sg_store_error(st));
        return -1;
    }
    return 0;
}

int sg_kek_cluster_check(sg_store *st, const sg_kek *kek, char *err, size_t errlen)
{
    char hex[2 * CHECK_LEN + 1], have[256];
    if (make_value(kek, hex, sizeof hex) < 0) {
        snprintf(err, errlen, "cannot make the KEK check value");
        return -1;
    }
    /* The first node writes it; nodes starting together: one insert wins, all compare with it. */
    int rc = sg_store_meta_add(st, CHECK_KEY, hex);
    if (rc == 0)
        return 0;
    if (rc < 0 || sg_store_meta_get(st, CHECK_KEY, have, sizeof have) != 0) {
        snprintf(err, errlen, "cannot read the KEK check value: %s", sg_store_error(st));
        return -1;
    }
    if (opens(kek, have))
        return 0;
    snprintf(
        err, errlen,
        "this node's KEK is not the cluster's: it does not open the KEK check value in the shared store "
        "(written by the first node, or by the last `sealgate kek rotate`); bring the cluster's KEK with "
        "`sealgate kek export` on a running node and `sealgate kek import` here");
    return 1;
}
