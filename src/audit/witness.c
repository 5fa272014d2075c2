/* witness.c - cosignatures and the witness's judgement (witness.h). Owner: src/audit (issue 14).
 * SECURITY: see witness.h; the line parser checks every length before it reads. */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "audit/witness.h"

#define DASH "\xe2\x80\x94"
#define COSIG_RAW (4 + 8 + 64)

static int fail(char *why, size_t whylen, const char *msg)
{
    snprintf(why, whylen, "%s", msg);
    return -1;
}

static void cosig_keyid(const char *witness, const uint8_t pub[32], uint8_t id[4])
{
    uint8_t buf[SG_CKPT_ORIGIN_MAX + 34], d[32];
    size_t n = strnlen(witness, SG_CKPT_ORIGIN_MAX - 1);
    memcpy(buf, witness, n);
    buf[n] = '\n';
    buf[n + 1] = 0x04; /* Ed25519 cosignature (C2SP tlog-cosignature) */
    memcpy(buf + n + 2, pub, 32);
    SHA256(buf, n + 34, d);
    memcpy(id, d, 4);
}

/* The signed message: "cosignature/v1\ntime TS\n" and the note's body. */
static int message(const char *note, const sg_checkpoint *c, uint64_t ts, char *out, size_t cap)
{
    int n = snprintf(out, cap, "cosignature/v1\ntime %llu\n", (unsigned long long)ts);
    if (n < 0 || (size_t)n + c->body_len >= cap)
        return -1;
    memcpy(out + n, note, c->body_len);
    return n + (int)c->body_len;
}

int sg_cosig_make(const char *base_dir, const char *witness, const uint8_t pub[32], const char *note,
                  const sg_checkpoint *c, uint64_t ts, char *line, size_t linelen, char *why, size_t whylen)
{
    char msg[2048];
    uint8_t raw[COSIG_RAW];
    int n = message(note, c, ts, msg, sizeof msg);
    if (n < 0)
        return fail(why, whylen, "checkpoint too long");
    cosig_keyid(witness, pub, raw);
    for (int i = 0; i < 8; i++)
        raw[4 + i] = (uint8_t)(ts >> (56 - 8 * i));
    if (sg_audit_sign(base_dir, msg, (size_t)n, raw + 12, why, whylen) < 0)
        return -1;
    char b64[120];
    EVP_EncodeBlock((unsigned char *)b64, raw, sizeof raw);
    int w = snprintf(line, linelen, DASH " %s %s\n", witness, b64);
    return w < 0 || (size_t)w >= linelen ? fail(why, whylen, "cosignature too long") : 0;
}

bool sg_cosig_check(const char *line, size_t len, const char *witness, const uint8_t pub[32], const char *note,
                    const sg_checkpoint *c, uint64_t *ts, char *why, size_t whylen)
{
    size_t wl = strlen(witness), dl = sizeof DASH - 1;
    if (len && line[len - 1] == '\n')
        len--;
    if (len < dl + 2 + wl + 1 || memcmp(line, DASH " ", dl + 1) != 0 || memcmp(line + dl + 1, witness, wl) != 0 ||
        line[dl + 1 + wl] != ' ') {
        fail(why, whylen, "cosignature: not a line of this witness");
        return false;
    }
    const char *b = line + dl + 2 + wl;
    uint8_t raw[COSIG_RAW], id[4];
    if (sg_audit_b64_decode(b, len - (size_t)(b - line), raw, sizeof raw) < 0) {
        fail(why, whylen, "cosignature: bad encoding");
        return false;
    }
    cosig_keyid(witness, pub, id);
    if (memcmp(id, raw, 4) != 0) {
        fail(why, whylen, "cosignature: another key");
        return false;
    }
    uint64_t t = 0;
    for (int i = 0; i < 8; i++)
        t = t << 8 | raw[4 + i];
    char msg[2048];
    int n = message(note, c, t, msg, sizeof msg);
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    bool ok = n > 0 && k && m && EVP_DigestVerifyInit(m, NULL, NULL, NULL, k) == 1 &&
              EVP_DigestVerify(m, raw + 12, 64, (const unsigned char *)msg, (size_t)n) == 1;
    EVP_MD_CTX_free(m);
    EVP_PKEY_free(k);
    if (!ok)
        fail(why, whylen, "cosignature: bad signature");
    else
        *ts = t;
    return ok;
}

int sg_witness_judge(const sg_checkpoint *prev, const sg_checkpoint *next, const sg_mhash *proof, size_t plen,
                     char *why, size_t whylen)
{
    if (!prev || prev->size == 0) {
        snprintf(why, whylen, "first checkpoint seen (size %llu)", (unsigned long long)next->size);
        return SG_WITNESS_NEW;
    }
    bool same_root = memcmp(prev->root, next->root, SG_MERKLE_HASH) == 0;
    if (next->size == prev->size) {
        snprintf(why, whylen, same_root ? "the same tree (size %llu)" : "two different trees of size %llu",
                 (unsigned long long)next->size);
        return same_root ? SG_WITNESS_SAME : SG_WITNESS_FORK;
    }
    const sg_checkpoint *small = next->size < prev->size ? next : prev, *large = small == next ? prev : next;
    if (small->size == 0 || !sg_merkle_verify_consistency(small->size, large->size, small->root, large->root, proof, plen)) {
        snprintf(why, whylen, "no valid consistency proof between sizes %llu and %llu",
                 (unsigned long long)small->size, (unsigned long long)large->size);
        return SG_WITNESS_FORK;
    }
    snprintf(why, whylen, "consistent: %llu -> %llu", (unsigned long long)prev->size, (unsigned long long)next->size);
    return next->size > prev->size ? SG_WITNESS_NEW : SG_WITNESS_STALE;
}
