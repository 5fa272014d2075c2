/* ca.c - the gateway's local S/MIME certificate authority (see ca.h). Owner: src/keys.
 * SECURITY: new private keys (CA and issued) go straight from EVP_PKEY into the store wrapped
 * by the KEK (sg_certstore_add); the CA key is unwrapped for issuing and CRL signing only and
 * freed right after (EVP_PKEY_free cleanses key material).
 * Profile: RFC 5280 / RFC 8550 and the CA/B Forum S/MIME Baseline Requirements' essentials:
 * 128-bit random serials, SKI/AKI, critical basicConstraints and keyUsage, EKU
 * emailProtection, the address in the SAN as rfc822Name. */
#include "keys/ca.h"

#include <ctype.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keys/certstore_int.h"

#define SG_CA_BACKDATE 300 /* seconds */

int sg_ca_fpr(sg_certstore *cs, char fpr[SG_CERT_FPR_LEN + 1])
{
    int rc = sg_store_x509_local_ca(cs->st, fpr);
    if (rc == 1)
        cs_fail(cs, "no local CA (run 'sealgate ca init')");
    return rc < 0 ? cs_store_fail(cs) : rc;
}

static EVP_PKEY *new_key(bool rsa)
{
    return rsa ? EVP_RSA_gen(3072) : EVP_EC_gen("P-256");
}

/* "CN=a, O=b" or "/CN=a/O=b" into a name. -1 on a malformed or unknown attribute. */
static X509_NAME *parse_subject(const char *s)
{
    X509_NAME *nm = X509_NAME_new();
    char *copy = strdup(s), *save = NULL;
    int ok = nm && copy;
    for (char *tok = ok ? strtok_r(copy, ok && *s == '/' ? "/" : ",", &save) : NULL; tok && ok;
         tok = strtok_r(NULL, *s == '/' ? "/" : ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || !eq[1]) {
            ok = 0;
            break;
        }
        *eq = '\0';
        ok = X509_NAME_add_entry_by_txt(nm, tok, MBSTRING_UTF8, (const unsigned char *)eq + 1, -1, -1, 0);
    }
    free(copy);
    if (!ok || X509_NAME_entry_count(nm) == 0) {
        X509_NAME_free(nm);
        return NULL;
    }
    return nm;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = ext && X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* Random positive 128-bit serial (RFC 5280 allows 20 octets; the S/MIME BR want >= 64 bits of
 * randomness). */
static int set_serial(X509 *x)
{
    unsigned char r[16];
    if (RAND_bytes(r, sizeof r) != 1)
        return -1;
    r[0] = (unsigned char)((r[0] & 0x7f) | 0x40); /* positive, and always 16 octets long */
    BIGNUM *bn = BN_bin2bn(r, sizeof r, NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    return ok ? 0 : -1;
}

/* A certificate skeleton: v3, serial, subject, issuer name, validity, public key. */
static X509 *skeleton(X509_NAME *subject, X509 *issuer, EVP_PKEY *key, long days, time_t cap)
{
    X509 *x = X509_new();
    /* notBefore a few minutes back: a peer whose clock is slightly behind would otherwise
     * reject a certificate issued a moment ago as "not yet valid". */
    time_t now = time(NULL), start = now - SG_CA_BACKDATE, end = now + (time_t)days * 86400;
    if (cap && end > cap)
        end = cap;
    if (!x || !X509_set_version(x, X509_VERSION_3) || set_serial(x) < 0 ||
        !X509_set_subject_name(x, subject) ||
        !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subject) ||
        !ASN1_TIME_set(X509_getm_notBefore(x), start) || !ASN1_TIME_set(X509_getm_notAfter(x), end) ||
        !X509_set_pubkey(x, key)) {
        X509_free(x);
        return NULL;
    }
    return x;
}

int sg_ca_init(sg_certstore *cs, const char *subject, int days, bool rsa, char fpr[SG_CERT_FPR_LEN + 1])
{
    int rc = sg_ca_fpr(cs, fpr);
    if (rc == 0)
        return cs_fail(cs, "a local CA exists already: %s", fpr), 1;
    if (rc < 0 || cs_need_kek(cs) < 0)
        return -1;
    X509_NAME *nm = parse_subject(subject);
    if (!nm)
        return cs_fail(cs, "malformed subject: %s", subject);
    EVP_PKEY *key = new_key(rsa);
    X509 *x = key ? skeleton(nm, NULL, key, days, 0) : NULL;
    X509_NAME_free(nm);
    rc = x && add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") == 0 &&
                 add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") == 0 &&
                 add_ext(x, x, NID_subject_key_identifier, "hash") == 0 &&
                 add_ext(x, x, NID_authority_key_identifier, "keyid:always") == 0 &&
                 X509_sign(x, key, EVP_sha256()) > 0
             ? 0
             : cs_fail(cs, "cannot create the CA certificate");
    if (rc == 0) {
        const char *why = NULL;
        rc = sg_certstore_add(cs, x, key, SG_CS_ADD_TRUSTED | SG_CS_ADD_LOCAL_CA, fpr, &why);
        rc = rc == SG_CERT_IMPORTED ? 0
             : rc < 0               ? -1
                                    : cs_fail(cs, "CA certificate not stored: %s", why ? why : "?");
    }
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

/* The local CA's certificate and key: 0, 1 when there is none, -1 on error. */
static int load_ca(sg_certstore *cs, X509 **ca, EVP_PKEY **key, char fpr[SG_CERT_FPR_LEN + 1])
{
    *ca = NULL;
    *key = NULL;
    int rc = sg_ca_fpr(cs, fpr);
    if (rc != 0)
        return rc;
    if (!(*ca = sg_certstore_load_cert(cs, fpr)) || !(*key = sg_certstore_load_key(cs, fpr))) {
        X509_free(*ca);
        *ca = NULL;
        return -1;
    }
    return 0;
}

static bool url_ok(const char *u)
{
    if (!u)
        return true;
    size_t n = strlen(u);
    if (n > 512 || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0))
        return false;
    for (size_t i = 0; i < n; i++) /* the value goes through OpenSSL's config syntax: no separators */
        if ((unsigned char)u[i] <= ' ' || u[i] == ',' || (unsigned char)u[i] >= 0x7f)
            return false;
    return true;
}

static int url_exts(X509 *x, X509 *ca, const char *crl_url, const char *ocsp_url)
{
    char v[600];
    if (crl_url) {
        snprintf(v, sizeof v, "URI:%s", crl_url);
        if (add_ext(x, ca, NID_crl_distribution_points, v) < 0)
            return -1;
    }
    if (ocsp_url) {
        snprintf(v, sizeof v, "OCSP;URI:%s", ocsp_url);
        if (add_ext(x, ca, NID_info_access, v) < 0)
            return -1;
    }
    return 0;
}

static int issue_exts(X509 *x, X509 *ca, const char *addr, int usage, bool rsa)
{
    char ku[96] = "critical", san[340];
    if (usage & SG_CA_USAGE_SIGN)
        strcat(ku, ",digitalSignature,nonRepudiation");
    if (usage & SG_CA_USAGE_ENCRYPT)
        strcat(ku, rsa ? ",keyEncipherment" : ",keyAgreement");
    snprintf(san, sizeof san, "email:%s", addr);
    return add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
                   add_ext(x, ca, NID_key_usage, ku) == 0 &&
                   add_ext(x, ca, NID_ext_key_usage, "emailProtection") == 0 &&
                   add_ext(x, ca, NID_subject_alt_name, san) == 0 &&
                   add_ext(x, ca, NID_subject_key_identifier, "hash") == 0 &&
                   add_ext(x, ca, NID_authority_key_identifier, "keyid:always") == 0
               ? 0
               : -1;
}

int sg_ca_issue(sg_certstore *cs, const char *address, int usage, int days, bool rsa,
                char fpr[SG_CERT_FPR_LEN + 1])
{
    return sg_ca_issue_urls(cs, address, usage, days, rsa, NULL, NULL, fpr);
}

int sg_ca_issue_urls(sg_certstore *cs, const char *address, int usage, int days, bool rsa, const char *crl_url,
                     const char *ocsp_url, char fpr[SG_CERT_FPR_LEN + 1])
{
    if (!url_ok(crl_url) || !url_ok(ocsp_url))
        return cs_fail(cs, "revocation URLs must be http:// or https:// without spaces or commas");
    char addr[320], cafpr[SG_CERT_FPR_LEN + 1];
    if (cs_norm_addr(address, strlen(address), addr, sizeof addr) < 0 || strchr(addr, ',') ||
        strchr(addr, '/'))
        return cs_fail(cs, "not an e-mail address: %s", address);
    if (!(usage & (SG_CA_USAGE_SIGN | SG_CA_USAGE_ENCRYPT)))
        return cs_fail(cs, "no usage");
    X509 *ca;
    EVP_PKEY *cakey;
    int rc = load_ca(cs, &ca, &cakey, cafpr);
    if (rc != 0)
        return rc;
    X509_NAME *nm = X509_NAME_new();
    EVP_PKEY *key = new_key(rsa);
    struct tm tm;
    time_t cap = ASN1_TIME_to_tm(X509_get0_notAfter(ca), &tm) ? timegm(&tm) : 0;
    X509 *x = NULL;
    if (nm && key &&
        X509_NAME_add_entry_by_NID(nm, NID_commonName, MBSTRING_UTF8, (unsigned char *)addr, -1, -1, 0) &&
        X509_NAME_add_entry_by_NID(nm, NID_pkcs9_emailAddress, MBSTRING_ASC, (unsigned char *)addr, -1, -1,
                                   0))
        x = skeleton(nm, ca, key, days, cap);
    rc = x && issue_exts(x, ca, addr, usage, rsa) == 0 && url_exts(x, ca, crl_url, ocsp_url) == 0 &&
                 X509_sign(x, cakey, EVP_sha256()) > 0
             ? 0
             : cs_fail(cs, "cannot create the certificate");
    if (rc == 0) {
        const char *why = NULL;
        rc = sg_certstore_add(cs, x, key, 0, fpr, &why);
        rc = rc == SG_CERT_IMPORTED ? 0
             : rc < 0               ? -1
                                    : cs_fail(cs, "certificate not stored: %s", why ? why : "?");
    }
    X509_free(x);
    X509_NAME_free(nm);
    EVP_PKEY_free(key);
    EVP_PKEY_free(cakey);
    X509_free(ca);
    return rc;
}

int sg_ca_revoke(sg_certstore *cs, const char *fpr_in)
{
    char fpr[SG_CERT_FPR_LEN + 1], cafpr[SG_CERT_FPR_LEN + 1];
    int rc = sg_ca_fpr(cs, cafpr);
    if (rc != 0 || cs_norm_fpr(cs, fpr_in, fpr) < 0)
        return rc > 0 ? 2 : -1;
    X509 *ca = sg_certstore_load_cert(cs, cafpr), *x = sg_certstore_load_cert(cs, fpr);
    sg_cert_info ci;
    if (!ca || !x) {
        rc = ca && strcmp(cs->err, "no such certificate") == 0 ? 1 : -1;
    } else if (strcmp(fpr, cafpr) == 0 || X509_check_issued(ca, x) != X509_V_OK ||
               X509_verify(x, X509_get0_pubkey(ca)) != 1) {
        rc = (cs_fail(cs, "not issued by the local CA"), 2);
    } else if ((rc = sg_certstore_get(cs, fpr, &ci)) == 0) {
        bool already = ci.revoked;
        sg_cert_info_clear(&ci);
        if (already)
            rc = (cs_fail(cs, "revoked already"), 3);
        else if ((rc = sg_store_x509_revoke(cs->st, fpr)) == 1)
            cs_fail(cs, "no such certificate");
        else if (rc < 0)
            cs_store_fail(cs);
    }
    X509_free(ca);
    X509_free(x);
    return rc;
}

/* One revoked certificate into the CRL ctx: 0, or 1 when it cannot be added. */
static int add_one_revoked(void *ctx, const char *serial_hex, int64_t revoked_at)
{
    X509_CRL *crl = ctx;
    BIGNUM *bn = NULL;
    X509_REVOKED *r = X509_REVOKED_new();
    ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)revoked_at);
    ASN1_INTEGER *serial = NULL;
    int rc = r && t && BN_hex2bn(&bn, serial_hex) && (serial = BN_to_ASN1_INTEGER(bn, NULL)) &&
                     X509_REVOKED_set_serialNumber(r, serial) && X509_REVOKED_set_revocationDate(r, t) &&
                     X509_CRL_add0_revoked(crl, r)
                 ? 0
                 : 1;
    if (rc)
        X509_REVOKED_free(r);
    ASN1_INTEGER_free(serial);
    ASN1_TIME_free(t);
    BN_free(bn);
    return rc;
}

/* Adds every certificate the CA revoked, from the store's records. */
static int add_revoked(sg_certstore *cs, X509_CRL *crl)
{
    int rc = sg_store_x509_each_revoked(cs->st, add_one_revoked, crl);
    return rc < 0 ? cs_store_fail(cs) : rc ? cs_fail(cs, "cannot build the CRL") : 0;
}

static int crl_exts(X509_CRL *crl, X509 *ca, int64_t number)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca, NULL, NULL, crl, 0);
    X509_EXTENSION *aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
    ASN1_INTEGER *num = ASN1_INTEGER_new();
    int ok = aki && num && X509_CRL_add_ext(crl, aki, -1) && ASN1_INTEGER_set_int64(num, number) &&
             X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) == 1;
    X509_EXTENSION_free(aki);
    ASN1_INTEGER_free(num);
    return ok ? 0 : -1;
}

int sg_ca_crl(sg_certstore *cs, int days, uint8_t **pem, size_t *len)
{
    char cafpr[SG_CERT_FPR_LEN + 1];
    X509 *ca;
    EVP_PKEY *cakey;
    *pem = NULL;
    *len = 0;
    int rc = load_ca(cs, &ca, &cakey, cafpr);
    if (rc != 0)
        return rc;
    int64_t number = 0;
    X509_CRL *old = sg_certstore_get_crl(cs, cafpr, &number);
    X509_CRL_free(old);
    if (number < 0) { /* a store error: numbering again from 1 would look like a rollback */
        EVP_PKEY_free(cakey);
        X509_free(ca);
        return -1;
    }
    number++; /* monotonically increasing, RFC 5280 5.2.3 */
    X509_CRL *crl = X509_CRL_new();
    time_t now = time(NULL);
    ASN1_TIME *last = ASN1_TIME_set(NULL, now), *next = ASN1_TIME_set(NULL, now + (time_t)days * 86400);
    rc = crl && last && next && X509_CRL_set_version(crl, X509_CRL_VERSION_2) &&
                 X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) &&
                 X509_CRL_set1_lastUpdate(crl, last) && X509_CRL_set1_nextUpdate(crl, next)
             ? 0
             : cs_fail(cs, "cannot build the CRL");
    if (rc == 0)
        rc = add_revoked(cs, crl);
    if (rc == 0 && (crl_exts(crl, ca, number) < 0 || !X509_CRL_sort(crl) ||
                    X509_CRL_sign(crl, cakey, EVP_sha256()) <= 0))
        rc = cs_fail(cs, "cannot sign the CRL");
    if (rc == 0)
        rc = sg_certstore_put_crl(cs, cafpr, crl, number);
    if (rc == 0) {
        BIO *b = BIO_new(BIO_s_mem());
        char *p;
        long n;
        rc = b && PEM_write_bio_X509_CRL(b, crl) && (n = BIO_get_mem_data(b, &p)) > 0 &&
                     (*pem = malloc((size_t)n))
                 ? (memcpy(*pem, p, (size_t)n), *len = (size_t)n, 0)
                 : cs_fail(cs, "cannot encode the CRL");
        BIO_free(b);
    }
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    X509_CRL_free(crl);
    EVP_PKEY_free(cakey);
    X509_free(ca);
    return rc;
}
