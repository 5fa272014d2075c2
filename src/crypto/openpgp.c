/* openpgp.c - librnp behind a small interface (see openpgp.h). Owner: src/crypto.
 * SECURITY: contexts may hold unprotected secret keys; only cryptd and the admin CLI create such
 * contexts. Secret exports go to memory only and are wiped (OPENSSL_cleanse) before release.
 * Each sg_pgp is one rnp_ffi_t; it is not shared between threads. */
#include "crypto/openpgp.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <rnp/rnp.h>
#include <rnp/rnp_err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sg_pgp {
    rnp_ffi_t ffi;
};

sg_pgp *sg_pgp_new(void)
{
    sg_pgp *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    /* In-memory keyrings only: we never point librnp at a home directory. */
    if (rnp_ffi_create(&p->ffi, "GPG", "GPG") != RNP_SUCCESS) {
        free(p);
        return NULL;
    }
    return p;
}

void sg_pgp_free(sg_pgp *p)
{
    if (!p)
        return;
    rnp_ffi_destroy(p->ffi);
    free(p);
}

int sg_pgp_load(sg_pgp *p, const uint8_t *data, size_t len)
{
    rnp_input_t in = NULL;
    if (len == 0 || rnp_input_from_memory(&in, data, len, false) != RNP_SUCCESS)
        return -1;
    /* PERMISSIVE: a key with one bad signature or an unknown packet should still be inspected
     * (and then accepted or rejected by our own rules) rather than fail the whole input. */
    rnp_result_t r = rnp_import_keys(
        p->ffi, in, RNP_LOAD_SAVE_PUBLIC_KEYS | RNP_LOAD_SAVE_SECRET_KEYS | RNP_LOAD_SAVE_PERMISSIVE, NULL);
    rnp_input_destroy(in);
    return r == RNP_SUCCESS ? 0 : -1;
}

static int count(const char *s, const char *what)
{
    int n = 0;
    for (; s && (s = strstr(s, what)); s += strlen(what))
        n++;
    return n;
}

int sg_pgp_load_signatures(sg_pgp *p, const uint8_t *data, size_t len, int *known)
{
    rnp_input_t in = NULL;
    char *json = NULL;
    *known = 0;
    if (len == 0 || rnp_input_from_memory(&in, data, len, false) != RNP_SUCCESS)
        return -1;
    rnp_result_t r = rnp_import_signatures(p->ffi, in, 0, &json);
    rnp_input_destroy(in);
    /* librnp reports each signature as {"public":"new"|"unchanged"|"unknown key", ...}; only
     * the counts are needed, so a scan is enough (the JSON is librnp's, not the input's). */
    int n = r == RNP_SUCCESS ? count(json, "\"public\":") : -1;
    *known = count(json, "\"public\":\"unchanged\"");
    rnp_buffer_destroy(json);
    return n;
}

static rnp_key_handle_t locate(sg_pgp *p, const char *fpr)
{
    rnp_key_handle_t k = NULL;
    if (rnp_locate_key(p->ffi, "fingerprint", fpr, &k) != RNP_SUCCESS)
        return NULL;
    return k;
}

int sg_pgp_primaries(sg_pgp *p, char (**fprs)[SG_PGP_FPR_LEN + 1], size_t *n)
{
    *fprs = NULL;
    *n = 0;
    rnp_identifier_iterator_t it = NULL;
    if (rnp_identifier_iterator_create(p->ffi, &it, "fingerprint") != RNP_SUCCESS)
        return -1;
    const char *id;
    size_t cap = 0;
    int rc = 0;
    while (rnp_identifier_iterator_next(it, &id) == RNP_SUCCESS && id) {
        rnp_key_handle_t k = locate(p, id);
        bool primary = false;
        if (!k || rnp_key_is_primary(k, &primary) != RNP_SUCCESS || !primary ||
            strlen(id) != SG_PGP_FPR_LEN) {
            rnp_key_handle_destroy(k);
            continue;
        }
        rnp_key_handle_destroy(k);
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            void *nv = realloc(*fprs, cap * sizeof **fprs);
            if (!nv) {
                rc = -1;
                break;
            }
            *fprs = nv;
        }
        memcpy((*fprs)[*n], id, SG_PGP_FPR_LEN + 1);
        (*n)++;
    }
    rnp_identifier_iterator_destroy(it);
    if (rc < 0) {
        free(*fprs);
        *fprs = NULL;
        *n = 0;
    }
    return rc;
}

static int64_t till(rnp_key_handle_t k)
{
    uint64_t t = 0;
    if (rnp_key_valid_till64(k, &t) != RNP_SUCCESS)
        return 0;
    return t > (uint64_t)INT64_MAX - 1 ? INT64_MAX : (int64_t)t;
}

static bool allows(rnp_key_handle_t k, const char *usage)
{
    bool b = false;
    return rnp_key_allows_usage(k, usage, &b) == RNP_SUCCESS && b;
}

char *sg_pgp_uid_address(const char *uid)
{
    const char *s = uid, *e = NULL;
    const char *lt = strrchr(uid, '<');
    if (lt) {
        s = lt + 1;
        e = strchr(s, '>');
        if (!e)
            return NULL;
    } else {
        e = uid + strlen(uid);
        for (const char *c = uid; c < e; c++)
            if (isspace((unsigned char)*c))
                return NULL; /* "Name a@b" without brackets is not an address */
    }
    size_t len = (size_t)(e - s);
    const char *at = memchr(s, '@', len);
    if (!at || at == s || at == e - 1 || memchr(at + 1, '@', (size_t)(e - at - 1)))
        return NULL;
    char *a = malloc(len + 1);
    if (!a)
        return NULL;
    memcpy(a, s, len);
    a[len] = '\0';
    /* Domains are case-insensitive (RFC 5321 2.4); local parts are not, so keep them exact. */
    for (char *d = a + (at - s) + 1; *d; d++)
        *d = (char)tolower((unsigned char)*d);
    return a;
}

static int inspect_uids(rnp_key_handle_t k, sg_pgp_key *out)
{
    size_t n = 0;
    if (rnp_key_get_uid_count(k, &n) != RNP_SUCCESS)
        return -1;
    out->uids = calloc(n ? n : 1, sizeof *out->uids);
    if (!out->uids)
        return -1;
    for (size_t i = 0; i < n; i++) {
        rnp_uid_handle_t u = NULL;
        char *s = NULL;
        if (rnp_key_get_uid_at(k, i, &s) != RNP_SUCCESS)
            return -1;
        sg_pgp_uid *o = &out->uids[out->nuids++];
        o->uid = strdup(s);
        rnp_buffer_destroy(s);
        if (!o->uid)
            return -1;
        o->addr = sg_pgp_uid_address(o->uid);
        bool valid = false, revoked = false;
        if (rnp_key_get_uid_handle_at(k, i, &u) == RNP_SUCCESS) {
            rnp_uid_is_valid(u, &valid);
            rnp_uid_is_revoked(u, &revoked);
            rnp_uid_handle_destroy(u);
        }
        o->valid = valid && !revoked;
    }
    return 0;
}

static void inspect_subkeys(rnp_key_handle_t k, sg_pgp_key *out)
{
    size_t n = 0;
    rnp_key_get_subkey_count(k, &n);
    for (size_t i = 0; i < n; i++) {
        rnp_key_handle_t sk = NULL;
        if (rnp_key_get_subkey_at(k, i, &sk) != RNP_SUCCESS)
            continue;
        bool revoked = false;
        rnp_key_is_revoked(sk, &revoked);
        int64_t t = till(sk); /* 0 when the binding signature is missing or invalid */
        if (!revoked && t > 0 && allows(sk, "encrypt")) {
            out->enc_subkey = true;
            if (t > out->enc_until)
                out->enc_until = t;
        }
        rnp_key_handle_destroy(sk);
    }
}

/* What a primary key and a subkey both have: algorithm, size, times, revocation. */
static void basics(rnp_key_handle_t k, char alg[16], unsigned *bits, int64_t *created, int64_t *expires,
                   int64_t *valid_until, bool *revoked)
{
    char *s = NULL;
    uint32_t u32 = 0;
    if (rnp_key_get_alg(k, &s) == RNP_SUCCESS) {
        snprintf(alg, 16, "%s", s);
        rnp_buffer_destroy(s);
    }
    if (rnp_key_get_bits(k, &u32) == RNP_SUCCESS)
        *bits = u32;
    if (rnp_key_get_creation(k, &u32) == RNP_SUCCESS)
        *created = u32;
    if (rnp_key_get_expiration(k, &u32) == RNP_SUCCESS && u32)
        *expires = *created + u32;
    *valid_until = till(k);
    rnp_key_is_revoked(k, revoked);
}

int sg_pgp_inspect(sg_pgp *p, const char *fpr, sg_pgp_key *out)
{
    memset(out, 0, sizeof *out);
    rnp_key_handle_t k = locate(p, fpr);
    if (!k)
        return 1;
    char *s = NULL;
    int rc = 0;
    snprintf(out->fpr, sizeof out->fpr, "%s", fpr);
    if (rnp_key_get_keyid(k, &s) == RNP_SUCCESS) {
        snprintf(out->keyid, sizeof out->keyid, "%s", s);
        rnp_buffer_destroy(s);
    }
    basics(k, out->alg, &out->bits, &out->created, &out->expires, &out->valid_until, &out->revoked);
    if (out->revoked && rnp_key_get_revocation_reason(k, &s) == RNP_SUCCESS) {
        out->revoke_reason = strdup(s);
        rnp_buffer_destroy(s);
    }
    out->can_sign = allows(k, "sign");
    out->can_encrypt = allows(k, "encrypt");
    out->can_certify = allows(k, "certify");
    bool b = false;
    if (rnp_key_have_secret(k, &b) == RNP_SUCCESS && b) {
        out->secret = true;
        bool prot = false;
        out->secret_locked = rnp_key_is_protected(k, &prot) == RNP_SUCCESS && prot;
    }
    inspect_subkeys(k, out);
    if (inspect_uids(k, out) < 0)
        rc = -1;
    rnp_key_handle_destroy(k);
    if (rc < 0)
        sg_pgp_key_clear(out);
    return rc;
}

int sg_pgp_subkeys(sg_pgp *p, const char *fpr, sg_pgp_subkey **subs, size_t *n)
{
    *subs = NULL;
    *n = 0;
    rnp_key_handle_t k = locate(p, fpr);
    if (!k)
        return 1;
    size_t count = 0;
    int rc = rnp_key_get_subkey_count(k, &count) == RNP_SUCCESS ? 0 : -1;
    if (rc == 0 && count && !(*subs = calloc(count, sizeof **subs)))
        rc = -1;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        rnp_key_handle_t sk = NULL;
        char *s = NULL;
        if (rnp_key_get_subkey_at(k, i, &sk) != RNP_SUCCESS) {
            rc = -1;
            break;
        }
        sg_pgp_subkey *o = &(*subs)[(*n)++];
        if (rnp_key_get_fprint(sk, &s) == RNP_SUCCESS) {
            snprintf(o->fpr, sizeof o->fpr, "%s", s);
            rnp_buffer_destroy(s);
        }
        basics(sk, o->alg, &o->bits, &o->created, &o->expires, &o->valid_until, &o->revoked);
        o->can_sign = allows(sk, "sign");
        o->can_encrypt = allows(sk, "encrypt");
        o->can_auth = allows(sk, "authenticate");
        rnp_key_handle_destroy(sk);
    }
    rnp_key_handle_destroy(k);
    if (rc < 0) {
        free(*subs);
        *subs = NULL;
        *n = 0;
    }
    return rc;
}

void sg_pgp_key_clear(sg_pgp_key *k)
{
    for (size_t i = 0; i < k->nuids; i++) {
        free(k->uids[i].uid);
        free(k->uids[i].addr);
    }
    free(k->uids);
    free(k->revoke_reason);
    memset(k, 0, sizeof *k);
}

/* Policy floor for what the gateway will encrypt to or verify with: RSA of at least 2048 bits;
 * no DSA or ElGamal (1024-bit-era algorithms, and ElGamal is a known source of interop bugs). */
static const char *weak_alg(rnp_key_handle_t k, bool sub)
{
    char *alg = NULL;
    uint32_t bits = 0;
    if (rnp_key_get_alg(k, &alg) != RNP_SUCCESS)
        return "unknown algorithm";
    rnp_key_get_bits(k, &bits);
    const char *why = NULL;
    if (strcmp(alg, "RSA") == 0 && bits < 2048)
        why = sub ? "weak algorithm: RSA subkey smaller than 2048 bits"
                  : "weak algorithm: RSA smaller than 2048 bits";
    else if (strcmp(alg, "DSA") == 0)
        why = sub ? "weak algorithm: DSA subkey" : "weak algorithm: DSA";
    else if (strcmp(alg, "ELGAMAL") == 0)
        why = sub ? "weak algorithm: ElGamal subkey" : "weak algorithm: ElGamal";
    rnp_buffer_destroy(alg);
    return why;
}

const char *sg_pgp_weakness(sg_pgp *p, const char *fpr)
{
    rnp_key_handle_t k = locate(p, fpr);
    if (!k)
        return "key not found";
    const char *why = weak_alg(k, false);
    size_t n = 0;
    rnp_key_get_subkey_count(k, &n);
    for (size_t i = 0; !why && i < n; i++) {
        rnp_key_handle_t sk = NULL;
        if (rnp_key_get_subkey_at(k, i, &sk) == RNP_SUCCESS)
            why = weak_alg(sk, true);
        rnp_key_handle_destroy(sk);
    }
    rnp_key_handle_destroy(k);
    return why;
}

void sg_pgp_free_secret(uint8_t *buf, size_t len)
{
    if (!buf)
        return;
    OPENSSL_cleanse(buf, len);
    free(buf);
}

int sg_pgp_export(sg_pgp *p, const char *fpr, unsigned flags, uint8_t **out, size_t *len)
{
    rnp_key_handle_t k = locate(p, fpr);
    if (!k)
        return -1;
    bool secret = flags & SG_PGP_EXPORT_SECRET;
    uint32_t f = RNP_KEY_EXPORT_SUBKEYS | (secret ? RNP_KEY_EXPORT_SECRET : RNP_KEY_EXPORT_PUBLIC) |
                 (flags & SG_PGP_EXPORT_ARMOR ? RNP_KEY_EXPORT_ARMORED : 0);
    rnp_output_t o = NULL;
    int rc = -1;
    uint8_t *buf = NULL;
    size_t blen = 0;
    if (rnp_output_to_memory(&o, 0) == RNP_SUCCESS && rnp_key_export(k, o, f) == RNP_SUCCESS &&
        rnp_output_memory_get_buf(o, &buf, &blen, false) == RNP_SUCCESS && blen > 0 &&
        (*out = malloc(blen)) != NULL) {
        memcpy(*out, buf, blen);
        *len = blen;
        rc = 0;
    }
    /* librnp's own buffer held the same bytes: wipe it before librnp frees it. */
    if (buf && secret)
        OPENSSL_cleanse(buf, blen);
    rnp_output_destroy(o);
    rnp_key_handle_destroy(k);
    return rc;
}

static int gen_key(rnp_op_generate_t op, const char *algo, const char *const usages[], uint32_t expires,
                   bool sub)
{
    if (strcmp(algo, "ed25519") == 0) {
        if (sub && rnp_op_generate_set_curve(op, "Curve25519") != RNP_SUCCESS)
            return -1;
    } else if (rnp_op_generate_set_bits(op, strcmp(algo, "rsa4096") == 0 ? 4096 : 3072) != RNP_SUCCESS) {
        return -1;
    }
    if (rnp_op_generate_clear_usage(op) != RNP_SUCCESS)
        return -1;
    for (int i = 0; usages[i]; i++)
        if (rnp_op_generate_add_usage(op, usages[i]) != RNP_SUCCESS)
            return -1;
    /* Always set: librnp otherwise applies its own default lifetime of two years. */
    if (rnp_op_generate_set_expiration(op, expires) != RNP_SUCCESS)
        return -1;
    return rnp_op_generate_execute(op) == RNP_SUCCESS ? 0 : -1;
}

int sg_pgp_generate(sg_pgp *p, const char *uid, const char *algo, uint32_t expires,
                    char fpr[SG_PGP_FPR_LEN + 1])
{
    bool ed = strcmp(algo, "ed25519") == 0;
    if (!ed && strcmp(algo, "rsa3072") != 0 && strcmp(algo, "rsa4096") != 0)
        return -1;
    static const char *const prim_use[] = {"sign", "certify", NULL};
    static const char *const sub_use[] = {"encrypt", NULL};
    rnp_op_generate_t op = NULL, sop = NULL;
    rnp_key_handle_t primary = NULL;
    char *f = NULL;
    int rc = -1;
    if (rnp_op_generate_create(&op, p->ffi, ed ? "EDDSA" : "RSA") != RNP_SUCCESS ||
        rnp_op_generate_set_userid(op, uid) != RNP_SUCCESS ||
        gen_key(op, algo, prim_use, expires, false) < 0 ||
        rnp_op_generate_get_key(op, &primary) != RNP_SUCCESS)
        goto out;
    if (rnp_op_generate_subkey_create(&sop, p->ffi, primary, ed ? "ECDH" : "RSA") != RNP_SUCCESS ||
        gen_key(sop, algo, sub_use, expires, true) < 0)
        goto out;
    if (rnp_key_get_fprint(primary, &f) != RNP_SUCCESS || strlen(f) != SG_PGP_FPR_LEN)
        goto out;
    memcpy(fpr, f, SG_PGP_FPR_LEN + 1);
    rc = 0;
out:
    rnp_buffer_destroy(f);
    rnp_key_handle_destroy(primary);
    rnp_op_generate_destroy(sop);
    rnp_op_generate_destroy(op);
    return rc;
}

int sg_pgp_revoke(sg_pgp *p, const char *fpr, const char *reason)
{
    rnp_key_handle_t k = locate(p, fpr);
    if (!k)
        return -1;
    rnp_result_t r = rnp_key_revoke(k, 0, NULL, "retired", reason ? reason : "");
    rnp_key_handle_destroy(k);
    return r == RNP_SUCCESS ? 0 : -1;
}

int sg_pgp_keep_uids(sg_pgp *p, const char *fpr, bool (*keep)(const char *uid, void *ctx), void *ctx)
{
    rnp_key_handle_t k = locate(p, fpr);
    if (!k)
        return -1;
    size_t n = 0;
    int kept = 0;
    if (rnp_key_get_uid_count(k, &n) != RNP_SUCCESS) {
        rnp_key_handle_destroy(k);
        return -1;
    }
    /* From the last: removing one shifts the indexes of those after it. */
    for (size_t i = n; i-- > 0 && kept >= 0;) {
        char *uid = NULL;
        rnp_uid_handle_t u = NULL;
        if (rnp_key_get_uid_at(k, i, &uid) != RNP_SUCCESS ||
            rnp_key_get_uid_handle_at(k, i, &u) != RNP_SUCCESS)
            kept = -1;
        else if (keep(uid, ctx))
            kept++;
        else if (rnp_uid_remove(k, u) != RNP_SUCCESS)
            kept = -1;
        rnp_uid_handle_destroy(u);
        rnp_buffer_destroy(uid);
    }
    rnp_key_handle_destroy(k);
    return kept;
}

int sg_pgp_export_minimal(sg_pgp *p, const char *fpr, const char *uid, uint8_t **out, size_t *len)
{
    rnp_key_handle_t k = locate(p, fpr);
    if (!k)
        return -1;
    rnp_output_t o = NULL;
    uint8_t *buf = NULL;
    size_t blen = 0;
    int rc = -1;
    /* subkey NULL: librnp picks the encryption subkey valid now, and fails without one. */
    if (rnp_output_to_memory(&o, 0) == RNP_SUCCESS && rnp_key_export_autocrypt(k, NULL, uid, o, 0) == RNP_SUCCESS &&
        rnp_output_memory_get_buf(o, &buf, &blen, false) == RNP_SUCCESS && blen > 0 && (*out = malloc(blen))) {
        memcpy(*out, buf, blen);
        *len = blen;
        rc = 0;
    }
    rnp_output_destroy(o);
    rnp_key_handle_destroy(k);
    return rc;
}
