/* pgp_certify.c - a certification signature (type 0x10, RFC 4880 5.2) by one key over another
 * key's user ID. Owner: src/crypto.
 * Why by hand: librnp 0.16 has no call for third-party certifications (it signs user IDs only
 * as self-signatures), yet the gateway's domain key must certify the keys it generates so that
 * correspondents can see the gateway vouches for them. The signature is built from the packet
 * formats of RFC 4880 (5.2.3 v4 signatures, 5.2.4 hashing of key and user ID, 5.5.2 public
 * key packet) and signed with OpenSSL's Ed25519; librnp then parses and merges it like any
 * other signature, so nothing here is trusted beyond producing bytes.
 * SECURITY: reads the signer's unprotected secret key: cryptd and the admin CLI only. The
 * Ed25519 seed is wiped after use. Only EdDSA (Ed25519) signers are supported; sealgate's
 * domain keys are always Ed25519. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/openpgp.h"

enum { ALG_EDDSA = 22, HASH_SHA256 = 8, SIG_GENERIC_CERT = 0x10 };
static const uint8_t ed25519_oid[] = {0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01};

/* The tag and body of the first packet of a binary stream; 0 or -1. */
static int first_packet(const uint8_t *p, size_t len, int *tag, const uint8_t **body, size_t *blen)
{
    if (len < 2 || !(p[0] & 0x80))
        return -1;
    size_t hl, bl;
    if (p[0] & 0x40) {
        *tag = p[0] & 0x3f;
        if (p[1] < 192) {
            hl = 2, bl = p[1];
        } else if (p[1] < 224 && len >= 3) {
            hl = 3, bl = ((size_t)(p[1] - 192) << 8) + p[2] + 192;
        } else if (p[1] == 255 && len >= 6) {
            hl = 6, bl = ((size_t)p[2] << 24) | ((size_t)p[3] << 16) | ((size_t)p[4] << 8) | p[5];
        } else {
            return -1; /* partial lengths never occur in key packets */
        }
    } else {
        *tag = (p[0] >> 2) & 0x0f;
        int lt = p[0] & 3;
        if (lt == 0)
            hl = 2, bl = p[1];
        else if (lt == 1 && len >= 3)
            hl = 3, bl = ((size_t)p[1] << 8) | p[2];
        else if (lt == 2 && len >= 5)
            hl = 5, bl = ((size_t)p[1] << 24) | ((size_t)p[2] << 16) | ((size_t)p[3] << 8) | p[4];
        else
            return -1;
    }
    if (bl > len - hl)
        return -1;
    *body = p + hl;
    *blen = bl;
    return 0;
}

/* The Ed25519 seed from an unprotected v4 EdDSA secret key packet body (RFC 4880 5.5.3 with
 * the EdDSA fields of draft-koch-eddsa-for-openpgp / RFC 9580 5.5.5.5). */
static int ed25519_seed(const uint8_t *b, size_t n, uint8_t seed[32])
{
    /* version 4 | created (4) | alg | oid len | oid | MPI public (2 + 33: 0x40 || point) */
    size_t off = 1 + 4 + 1 + 1 + sizeof ed25519_oid + 2 + 33;
    if (n < off + 1 + 2 + 2 || b[0] != 4 || b[5] != ALG_EDDSA || b[6] != sizeof ed25519_oid ||
        memcmp(b + 7, ed25519_oid, sizeof ed25519_oid) != 0)
        return -1;
    if (b[off] != 0)
        return -1; /* protected: the keystore only holds unprotected (KEK-wrapped) secrets */
    off++;
    size_t bits = ((size_t)b[off] << 8) | b[off + 1];
    size_t bytes = (bits + 7) / 8;
    off += 2;
    if (bytes > 32 || off + bytes + 2 != n)
        return -1;
    memset(seed, 0, 32);
    memcpy(seed + 32 - bytes, b + off, bytes);
    return 0;
}

static size_t put_mpi(uint8_t *out, const uint8_t *v, size_t n)
{
    while (n > 0 && *v == 0)
        v++, n--;
    size_t bits = n ? (n - 1) * 8 : 0;
    for (uint8_t top = n ? v[0] : 0; top; top >>= 1)
        bits++;
    out[0] = (uint8_t)(bits >> 8);
    out[1] = (uint8_t)bits;
    memcpy(out + 2, v, n);
    return n + 2;
}

static size_t put_header(uint8_t *out, int tag, size_t len)
{
    out[0] = (uint8_t)(0xC0 | tag);
    if (len < 192) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len < 8384) {
        out[1] = (uint8_t)(((len - 192) >> 8) + 192);
        out[2] = (uint8_t)((len - 192) & 0xff);
        return 3;
    }
    out[1] = 255;
    for (int i = 0; i < 4; i++)
        out[2 + i] = (uint8_t)(len >> (24 - 8 * i));
    return 6;
}

static int hexbytes(const char *hex, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static int sign_ed25519(const uint8_t seed[32], const uint8_t *msg, size_t len, uint8_t sig[64])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t slen = 64;
    int ok = k && c && EVP_DigestSignInit(c, NULL, NULL, NULL, k) == 1 &&
             EVP_DigestSign(c, sig, &slen, msg, len) == 1 && slen == 64;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return ok ? 0 : -1;
}

int sg_pgp_certify(sg_pgp *p, const char *fpr, const char *uid, sg_pgp *signer, const char *signer_fpr)
{
    uint8_t *pub = NULL, *sec = NULL, *stream = NULL;
    size_t publen = 0, seclen = 0;
    uint8_t seed[32], fprb[20], digest[32], sig[64];
    const uint8_t *kb, *sb;
    size_t kn, sn;
    int tag, rc = -1;
    size_t uidlen = strlen(uid);
    EVP_MD_CTX *h = NULL;
    if (strlen(signer_fpr) != 40 || hexbytes(signer_fpr, fprb, 20) < 0 || uidlen > 4096)
        return -1;
    if (sg_pgp_export(p, fpr, 0, &pub, &publen) < 0 || first_packet(pub, publen, &tag, &kb, &kn) < 0 ||
        tag != 6 || kn > 0xffff)
        goto out;
    if (sg_pgp_export(signer, signer_fpr, SG_PGP_EXPORT_SECRET, &sec, &seclen) < 0 ||
        first_packet(sec, seclen, &tag, &sb, &sn) < 0 || tag != 5 || ed25519_seed(sb, sn, seed) < 0)
        goto out;

    /* Hashed: creation time (2), issuer fingerprint (33). Unhashed: issuer key ID (16). */
    uint8_t hashed[6 + 23], unhashed[10];
    uint32_t now = (uint32_t)time(NULL);
    hashed[0] = 5, hashed[1] = 2;
    for (int i = 0; i < 4; i++)
        hashed[2 + i] = (uint8_t)(now >> (24 - 8 * i));
    hashed[6] = 22, hashed[7] = 33, hashed[8] = 4;
    memcpy(hashed + 9, fprb, 20);
    unhashed[0] = 9, unhashed[1] = 16;
    memcpy(unhashed + 2, fprb + 12, 8);
    uint8_t head[6] = {4, SIG_GENERIC_CERT, ALG_EDDSA, HASH_SHA256, 0, sizeof hashed};

    /* RFC 4880 5.2.4: key packet as 0x99 len16 body, user ID as 0xB4 len32 body, then the
     * signature's hashed part and the v4 trailer 0x04 0xFF len32. */
    uint8_t kpre[3] = {0x99, (uint8_t)(kn >> 8), (uint8_t)kn};
    uint8_t upre[5] = {0xB4, (uint8_t)(uidlen >> 24), (uint8_t)(uidlen >> 16), (uint8_t)(uidlen >> 8),
                       (uint8_t)uidlen};
    size_t tlen = sizeof head + sizeof hashed;
    uint8_t trailer[6] = {
        4, 0xFF, (uint8_t)(tlen >> 24), (uint8_t)(tlen >> 16), (uint8_t)(tlen >> 8), (uint8_t)tlen};
    unsigned dlen = 0;
    h = EVP_MD_CTX_new();
    if (!h || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(h, kpre, 3) != 1 ||
        EVP_DigestUpdate(h, kb, kn) != 1 || EVP_DigestUpdate(h, upre, 5) != 1 ||
        EVP_DigestUpdate(h, uid, uidlen) != 1 || EVP_DigestUpdate(h, head, sizeof head) != 1 ||
        EVP_DigestUpdate(h, hashed, sizeof hashed) != 1 || EVP_DigestUpdate(h, trailer, 6) != 1 ||
        EVP_DigestFinal_ex(h, digest, &dlen) != 1 || dlen != 32)
        goto out;
    /* OpenPGP's (legacy) EdDSA signs the digest as the message (RFC 9580 5.2.3.3). */
    if (sign_ed25519(seed, digest, 32, sig) < 0)
        goto out;

    uint8_t body[sizeof head + sizeof hashed + 2 + sizeof unhashed + 2 + 2 * 34];
    size_t bl = 0;
    memcpy(body, head, sizeof head), bl += sizeof head;
    memcpy(body + bl, hashed, sizeof hashed), bl += sizeof hashed;
    body[bl++] = 0, body[bl++] = sizeof unhashed;
    memcpy(body + bl, unhashed, sizeof unhashed), bl += sizeof unhashed;
    body[bl++] = digest[0], body[bl++] = digest[1];
    bl += put_mpi(body + bl, sig, 32);
    bl += put_mpi(body + bl, sig + 32, 32);

    /* Key packet, user ID, certification: librnp merges the new signature into the key. */
    size_t cap = 6 + kn + 6 + uidlen + 6 + bl, n = 0;
    if (!(stream = malloc(cap)))
        goto out;
    n += put_header(stream + n, 6, kn);
    memcpy(stream + n, kb, kn), n += kn;
    n += put_header(stream + n, 13, uidlen);
    memcpy(stream + n, uid, uidlen), n += uidlen;
    n += put_header(stream + n, 2, bl);
    memcpy(stream + n, body, bl), n += bl;
    rc = sg_pgp_load(p, stream, n);
out:
    OPENSSL_cleanse(seed, sizeof seed);
    EVP_MD_CTX_free(h);
    sg_pgp_free_secret(sec, seclen);
    free(pub);
    free(stream);
    return rc;
}
