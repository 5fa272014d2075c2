/* certstore.c - the X.509 certificate store: opening, facts of a certificate, acceptance
 * policy and storing a certificate with its wrapped key (see certstore.h). Owner: src/keys.
 * SECURITY: private keys pass through here in memory only: PKCS#8 DER is produced, wrapped by
 * the KEK with the certificate's fingerprint as AAD, and wiped; only the wrapped bytes reach
 * the store (store/x509_rows.h).
 * Why the row keeps derived facts (addresses, usages, validity): selecting a recipient
 * certificate is a query, not a parse of every certificate per message. */
#include "keys/certstore.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys/certstore_int.h"

int cs_fail(sg_certstore *cs, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cs->err, sizeof cs->err, fmt, ap);
    va_end(ap);
    return -1;
}

sg_certstore *sg_certstore_open(sg_store *st, const char *kek_path, unsigned flags)
{
    sg_certstore *cs = calloc(1, sizeof *cs);
    if (!cs)
        return NULL;
    cs->st = st;
    cs->flags = flags;
    if (kek_path && !(cs->kek_path = strdup(kek_path))) {
        free(cs);
        return NULL;
    }
    return cs;
}

void sg_certstore_close(sg_certstore *cs)
{
    if (!cs)
        return;
    sg_kek_wipe(&cs->kek);
    free(cs->kek_path);
    free(cs);
}

const char *sg_certstore_error(const sg_certstore *cs)
{
    return cs->err[0] ? cs->err : "unknown error";
}

const char *sg_cert_import_status_name(int status)
{
    static const char *const n[] = {"imported", "unchanged", "rejected"};
    return status >= 0 && status <= SG_CERT_REJECTED ? n[status] : "?";
}

/* Loaded on first need so that public-only users (list, validation) never touch the KEK. */
int cs_need_kek(sg_certstore *cs)
{
    if (cs->have_kek)
        return 0;
    if (!cs->kek_path)
        return cs_fail(cs, "no key-encryption key configured");
    if ((cs->flags & SG_CS_CREATE_KEK) && sg_kek_create(cs->kek_path) < 0 && errno != EEXIST)
        return cs_fail(cs, "cannot create %s: %s", cs->kek_path, strerror(errno));
    if (sg_kek_load(cs->kek_path, &cs->kek) < 0)
        return cs_fail(cs, "cannot load key-encryption key %s: %s", cs->kek_path,
                       errno == EPERM ? "readable by group or others" : strerror(errno));
    cs->have_kek = true;
    return 0;
}

int cs_store_fail(sg_certstore *cs)
{
    return cs_fail(cs, "%s", sg_store_error(cs->st));
}

int sg_cert_fpr_norm(const char *in, char out[SG_CERT_FPR_LEN + 1])
{
    size_t i = 0, o = 0;
    for (; in[i] && o < SG_CERT_FPR_LEN; i++) {
        if (in[i] == ':') /* accept openssl's AA:BB:... form too */
            continue;
        if (!isxdigit((unsigned char)in[i]))
            break;
        out[o++] = (char)toupper((unsigned char)in[i]);
    }
    out[o] = '\0';
    return o == SG_CERT_FPR_LEN && !in[i] ? 0 : -1;
}

int cs_norm_fpr(sg_certstore *cs, const char *in, char out[SG_CERT_FPR_LEN + 1])
{
    if (sg_cert_fpr_norm(in, out) < 0)
        return cs_fail(cs, "not a certificate fingerprint (64 hex digits): %s", in);
    return 0;
}

int sg_cert_fpr(X509 *x, char fpr[SG_CERT_FPR_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!X509_digest(x, EVP_sha256(), md, &mdlen) || mdlen != 32)
        return -1;
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(fpr + 2 * i, 3, "%02X", md[i]);
    return 0;
}

/* ---- addresses ---- */

int cs_norm_addr(const char *addr, size_t len, char *out, size_t outlen)
{
    const char *at = memchr(addr, '@', len);
    if (!at || at == addr || at == addr + len - 1 || len + 1 > outlen ||
        memchr(at + 1, '@', len - (size_t)(at - addr) - 1))
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)addr[i];
        if (c <= ' ' || c >= 0x7f || c == '<' || c == '>') /* also catches embedded NUL bytes */
            return -1;
        out[i] = addr + i > at ? (char)tolower(c) : (char)c;
    }
    out[len] = '\0';
    return 0;
}

bool sg_cert_addr_ok(const char *addr)
{
    char buf[320];
    return addr && cs_norm_addr(addr, strlen(addr), buf, sizeof buf) == 0;
}

static int add_addr(char ***addrs, size_t *n, const unsigned char *s, int len)
{
    char buf[320];
    if (len <= 0 || cs_norm_addr((const char *)s, (size_t)len, buf, sizeof buf) < 0)
        return 0; /* not an address: ignored, like a name form we do not use */
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*addrs)[i], buf) == 0)
            return 0;
    char **v = realloc(*addrs, (*n + 1) * sizeof *v);
    if (!v)
        return -1;
    *addrs = v;
    if (!(v[*n] = strdup(buf)))
        return -1;
    (*n)++;
    return 0;
}

int cs_cert_addrs(X509 *x, char ***addrs, size_t *n)
{
    *addrs = NULL;
    *n = 0;
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    int rc = 0;
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && rc == 0; i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_EMAIL)
            rc = add_addr(addrs, n, ASN1_STRING_get0_data(g->d.rfc822Name),
                          ASN1_STRING_length(g->d.rfc822Name));
    }
    GENERAL_NAMES_free(gens);
    /* Fallback for old certificates: emailAddress in the subject, only without SAN addresses
     * (RFC 8550 puts addresses in the SAN; the subject attribute is deprecated). */
    X509_NAME *nm = X509_get_subject_name(x);
    for (int i = -1;
         rc == 0 && *n == 0 && (i = X509_NAME_get_index_by_NID(nm, NID_pkcs9_emailAddress, i)) >= 0;) {
        ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i));
        rc = add_addr(addrs, n, ASN1_STRING_get0_data(s), ASN1_STRING_length(s));
    }
    if (rc < 0) {
        cs_free_addrs(*addrs, *n);
        *addrs = NULL;
        *n = 0;
    }
    return rc;
}

/* Exact local part, case-insensitive domain (RFC 5321: the local part is the recipient's). */
bool cs_cert_has_addr(X509 *x, const char *address)
{
    char want[320];
    char **addrs;
    size_t n;
    if (cs_norm_addr(address, strlen(address), want, sizeof want) < 0 || cs_cert_addrs(x, &addrs, &n) < 0)
        return false;
    bool ok = false;
    for (size_t i = 0; i < n && !ok; i++)
        ok = strcmp(addrs[i], want) == 0;
    cs_free_addrs(addrs, n);
    return ok;
}

void cs_free_addrs(char **addrs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(addrs[i]);
    free(addrs);
}

/* ---- facts ---- */

static char *name_str(const X509_NAME *nm)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *s = NULL;
    if (!b)
        return NULL;
    /* RFC 2253 with control bytes and non-ASCII escaped: safe to print on a terminal. */
    if (X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253) >= 0) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        if ((s = malloc((size_t)n + 1))) {
            memcpy(s, p, (size_t)n);
            s[n] = '\0';
        }
    }
    BIO_free(b);
    return s;
}

static char *serial_str(X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *h = bn ? BN_bn2hex(bn) : NULL, *s = h ? strdup(h) : NULL;
    OPENSSL_free(h);
    BN_free(bn);
    return s;
}

/* Facts of x into ci (not fpr-dependent flags like trusted). 0, or -1 when x is malformed. */
static int cert_facts(X509 *x, sg_cert_info *ci)
{
    memset(ci, 0, sizeof *ci);
    if (sg_cert_fpr(x, ci->fpr) < 0 || X509_check_purpose(x, -1, 0) != 1 ||
        (X509_get_extension_flags(x) & EXFLAG_INVALID))
        return -1;
    ci->subject = name_str(X509_get_subject_name(x));
    ci->issuer = name_str(X509_get_issuer_name(x));
    ci->serial = serial_str(x);
    if (!ci->subject || !ci->issuer || !ci->serial ||
        cs_asn1_time(X509_get0_notBefore(x), &ci->not_before) < 0 ||
        cs_asn1_time(X509_get0_notAfter(x), &ci->not_after) < 0 ||
        cs_cert_addrs(x, &ci->addrs, &ci->naddrs) < 0) {
        sg_cert_info_clear(ci);
        return -1;
    }
    uint32_t ku = X509_get_key_usage(x);
    ci->key_usage = ku == UINT32_MAX ? -1 : (int64_t)ku;
    uint32_t xku = X509_get_extended_key_usage(x);
    /* Without the EKU extension we do not assume emailProtection (see docs/x509.md). */
    ci->eku_email = (X509_get_extension_flags(x) & EXFLAG_XKUSAGE) && (xku & XKU_SMIME);
    ci->is_ca = X509_check_ca(x) != 0;
    return 0;
}

void sg_cert_info_clear(sg_cert_info *ci)
{
    free(ci->subject);
    free(ci->issuer);
    free(ci->serial);
    cs_free_addrs(ci->addrs, ci->naddrs);
    memset(ci, 0, sizeof *ci);
}

/* Acceptance policy: NULL when acceptable, else the reason. */
static const char *policy_reject(X509 *x, bool is_ca)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    if (!pk)
        return "unsupported public key";
    int id = EVP_PKEY_get_base_id(pk);
    if ((id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS || id == EVP_PKEY_DSA) && EVP_PKEY_get_bits(pk) < 2048)
        return "RSA key shorter than 2048 bits";
    int mdnid = NID_undef;
    if (!X509_get_signature_info(x, &mdnid, NULL, NULL, NULL))
        return "unknown signature algorithm";
    /* A root's self-signature protects nothing, so an old SHA-1 root may stay; end-entity
     * certificates signed with MD5 or SHA-1 are forgeable. */
    if (!is_ca && (mdnid == NID_md5 || mdnid == NID_sha1 || mdnid == NID_md5_sha1 || mdnid == NID_md4))
        return "weak signature hash (MD5/SHA-1)";
    return NULL;
}

static int store_key(sg_certstore *cs, const char *fpr, EVP_PKEY *key)
{
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
    unsigned char *der = NULL;
    int len = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (len <= 0)
        return cs_fail(cs, "cannot encode the private key");
    uint8_t *wrapped = NULL;
    size_t wlen = 0;
    /* Read again right before wrapping (inside the caller's transaction): a long-lived process
     * must not wrap under a KEK that `sealgate kek rotate` has replaced since it loaded it. */
    int rc = sg_kek_load(cs->kek_path, &cs->kek) < 0
                 ? -1
                 : sg_kek_wrap(&cs->kek, fpr, der, (size_t)len, &wrapped, &wlen);
    OPENSSL_clear_free(der, (size_t)len);
    if (rc < 0)
        return cs_fail(cs, "cannot wrap the private key");
    rc = sg_store_x509_put_key(cs->st, fpr, wrapped, wlen) < 0 ? cs_store_fail(cs) : 0;
    free(wrapped);
    return rc;
}

static int insert_cert(sg_certstore *cs, X509 *x, const sg_cert_info *ci, unsigned flags)
{
    unsigned char *der = NULL;
    int len = i2d_X509(x, &der);
    if (len <= 0)
        return cs_fail(cs, "cannot encode certificate");
    sg_x509_row row = {
        .subject = ci->subject,
        .issuer = ci->issuer,
        .serial = ci->serial,
        .not_before = ci->not_before,
        .not_after = ci->not_after,
        .key_usage = ci->key_usage,
        .eku_email = ci->eku_email,
        .is_ca = ci->is_ca,
        /* A learned certificate is never an anchor, whatever the caller asked. */
        .trusted = (flags & SG_CS_ADD_TRUSTED) && !(flags & SG_CS_ADD_LEARNED) && ci->is_ca,
        .local_ca = (flags & SG_CS_ADD_LOCAL_CA) != 0,
        .learned = (flags & SG_CS_ADD_LEARNED) != 0,
        .addrs = ci->addrs,
        .naddrs = ci->naddrs,
    };
    memcpy(row.fpr, ci->fpr, sizeof row.fpr);
    int rc = sg_store_x509_insert(cs->st, &row, der, (size_t)len) < 0 ? cs_store_fail(cs) : 0;
    OPENSSL_free(der);
    return rc;
}

int sg_certstore_add(sg_certstore *cs, X509 *x, EVP_PKEY *key, unsigned flags, char fpr[SG_CERT_FPR_LEN + 1],
                     const char **reason)
{
    sg_cert_info ci;
    *reason = NULL;
    fpr[0] = '\0';
    if (cert_facts(x, &ci) < 0) {
        *reason = "malformed certificate";
        return SG_CERT_REJECTED;
    }
    memcpy(fpr, ci.fpr, sizeof ci.fpr);
    if ((*reason = policy_reject(x, ci.is_ca))) {
        sg_cert_info_clear(&ci);
        return SG_CERT_REJECTED;
    }
    if (key && X509_check_private_key(x, key) != 1) {
        sg_cert_info_clear(&ci);
        *reason = "private key does not match the certificate";
        return SG_CERT_REJECTED;
    }
    bool have_cert = false, have_key = false;
    int rc = sg_store_x509_state(cs->st, ci.fpr, &have_cert, &have_key) < 0 ? cs_store_fail(cs) : 0;
    if (rc == 0 && key && !have_key)
        rc = cs_need_kek(cs);
    if (rc == 0 && (!have_cert || (key && !have_key))) {
        rc = sg_store_begin(cs->st) < 0 ? cs_store_fail(cs) : 0;
        if (rc == 0 && !have_cert)
            rc = insert_cert(cs, x, &ci, flags);
        if (rc == 0 && key && !have_key)
            rc = store_key(cs, ci.fpr, key);
        if (rc == 0)
            rc = sg_store_commit(cs->st) < 0 ? cs_store_fail(cs) : 0;
        if (rc < 0)
            sg_store_rollback(cs->st); /* none open when BEGIN failed: a no-op then */
        if (rc == 0)
            rc = SG_CERT_IMPORTED;
    } else if (rc == 0 && !(flags & SG_CS_ADD_LEARNED)) {
        /* The admin importing a certificate first learned from mail makes it an ordinary one. */
        rc = sg_store_x509_unlearn(cs->st, ci.fpr);
        rc = rc < 0 ? cs_store_fail(cs) : rc == 0 ? SG_CERT_IMPORTED : SG_CERT_UNCHANGED;
    } else if (rc == 0) {
        rc = SG_CERT_UNCHANGED;
    }
    sg_cert_info_clear(&ci);
    return rc;
}
