/* test_pgpcache.c - the per-thread key cache of sign+encrypt (src/engine/pgp/pgpcache.c): cached
 * keys give the same messages, and a change made through another store connection (as the
 * admin CLI makes it: revoke, delete) is seen at the next message, never hidden by the cache.
 * Owner: src/crypto (PGP/MIME). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/pgp/pgp_ops.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char text[] = "Content-Type: text/plain\r\n\r\ncached keys, same message\r\n";

/* Sign+encrypt with signer to rcpt, then decrypt as rcpt: 1 when the round trip is exact and
 * the signature valid, 0 when encryption failed, -1 when the output was wrong. */
static int round_trip(const sg_pgp_ops_keys *k, const char *signer, const char *rcpt, const char *from)
{
    char to[1][SG_PGP_FPR_LEN + 1], err[256];
    memcpy(to[0], rcpt, SG_PGP_FPR_LEN + 1);
    char *arm = NULL;
    size_t alen = 0;
    if (sg_pgp_ops_encrypt(k, signer, to, 1, text, sizeof text - 1, &arm, &alen, err, sizeof err) < 0)
        return 0;
    sg_pgp_decrypted d;
    int ok = sg_pgp_ops_decrypt(k, to, 1, from, arm, alen, 0, &d) == 0 && d.status == SG_DEC_OK &&
             d.plainlen == sizeof text - 1 && memcmp(d.plain, text, d.plainlen) == 0 &&
             d.v.sig == SG_SIG_VALID && strcmp(d.v.signer, signer) == 0;
    sg_pgp_decrypted_free(&d);
    free(arm);
    return ok ? 1 : -1;
}

typedef struct job {
    const sg_pgp_ops_keys *k;
    const char *signer, *rcpt;
    int ok;
} job;

static void *thread(void *arg)
{
    job *j = arg;
    j->ok = 1;
    for (int i = 0; i < 20 && j->ok; i++)
        j->ok = round_trip(j->k, j->signer, j->rcpt, "alice@demo.test") == 1;
    return NULL; /* the thread's cache is dropped as it ends */
}

int main(void)
{
    char dir[] = "/tmp/sg-test-pgpcache-XXXXXX", path[256], kek[256], err[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/store.db", dir);
    snprintf(kek, sizeof kek, "%s/keys/kek", dir);
    sg_store *st = sg_store_open(path, err, sizeof err);
    sg_keystore *ks = st ? sg_keystore_open(st, kek, SG_KS_CREATE_KEK) : NULL;
    /* A second connection to the same store: what `sealgate key ...` does from another process. */
    sg_store *st2 = sg_store_open(path, err, sizeof err);
    sg_keystore *cli = st2 ? sg_keystore_open(st2, kek, 0) : NULL;
    CHECK(ks && cli, "keystore opened twice");
    if (!ks || !cli)
        return CHECK_DONE();
    sg_pgp_ops_keys k = {.ks = ks, .lock = &lock};
    char alice[SG_PGP_FPR_LEN + 1], bob[SG_PGP_FPR_LEN + 1], carol[SG_PGP_FPR_LEN + 1];
    int64_t g0 = -1, g1 = -1, g2 = -1;
    CHECK(sg_keystore_generation(ks, &g0) == 0, "generation readable");
    CHECK(sg_keystore_generate(ks, "alice@demo.test", "ed25519", 0, NULL, alice) == 0 &&
              sg_keystore_generate(ks, "bob@example.net", "ed25519", 0, NULL, bob) == 0 &&
              sg_keystore_generate(ks, "carol@example.org", "ed25519", 0, NULL, carol) == 0,
          "three keys generated");
    CHECK(sg_keystore_generation(ks, &g1) == 0 && g1 > g0, "generating keys changes the generation");

    CHECK(round_trip(&k, alice, bob, "alice@demo.test") == 1, "first message: keys loaded, round trip exact");
    CHECK(round_trip(&k, alice, bob, "alice@demo.test") == 1,
          "second message from the cache: round trip exact");
    CHECK(round_trip(&k, alice, carol, "alice@demo.test") == 1, "a further recipient joins the cache");

    job j[2] = {{&k, alice, bob, 0}, {&k, alice, carol, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, thread, &j[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK(j[0].ok && j[1].ok, "two threads, each with its own cache, 20 round trips each");

    /* RSA signers are signed with by OpenSSL (pgp_rsasign.c), librnp encrypts the signed
     * message: librnp's decryption must find it signed, valid and bound to From. */
    char rsa[SG_PGP_FPR_LEN + 1];
    CHECK(sg_keystore_generate(ks, "Rita <rita@demo.test>", "rsa3072", 0, NULL, rsa) == 0,
          "RSA-3072 key generated");
    CHECK(round_trip(&k, rsa, bob, "rita@demo.test") == 1,
          "RSA signer, Ed25519 recipient: round trip, signature valid");
    CHECK(round_trip(&k, rsa, bob, "rita@demo.test") == 1, "again from the cache (OpenSSL key reused)");
    CHECK(round_trip(&k, alice, rsa, "alice@demo.test") == 1, "Ed25519 signer, RSA recipient: round trip");
    CHECK(round_trip(&k, rsa, rsa, "rita@demo.test") == 1, "RSA signer to itself: round trip");
    CHECK(round_trip(&k, rsa, bob, "alice@demo.test") == -1,
          "the RSA signature is judged against From like any other");

    CHECK(sg_keystore_revoke(cli, bob, "left") == 0, "bob's key revoked through the other connection");
    CHECK(sg_keystore_generation(ks, &g2) == 0 && g2 > g1, "the revocation is visible as a new generation");
    CHECK(round_trip(&k, alice, bob, "alice@demo.test") == 0,
          "next message: the revoked key is not used from the cache (encryption refused)");
    CHECK(round_trip(&k, alice, carol, "alice@demo.test") == 1, "other keys load again after the drop");

    CHECK(sg_keystore_delete(cli, alice) == 0, "alice's key deleted through the other connection");
    CHECK(round_trip(&k, alice, carol, "alice@demo.test") == 0,
          "next message: the deleted signing key is gone from the cache too");

    sg_pgp_ops_cache_clear();
    char dom[SG_PGP_FPR_LEN + 1];
    CHECK(sg_keystore_generate(ks, "sealgate@demo.test", "ed25519", 0, NULL, dom) == 0 &&
              round_trip(&k, dom, carol, "sealgate@demo.test") == 1,
          "after sg_pgp_ops_cache_clear the cache fills again");

    /* A new keystore on a new store is never served keys cached from the old one. */
    sg_pgp_ops_cache_clear();
    CHECK(round_trip(&k, dom, carol, "sealgate@demo.test") == 1, "cache filled for the first keystore");
    sg_keystore_close(cli);
    sg_store_close(st2);
    char dir2[] = "/tmp/sg-test-pgpcache-XXXXXX", path2[256], kek2[256];
    if (mkdtemp(dir2)) {
        snprintf(path2, sizeof path2, "%s/store.db", dir2);
        snprintf(kek2, sizeof kek2, "%s/keys/kek", dir2);
        sg_store *st3 = sg_store_open(path2, err, sizeof err);
        sg_keystore *ks3 = st3 ? sg_keystore_open(st3, kek2, SG_KS_CREATE_KEK) : NULL;
        sg_pgp_ops_keys k3 = {.ks = ks3, .lock = &lock};
        char to[1][SG_PGP_FPR_LEN + 1], *arm = NULL;
        size_t alen = 0;
        memcpy(to[0], carol, sizeof carol);
        CHECK(ks3 && sg_pgp_ops_encrypt(&k3, dom, to, 1, text, sizeof text - 1, &arm, &alen, err,
                                        sizeof err) < 0,
              "another keystore without those keys: encryption refused, nothing served from the cache");
        free(arm);
        sg_pgp_ops_cache_clear();
        sg_keystore_close(ks3);
        if (st3)
            sg_store_close(st3);
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir2);
        CHECK(system(cmd) == 0, "second temporary store removed");
    }
    sg_pgp_ops_cache_clear();
    sg_keystore_close(ks);
    sg_store_close(st);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "temporary store removed");
    return CHECK_DONE();
}
