/* merkle.c - RFC 9162 section 2.1 Merkle tree hashing (merkle.h). Owner: src/audit (issue 14).
 * The recursive definitions are followed literally (MTH, PATH, SUBPROOF) rather than
 * optimised: proofs are asked for one at a time, and `audit verify` recomputes the tree once
 * through the frontier, which is linear. SECURITY: see merkle.h (domain separation). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "audit/merkle.h"

void sg_merkle_leaf(const void *data, size_t len, sg_mhash out)
{
    static const uint8_t p = 0x00;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    /* SHA-256 cannot fail on memory input; a context that cannot be had is out of memory. */
    if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(c, &p, 1) != 1 ||
        EVP_DigestUpdate(c, data, len) != 1 || EVP_DigestFinal_ex(c, out, NULL) != 1)
        abort();
    EVP_MD_CTX_free(c);
}

void sg_merkle_node(const sg_mhash left, const sg_mhash right, sg_mhash out)
{
    uint8_t buf[1 + 2 * SG_MERKLE_HASH];
    buf[0] = 0x01;
    memcpy(buf + 1, left, SG_MERKLE_HASH);
    memcpy(buf + 1 + SG_MERKLE_HASH, right, SG_MERKLE_HASH);
    SHA256(buf, sizeof buf, out);
}

/* The largest power of two smaller than n (n > 1). */
static uint64_t split(uint64_t n)
{
    uint64_t k = 1;
    while (k << 1 < n)
        k <<= 1;
    return k;
}

void sg_merkle_root(const sg_mhash *leaves, uint64_t n, sg_mhash out)
{
    if (n == 0) {
        SHA256((const uint8_t *)"", 0, out);
        return;
    }
    if (n == 1) {
        memcpy(out, leaves[0], SG_MERKLE_HASH);
        return;
    }
    uint64_t k = split(n);
    sg_mhash l, r;
    sg_merkle_root(leaves, k, l);
    sg_merkle_root(leaves + k, n - k, r);
    sg_merkle_node(l, r, out);
}

size_t sg_merkle_frontier_push(sg_mhash *f, size_t count, uint64_t n, const sg_mhash leaf)
{
    memcpy(f[count++], leaf, SG_MERKLE_HASH);
    /* Each trailing one bit of n is a perfect subtree of the same size as the one just
     * completed: merge them, as a binary counter carries. */
    for (uint64_t m = n; (m & 1) && count >= 2; m >>= 1) {
        sg_merkle_node(f[count - 2], f[count - 1], f[count - 2]);
        count--;
    }
    return count;
}

void sg_merkle_frontier_root(const sg_mhash *f, size_t count, sg_mhash out)
{
    if (count == 0) {
        SHA256((const uint8_t *)"", 0, out);
        return;
    }
    sg_mhash r;
    memcpy(r, f[count - 1], SG_MERKLE_HASH);
    for (size_t i = count - 1; i-- > 0;)
        sg_merkle_node(f[i], r, r);
    memcpy(out, r, SG_MERKLE_HASH);
}

static int path(const sg_mhash *d, uint64_t n, uint64_t m, sg_mhash *proof)
{
    if (n == 1)
        return 0;
    uint64_t k = split(n);
    int len;
    if (m < k) {
        len = path(d, k, m, proof);
        sg_merkle_root(d + k, n - k, proof[len]);
    } else {
        len = path(d + k, n - k, m - k, proof);
        sg_merkle_root(d, k, proof[len]);
    }
    return len + 1;
}

int sg_merkle_inclusion(const sg_mhash *leaves, uint64_t n, uint64_t m, sg_mhash *proof)
{
    return m < n ? path(leaves, n, m, proof) : -1;
}

static int subproof(const sg_mhash *d, uint64_t n, uint64_t m, bool b, sg_mhash *proof)
{
    if (m == n) {
        if (b)
            return 0;
        sg_merkle_root(d, n, proof[0]);
        return 1;
    }
    uint64_t k = split(n);
    int len;
    if (m <= k) {
        len = subproof(d, k, m, b, proof);
        sg_merkle_root(d + k, n - k, proof[len]);
    } else {
        len = subproof(d + k, n - k, m - k, false, proof);
        sg_merkle_root(d, k, proof[len]);
    }
    return len + 1;
}

int sg_merkle_consistency(const sg_mhash *leaves, uint64_t n, uint64_t m, sg_mhash *proof)
{
    return m > 0 && m <= n ? subproof(leaves, n, m, true, proof) : -1;
}

bool sg_merkle_verify_inclusion(uint64_t index, uint64_t size, const sg_mhash leaf, const sg_mhash *proof,
                                size_t len, const sg_mhash root)
{
    if (index >= size)
        return false;
    uint64_t fn = index, sn = size - 1;
    sg_mhash r;
    memcpy(r, leaf, SG_MERKLE_HASH);
    for (size_t i = 0; i < len; i++) {
        if (sn == 0)
            return false;
        if ((fn & 1) || fn == sn) {
            sg_merkle_node(proof[i], r, r);
            if (!(fn & 1))
                while (fn != 0 && !(fn & 1)) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            sg_merkle_node(r, proof[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(r, root, SG_MERKLE_HASH) == 0;
}

bool sg_merkle_verify_consistency(uint64_t m, uint64_t n, const sg_mhash old_root, const sg_mhash new_root,
                                  const sg_mhash *proof, size_t len)
{
    if (m == 0 || m > n)
        return false;
    if (m == n)
        return len == 0 && memcmp(old_root, new_root, SG_MERKLE_HASH) == 0;
    if (len == 0)
        return false;
    /* RFC 9162 2.1.4.2: when m is a power of two the old root is the first node. */
    sg_mhash first;
    size_t i = 0;
    if ((m & (m - 1)) == 0)
        memcpy(first, old_root, SG_MERKLE_HASH);
    else
        memcpy(first, proof[i++], SG_MERKLE_HASH);
    uint64_t fn = m - 1, sn = n - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    sg_mhash fr, sr;
    memcpy(fr, first, SG_MERKLE_HASH);
    memcpy(sr, first, SG_MERKLE_HASH);
    for (; i < len; i++) {
        if (sn == 0)
            return false;
        if ((fn & 1) || fn == sn) {
            sg_merkle_node(proof[i], fr, fr);
            sg_merkle_node(proof[i], sr, sr);
            if (!(fn & 1))
                while (fn != 0 && !(fn & 1)) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            sg_merkle_node(sr, proof[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(fr, old_root, SG_MERKLE_HASH) == 0 && memcmp(sr, new_root, SG_MERKLE_HASH) == 0;
}
