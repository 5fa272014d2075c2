/* test_mime_pgp.c - src/crypto/pgpmime.c with a real keystore: sign+encrypt then decrypt+verify
 * round trip (bytes exact), recipients matched to held keys, no key, tampered ciphertext held
 * back, signatures judged against From. Owner: src/crypto (PGP/MIME). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "crypto/pgpmime.h"
#include "cryptd/transform_pgp.h"
#include "mime/mime.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static const sg_output *output_for(const sg_transform_result *r, const char *rcpt)
{
    for (size_t i = 0; i < r->nout; i++)
        for (size_t k = 0; k < r->out[i].env.nrcpt; k++)
            if (strcmp(r->out[i].env.rcpt[k].addr, rcpt) == 0)
                return &r->out[i];
    return NULL;
}

/* The transform on its own: groups, the unchanged fast path, and an incoming round trip. */
static void test_transform(sg_keystore *ks, const sg_pgpmime_keys *k, const char *alice)
{
    sg_config cfg;
    char err[256];
    if (sg_config_load(&cfg, NULL, err, sizeof err) < 0)
        return;
    char *doms[] = {"demo.test"};
    sg_strlist saved = cfg.internal_domains;
    cfg.internal_domains.v = doms;
    cfg.internal_domains.n = 1;
    sg_transform_pgp_init(&cfg, ks);

    const char msg[] = "From: alice@demo.test\r\nTo: bob@example.net\r\nSubject: s\r\n\r\nhello\r\n";
    sg_envelope e;
    sg_env_init(&e);
    sg_env_set(&e.from, "alice@demo.test");
    sg_env_add_rcpt(&e, "bob@example.net", NULL, NULL);
    sg_env_add_rcpt(&e, "dan@example.org", NULL, NULL);
    sg_env_add_rcpt(&e, "bob@EXAMPLE.NET", NULL, NULL);
    sg_transform_result r;
    CHECK(sg_transform_pgp(&e, msg, sizeof msg - 1, &r) == 0 && r.nout == 2 && !r.hold && !r.unchanged,
          "transform: two groups (key, no key)");
    const sg_output *ob = output_for(&r, "bob@example.net"), *od = output_for(&r, "dan@example.org");
    sg_mime_pgp p = {0};
    CHECK(ob && ob == output_for(&r, "bob@EXAMPLE.NET") && ob->env.nrcpt == 2 &&
              sg_mime_detect(ob->data, ob->len, &p) == 0 && p.kind == SG_MIME_PGP_ENCRYPTED,
          "transform: both of bob's addresses in the encrypted group");
    sg_mime_pgp_free(&p);
    CHECK(od && od->env.nrcpt == 1 && od->data == msg && od->len == sizeof msg - 1,
          "transform: the recipient without a key gets the input itself");
    sg_transform_result_free(&r);
    sg_env_free(&e);

    sg_env_init(&e);
    sg_env_set(&e.from, "alice@demo.test");
    sg_env_add_rcpt(&e, "carl@demo.test", NULL, NULL);
    CHECK(sg_transform_pgp(&e, msg, sizeof msg - 1, &r) == 0 && r.nout == 1 && r.unchanged &&
              r.out[0].data == msg,
          "transform: internal plain mail is unchanged (rename fast path)");
    sg_transform_result_free(&r);
    sg_env_free(&e);

    /* Incoming: bob's key signs, alice's key receives (alice's secret is held). */
    char bob[SG_PGP_FPR_LEN + 1], to[1][SG_PGP_FPR_LEN + 1];
    const char inner[] = "Content-Type: text/plain\r\n\r\nfor alice\r\n";
    char *arm = NULL;
    size_t alen = 0;
    memcpy(to[0], alice, SG_PGP_FPR_LEN + 1);
    sg_buf wrapped;
    sg_buf_init(&wrapped, SG_MIME_MAX_OUT);
    const char outer[] =
        "From: Bob <bob@example.net>\r\nTo: alice@demo.test\r\nX-Sealgate-Decryption: full\r\n"
        "Subject: x\r\n\r\nbody\r\n";
    int ok = sg_keystore_find_signing_key(ks, "bob@example.net", NULL, bob) == 0 &&
             sg_pgpmime_encrypt(k, bob, to, 1, inner, sizeof inner - 1, &arm, &alen, err, sizeof err) == 0 &&
             sg_mime_wrap_encrypted(outer, sizeof outer - 1, arm, alen, &wrapped) == 0;
    sg_env_init(&e);
    sg_env_set(&e.from, "bob@example.net");
    sg_env_add_rcpt(&e, "alice@demo.test", NULL, NULL);
    sg_env_add_rcpt(&e, "eve@demo.test", NULL, NULL);
    ok = ok && sg_transform_pgp(&e, wrapped.data, wrapped.len, &r) == 0 && r.nout == 2;
    const sg_output *oa = ok ? output_for(&r, "alice@demo.test") : NULL;
    const sg_output *oe = ok ? output_for(&r, "eve@demo.test") : NULL;
    CHECK(oa && oa->len > 0, "transform incoming: alice's copy");
    char *a = oa ? strndup(oa->data, oa->len) : NULL;
    char *ev = oe ? strndup(oe->data, oe->len) : NULL;
    CHECK(a && strstr(a, "X-Sealgate-Decryption: full\r\nX-Sealgate-Signature: valid; signer=") &&
              strstr(a, "\r\n\r\nfor alice\r\n") && strstr(a, "Subject: ...") &&
              strstr(a, "X-Sealgate-Decryption: full") == strstr(a, "X-Sealgate-Decryption"),
          "transform incoming: decrypted, stamped once, signature valid");
    CHECK(ev && strstr(ev, "X-Sealgate-Decryption: none; reason=no-key\r\n") && !strstr(ev, "for alice") &&
              !strstr(ev, "X-Sealgate-Decryption: full"),
          "transform incoming: the recipient without a held key gets ciphertext, stamped no-key");
    free(a);
    free(ev);
    if (ok)
        sg_transform_result_free(&r);
    sg_env_free(&e);
    sg_buf_free(&wrapped);
    free(arm);
    cfg.internal_domains = saved;
    sg_config_free(&cfg);
}

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
    sg_pgpmime_keys k = {ks, &lock};
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
    CHECK(sg_pgpmime_encrypt(&k, alice, rcpts, 2, text, sizeof text - 1, &arm, &alen, err, sizeof err) == 0 &&
              strncmp(arm, "-----BEGIN PGP MESSAGE-----", 27) == 0,
          "sign+encrypt to two recipients, armored");

    char cands[2][SG_PGP_FPR_LEN + 1];
    memcpy(cands[0], bob, sizeof bob);
    sg_pgp_decrypted d;
    CHECK(sg_pgpmime_decrypt(&k, cands, 1, "alice@demo.test", arm, alen, 0, &d) == 0 && d.status == SG_DEC_OK,
          "bob decrypts");
    CHECK(d.plainlen == sizeof text - 1 && memcmp(d.plain, text, d.plainlen) == 0, "plaintext byte for byte");
    CHECK(d.nhits == 1 && strcmp(d.hits[0], bob) == 0, "the message is reported as encrypted to bob's key");
    CHECK(d.v.sig == SG_SIG_VALID && strcmp(d.v.signer, alice) == 0 && d.v.from_match,
          "alice's signature valid, bound to From");
    sg_pgp_decrypted_free(&d);

    CHECK(sg_pgpmime_decrypt(&k, cands, 1, "mallory@demo.test", arm, alen, 0, &d) == 0 &&
              d.status == SG_DEC_OK && d.v.sig == SG_SIG_INVALID && !d.v.from_match,
          "a From other than the signer's address: signature not counted (%s)", d.v.reason);
    sg_pgp_decrypted_free(&d);

    CHECK(sg_pgpmime_decrypt(&k, cands, 0, "alice@demo.test", arm, alen, 0, &d) == 0 &&
              d.status == SG_DEC_NO_KEY && d.plain == NULL,
          "no candidate key: no-key, no plaintext");
    sg_pgp_decrypted_free(&d);
    memcpy(cands[0], alice, sizeof alice);
    CHECK(sg_pgpmime_decrypt(&k, cands, 1, "alice@demo.test", arm, alen, 0, &d) == 0 &&
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
    int rc = sg_pgpmime_decrypt(&k, cands, 1, "alice@demo.test", bad, alen, 0, &d);
    CHECK(rc == 0 && d.status != SG_DEC_OK && d.plain == NULL,
          "tampered ciphertext: no plaintext (status %d, %s)", d.status, d.reason);
    sg_pgp_decrypted_free(&d);
    free(bad);

    char *big = malloc(200000);
    memset(big, 'z', 200000);
    free(arm);
    arm = NULL;
    CHECK(sg_pgpmime_encrypt(&k, alice, rcpts, 1, big, 200000, &arm, &alen, err, sizeof err) == 0 &&
              sg_pgpmime_decrypt(&k, cands, 1, "alice@demo.test", arm, alen, 100000, &d) == 0 &&
              d.status == SG_DEC_TOO_LARGE && d.plain == NULL,
          "plaintext over the limit: too-large, no plaintext (%s)", d.reason);
    sg_pgp_decrypted_free(&d);
    free(big);

    test_transform(ks, &k, alice);

    sg_pgp_verdict v;
    CHECK(sg_pgpmime_verify_detached(&k, "alice@demo.test", "x", 1, "not a signature", 15, &v) == 0 &&
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
