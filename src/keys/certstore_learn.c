/* certstore_learn.c - certificates and S/MIME capabilities learned from validly signed
 * incoming mail (sg_certstore_learn, sg_certstore_caps; see certstore.h). Owner: src/keys.
 * SECURITY: everything here comes from strangers. Learned certificates are stored with
 * learned = 1 and never as trust anchors: they are used only when they validate to an anchor
 * the admin chose. Input is capped (count, bytes), self-signed certificates are not kept, the
 * acceptance policy of sg_certstore_add applies, and per address only the newest few learned
 * signer certificates stay, so a flood of self-made certificates cannot grow the store. */
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/certstore.h"
#include "keys/certstore_int.h"

static const struct {
    int nid;
    unsigned bit;
} cap_nids[] = {{NID_aes_256_gcm, SG_CAP_AES256_GCM},
                {NID_aes_128_gcm, SG_CAP_AES128_GCM},
                {NID_aes_256_cbc, SG_CAP_AES256_CBC},
                {NID_aes_128_cbc, SG_CAP_AES128_CBC},
                {NID_rsaesOaep, SG_CAP_RSAES_OAEP}};

#define CONTENT_CIPHERS (SG_CAP_AES256_GCM | SG_CAP_AES128_GCM | SG_CAP_AES256_CBC | SG_CAP_AES128_CBC)

int sg_smime_caps_parse(const unsigned char *der, size_t len, unsigned *flags, unsigned *preferred)
{
    *flags = 0;
    *preferred = 0;
    if (!der || len == 0 || len > SG_LEARN_MAX_CAPS)
        return -1;
    const unsigned char *p = der;
    X509_ALGORS *algs = d2i_X509_ALGORS(NULL, &p, (long)len);
    if (!algs || p != der + len) { /* trailing bytes: not one SMIMECapabilities value */
        sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
        return -1;
    }
    for (int i = 0; i < sk_X509_ALGOR_num(algs); i++) {
        const ASN1_OBJECT *obj;
        X509_ALGOR_get0(&obj, NULL, NULL, sk_X509_ALGOR_value(algs, i));
        int nid = OBJ_obj2nid(obj);
        unsigned bit = 0;
        for (size_t k = 0; k < sizeof cap_nids / sizeof cap_nids[0]; k++)
            if (cap_nids[k].nid == nid)
                bit = cap_nids[k].bit;
        if (!bit) {
            /* id-cap-preferBinaryInside has no NID in OpenSSL 3.0: compare the dotted form. */
            char txt[64];
            if (OBJ_obj2txt(txt, sizeof txt, obj, 1) > 0 && strcmp(txt, "1.2.840.113549.1.9.16.11.1") == 0)
                bit = SG_CAP_PREFER_BIN_OK;
        }
        /* RFC 8551 2.5.2: listed in order of preference; the first cipher we know wins. */
        if ((bit & CONTENT_CIPHERS) && !*preferred)
            *preferred = bit;
        *flags |= bit;
    }
    sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
    return 0;
}

static bool self_signed(X509 *x)
{
    return (X509_get_extension_flags(x) & EXFLAG_SS) != 0;
}

static int record(sg_certstore *cs, const char *addr, const char *fpr, const unsigned char *caps,
                  size_t caps_len, unsigned flags, time_t seen)
{
    /* A later message replaces the capabilities; an older one (out of order) does not. */
    int rc = sg_store_x509_learn_put(cs->st, addr, fpr, caps, caps_len, flags, (int64_t)seen);
    return rc < 0 ? cs_store_fail(cs) : 0;
}

/* Keeps the newest SG_LEARN_PER_ADDR learned signer certificates of addr; older learned ones
 * lose their row here and, when no other address refers to them, the certificate itself. */
static int evict(sg_certstore *cs, const char *addr)
{
    char old[16][SG_CERT_FPR_LEN + 1];
    int n = sg_store_x509_learn_stale(cs->st, addr, SG_LEARN_PER_ADDR, old, sizeof old / sizeof old[0]);
    if (n < 0)
        return cs_store_fail(cs);
    for (int i = 0; i < n; i++) {
        int refs = sg_store_x509_learn_forget(cs->st, addr, old[i]);
        if (refs < 0)
            return cs_store_fail(cs);
        if (refs == 0 && sg_certstore_delete(cs, old[i]) < 0)
            return -1;
    }
    return 0;
}

int sg_certstore_learn_x509(sg_certstore *cs, X509 *signer, STACK_OF(X509) * others, const char *address,
                            const unsigned char *caps_der, size_t caps_len, time_t seen,
                            char fpr_out[SG_CERT_FPR_LEN + 1])
{
    char addr[320], fpr[SG_CERT_FPR_LEN + 1];
    const char *why = NULL;
    cs->err[0] = '\0';
    if (fpr_out)
        fpr_out[0] = '\0';
    if (!address || cs_norm_addr(address, strlen(address), addr, sizeof addr) < 0)
        return cs_fail(cs, "not an e-mail address: %s", address ? address : "(none)"), 1;
    if (sk_X509_num(others) >= SG_LEARN_MAX_CERTS)
        return cs_fail(cs, "more than %d certificates", SG_LEARN_MAX_CERTS), 1;
    if (caps_len > SG_LEARN_MAX_CAPS)
        return cs_fail(cs, "SMIMECapabilities larger than %u bytes", SG_LEARN_MAX_CAPS), 1;
    if (self_signed(signer))
        return cs_fail(cs, "self-signed signer certificate: not learned (trust is the admin's decision)"), 1;
    if (!cs_cert_has_addr(signer, addr))
        return cs_fail(cs, "%s is not an address of the signer certificate", addr), 1;
    unsigned flags = 0, pref;
    if (caps_der && caps_len && sg_smime_caps_parse(caps_der, caps_len, &flags, &pref) < 0) {
        caps_der = NULL; /* malformed: the signature counts, its capabilities do not */
        caps_len = 0;
        flags = 0;
    }
    int rc = sg_certstore_add(cs, signer, NULL, SG_CS_ADD_LEARNED, fpr, &why);
    if (rc == SG_CERT_REJECTED)
        return cs_fail(cs, "signer certificate not learned: %s", why ? why : "rejected"), 1;
    if (rc < 0)
        return -1;
    /* The chain the message carried: CA certificates help later validation as untrusted
     * intermediates; anything else in the bag (other signers, roots) is not kept. */
    for (int i = 0; i < sk_X509_num(others); i++) {
        X509 *x = sk_X509_value(others, i);
        char f[SG_CERT_FPR_LEN + 1];
        if (self_signed(x) || X509_check_ca(x) == 0)
            continue;
        if (sg_certstore_add(cs, x, NULL, SG_CS_ADD_LEARNED, f, &why) < 0)
            return -1;
    }
    if (record(cs, addr, fpr, caps_der, caps_len, flags, seen) < 0 || evict(cs, addr) < 0)
        return -1;
    if (fpr_out)
        memcpy(fpr_out, fpr, sizeof fpr);
    return 0;
}

int sg_certstore_learn(sg_certstore *cs, const unsigned char *chain_der, size_t len, const char *address,
                       const unsigned char *caps_der, size_t caps_len, time_t seen,
                       char fpr[SG_CERT_FPR_LEN + 1])
{
    if (fpr)
        fpr[0] = '\0';
    if (!chain_der || len == 0 || len > SG_LEARN_MAX_BYTES)
        return cs_fail(cs, "certificate chain empty or larger than %u bytes", SG_LEARN_MAX_BYTES), 1;
    STACK_OF(X509) *certs = sk_X509_new_null();
    if (!certs)
        return cs_fail(cs, "out of memory");
    const unsigned char *p = chain_der, *end = chain_der + len;
    int rc = 0;
    while (p < end && rc == 0) {
        if (sk_X509_num(certs) >= SG_LEARN_MAX_CERTS) {
            rc = (cs_fail(cs, "more than %d certificates", SG_LEARN_MAX_CERTS), 1);
            break;
        }
        X509 *x = d2i_X509(NULL, &p, (long)(end - p));
        if (!x || !sk_X509_push(certs, x)) {
            X509_free(x);
            rc = (cs_fail(cs, "certificate %d does not parse", sk_X509_num(certs) + 1), 1);
        }
    }
    if (rc == 0) {
        X509 *signer = sk_X509_shift(certs);
        rc = sg_certstore_learn_x509(cs, signer, certs, address, caps_der, caps_len, seen, fpr);
        X509_free(signer);
    }
    sk_X509_pop_free(certs, X509_free);
    return rc;
}

int sg_certstore_caps(sg_certstore *cs, const char *address, sg_smime_caps *caps)
{
    char addr[320];
    memset(caps, 0, sizeof *caps);
    if (!address || cs_norm_addr(address, strlen(address), addr, sizeof addr) < 0)
        return cs_fail(cs, "not an e-mail address: %s", address ? address : "(none)");
    sg_x509_learned l;
    int rc = sg_store_x509_caps(cs->st, addr, &l);
    if (rc != 0)
        return rc < 0 ? cs_store_fail(cs) : 1;
    memcpy(caps->fpr, l.fpr, sizeof caps->fpr);
    /* Parsed again rather than trusting stored bits: the preference order lives in the DER. */
    if (l.caps)
        sg_smime_caps_parse(l.caps, l.caps_len, &caps->flags, &caps->preferred);
    caps->first_seen = l.first_seen;
    caps->last_seen = l.last_seen;
    free(l.caps);
    return 0;
}
