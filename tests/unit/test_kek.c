/* test_kek.c - the key-encryption key: file creation and modes, AES-256-GCM wrap/unwrap, and
 * that any tampering (nonce, ciphertext, tag, AAD, KEK) fails. Owner: src/crypto. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "crypto/kek.h"

static const char aad[] = "0123456789ABCDEF0123456789ABCDEF01234567";

static int unwrap_ok(const sg_kek *k, const char *a, const uint8_t *w, size_t wlen)
{
    uint8_t *pt = NULL;
    size_t len = 0;
    int rc = sg_kek_unwrap(k, a, w, wlen, &pt, &len);
    sg_kek_free_plain(pt, len);
    return rc == 0;
}

static void test_file(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/keys/kek", dir);
    CHECK(sg_kek_create(path) == 1, "KEK created when absent");
    struct stat st, dst;
    char kdir[512];
    snprintf(kdir, sizeof kdir, "%s/keys", dir);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == SG_KEK_LEN,
          "KEK file is 0600 and 32 bytes (mode %o)", st.st_mode & 0777);
    CHECK(stat(kdir, &dst) == 0 && (dst.st_mode & 0777) == 0700, "keys directory is 0700 (%o)",
          dst.st_mode & 0777);
    sg_kek a, b;
    CHECK(sg_kek_load(path, &a) == 0, "KEK loads");
    CHECK(sg_kek_create(path) == 0 && sg_kek_load(path, &b) == 0 && memcmp(a.key, b.key, SG_KEK_LEN) == 0,
          "second create keeps the existing KEK");
    chmod(path, 0640);
    CHECK(sg_kek_load(path, &b) < 0 && errno == EPERM, "a KEK readable by the group is refused");
    chmod(path, 0600);
    CHECK(sg_kek_ensure(dir, "nobody", "nogroup") == 0 && sg_kek_load(path, &b) == 0 &&
              memcmp(a.key, b.key, SG_KEK_LEN) == 0,
          "sg_kek_ensure keeps an existing KEK");
    char other[512];
    snprintf(other, sizeof other, "%s/short", dir);
    FILE *f = fopen(other, "w");
    fputs("short", f);
    fclose(f);
    chmod(other, 0600);
    CHECK(sg_kek_load(other, &b) < 0 && errno == EINVAL, "a KEK of the wrong size is refused");
    unlink(other);
}

static void test_wrap(void)
{
    sg_kek k, k2;
    for (int i = 0; i < SG_KEK_LEN; i++) {
        k.key[i] = (uint8_t)i;
        k2.key[i] = (uint8_t)(i + 1);
    }
    uint8_t pt[100];
    for (size_t i = 0; i < sizeof pt; i++)
        pt[i] = (uint8_t)(i * 7);
    uint8_t *w = NULL, *w2 = NULL, *out = NULL;
    size_t wlen = 0, w2len = 0, olen = 0;
    CHECK(sg_kek_wrap(&k, aad, pt, sizeof pt, &w, &wlen) == 0 && wlen == sizeof pt + SG_KEK_OVERHEAD,
          "wrap adds nonce and tag");
    CHECK(sg_kek_unwrap(&k, aad, w, wlen, &out, &olen) == 0 && olen == sizeof pt &&
              memcmp(out, pt, olen) == 0,
          "unwrap returns the plaintext");
    sg_kek_free_plain(out, olen);
    CHECK(memmem(w, wlen, pt + 10, 16) == NULL, "wrapped bytes do not contain the plaintext");
    CHECK(sg_kek_wrap(&k, aad, pt, sizeof pt, &w2, &w2len) == 0 && memcmp(w, w2, SG_KEK_NONCE_LEN) != 0 &&
              memcmp(w + SG_KEK_NONCE_LEN, w2 + SG_KEK_NONCE_LEN, 16) != 0,
          "each wrap uses a fresh nonce");
    free(w2);
    /* Every single-bit flip anywhere (nonce, ciphertext, tag) must fail. */
    int nonce_ok = 0, ct_ok = 0, tag_ok = 0;
    for (size_t i = 0; i < wlen; i++)
        for (int bit = 0; bit < 8; bit++) {
            w[i] ^= (uint8_t)(1u << bit);
            int ok = unwrap_ok(&k, aad, w, wlen);
            w[i] ^= (uint8_t)(1u << bit);
            if (i < SG_KEK_NONCE_LEN)
                nonce_ok += ok;
            else if (i < wlen - SG_KEK_TAG_LEN)
                ct_ok += ok;
            else
                tag_ok += ok;
        }
    CHECK(nonce_ok == 0, "any flipped bit in the nonce fails");
    CHECK(ct_ok == 0, "any flipped bit in the ciphertext fails");
    CHECK(tag_ok == 0, "any flipped bit in the tag fails");
    int aad_ok = 0;
    char a2[sizeof aad];
    for (size_t i = 0; i < strlen(aad); i++)
        for (int bit = 0; bit < 7; bit++) {
            memcpy(a2, aad, sizeof aad);
            a2[i] ^= (char)(1 << bit);
            aad_ok += unwrap_ok(&k, a2, w, wlen);
        }
    CHECK(aad_ok == 0, "any flipped bit in the AAD (fingerprint) fails");
    CHECK(!unwrap_ok(&k, "0123456789ABCDEF0123456789ABCDEF0123456", w, wlen), "a shorter AAD fails");
    CHECK(!unwrap_ok(&k2, aad, w, wlen), "another KEK fails");
    CHECK(!unwrap_ok(&k, aad, w, wlen - 1) && !unwrap_ok(&k, aad, w, SG_KEK_OVERHEAD - 1),
          "truncated input fails");
    CHECK(unwrap_ok(&k, aad, w, wlen), "the untouched wrap still unwraps");
    free(w);
    CHECK(sg_kek_wrap(&k, aad, pt, 0, &w, &wlen) == 0 && wlen == SG_KEK_OVERHEAD &&
              sg_kek_unwrap(&k, aad, w, wlen, &out, &olen) == 0 && olen == 0,
          "empty plaintext round-trips");
    sg_kek_free_plain(out, olen);
    free(w);
    sg_kek_wipe(&k);
    uint8_t zero[SG_KEK_LEN] = {0};
    CHECK(memcmp(k.key, zero, SG_KEK_LEN) == 0, "wipe clears the key");
}

/* A process that loaded a KEK two rotations ago: the file has the key after it, kek.new the one
 * the rows are under now (a rotation killed between commit and rename). */
static void test_fresh(const char *dir)
{
    char path[512], next[520];
    snprintf(path, sizeof path, "%s/fresh/kek", dir);
    snprintf(next, sizeof next, "%s.new", path);
    sg_kek stale, file, now, mine;
    memset(stale.key, 1, SG_KEK_LEN);
    memset(file.key, 2, SG_KEK_LEN);
    memset(now.key, 3, SG_KEK_LEN);
    uint8_t *w = NULL, *pt = NULL;
    size_t wlen = 0, ptlen = 0;
    CHECK(sg_kek_wrap(&now, aad, (const uint8_t *)"secret", 6, &w, &wlen) == 0,
          "wrapped under the newest KEK");
    CHECK(sg_kek_write(path, &file, "nobody", "nogroup") == 0, "sg_kek_write writes the KEK file");
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == SG_KEK_LEN, "0600, 32 bytes");
    mine = stale;
    CHECK(sg_kek_unwrap_fresh(&mine, path, aad, w, wlen, &pt, &ptlen) < 0 &&
              memcmp(&mine, &stale, sizeof mine) == 0,
          "neither the key held nor the file opens it, no kek.new: fails, the key held is kept");
    CHECK(sg_kek_write(next, &now, NULL, NULL) == 0, "kek.new written");
    CHECK(sg_kek_unwrap_fresh(&mine, path, aad, w, wlen, &pt, &ptlen) == 0 && ptlen == 6 &&
              memcmp(pt, "secret", 6) == 0 && memcmp(&mine, &now, sizeof mine) == 0,
          "a key two rotations old: the file is tried, then kek.new, which opens it and is kept");
    sg_kek_free_plain(pt, ptlen);
    free(w);
}

int main(void)
{
    char dir[] = "/tmp/sg-test-kek-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    test_file(dir);
    test_wrap();
    test_fresh(dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
