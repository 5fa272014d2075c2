/* discover_filter.c - the key-filtering parser of discovered keys (discover_filter.h).
 * Owner: src/keys. */
#include "keys/discover_filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Why key k cannot be used for addr, or NULL; *uid gets the matching user ID. */
static const char *unusable(sg_pgp *p, const sg_pgp_key *k, const char *addr, int64_t now, const char **uid)
{
    *uid = NULL;
    if (k->revoked)
        return "revoked";
    if (k->valid_until == 0)
        return "no valid self-signature";
    if (k->valid_until <= now || (k->expires && k->expires <= now))
        return "expired";
    const char *weak = sg_pgp_weakness(p, k->fpr);
    if (weak)
        return weak;
    if (!k->enc_subkey || k->enc_until <= now)
        return "no valid encryption subkey";
    for (size_t i = 0; i < k->nuids; i++)
        if (k->uids[i].valid && k->uids[i].addr && strcasecmp(k->uids[i].addr, addr) == 0) {
            *uid = k->uids[i].uid;
            return NULL;
        }
    return "no valid self-signed user ID with the recipient's address";
}

/* The reduced key must read back as exactly one key with one valid user ID for addr. */
static bool reduced_ok(const uint8_t *min, size_t len, const char *fpr, const char *addr, int64_t now)
{
    sg_pgp *q = sg_pgp_new();
    sg_pgp_key k;
    memset(&k, 0, sizeof k);
    char(*fprs)[SG_PGP_FPR_LEN + 1] = NULL;
    size_t n = 0;
    const char *uid = NULL;
    bool ok = q && sg_pgp_load(q, min, len) == 0 && sg_pgp_primaries(q, &fprs, &n) == 0 && n == 1 &&
              strcmp(fprs[0], fpr) == 0 && sg_pgp_inspect(q, fpr, &k) == 0 && k.nuids == 1 &&
              !unusable(q, &k, addr, now, &uid);
    sg_pgp_key_clear(&k);
    free(fprs);
    sg_pgp_free(q);
    return ok;
}

int sg_discover_filter(const uint8_t *data, size_t len, const char *addr, int64_t now, uint8_t **out,
                       size_t *outlen, char fpr[SG_PGP_FPR_LEN + 1], char *why, size_t whylen)
{
    *out = NULL;
    *outlen = 0;
    fpr[0] = '\0';
    snprintf(why, whylen, "no OpenPGP key in the answer");
    sg_pgp *p = sg_pgp_new();
    if (!p)
        return -1;
    char(*fprs)[SG_PGP_FPR_LEN + 1] = NULL;
    size_t n = 0;
    int64_t best_created = -1;
    sg_pgp_load(p, data, len); /* what parsed is in the context; the rest is ignored */
    if (sg_pgp_primaries(p, &fprs, &n) < 0) {
        sg_pgp_free(p);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc >= 0; i++) {
        sg_pgp_key k;
        const char *uid = NULL, *bad;
        if (sg_pgp_inspect(p, fprs[i], &k) != 0)
            continue;
        if ((bad = unusable(p, &k, addr, now, &uid))) {
            snprintf(why, whylen, "%s: %s", k.fpr, bad);
        } else if (k.created > best_created) {
            uint8_t *min = NULL;
            size_t mlen = 0;
            if (sg_pgp_export_minimal(p, k.fpr, uid, &min, &mlen) == 0 && reduced_ok(min, mlen, k.fpr, addr, now)) {
                free(*out);
                *out = min;
                *outlen = mlen;
                snprintf(fpr, SG_PGP_FPR_LEN + 1, "%s", k.fpr);
                best_created = k.created;
                rc = 1;
            } else {
                free(min);
                snprintf(why, whylen, "%s: cannot be reduced to the recipient's user ID", k.fpr);
            }
        }
        sg_pgp_key_clear(&k);
    }
    free(fprs);
    sg_pgp_free(p);
    return rc;
}
