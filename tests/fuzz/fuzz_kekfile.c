/* fuzz_kekfile.c - libFuzzer target for the passphrase-wrapped KEK file parser
 * (crypto/kekfile.h). Checks beyond "no crash": only a file of exactly SG_KEKFILE_LEN bytes with
 * the magic parses, parsed parameters are within the bounds, and a file that opens (the seed's
 * passphrase) seals again to a file that opens to the same KEK. Opening runs argon2, so it is
 * tried only for cheap parameters. Owner: src/crypto. */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/kekfile.h"

static const char pass[] = "fuzz passphrase";

static int one(const uint8_t *buf, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    one(buf, len);
    /* The digest stops almost every mutation; a copy with the digest made right reaches the
     * checks behind it (version, bounds, the tag). */
    if (len == SG_KEKFILE_LEN) {
        uint8_t f[SG_KEKFILE_LEN];
        unsigned int n = 0;
        memcpy(f, buf, len);
        EVP_Digest(f, 100, f + 100, &n, EVP_sha256(), NULL);
        one(f, len);
    }
    return 0;
}

static int one(const uint8_t *buf, size_t len)
{
    sg_kekfile_params p;
    sg_kekfile_status st = sg_kekfile_parse(buf, len, &p);
    if (st != SG_KEKFILE_OK)
        return 0;
    if (len != SG_KEKFILE_LEN || memcmp(buf, SG_KEKFILE_MAGIC, 8) != 0 || p.t_cost < 1 || p.t_cost > 16 ||
        p.m_cost_kib > 1048576 || p.parallelism < 1)
        abort();
    if (p.t_cost > 2 || p.m_cost_kib > 256)
        return 0;
    sg_kek k, again;
    if (sg_kekfile_open(buf, len, pass, strlen(pass), &k) != SG_KEKFILE_OK)
        return 0;
    uint8_t f[SG_KEKFILE_LEN];
    if (sg_kekfile_seal(&k, pass, strlen(pass), &p, f) != 0 ||
        sg_kekfile_open(f, sizeof f, pass, strlen(pass), &again) != SG_KEKFILE_OK ||
        memcmp(k.key, again.key, SG_KEK_LEN) != 0)
        abort();
    return 0;
}
