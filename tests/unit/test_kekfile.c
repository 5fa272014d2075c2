/* test_kekfile.c - the passphrase-wrapped KEK file (crypto/kekfile.h): round trip, every
 * truncation and padding, wrong passphrase, every flipped byte, and headers with a recomputed
 * digest (unknown version, out-of-bounds argon2 cost, changed salt). Owner: src/crypto. */
#include <openssl/evp.h>
#include <string.h>

#include "check.h"
#include "crypto/kekfile.h"

/* Cheap argon2 cost so the test runs in milliseconds; the format is the same. */
static const sg_kekfile_params cheap = {1, 64, 1};
static const char pass[] = "correct horse battery staple";

static void redigest(uint8_t f[SG_KEKFILE_LEN])
{
    unsigned int n = 0;
    EVP_Digest(f, 100, f + 100, &n, EVP_sha256(), NULL);
}

static sg_kekfile_status open_with(const uint8_t *f, size_t len, const char *p)
{
    sg_kek k;
    memset(&k, 0xAA, sizeof k);
    sg_kekfile_status st = sg_kekfile_open(f, len, p, strlen(p), &k);
    if (st == SG_KEKFILE_PASSPHRASE) {
        static const uint8_t zero[SG_KEK_LEN];
        CHECK(memcmp(k.key, zero, SG_KEK_LEN) == 0, "a failed tag leaves no decrypted bytes behind");
    }
    return st;
}

int main(void)
{
    sg_kek kek, back;
    for (int i = 0; i < SG_KEK_LEN; i++)
        kek.key[i] = (uint8_t)(i * 7 + 1);
    uint8_t f[SG_KEKFILE_LEN + 1];
    CHECK(sg_kekfile_seal(&kek, pass, strlen(pass), &cheap, f) == 0, "sealed");
    CHECK(memcmp(f, SG_KEKFILE_MAGIC, 8) == 0, "file starts with the magic");
    CHECK(sg_kekfile_open(f, SG_KEKFILE_LEN, pass, strlen(pass), &back) == SG_KEKFILE_OK &&
              memcmp(back.key, kek.key, SG_KEK_LEN) == 0,
          "round trip gives the KEK back");
    uint8_t g[SG_KEKFILE_LEN];
    CHECK(sg_kekfile_seal(&kek, pass, strlen(pass), &cheap, g) == 0 && memcmp(f + 24, g + 24, 28) != 0,
          "two seals of one KEK differ in salt and nonce");
    sg_kekfile_params p;
    CHECK(sg_kekfile_parse(f, SG_KEKFILE_LEN, &p) == SG_KEKFILE_OK && p.t_cost == 1 && p.m_cost_kib == 64 &&
              p.parallelism == 1,
          "parameters are read back from the file");
    CHECK(sg_kekfile_seal(&kek, pass, strlen(pass), &(sg_kekfile_params){1, 4, 1}, g) < 0,
          "sealing with parameters below argon2's minimum is refused");

    CHECK(open_with(f, SG_KEKFILE_LEN, "correct horse battery stapl") == SG_KEKFILE_PASSPHRASE,
          "a wrong passphrase is told as such");
    CHECK(open_with(f, SG_KEKFILE_LEN, "") == SG_KEKFILE_PASSPHRASE, "an empty passphrase is a wrong one");

    int trunc_ok = 1;
    for (size_t n = 0; n < SG_KEKFILE_LEN; n++)
        if (sg_kekfile_parse(f, n, &p) != SG_KEKFILE_TRUNCATED) {
            trunc_ok = 0;
            printf("# length %zu: %d\n", n, sg_kekfile_parse(f, n, &p));
        }
    CHECK(trunc_ok, "every truncation (0..%d bytes) is reported as truncated", SG_KEKFILE_LEN - 1);
    f[SG_KEKFILE_LEN] = 0;
    CHECK(sg_kekfile_parse(f, SG_KEKFILE_LEN + 1, &p) == SG_KEKFILE_TRUNCATED, "a trailing byte is refused");

    int flip_ok = 1;
    for (size_t i = 0; i < SG_KEKFILE_LEN; i++) {
        f[i] ^= 0x01;
        sg_kekfile_status st = sg_kekfile_parse(f, SG_KEKFILE_LEN, &p);
        sg_kekfile_status want = i < 8 ? SG_KEKFILE_NOT_KEKFILE : SG_KEKFILE_CORRUPT;
        if (st != want) {
            flip_ok = 0;
            printf("# byte %zu flipped: %d\n", i, st);
        }
        f[i] ^= 0x01;
    }
    CHECK(flip_ok, "a flipped bit in any byte is 'corrupt' (or 'not a KEK file' in the magic), never "
                   "'wrong passphrase'");
    CHECK(open_with(f, SG_KEKFILE_LEN, pass) == SG_KEKFILE_OK, "the file is intact again after the flips");

    memcpy(g, f, SG_KEKFILE_LEN);
    g[8] = 2;
    redigest(g);
    CHECK(sg_kekfile_parse(g, SG_KEKFILE_LEN, &p) == SG_KEKFILE_VERSION,
          "an unknown version is refused as such");
    memcpy(g, f, SG_KEKFILE_LEN);
    g[16] = 0x7f; /* m_cost far above 1 GiB */
    redigest(g);
    CHECK(sg_kekfile_parse(g, SG_KEKFILE_LEN, &p) == SG_KEKFILE_PARAMS,
          "an argon2 memory cost beyond the bound is refused before the KDF runs");
    memcpy(g, f, SG_KEKFILE_LEN);
    g[30] ^= 0x40; /* salt */
    redigest(g);
    CHECK(open_with(g, SG_KEKFILE_LEN, pass) == SG_KEKFILE_PASSPHRASE,
          "a changed salt with a recomputed digest fails the tag (the digest is no authentication)");
    memcpy(g, f, SG_KEKFILE_LEN);
    g[60] ^= 0x40; /* ciphertext */
    redigest(g);
    CHECK(open_with(g, SG_KEKFILE_LEN, pass) != SG_KEKFILE_OK, "a changed ciphertext never opens");
    memcpy(g, f, SG_KEKFILE_LEN);
    g[0] = 'X';
    CHECK(sg_kekfile_parse(g, SG_KEKFILE_LEN, &p) == SG_KEKFILE_NOT_KEKFILE &&
              strstr(sg_kekfile_status_text(SG_KEKFILE_NOT_KEKFILE), "not a sealgate KEK file"),
          "another file is 'not a KEK file'");
    CHECK(strstr(sg_kekfile_status_text(SG_KEKFILE_PASSPHRASE), "wrong passphrase") &&
              strstr(sg_kekfile_status_text(SG_KEKFILE_CORRUPT), "corrupt") &&
              strstr(sg_kekfile_status_text(SG_KEKFILE_TRUNCATED), "truncated"),
          "each status has its own sentence");
    return CHECK_DONE();
}
