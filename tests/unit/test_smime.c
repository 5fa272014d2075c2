/* test_smime.c - S/MIME in process: the MIME of S/MIME (detect, build, wrap), the CMS
 * operations of src/engine/smime/cms.h and the engine of src/engine/smime/engine_smime.c, with a
 * certificate store and local CA made in a temp directory. Owner: src/cryptd (S/MIME).
 * Interop with other implementations is tests/integration/test_smime_interop.py. */
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "engine/smime/cms.h"
#include "engine/engine.h"
#include "keys/ca.h"
#include "keys/certstore.h"
#include "mime/mime.h"
#include "mime/smime.h"

static const char MSG[] = "From: Alice <alice@demo.test>\r\n"
                          "To: bob@example.org, carol@demo.test\r\n"
                          "Subject: quarterly figures\r\n"
                          "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
                          "Message-ID: <q1@demo.test>\r\n"
                          "X-Custom: kept\r\n"
                          "MIME-Version: 1.0\r\n"
                          "Content-Type: text/plain; charset=us-ascii\r\n"
                          "\r\n"
                          "The numbers are good.\r\n";
static const char CONTENT[] = "Content-Type: text/plain\r\n\r\nsigned words\r\n";

static bool has(const char *hay, size_t n, const char *needle)
{
    return memmem(hay, n, needle, strlen(needle)) != NULL;
}

static void test_mime(void)
{
    /* p7m entity round trip */
    const unsigned char der[] = {0x30, 0x03, 0x02, 0x01, 0x05};
    sg_buf b;
    sg_buf_init(&b, 1 << 20);
    sg_mime_smime s;
    CHECK(sg_mime_smime_p7m_entity("enveloped-data", der, sizeof der, &b) == 0 &&
              has(b.data, b.len, "smime-type=enveloped-data") && has(b.data, b.len, "base64"),
          "p7m entity: type, smime-type, base64");
    CHECK(sg_mime_smime_detect(b.data, b.len, &s) == 0 && s.kind == SG_MIME_SMIME_P7M &&
              s.derlen == sizeof der && memcmp(s.der, der, sizeof der) == 0,
          "p7m entity detected, DER decoded exactly");
    sg_mime_smime_free(&s);

    /* The base64 body is decoded in 1 MiB pieces (issue 11): bodies whose end or whose piece
     * boundary falls at every offset of a quad and of a line around 1 and 2 MiB decode to
     * exactly the bytes encoded. */
    size_t big = (2u << 20) * 3 / 4 + 200, bad = 0, tried = 0;
    unsigned char *raw = malloc(big);
    for (size_t i = 0; raw && i < big; i++)
        raw[i] = (unsigned char)(i * 2654435761u >> 13);
    for (size_t base = (1u << 20) * 3 / 4 - 120; raw && base <= (2u << 20) * 3 / 4; base += (1u << 20) * 3 / 4) {
        for (size_t n = base; n < base + 240; n++, tried++) {
            sg_buf e;
            sg_buf_init(&e, 8u << 20);
            sg_mime_smime piece;
            bad += sg_mime_smime_p7m_entity("enveloped-data", raw, n, &e) < 0 ||
                   sg_mime_smime_detect(e.data, e.len, &piece) < 0 || piece.derlen != n ||
                   memcmp(piece.der, raw, n) != 0;
            sg_mime_smime_free(&piece);
            sg_buf_free(&e);
        }
    }
    bool made = raw != NULL;
    free(raw);
    CHECK(made && tried == 480 && bad == 0,
          "base64 bodies across the 1 MiB piece boundary decode exactly (%zu of %zu)", tried - bad, tried);

    static const char xold[] = "Content-Type: application/x-pkcs7-mime; name=smime.p7m\r\n"
                               "Content-Transfer-Encoding: base64\r\n\r\nMAMCAQU=\r\n";
    CHECK(sg_mime_smime_detect(xold, strlen(xold), &s) == 0 && s.kind == SG_MIME_SMIME_P7M && s.derlen == 5,
          "application/x-pkcs7-mime without smime-type: detected");
    sg_mime_smime_free(&s);
    static const char octet[] = "Content-Type: application/octet-stream; name=\"smime.P7M\"\r\n"
                                "Content-Transfer-Encoding: base64\r\n\r\nMAMCAQU=\r\n";
    CHECK(sg_mime_smime_detect(octet, strlen(octet), &s) == 0 && s.kind == SG_MIME_SMIME_P7M,
          "application/octet-stream named .p7m (RFC 8551 3.2.2): detected");
    sg_mime_smime_free(&s);
    static const char octet2[] = "Content-Type: application/octet-stream; name=\"data.bin\"\r\n\r\nxx\r\n";
    CHECK(sg_mime_smime_detect(octet2, strlen(octet2), &s) == 0 && s.kind == SG_MIME_SMIME_NONE,
          "other application/octet-stream: none");

    /* clear-signed entity: the first part is exactly the content */
    sg_buf_reset(&b);
    CHECK(sg_mime_smime_signed_entity(CONTENT, strlen(CONTENT), der, sizeof der, "sha-256", &b) == 0,
          "signed entity built");
    CHECK(sg_mime_smime_detect(b.data, b.len, &s) == 0 && s.kind == SG_MIME_SMIME_CLEAR &&
              s.signed_len == strlen(CONTENT) && memcmp(s.signed_data, CONTENT, s.signed_len) == 0 &&
              s.derlen == sizeof der,
          "signed entity detected; signed part byte-exact, signature decoded");
    sg_mime_smime_free(&s);

    static const char three[] = "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";"
                                " boundary=b\r\n\r\n--b\r\n\r\na\r\n--b\r\n\r\nb\r\n--b\r\n"
                                "Content-Type: application/pkcs7-signature\r\n\r\nMAMCAQU=\r\n--b--\r\n";
    CHECK(sg_mime_smime_detect(three, strlen(three), &s) == 0 && s.kind == SG_MIME_SMIME_NONE,
          "multipart/signed with three parts: none");
    static const char pgp[] = "Content-Type: multipart/signed; protocol=\"application/pgp-signature\";"
                              " boundary=b\r\n\r\n--b\r\n\r\na\r\n--b\r\n"
                              "Content-Type: application/pgp-signature\r\n\r\nxx\r\n--b--\r\n";
    CHECK(sg_mime_smime_detect(pgp, strlen(pgp), &s) == 0 && s.kind == SG_MIME_SMIME_NONE,
          "PGP/MIME signed: not S/MIME");
    static const char wrongsig[] = "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";"
                                   " boundary=b\r\n\r\n--b\r\n\r\na\r\n--b\r\n"
                                   "Content-Type: text/plain\r\n\r\nxx\r\n--b--\r\n";
    CHECK(sg_mime_smime_detect(wrongsig, strlen(wrongsig), &s) == 0 && s.kind == SG_MIME_SMIME_NONE,
          "multipart/signed whose second part is not pkcs7-signature: none");

    /* the generic wrapper */
    sg_buf w;
    sg_buf_init(&w, 1 << 20);
    CHECK(sg_mime_wrap_entity(MSG, strlen(MSG), CONTENT, strlen(CONTENT), true, &w) == 0 &&
              has(w.data, w.len, "Subject: ...\r\n") && !has(w.data, w.len, "quarterly") &&
              has(w.data, w.len, "X-Custom: kept\r\n") &&
              has(w.data, w.len, "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n") &&
              !has(w.data, w.len, "charset=us-ascii") &&
              strstr(strstr(w.data, "MIME-Version") + 1, "MIME-Version") == NULL,
          "wrap_entity: Subject hidden, other fields kept, old Content-* dropped, entity in place");
    sg_buf_reset(&w);
    CHECK(sg_mime_wrap_entity(MSG, strlen(MSG), CONTENT, strlen(CONTENT), false, &w) == 0 &&
              has(w.data, w.len, "Subject: quarterly figures\r\n"),
          "wrap_entity without hiding keeps the Subject");
    sg_buf_free(&w);
    sg_buf_free(&b);
}

/* ---- the store: local CA, alice (EC) and carol (RSA) internal ---- */
static sg_certstore *cs;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char alice[SG_CERT_FPR_LEN + 1], carol[SG_CERT_FPR_LEN + 1], mallory[SG_CERT_FPR_LEN + 1];

static void test_crypto(void)
{
    sg_smime_keys k = {.cs = cs, .lock = &lock};
    unsigned char *der = NULL;
    size_t derlen = 0;
    char err[256] = "";
    sg_smime_sign_opts o = {.digest = "sha256", .detached = true};
    time_t now = time(NULL);

    CHECK(sg_smime_sign(&k, alice, &o, CONTENT, strlen(CONTENT), &der, &derlen, err, sizeof err) == 0,
          "sign detached (alice, ECDSA) %s", err);
    CHECK(sg_smime_der_type(der, derlen) == SG_SMIME_T_SIGNED, "der_type: signed");
    sg_smime_verified v;
    CHECK(sg_smime_verify(&k, "alice@demo.test", now, der, derlen, CONTENT, strlen(CONTENT), 1 << 20, &v) ==
                  0 &&
              v.v.sig == SG_SIG_VALID && v.v.from_match && strcmp(v.v.signer, alice) == 0 && v.signer_aead &&
              v.caps && v.capslen > 20 && v.chainlen > 0 && !v.content,
          "verify: valid, From bound, signer fpr, GCM announced (caps DER kept), chain returned (%s)",
          v.v.reason);
    sg_smime_verified_free(&v);
    CHECK(sg_smime_verify(&k, "ALICE@demo.test", now, der, derlen, CONTENT, strlen(CONTENT), 1 << 20, &v) ==
                  0 &&
              v.v.sig == SG_SIG_INVALID && strcmp(v.v.reason, "from-mismatch") == 0,
          "verify: local part compared exactly -> from-mismatch (%s)", v.v.reason);
    sg_smime_verified_free(&v);
    CHECK(sg_smime_verify(&k, NULL, now, der, derlen, CONTENT, strlen(CONTENT), 1 << 20, &v) == 0 &&
              v.v.sig == SG_SIG_INVALID && !v.v.from_match,
          "verify without a From: never valid");
    sg_smime_verified_free(&v);
    CHECK(sg_smime_verify(&k, "alice@demo.test", now, der, derlen, CONTENT, strlen(CONTENT) - 1, 1 << 20,
                          &v) == 0 &&
              v.v.sig == SG_SIG_INVALID && strcmp(v.v.reason, "bad-signature") == 0,
          "verify: content shortened by one byte -> bad-signature (%s)", v.v.reason);
    sg_smime_verified_free(&v);
    CHECK(sg_smime_verify(&k, "alice@demo.test", now + 3 * 365 * 86400, der, derlen, CONTENT, strlen(CONTENT),
                          1 << 20, &v) == 0 &&
              v.v.sig == SG_SIG_INVALID && strcmp(v.v.reason, "expired") == 0,
          "verify three years on: the certificate expired (%s)", v.v.reason);
    sg_smime_verified_free(&v);
    free(der);

    /* mallory's certificate is self-made: valid signature, untrusted chain */
    CHECK(sg_smime_sign(&k, mallory, &o, CONTENT, strlen(CONTENT), &der, &derlen, err, sizeof err) == 0,
          "sign (mallory, untrusted) %s", err);
    CHECK(sg_smime_verify(&k, "mallory@example.org", now, der, derlen, CONTENT, strlen(CONTENT), 1 << 20,
                          &v) == 0 &&
              v.v.sig == SG_SIG_INVALID && strcmp(v.v.reason, "untrusted") == 0,
          "verify: a certificate without a chain to a trusted CA -> untrusted (%s)", v.v.reason);
    sg_smime_verified_free(&v);
    free(der);

    /* opaque, PSS, SHA-512 (carol, RSA) */
    sg_smime_sign_opts op = {.digest = "sha512", .pss = true, .detached = false};
    CHECK(sg_smime_sign(&k, carol, &op, CONTENT, strlen(CONTENT), &der, &derlen, err, sizeof err) == 0,
          "sign opaque PSS SHA-512 (carol) %s", err);
    CHECK(sg_smime_verify(&k, "carol@demo.test", now, der, derlen, NULL, 0, 1 << 20, &v) == 0 &&
              v.v.sig == SG_SIG_VALID && v.contentlen == strlen(CONTENT) &&
              memcmp(v.content, CONTENT, v.contentlen) == 0,
          "verify opaque: valid, content returned (%s)", v.v.reason);
    sg_smime_verified_free(&v);
    CHECK(sg_smime_verify(&k, "carol@demo.test", now, der, derlen, NULL, 0, 5, &v) == 0 &&
              v.v.sig == SG_SIG_INVALID && !v.content,
          "verify opaque over max_plain: refused, no content");
    sg_smime_verified_free(&v);
    free(der);
    sg_smime_sign_opts bad = {.digest = "md5"};
    CHECK(sg_smime_sign(&k, carol, &bad, CONTENT, strlen(CONTENT), &der, &derlen, err, sizeof err) < 0,
          "sign with an unknown digest name fails (%s)", err);
    err[0] = '\0';

    /* envelopes */
    char rc2[2][SG_CERT_FPR_LEN + 1];
    memcpy(rc2[0], alice, sizeof rc2[0]);
    memcpy(rc2[1], carol, sizeof rc2[1]);
    for (int gcm = 0; gcm <= 1; gcm++) {
        for (int oaep = 0; oaep <= 1; oaep++) {
            CHECK(sg_smime_encrypt(&k, rc2, 2, gcm, oaep, CONTENT, strlen(CONTENT), &der, &derlen, err,
                                   sizeof err) == 0 &&
                      sg_smime_der_type(der, derlen) ==
                          (gcm ? SG_SMIME_T_AUTH_ENVELOPED : SG_SMIME_T_ENVELOPED),
                  "encrypt to alice+carol gcm=%d oaep=%d %s", gcm, oaep, err);
            for (int who = 0; who < 2; who++) {
                sg_smime_decrypted d;
                CHECK(sg_smime_decrypt(&k, &rc2[who], 1, der, derlen, 1 << 20, &d) == 0 &&
                          d.status == SG_DEC_OK && d.hits[0] && d.aead == gcm &&
                          d.plainlen == strlen(CONTENT) && memcmp(d.plain, CONTENT, d.plainlen) == 0,
                      "  %s decrypts (%s)", who ? "carol (RSA)" : "alice (ECDH)", d.reason);
                sg_smime_decrypted_free(&d);
            }
            if (gcm && !oaep) {
                sg_smime_decrypted d;
                der[derlen - 20] ^= 0x40; /* inside the ciphertext or the tag */
                CHECK(sg_smime_decrypt(&k, rc2, 2, der, derlen, 1 << 20, &d) == 0 &&
                          d.status == SG_DEC_NO_INTEGRITY && !d.plain,
                      "GCM with a flipped bit: no-integrity, no plaintext (%s)", d.reason);
                sg_smime_decrypted_free(&d);
                der[derlen - 20] ^= 0x40;
                CHECK(sg_smime_decrypt(&k, rc2, 2, der, derlen, 4, &d) == 0 && d.status == SG_DEC_TOO_LARGE &&
                          !d.plain,
                      "plaintext over max_plain: too-large, nothing released");
                sg_smime_decrypted_free(&d);
                CHECK(sg_smime_decrypt(&k, &mallory, 1, der, derlen, 1 << 20, &d) == 0 &&
                          d.status == SG_DEC_NO_KEY && !d.hits[0],
                      "a held key the message is not for: no-key, that key untouched");
                sg_smime_decrypted_free(&d);
            }
            free(der);
        }
    }
    sg_smime_decrypted d;
    static const unsigned char junk[] = {0x30, 0x80, 0x06, 0x09};
    CHECK(sg_smime_decrypt(&k, rc2, 2, junk, sizeof junk, 1 << 20, &d) == 0 && d.status == SG_DEC_FAILED,
          "garbage: failed");
    sg_smime_decrypted_free(&d);
    CHECK(sg_smime_der_type(junk, sizeof junk) == SG_SMIME_T_OTHER, "der_type of garbage: other");
}

static int peel_msg(const sg_engine *e, const char *from, const char *rcpt, const char *m, size_t n,
                    sg_layer *l)
{
    const char *r[1] = {rcpt};
    sg_peel_req pr = {.from = from, .rcpts = r, .nrcpt = rcpt ? 1 : 0, .max_plain = 1 << 20};
    return e->peel(&pr, m, n, l);
}

static void test_engine(sg_store *st, const char *path, const char *kek, const char *ca)
{
    sg_config cfg;
    char err[256] = "";
    sg_config_load(&cfg, NULL, err, sizeof err);
    sg_engine_env env = {.cfg = &cfg, .st = st, .cs = cs, .lock = &lock};
    snprintf(env.domain_addr, sizeof env.domain_addr, "sealgate@demo.test");
    const sg_engine *e = sg_engine_by_method(SG_METHOD_SMIME);
    CHECK(e && strcmp(e->name, "smime") == 0 && e->init(&env) == 0, "engine registered and initialised");
    if (!e)
        return;
    CHECK(e->can_encrypt_to("carol@demo.test") == 1 && e->can_encrypt_to("bob@example.org") == 0 &&
              e->can_sign_as("alice@demo.test") == 1 && e->can_sign_as("mallory@example.org") == 0,
          "can_encrypt_to / can_sign_as (mallory untrusted)");

    const char *rc[] = {"carol@demo.test"};
    sg_protect_req req = {.sender = "alice@demo.test", .sign = SG_SIGN_SENDER, .rcpts = rc, .nrcpt = 1};
    sg_buf out;
    sg_buf_init(&out, 1 << 24);
    CHECK(e->protect(&req, MSG, strlen(MSG), &out, err, sizeof err) == 0, "protect sign+encrypt to carol %s",
          err);
    CHECK(e->detect(out.data, out.len) == SG_LAYER_ENCRYPTED && e->detect(MSG, strlen(MSG)) == SG_LAYER_NONE,
          "detect: encrypted; plain is none");
    CHECK(has(out.data, out.len, "Subject: ...\r\n") && has(out.data, out.len, "X-Custom: kept\r\n") &&
              !has(out.data, out.len, "numbers are good"),
          "outer message: Subject hidden, other fields kept, no plaintext");
    sg_layer l1, l2;
    CHECK(peel_msg(e, "alice@demo.test", "carol@demo.test", out.data, out.len, &l1) == 0 &&
              l1.kind == SG_LAYER_ENCRYPTED && l1.method == SG_METHOD_SMIME && l1.dec == SG_DEC_OK &&
              l1.readable[0] && l1.inner,
          "peel: decrypted for carol");
    CHECK(l1.inner && peel_msg(e, "alice@demo.test", NULL, l1.inner, l1.innerlen, &l2) == 0 &&
              l2.kind == SG_LAYER_SIGNED && l2.sig.sig == SG_SIG_VALID && l2.sig.from_match && !l2.inner &&
              strcmp(l2.sig.signer, alice) == 0 && l2.signer_cert && l2.signer_aead,
          "peel inner: clear signature by alice valid, bound to From, chain for learning");
    CHECK(l1.inner && has(l1.inner, l1.innerlen, "Subject: quarterly figures") &&
              has(l1.inner, l1.innerlen, "protected-headers=\"v1\"") &&
              has(l1.inner, l1.innerlen, "numbers are good"),
          "inner entity carries the protected headers and the body");
    sg_layer_free(&l2);
    sg_layer l3;
    CHECK(peel_msg(e, "alice@demo.test", "alice@demo.test", out.data, out.len, &l3) == 0 &&
              l3.dec == SG_DEC_NO_KEY && !l3.readable[0] && !l3.inner,
          "peel for alice (not a recipient): no-key, nothing inside");
    sg_layer_free(&l3);
    sg_layer_free(&l1);

    /* The chain goes into every signature, also when its links come from memory. */
    for (int round = 0; round < 2; round++) {
        sg_buf_reset(&out);
        sg_protect_req rs = {.sender = "alice@demo.test", .sign = SG_SIGN_SENDER};
        sg_mime_smime ms = {0};
        int ncerts = -1;
        if (e->protect(&rs, MSG, strlen(MSG), &out, err, sizeof err) == 0 &&
            sg_mime_smime_detect(out.data, out.len, &ms) == 0 && ms.kind == SG_MIME_SMIME_CLEAR) {
            const unsigned char *p = ms.der;
            CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)ms.derlen);
            STACK_OF(X509) *certs = cms ? CMS_get1_certs(cms) : NULL;
            ncerts = certs ? sk_X509_num(certs) : 0;
            sk_X509_pop_free(certs, X509_free);
            CMS_ContentInfo_free(cms);
        }
        sg_mime_smime_free(&ms);
        CHECK(ncerts == 2, "signature %d carries alice's certificate and the CA's (%d)", round + 1, ncerts);
    }

    /* create_sender_key: dave@demo.test has nothing; the local CA issues on demand */
    sg_buf_reset(&out);
    sg_protect_req rq2 = {.sender = "dave@demo.test", .sign = SG_SIGN_SENDER, .create_sender_key = true};
    CHECK(e->can_sign_as("dave@demo.test") == 0 &&
              e->protect(&rq2, MSG, strlen(MSG), &out, err, sizeof err) == 0 &&
              e->can_sign_as("dave@demo.test") == 1,
          "create_sender_key: a certificate is issued for an internal sender on first need %s", err);
    CHECK(peel_msg(e, "dave@demo.test", NULL, out.data, out.len, &l1) == 0 && l1.kind == SG_LAYER_SIGNED &&
              l1.sig.sig == SG_SIG_VALID,
          "dave's clear-signed message verifies");
    sg_layer_free(&l1);
    /* an external sender gets no certificate; the domain identity signs instead */
    sg_buf_reset(&out);
    sg_protect_req rq3 = {
        .sender = "eve@example.org", .sign = SG_SIGN_SENDER, .create_sender_key = true, .opaque = true};
    CHECK(e->protect(&rq3, MSG, strlen(MSG), &out, err, sizeof err) == 0 &&
              e->can_sign_as("eve@example.org") == 0 && e->can_sign_as("sealgate@demo.test") == 1 &&
              has(out.data, out.len, "smime-type=signed-data"),
          "external sender: no certificate issued, signed (opaque) by the domain identity %s", err);
    CHECK(peel_msg(e, "sealgate@demo.test", NULL, out.data, out.len, &l1) == 0 &&
              l1.sig.sig == SG_SIG_VALID && l1.inner && has(l1.inner, l1.innerlen, "numbers are good"),
          "opaque: verified, the content is the inner entity");
    sg_layer_free(&l1);
    sg_buf_reset(&out);
    const char *nobody[] = {"bob@example.org"};
    sg_protect_req rq4 = {.sender = "alice@demo.test", .sign = SG_SIGN_NONE, .rcpts = nobody, .nrcpt = 1};
    CHECK(e->protect(&rq4, MSG, strlen(MSG), &out, err, sizeof err) < 0 && strstr(err, "bob@example.org") &&
              out.len == 0,
          "no certificate for a recipient: -1 with the address, nothing written (%s)", err);

    sg_buf cert;
    sg_buf_init(&cert, 1 << 20);
    const unsigned char *cp = NULL;
    X509 *cx = NULL;
    int ex = e->export_public("carol@demo.test", &cert);
    if (ex == 1) {
        cp = (const unsigned char *)cert.data;
        cx = d2i_X509(NULL, &cp, (long)cert.len);
    }
    char cfpr[SG_CERT_FPR_LEN + 1] = "";
    if (cx)
        sg_cert_fpr(cx, cfpr);
    CHECK(ex == 1 && cx && strcmp(cfpr, carol) == 0 && e->export_public("nobody@example.org", &cert) == 0,
          "export_public: carol's certificate as DER; nobody has none");
    X509_free(cx);
    sg_buf_free(&cert);

    /* The engine remembers selections; a change by another connection (the admin CLI) must
     * be seen at once: untrust the CA elsewhere, then trust it again. */
    sg_store *st2 = sg_store_open(path, err, sizeof err);
    sg_certstore *cs2 = st2 ? sg_certstore_open(st2, kek, 0) : NULL;
    CHECK(e->can_sign_as("alice@demo.test") == 1 && cs2 && sg_certstore_set_trust(cs2, ca, false) == 0 &&
              e->can_sign_as("alice@demo.test") == 0 && e->can_encrypt_to("carol@demo.test") == 0,
          "CA untrusted by another connection: remembered selections are forgotten at once");
    CHECK(cs2 && sg_certstore_set_trust(cs2, ca, true) == 0 && e->can_sign_as("alice@demo.test") == 1,
          "trusted again: usable again");
    if (cs2)
        sg_certstore_close(cs2);
    if (st2)
        sg_store_close(st2);

    /* revocation reaches the engine through the CRL */
    CHECK(sg_ca_revoke(cs, carol) == 0, "revoke carol");
    uint8_t *crl = NULL;
    size_t crllen = 0;
    CHECK(sg_ca_crl(cs, 30, &crl, &crllen) == 0, "CRL issued");
    free(crl);
    CHECK(e->can_encrypt_to("carol@demo.test") == 0 && e->can_sign_as("carol@demo.test") == 0,
          "revoked carol: neither encrypt to nor sign as");
    sg_buf_free(&out);
    sg_config_free(&cfg);
}

/* The smime group of the configuration: values, defaults, refusals with file:line. */
static void test_config(const char *dir)
{
    char path[256], err[256] = "";
    snprintf(path, sizeof path, "%s/smime.conf", dir);
    FILE *f = fopen(path, "w");
    fputs("smime = { rsa_padding = \"oaep\"; rsa_signature = \"pss\"; signing = \"opaque\";\n"
          "  digest = \"sha384\"; gcm_for = [\"example.org\", \"bob@example.net\"]; encrypt_to_sender = "
          "true; };\n",
          f);
    fclose(f);
    sg_config c;
    CHECK(sg_config_load(&c, path, err, sizeof err) == 0 && c.smime.rsa_padding == SG_SMIME_RSA_OAEP &&
              c.smime.rsa_signature == SG_SMIME_SIG_PSS && c.smime.signing == SG_SMIME_SIGN_OPAQUE &&
              c.smime.digest == SG_SMIME_SHA384 && c.smime.gcm_for.n == 2 && c.smime.encrypt_to_sender,
          "config: every smime key read (%s)", err);
    sg_config_free(&c);
    CHECK(sg_config_load(&c, NULL, err, sizeof err) == 0 && c.smime.rsa_padding == SG_SMIME_RSA_PKCS1 &&
              c.smime.signing == SG_SMIME_SIGN_CLEAR && c.smime.digest == SG_SMIME_SHA256 &&
              c.smime.gcm_for.n == 0 && !c.smime.encrypt_to_sender,
          "config: defaults PKCS#1 v1.5, clear, SHA-256, no GCM list");
    sg_config_free(&c);
    f = fopen(path, "w");
    fputs("smime = {\n  digest = \"sha1\";\n};\n", f);
    fclose(f);
    CHECK(sg_config_load(&c, path, err, sizeof err) < 0 && strstr(err, ":2:") && strstr(err, "sha1"),
          "config: digest sha1 refused with its line (%s)", err);
    f = fopen(path, "w");
    fputs("smime = { rsa_pading = \"oaep\"; };\n", f);
    fclose(f);
    CHECK(sg_config_load(&c, path, err, sizeof err) < 0 && strstr(err, "smime.rsa_pading"),
          "config: a misspelt smime key is an error (%s)", err);
}

/* The memory of "valid" (cms_valid.c) is bound to the store's x509 generation: a CRL imported
 * or a certificate revoked through a second store handle (as the admin CLI does), and a CRL
 * stored through cryptd's own handle, make it forget at once. */
static void test_memo_generation(sg_store *st, const char *path, const char *kek, const char *ca)
{
    char err[256] = "", why[256] = "", got[SG_CERT_FPR_LEN + 1] = "";
    pthread_mutex_lock(&lock);
    X509 *x = sg_smime_cert_locked(cs, alice);
    CHECK(x && sg_smime_validate_locked(cs, st, x, alice, "alice@demo.test", SG_CERT_SIGN, why, sizeof why) ==
                   SG_CERT_VALID,
          "memo: alice valid (%s)", why);
    sg_smime_memo_put(st, "test|alice", alice, x);
    CHECK(sg_smime_memo_get(st, "test|alice", got) && strcmp(got, alice) == 0 &&
              !sg_smime_memo_get(NULL, "test|alice", got),
          "memo: remembered while the store is unchanged; nothing without a store");
    /* cryptd's own write: the CA's CRL stored again through the same handle */
    int64_t number = 0;
    X509_CRL *crl = sg_certstore_get_crl(cs, ca, &number);
    CHECK(crl && sg_certstore_put_crl(cs, ca, crl, number) == 0 && !sg_smime_memo_get(st, "test|alice", got),
          "memo: forgotten after a CRL stored through our own handle");
    X509_CRL_free(crl);
    sg_smime_memo_put(st, "test|alice", alice, x);
    pthread_mutex_unlock(&lock);

    sg_store *st2 = sg_store_open(path, err, sizeof err);
    sg_certstore *cs2 = st2 ? sg_certstore_open(st2, kek, 0) : NULL;
    uint8_t *pem = NULL;
    size_t len = 0;
    CHECK(cs2 && sg_ca_crl(cs2, 30, &pem, &len) == 0, "memo: a CRL made through a second handle (%s)",
          cs2 ? sg_certstore_error(cs2) : err);
    free(pem);
    pthread_mutex_lock(&lock);
    CHECK(!sg_smime_memo_get(st, "test|alice", got), "memo: forgotten at once after the other handle's CRL");
    char key[400];
    snprintf(key, sizeof key, "valid|%d|%s|alice@demo.test", SG_CERT_SIGN, alice);
    CHECK(sg_smime_validate_locked(cs, st, x, alice, "alice@demo.test", SG_CERT_SIGN, why, sizeof why) ==
                  SG_CERT_VALID &&
              sg_smime_memo_get(st, key, got) && strcmp(got, alice) == 0,
          "memo: validated again, still valid, and that verdict remembered (%s)", why);
    pthread_mutex_unlock(&lock);

    CHECK(cs2 && sg_ca_revoke(cs2, alice) == 0 && sg_ca_crl(cs2, 30, &pem, &len) == 0,
          "memo: alice revoked and a CRL issued through the second handle");
    free(pem);
    pthread_mutex_lock(&lock);
    int v = sg_smime_validate_locked(cs, st, x, alice, "alice@demo.test", SG_CERT_SIGN, why, sizeof why);
    CHECK(v == SG_CERT_REVOKED, "memo: the revocation is seen at once, not the remembered verdict (%s: %s)",
          sg_cert_verdict_name(v), why);
    pthread_mutex_unlock(&lock);
    if (cs2)
        sg_certstore_close(cs2);
    if (st2)
        sg_store_close(st2);
    X509_free(x);
}

int main(void)
{
    char dir[] = "/tmp/sg-test-smime-XXXXXX", path[256], kek[256], err[256];
    if (!mkdtemp(dir))
        return 1;
    sg_mime_init();
    test_config(dir);
    test_mime();
    snprintf(path, sizeof path, "%s/store.db", dir);
    snprintf(kek, sizeof kek, "%s/keys/kek", dir);
    sg_store *st = sg_store_open(path, err, sizeof err);
    cs = st ? sg_certstore_open(st, kek, SG_CS_CREATE_KEK) : NULL;
    char ca[SG_CERT_FPR_LEN + 1];
    CHECK(cs && sg_ca_init(cs, "CN=Test CA", 3650, false, ca) == 0 &&
              sg_ca_issue(cs, "alice@demo.test", SG_CA_USAGE_SIGN | SG_CA_USAGE_ENCRYPT, 730, false, alice) ==
                  0 &&
              sg_ca_issue(cs, "carol@demo.test", SG_CA_USAGE_SIGN | SG_CA_USAGE_ENCRYPT, 730, true, carol) ==
                  0,
          "store, local CA, alice (EC), carol (RSA)");
    /* mallory: a self-signed certificate, no chain to a trusted CA (the store keeps its key) */
    {
        EVP_PKEY *mk = EVP_EC_gen("P-256");
        X509 *x = X509_new();
        X509_set_version(x, X509_VERSION_3);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 77);
        X509_NAME *n = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"mallory", -1, -1, 0);
        X509_set_issuer_name(x, n);
        X509_gmtime_adj(X509_getm_notBefore(x), -3600);
        X509_gmtime_adj(X509_getm_notAfter(x), 86400 * 30);
        X509_set_pubkey(x, mk);
        X509V3_CTX c;
        X509V3_set_ctx(&c, x, x, NULL, NULL, 0);
        const char *exts[][2] = {{"subjectAltName", "email:mallory@example.org"},
                                 {"extendedKeyUsage", "emailProtection"},
                                 {"keyUsage", "digitalSignature,keyAgreement"}};
        for (size_t i = 0; i < 3; i++) {
            X509_EXTENSION *ex = X509V3_EXT_conf(NULL, &c, exts[i][0], exts[i][1]);
            X509_add_ext(x, ex, -1);
            X509_EXTENSION_free(ex);
        }
        X509_sign(x, mk, EVP_sha256());
        const char *reason = NULL;
        CHECK(sg_certstore_add(cs, x, mk, 0, mallory, &reason) == SG_CERT_IMPORTED,
              "mallory's self-made certificate "
              "stored with key (%s)",
              reason ? reason : "");
        X509_free(x);
        EVP_PKEY_free(mk);
    }
    test_crypto();
    test_engine(st, path, kek, ca);
    test_memo_generation(st, path, kek, ca);
    sg_certstore_close(cs);
    sg_store_close(st);
    return CHECK_DONE();
}
