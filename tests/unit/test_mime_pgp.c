/* test_mime_pgp.c - src/engine/pgp/pgp_ops.c with a real keystore: sign+encrypt then decrypt+verify
 * round trip (bytes exact), recipients matched to held keys, no key, tampered ciphertext held
 * back, signatures judged against From. Owner: src/crypto (PGP/MIME). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "engine/pgp/pgp_ops.h"
#include "mime/mime.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
    char dir[] = "/tmp/sg-test-pgpmime-XXXXXX", path[256], kek[256], err[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/store.db", dir);
    snprintf(kek, sizeof kek, "%s/keys/kek", dir);
    sg_store *st = sg_store_open(path, err, sizeof err);
    sg_keystore *ks = st ? sg_keystore_open(st, kek, SG_KS_CREATE_KEK) : NULL;
    CHECK(ks != NULL, "keystore opened");
    if (!ks)
        return CHECK_DONE();
    sg_pgp_ops_keys k = {.ks = ks, .lock = &lock};
    char alice[SG_PGP_FPR_LEN + 1], bob[SG_PGP_FPR_LEN + 1], carol[SG_PGP_FPR_LEN + 1];
    CHECK(sg_keystore_generate(ks, "alice@demo.test", "ed25519", 0, NULL, alice) == 0 &&
              sg_keystore_generate(ks, "Bob <bob@example.net>", "ed25519", 0, NULL, bob) == 0 &&
              sg_keystore_generate(ks, "carol@example.org", "ed25519", 0, NULL, carol) == 0,
          "three keys generated");

    const char text[] = "Content-Type: text/plain\r\n\r\nexact bytes  \r\n\x01 and more\r\n";
    char rcpts[2][SG_PGP_FPR_LEN + 1];
    memcpy(rcpts[0], bob, sizeof bob);
    memcpy(rcpts[1], carol, sizeof carol);
    char *arm = NULL;
    size_t alen = 0;
    CHECK(sg_pgp_ops_encrypt(&k, alice, rcpts, 2, text, sizeof text - 1, &arm, &alen, err, sizeof err) == 0 &&
              strncmp(arm, "-----BEGIN PGP MESSAGE-----", 27) == 0,
          "sign+encrypt to two recipients, armored");

    char cands[2][SG_PGP_FPR_LEN + 1];
    memcpy(cands[0], bob, sizeof bob);
    sg_pgp_decrypted d;

    /* Compression only when configured: 64 KB of repeated text shrinks only with it. */
    static char zbig[65536];
    memset(zbig, 'a', sizeof zbig);
    memcpy(zbig, "Content-Type: text/plain\r\n\r\n", 28);
    char *plainarm = NULL, *ziparm = NULL;
    size_t plainlen = 0, ziplen = 0;
    sg_pgp_ops_keys kz = k;
    kz.compress = 6;
    CHECK(sg_pgp_ops_encrypt(&k, alice, rcpts, 1, zbig, sizeof zbig, &plainarm, &plainlen, err, sizeof err) == 0 &&
              sg_pgp_ops_encrypt(&kz, alice, rcpts, 1, zbig, sizeof zbig, &ziparm, &ziplen, err, sizeof err) == 0,
          "sign+encrypt with and without compression");
    CHECK(plainlen > sizeof zbig && ziplen < sizeof zbig / 10,
          "not compressed by default (%zu bytes), ZLIB when configured (%zu bytes)", plainlen, ziplen);
    CHECK(sg_pgp_ops_decrypt(&k, cands, 1, "alice@demo.test", ziparm, ziplen, 0, &d) == 0 && d.status == SG_DEC_OK &&
              d.plainlen == sizeof zbig && memcmp(d.plain, zbig, sizeof zbig) == 0 && d.v.sig == SG_SIG_VALID,
          "the compressed message decrypts to the same bytes, signature valid");
    sg_pgp_decrypted_free(&d);
    free(plainarm);
    free(ziparm);
    CHECK(sg_pgp_ops_decrypt(&k, cands, 1, "alice@demo.test", arm, alen, 0, &d) == 0 && d.status == SG_DEC_OK,
          "bob decrypts");
    CHECK(d.plainlen == sizeof text - 1 && memcmp(d.plain, text, d.plainlen) == 0, "plaintext byte for byte");
    CHECK(d.nhits == 1 && strcmp(d.hits[0], bob) == 0, "the message is reported as encrypted to bob's key");
    CHECK(d.v.sig == SG_SIG_VALID && strcmp(d.v.signer, alice) == 0 && d.v.from_match,
          "alice's signature valid, bound to From");
    sg_pgp_decrypted_free(&d);

    CHECK(sg_pgp_ops_decrypt(&k, cands, 1, "mallory@demo.test", arm, alen, 0, &d) == 0 &&
              d.status == SG_DEC_OK && d.v.sig == SG_SIG_INVALID && !d.v.from_match,
          "a From other than the signer's address: signature not counted (%s)", d.v.reason);
    sg_pgp_decrypted_free(&d);

    CHECK(sg_pgp_ops_decrypt(&k, cands, 0, "alice@demo.test", arm, alen, 0, &d) == 0 &&
              d.status == SG_DEC_NO_KEY && d.plain == NULL,
          "no candidate key: no-key, no plaintext");
    sg_pgp_decrypted_free(&d);
    memcpy(cands[0], alice, sizeof alice);
    CHECK(sg_pgp_ops_decrypt(&k, cands, 1, "alice@demo.test", arm, alen, 0, &d) == 0 &&
              d.status == SG_DEC_NO_KEY && d.nhits == 0,
          "a held key the message is not encrypted to: no-key");
    sg_pgp_decrypted_free(&d);

    /* Flip one base64 character in the middle of the armored body: the stream no longer
     * decrypts to what was sent, and no plaintext may come out. */
    char *bad = strdup(arm);
    char *mid = bad + alen / 2;
    while (*mid == '\n' || *mid == '\r' || *mid == '=')
        mid++;
    *mid = *mid == 'A' ? 'B' : 'A';
    memcpy(cands[0], bob, sizeof bob);
    int rc = sg_pgp_ops_decrypt(&k, cands, 1, "alice@demo.test", bad, alen, 0, &d);
    CHECK(rc == 0 && d.status != SG_DEC_OK && d.plain == NULL,
          "tampered ciphertext: no plaintext (status %d, %s)", d.status, d.reason);
    sg_pgp_decrypted_free(&d);
    free(bad);

    char *big = malloc(200000);
    memset(big, 'z', 200000);
    free(arm);
    arm = NULL;
    CHECK(sg_pgp_ops_encrypt(&k, alice, rcpts, 1, big, 200000, &arm, &alen, err, sizeof err) == 0 &&
              sg_pgp_ops_decrypt(&k, cands, 1, "alice@demo.test", arm, alen, 100000, &d) == 0 &&
              d.status == SG_DEC_TOO_LARGE && d.plain == NULL,
          "plaintext over the limit: too-large, no plaintext (%s)", d.reason);
    sg_pgp_decrypted_free(&d);
    free(big);


    sg_pgp_verdict v;
    CHECK(sg_pgp_ops_verify_detached(&k, "alice@demo.test", "x", 1, "not a signature", 15, &v) == 0 &&
              v.sig == SG_SIG_INVALID,
          "garbage detached signature: invalid");
    free(arm);
    sg_keystore_close(ks);
    sg_store_close(st);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return CHECK_DONE();
}
