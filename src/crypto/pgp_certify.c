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
#include "crypto/pgp_packet.h"

enum { ALG_EDDSA = 22, HASH_SHA256 = 8, SIG_GENERIC_CERT = 0x10 };
static const uint8_t ed25519_oid[] = {0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01};

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
    if (strlen(signer_fpr) != 40 || sg_pgp_hexbytes(signer_fpr, fprb, 20) < 0 || uidlen > 4096)
        return -1;
    if (sg_pgp_export(p, fpr, 0, &pub, &publen) < 0 || sg_pgp_first_packet(pub, publen, &tag, &kb, &kn) < 0 ||
        tag != 6 || kn > 0xffff)
        goto out;
    if (sg_pgp_export(signer, signer_fpr, SG_PGP_EXPORT_SECRET, &sec, &seclen) < 0 ||
        sg_pgp_first_packet(sec, seclen, &tag, &sb, &sn) < 0 || tag != 5 || ed25519_seed(sb, sn, seed) < 0)
        goto out;

    sg_pgp_sig sg;
    sg_pgp_sig_init(&sg, SIG_GENERIC_CERT, ALG_EDDSA, HASH_SHA256, (uint32_t)time(NULL), fprb);

    /* RFC 4880 5.2.4: key packet as 0x99 len16 body, user ID as 0xB4 len32 body, then the
     * signature's hashed part and the v4 trailer 0x04 0xFF len32. */
    uint8_t kpre[3] = {0x99, (uint8_t)(kn >> 8), (uint8_t)kn};
    uint8_t upre[5] = {0xB4, (uint8_t)(uidlen >> 24), (uint8_t)(uidlen >> 16), (uint8_t)(uidlen >> 8),
                       (uint8_t)uidlen};
    unsigned dlen = 0;
    h = EVP_MD_CTX_new();
    if (!h || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(h, kpre, 3) != 1 ||
        EVP_DigestUpdate(h, kb, kn) != 1 || EVP_DigestUpdate(h, upre, 5) != 1 ||
        EVP_DigestUpdate(h, uid, uidlen) != 1 || EVP_DigestUpdate(h, sg.head, sizeof sg.head) != 1 ||
        EVP_DigestUpdate(h, sg.trailer, sizeof sg.trailer) != 1 ||
        EVP_DigestFinal_ex(h, digest, &dlen) != 1 || dlen != 32)
        goto out;
    /* OpenPGP's (legacy) EdDSA signs the digest as the message (RFC 9580 5.2.3.3). */
    if (sign_ed25519(seed, digest, 32, sig) < 0)
        goto out;

    uint8_t body[sizeof sg.head + sizeof sg.unhashed + 2 + 2 * 34];
    size_t bl = sg_pgp_sig_body(&sg, digest, body);
    bl += sg_pgp_put_mpi(body + bl, sig, 32);
    bl += sg_pgp_put_mpi(body + bl, sig + 32, 32);

    /* Key packet, user ID, certification: librnp merges the new signature into the key. */
    size_t cap = 6 + kn + 6 + uidlen + 6 + bl, n = 0;
    if (!(stream = malloc(cap)))
        goto out;
    n += sg_pgp_put_header(stream + n, 6, kn);
    memcpy(stream + n, kb, kn), n += kn;
    n += sg_pgp_put_header(stream + n, 13, uidlen);
    memcpy(stream + n, uid, uidlen), n += uidlen;
    n += sg_pgp_put_header(stream + n, 2, bl);
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
