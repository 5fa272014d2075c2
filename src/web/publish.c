/* publish.c - the web role publishes internal users' public keys (issue 13, docs/publishing.md):
 * WKD in both layouts (advanced: Host openpgpkey.DOMAIN, /.well-known/openpgpkey/DOMAIN/hu/HASH;
 * direct: Host DOMAIN, /.well-known/openpgpkey/hu/HASH) with their policy files, and HKP
 * `GET /pks/lookup?op=get` for an exact internal address or a full fingerprint. Keys are read from
 * the store on every request (nothing cached), so a revocation or a new key is served at the next
 * request. Owner: src/web.
 * SECURITY: public (no session), only when web.publish is set, GET/HEAD only, under the role's
 * connection limits and security headers. Only addresses of internal domains are answered, each key
 * reduced to the user IDs of internal addresses asked for (never a partner's key, never another
 * user ID of the key); no listings, no index or substring search, no upload. A store error is 503,
 * never "no key" (404). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/openpgp.h"
#include "keys/discover.h"
#include "keys/keystore.h"
#include "lib/log.h"
#include "web/publish_req.h"
#include "web/web_int.h"

#define WK "/.well-known/openpgpkey/"

static const sg_http_header cors[] = {
    {"Access-Control-Allow-Origin", "*"},
    {"Cache-Control", "no-cache"}, /* a revocation must reach partners at their next fetch */
    {NULL, NULL},
};

static void plain(sg_http_req *req, int status, const char *text)
{
    sg_http_send(req, status, "text/plain; charset=utf-8", text, strlen(text), 0, cors);
}

/* A user ID whose address is addr (case-insensitive: WKD lower-cases the local part), or, with
 * addr NULL, any address of an internal domain. */
typedef struct keep_ctx {
    const sg_config *cfg;
    const char *addr;
} keep_ctx;

static bool keep_uid(const char *uid, void *ctx)
{
    keep_ctx *k = ctx;
    char *a = sg_pgp_uid_address(uid);
    const char *at = a ? strrchr(a, '@') : NULL;
    bool ok = at && (k->addr ? strcasecmp(a, k->addr) == 0 : sg_config_is_internal_domain(k->cfg, at + 1));
    free(a);
    return ok;
}

/* Key fpr reduced to the user IDs k keeps: 0 with out (free), 1 when none is left, -1 on error. */
static int reduced(sg_keystore *ks, const char *fpr, keep_ctx *k, bool armored, uint8_t **out, size_t *len)
{
    uint8_t *raw = NULL;
    size_t rlen = 0;
    int rc = sg_keystore_export(ks, fpr, false, false, &raw, &rlen);
    if (rc != 0)
        return rc;
    sg_pgp *p = sg_pgp_new();
    rc = -1;
    if (p && sg_pgp_load(p, raw, rlen) == 0) {
        int kept = sg_pgp_keep_uids(p, fpr, keep_uid, k);
        if (kept == 0)
            rc = 1;
        else if (kept > 0)
            rc = sg_pgp_export(p, fpr, armored ? SG_PGP_EXPORT_ARMOR : 0, out, len);
    }
    sg_pgp_free(p);
    free(raw);
    return rc;
}

/* The key published for addr: the one mail to addr is encrypted to, else (all revoked or expired)
 * the newest, so that partners learn of the revocation. 0, 1 none, -1 error. */
static int pick(sg_keystore *ks, const char *addr, char fpr[SG_PGP_FPR_LEN + 1])
{
    int rc = sg_keystore_find_encryption_key(ks, addr, fpr);
    if (rc != 1)
        return rc;
    sg_pgp_key *keys = NULL;
    size_t n = 0;
    if (sg_keystore_list(ks, addr, &keys, &n) < 0)
        return -1;
    rc = n ? 0 : 1;
    if (n)
        memcpy(fpr, keys[0].fpr, SG_PGP_FPR_LEN + 1);
    sg_keystore_free_list(keys, n);
    return rc;
}

/* The address of domain whose WKD hash is hash: from ?l= when it matches, else the first user ID
 * of a stored key that does. 0 with addr, 1 none, -1 error. */
static int wkd_address(sg_http_req *req, sg_keystore *ks, const char *domain, const char *hash, char *addr,
                       size_t alen)
{
    char h[33];
    const char *l = sg_http_query(req, "l");
    sg_pgp_key *keys = NULL;
    size_t n = 0;
    if (l && sg_wkd_hash(l, h) == 0 && strcmp(h, hash) == 0 && strchr(l, '@') == NULL) {
        /* The keystore matches the local part exactly: ?l=Alice finds no "alice@..." user ID,
         * which the hash (of the lower-cased local part) still names; then look through all. */
        snprintf(addr, alen, "%s@%s", l, domain);
        if (sg_keystore_list(ks, addr, &keys, &n) < 0)
            return -1;
        sg_keystore_free_list(keys, n);
        if (n)
            return 0;
    }
    if (sg_keystore_list(ks, NULL, &keys, &n) < 0)
        return -1;
    int rc = 1;
    for (size_t i = 0; i < n && rc == 1; i++)
        for (size_t j = 0; j < keys[i].nuids && rc == 1; j++) {
            char *a = sg_pgp_uid_address(keys[i].uids[j].uid);
            char *at = a ? strrchr(a, '@') : NULL;
            if (at && strcasecmp(at + 1, domain) == 0) {
                *at = '\0';
                if (sg_wkd_hash(a, h) == 0 && strcmp(h, hash) == 0) {
                    snprintf(addr, alen, "%s@%s", a, domain);
                    rc = 0;
                }
            }
            free(a);
        }
    sg_keystore_free_list(keys, n);
    return rc;
}

static void send_key(sg_http_req *req, sg_web *w, sg_keystore *ks, const char *fpr_or_null, const char *addr,
                     bool armored)
{
    char fpr[SG_PGP_FPR_LEN + 1];
    int rc = 0;
    if (fpr_or_null)
        snprintf(fpr, sizeof fpr, "%s", fpr_or_null);
    else
        rc = pick(ks, addr, fpr);
    keep_ctx k = {w->cfg, addr};
    uint8_t *out = NULL;
    size_t len = 0;
    if (rc == 0)
        rc = reduced(ks, fpr, &k, armored, &out, &len);
    if (rc < 0) {
        sg_error(NULL, "event=publish-failed error=\"%s\"", SG_LOG_STR(sg_keystore_error(ks)));
        plain(req, 503, "the key store cannot be read\n");
    } else if (rc > 0)
        plain(req, 404, "no such key\n");
    else
        sg_http_send(req, 200, armored ? "application/pgp-keys" : "application/octet-stream", out, len, 0,
                     cors);
    free(out);
}

/* WKD: rest is the path after /.well-known/openpgpkey/. */
static void wkd(sg_web *w, sg_http_req *req, sg_keystore *ks, const char *rest)
{
    sg_pub_req r;
    sg_pub_parse_wkd(rest, sg_http_header_get(req, "Host"), &r);
    if (r.kind == SG_PUB_NONE || !sg_config_is_internal_domain(w->cfg, r.domain)) {
        plain(req, 404, "not found\n");
        return;
    }
    if (r.kind == SG_PUB_POLICY) {
        plain(req, 200, ""); /* an empty policy: no submission address, no protocol version */
        return;
    }
    int rc = wkd_address(req, ks, r.domain, r.hash, r.addr, sizeof r.addr);
    if (rc < 0)
        plain(req, 503, "the key store cannot be read\n");
    else if (rc > 0)
        plain(req, 404, "no such key\n");
    else
        send_key(req, w, ks, NULL, r.addr, false);
}

/* HKP: op=get with search an internal address (<> allowed) or 0x and a full fingerprint. */
static void hkp(sg_web *w, sg_http_req *req, sg_keystore *ks)
{
    const char *op = sg_http_query(req, "op");
    if (!op || strcmp(op, "get") != 0) {
        plain(req, 501, "only op=get is served\n");
        return;
    }
    sg_pub_req r;
    sg_pub_parse_hkp(sg_http_query(req, "search"), &r);
    if (r.kind == SG_PUB_HKP_FPR)
        send_key(req, w, ks, r.fpr, NULL, true); /* only its internal user IDs; none: 404 */
    else if (r.kind == SG_PUB_HKP_ADDR && sg_config_is_internal_domain(w->cfg, r.domain))
        send_key(req, w, ks, NULL, r.addr, true);
    else
        plain(req, 404, "no such key\n");
}

bool sg_web_publish(sg_web *w, sg_http_req *req)
{
    const char *path = req->path;
    bool wk = strncmp(path, WK, strlen(WK)) == 0;
    bool pks = strncmp(path, "/pks/", 5) == 0;
    if (!w->cfg->web.publish || (!wk && !pks))
        return false;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        static const sg_http_header allow[] = {{"Allow", "GET, HEAD"}, {NULL, NULL}};
        sg_http_send(req, 405, "text/plain; charset=utf-8", "GET or HEAD only\n", 17, 0, allow);
        return true;
    }
    if (pks && strcmp(path, "/pks/lookup") != 0) {
        plain(req, 404, "not found\n"); /* /pks/add: no upload */
        return true;
    }
    sg_store *st = sg_web_store(w);
    sg_keystore *ks = st ? sg_keystore_open(st, NULL, 0) : NULL;
    if (!ks)
        plain(req, 503, "the key store cannot be read\n");
    else if (wk)
        wkd(w, req, ks, path + strlen(WK));
    else
        hkp(w, req, ks);
    sg_keystore_close(ks);
    return true;
}
