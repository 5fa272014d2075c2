/* keystore_gen.c - key generation, revocation and the gateway's domain key. Owner: src/keys.
 * SECURITY: every call here needs the KEK (new secrets are wrapped before they are stored;
 * revocation unwraps the key's secret). Callers: the admin CLI, cryptd. */
#include <ctype.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "keys/keystore_int.h"

void sg_keystore_domain_address(const char *first_internal_domain, const char *hostname, char *out,
                                size_t outlen)
{
    const char *d = first_internal_domain;
    if (!d || !*d) {
        const char *dot = hostname ? strchr(hostname, '.') : NULL;
        d = dot && dot[1] ? dot + 1 : hostname ? hostname : "localhost";
    }
    snprintf(out, outlen, "sealgate@%s", d);
    for (char *c = strchr(out, '@'); c && *c; c++)
        *c = (char)tolower((unsigned char)*c);
}

int sg_keystore_domain_key(sg_keystore *ks, const char *domain_addr, bool create,
                           char fpr[SG_PGP_FPR_LEN + 1])
{
    int rc = ks_find_own_signing_key(ks, domain_addr, fpr);
    if (rc != 1 || !create)
        return rc;
    /* Ed25519: small signatures on every message, and no expiry so that certifications made
     * with it stay checkable; an admin replaces it by revoking it. */
    char uid[512];
    snprintf(uid, sizeof uid, "sealgate domain key <%s>", domain_addr);
    return sg_keystore_generate(ks, uid, "ed25519", 0, NULL, fpr);
}

int sg_keystore_generate(sg_keystore *ks, const char *uid_in, const char *algo, uint32_t expires,
                         const char *domain_addr, char fpr[SG_PGP_FPR_LEN + 1])
{
    char *addr = sg_pgp_uid_address(uid_in);
    if (!addr || (!strchr(uid_in, '<') && strcmp(addr, uid_in) != 0 && strcasecmp(addr, uid_in) != 0)) {
        free(addr);
        return ks_fail(ks, "no e-mail address in user ID '%s'", uid_in);
    }
    char uid[512];
    if (strchr(uid_in, '<'))
        snprintf(uid, sizeof uid, "%s", uid_in);
    else
        snprintf(uid, sizeof uid, "<%s>", addr);
    /* The KEK first: failing after an RSA-4096 generation would waste the admin's time. */
    int rc = ks_need_kek(ks);
    char dfpr[SG_PGP_FPR_LEN + 1] = "";
    if (rc == 0 && domain_addr && strcmp(addr, domain_addr) != 0)
        rc = sg_keystore_domain_key(ks, domain_addr, true, dfpr);
    free(addr);
    if (rc != 0)
        return -1;
    sg_pgp *p = sg_pgp_new();
    if (!p)
        return ks_fail(ks, "out of memory");
    if (sg_pgp_generate(p, uid, algo, expires, fpr) < 0) {
        sg_pgp_free(p);
        return ks_fail(ks, "key generation failed (algorithm %s)", algo);
    }
    if (dfpr[0]) {
        /* The domain key vouches for keys the gateway made itself. */
        sg_pgp *d = sg_keystore_load_secret(ks, dfpr);
        rc = d ? sg_pgp_certify(p, fpr, uid, d, dfpr) : -1;
        sg_pgp_free(d);
        if (rc < 0) {
            sg_pgp_free(p);
            return ks_fail(ks, "cannot certify %s with the domain key %s", fpr, dfpr);
        }
    }
    rc = ks_save(ks, p, fpr, true);
    sg_pgp_free(p);
    return rc;
}

int sg_keystore_revoke(sg_keystore *ks, const char *fpr_in, const char *reason)
{
    char fpr[SG_PGP_FPR_LEN + 1];
    ks_upper_fpr(fpr_in, fpr);
    sg_pgp_key k;
    int found = sg_keystore_get(ks, fpr, &k);
    sg_pgp_key_clear(&k);
    if (found != 0)
        return found < 0 ? -1 : (ks_fail(ks, "no such key %s", fpr), 1);
    int held = ks_has_secret(ks, fpr);
    if (held != 0) {
        if (held == 1)
            ks_fail(ks, "no secret key held for %s: import a revocation certificate instead", fpr);
        return held;
    }
    sg_pgp *p = sg_keystore_load_secret(ks, fpr);
    if (!p)
        return -1;
    int rc =
        sg_pgp_revoke(p, fpr, reason) < 0 ? ks_fail(ks, "cannot revoke %s", fpr) : ks_save(ks, p, fpr, false);
    sg_pgp_free(p);
    return rc;
}
