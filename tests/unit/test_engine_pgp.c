/* test_engine_pgp.c - the OpenPGP engine through engine.h with a real keystore: key questions,
 * protect (sign+encrypt, sign-only multipart/signed whose first part is exactly the signed
 * bytes, signer choice, a key made for an internal sender, inline output only when configured
 * and possible), detect, and peel of what protect made. Owner: src/cryptd (OpenPGP). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "engine/engine.h"
#include "mime/mime.h"
#include "pgp_fixture.h"

static int protect(const sg_engine *e, const char *sender, int sign, bool create, const char *const *rcpts,
                   size_t n, const char *msg, sg_buf *out)
{
    char err[256] = "";
    sg_protect_req req = {.sender = sender, .sign = sign, .create_sender_key = create, .rcpts = rcpts,
                          .nrcpt = n, .qid = "test"};
    sg_buf_reset(out);
    int rc = e->protect(&req, msg, strlen(msg), out, err, sizeof err);
    if (rc < 0)
        printf("# protect: %s\n", err);
    return rc;
}

static int peel(const sg_engine *e, const char *from, const char *const *rcpts, size_t n, const sg_buf *msg,
                sg_layer *l)
{
    sg_peel_req req = {.from = from, .rcpts = rcpts, .nrcpt = n, .max_plain = 0, .qid = "test"};
    return e->peel(&req, msg->data, msg->len, l);
}

static void test_protect_peel(const sg_engine *e, sg_keystore *ks, const char *alice)
{
    const char msg[] = "From: Alice <alice@demo.test>\r\nTo: bob@example.net\r\nSubject: plans\r\n"
                       "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                       "caf\xc3\xa9 at noon  \r\nFrom the start\r\n";
    const char *bob[] = {"bob@example.net"}, *alice_r[] = {"alice@demo.test"};
    sg_buf out;
    sg_buf_init(&out, SG_MIME_MAX_OUT);
    sg_layer l;

    CHECK(protect(e, "alice@demo.test", SG_SIGN_SENDER, false, bob, 1, msg, &out) == 0 &&
              e->detect(out.data, out.len) == SG_LAYER_ENCRYPTED && strstr(out.data, "Subject: ...\r\n"),
          "protect: sign+encrypt gives multipart/encrypted with the subject hidden");
    CHECK(peel(e, "alice@demo.test", bob, 1, &out, &l) == 0 && l.kind == SG_LAYER_ENCRYPTED &&
              l.dec == SG_DEC_OK && l.readable && l.readable[0] && l.sig.sig == SG_SIG_VALID &&
              strcmp(l.sig.signer, alice) == 0 && strstr(l.inner, "protected-headers=\"v1\""),
          "peel: bob's held key decrypts, alice's signature valid, protected headers inside");
    sg_layer_free(&l);
    CHECK(peel(e, "alice@demo.test", alice_r, 1, &out, &l) == 0 && l.dec == SG_DEC_NO_KEY && !l.inner &&
              !l.readable[0],
          "peel: a reader the message is not encrypted to gets no-key and no plaintext");
    sg_layer_free(&l);

    /* Sign only: RFC 3156 section 5. The first part is the canonical entity, 7-bit, CRLF. */
    CHECK(protect(e, "alice@demo.test", SG_SIGN_SENDER, false, NULL, 0, msg, &out) == 0 &&
              e->detect(out.data, out.len) == SG_LAYER_SIGNED && strstr(out.data, "Subject: plans\r\n") &&
              strstr(out.data, "micalg=pgp-sha256"),
          "protect: sign-only gives multipart/signed, subject kept");
    const char *part = NULL;
    size_t plen = 0;
    bool seven = true;
    if (sg_mime_signed_content(out.data, out.len, &part, &plen))
        for (size_t i = 0; i < plen; i++)
            seven = seven && (unsigned char)part[i] < 0x80 && (part[i] != '\n' || (i && part[i - 1] == '\r'));
    CHECK(part && seven && memmem(part, plen, "Content-Transfer-Encoding: quoted-printable", 43),
          "sign-only: the signed part is 7-bit CRLF (8-bit text made quoted-printable)");
    CHECK(peel(e, "alice@demo.test", NULL, 0, &out, &l) == 0 && l.kind == SG_LAYER_SIGNED && !l.inner &&
              l.sig.sig == SG_SIG_VALID && strcmp(l.sig.signer, alice) == 0 && l.sig.from_match,
          "peel: the multipart/signed verifies, signer alice, bound to From");
    sg_layer_free(&l);
    char *mod = memmem(out.data, out.len, "noon", 4);
    if (mod)
        mod[0] = 'N';
    CHECK(peel(e, "alice@demo.test", NULL, 0, &out, &l) == 0 && l.sig.sig == SG_SIG_INVALID &&
              strcmp(l.sig.reason, "bad-signature") == 0,
          "peel: one changed byte in the signed part: bad-signature");
    sg_layer_free(&l);

    /* No own key: the domain key signs; with create_sender_key an internal sender gets one. */
    char dom[SG_PGP_FPR_LEN + 1], made[SG_PGP_FPR_LEN + 1];
    CHECK(protect(e, "dora@demo.test", SG_SIGN_SENDER, false, NULL, 0, msg, &out) == 0 &&
              peel(e, "sealgate@demo.test", NULL, 0, &out, &l) == 0 && l.sig.sig == SG_SIG_VALID &&
              sg_keystore_domain_key(ks, "sealgate@demo.test", false, dom) == 0 &&
              strcmp(l.sig.signer, dom) == 0,
          "sender without a key: signed by the domain key");
    sg_layer_free(&l);
    CHECK(e->can_sign_as("dora@demo.test") == 0 &&
              protect(e, "dora@demo.test", SG_SIGN_SENDER, true, NULL, 0, msg, &out) == 0 &&
              e->can_sign_as("dora@demo.test") == 1 &&
              sg_keystore_find_signing_key(ks, "dora@demo.test", NULL, made) == 0 &&
              peel(e, "dora@demo.test", NULL, 0, &out, &l) == 0 && l.sig.sig == SG_SIG_VALID &&
              strcmp(l.sig.signer, made) == 0,
          "create_sender_key: dora gets a key and signs with it");
    sg_layer_free(&l);
    CHECK(protect(e, "eve@example.net", SG_SIGN_SENDER, true, NULL, 0, msg, &out) == 0 &&
              e->can_sign_as("eve@example.net") == 0,
          "create_sender_key: never a key for an external sender (domain key signs instead)");
    CHECK(protect(e, "alice@demo.test", SG_SIGN_DOMAIN, false, NULL, 0, msg, &out) == 0 &&
              peel(e, "sealgate@demo.test", NULL, 0, &out, &l) == 0 && strcmp(l.sig.signer, dom) == 0,
          "SG_SIGN_DOMAIN: the domain key even when the sender has one");
    sg_layer_free(&l);
    CHECK(protect(e, "alice@demo.test", SG_SIGN_NONE, false, NULL, 0, msg, &out) < 0,
          "neither recipients nor signature: refused, nothing produced");
    const char *nokey[] = {"nobody@example.com"};
    CHECK(protect(e, "alice@demo.test", SG_SIGN_SENDER, false, nokey, 1, msg, &out) < 0 &&
              e->can_encrypt_to("nobody@example.com") == 0 && e->can_encrypt_to("bob@example.net") == 1,
          "a recipient without a key: protect fails (the caller holds), can_encrypt_to says 0");
    sg_buf_free(&out);
}

static void test_inline(const sg_engine *e, sg_config *cfg)
{
    const char text[] = "From: alice@demo.test\r\nTo: bob@example.net\r\nSubject: inline\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                        "gr\xc3\xbc\xc3\x9f dich\r\n- dash line\r\n";
    const char multi[] = "From: alice@demo.test\r\nTo: bob@example.net\r\nSubject: m\r\nMIME-Version: 1.0\r\n"
                         "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
                         "x\r\n--b--\r\n";
    const char *bob[] = {"bob@example.net"};
    sg_buf out;
    sg_buf_init(&out, SG_MIME_MAX_OUT);
    cfg->cryptd.pgp_inline = true;
    CHECK(protect(e, "alice@demo.test", SG_SIGN_SENDER, false, bob, 1, text, &out) == 0 &&
              strstr(out.data, "\r\n\r\n-----BEGIN PGP MESSAGE-----") && strstr(out.data, "Subject: inline\r\n") &&
              !strstr(out.data, "multipart/") &&
              e->detect(out.data, out.len) == SG_LAYER_ENCRYPTED,
          "inline configured, one text/plain part: the body is an armored OpenPGP message");
    CHECK(protect(e, "alice@demo.test", SG_SIGN_SENDER, false, NULL, 0, text, &out) == 0 &&
              strstr(out.data, "-----BEGIN PGP SIGNED MESSAGE-----") && strstr(out.data, "quoted-printable") &&
              e->detect(out.data, out.len) == SG_LAYER_SIGNED,
          "inline sign-only: cleartext signature, 8-bit text quoted-printable");
    CHECK(protect(e, "alice@demo.test", SG_SIGN_SENDER, false, bob, 1, multi, &out) == 0 &&
              strstr(out.data, "multipart/encrypted"),
          "inline configured but multipart: PGP/MIME instead");
    cfg->cryptd.pgp_inline = false;
    CHECK(protect(e, "alice@demo.test", SG_SIGN_SENDER, false, bob, 1, text, &out) == 0 &&
              strstr(out.data, "Content-Type: multipart/encrypted"),
          "inline not configured: PGP/MIME");
    sg_buf_free(&out);
}

/* Configuration: archive keys get every encryption; the protected fields and outer Subject. */
static void test_config(const sg_engine *e, sg_keystore *ks, sg_config *cfg)
{
    const char msg[] = "From: alice@demo.test\r\nTo: bob@example.net\r\nCc: cc@example.net\r\nSubject: plans\r\n"
                       "Content-Type: text/plain\r\n\r\nhello\r\n";
    const char *bob[] = {"bob@example.net"}, *arch[] = {"archive@demo.test"};
    char afpr[SG_PGP_FPR_LEN + 1];
    sg_buf out;
    sg_buf_init(&out, SG_MIME_MAX_OUT);
    sg_layer l;
    char *fv[1], *hv[] = {"From"};
    sg_strlist saved_a = cfg->cryptd.pgp_archive_keys, saved_h = cfg->cryptd.protected_headers;
    char *saved_s = cfg->cryptd.outer_subject;
    int ok = sg_keystore_generate(ks, "archive@demo.test", "ed25519", 0, NULL, afpr) == 0;
    fv[0] = afpr;
    cfg->cryptd.pgp_archive_keys = (sg_strlist){fv, 1};
    cfg->cryptd.protected_headers = (sg_strlist){hv, 1};
    cfg->cryptd.outer_subject = "[encrypted]";
    CHECK(ok && protect(e, "alice@demo.test", SG_SIGN_SENDER, false, bob, 1, msg, &out) == 0 &&
              peel(e, "alice@demo.test", arch, 1, &out, &l) == 0 && l.dec == SG_DEC_OK && l.readable[0],
          "archive key configured: the archive's held key decrypts what went to bob");
    CHECK(out.data && strstr(out.data, "Subject: [encrypted]\r\n") && l.inner && strstr(l.inner, "\r\nSubject: plans\r\n") &&
              strstr(l.inner, "\r\nFrom: alice@demo.test\r\n") && !strstr(l.inner, "Cc: cc@example.net"),
          "configured outer Subject; Subject and the configured fields inside, no others");
    sg_layer_free(&l);
    char missing[] = "0000000000000000000000000000000000000000";
    fv[0] = missing;
    CHECK(protect(e, "alice@demo.test", SG_SIGN_SENDER, false, bob, 1, msg, &out) < 0,
          "an archive key not in the keystore: protect fails (held), never sent without the copy");
    cfg->cryptd.pgp_archive_keys = saved_a;
    cfg->cryptd.protected_headers = saved_h;
    cfg->cryptd.outer_subject = saved_s;
    sg_buf_free(&out);
}

/* The engine's configuration keys load, and wrong values are refused with the line. */
static int load(const char *text, sg_config *c, char *err, size_t errlen)
{
    char path[] = "/tmp/sg-test-pgpconf-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        return -2;
    close(fd);
    int rc = sg_config_load(c, path, err, errlen);
    unlink(path);
    return rc;
}

static void test_config_keys(void)
{
    sg_config c;
    char err[256] = "";
    int rc = load("cryptd = { max_layers = 3; pgp_inline = true; outer_subject = \"[secure]\";\n"
                  "  pgp_archive_keys = [\"d1a66e1a23b182c9980f788cfbfcc82a015e7330\"];\n"
                  "  protected_headers = [\"From\", \"X-Ticket\"]; };\n",
                  &c, err, sizeof err);
    CHECK(rc == 0 && c.cryptd.max_layers == 3 && c.cryptd.pgp_inline && strcmp(c.cryptd.outer_subject, "[secure]") == 0 &&
              c.cryptd.pgp_archive_keys.n == 1 &&
              strcmp(c.cryptd.pgp_archive_keys.v[0], "D1A66E1A23B182C9980F788CFBFCC82A015E7330") == 0 &&
              c.cryptd.protected_headers.n == 2,
          "config: cryptd OpenPGP keys load, fingerprints upper-cased (%s)", err);
    if (rc == 0)
        sg_config_free(&c);
    static const char *const bad[][2] = {
        {"cryptd = {\n pgp_archive_keys = [\"ABC\"]; };\n", "fingerprint"},
        {"cryptd = {\n protected_headers = [\"Content-Type\"]; };\n", "header field name"},
        {"cryptd = {\n outer_subject = \"a\\nb\"; };\n", "one line"},
        {"cryptd = {\n max_layers = 0; };\n", "max_layers"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        rc = load(bad[i][0], &c, err, sizeof err);
        CHECK(rc == -1 && strstr(err, ":2:") && strstr(err, bad[i][1]), "config: refused with line 2: %s", err);
    }
}

int main(void)
{
    static pgp_fixture f;
    char alice[SG_PGP_FPR_LEN + 1], bob[SG_PGP_FPR_LEN + 1];
    int ok = fixture_open(&f) == 0;
    CHECK(ok && strcmp(f.e->name, "pgp") == 0, "keystore opened, the pgp engine registered and initialised");
    if (!ok)
        return CHECK_DONE();
    CHECK(sg_keystore_generate(f.ks, "alice@demo.test", "ed25519", 0, NULL, alice) == 0 &&
              sg_keystore_generate(f.ks, "Bob <bob@example.net>", "ed25519", 0, NULL, bob) == 0,
          "keys generated");
    test_protect_peel(f.e, f.ks, alice);
    test_inline(f.e, &f.cfg);
    test_config(f.e, f.ks, &f.cfg);
    test_config_keys();
    if (fixture_close(&f) < 0)
        return 1;
    return CHECK_DONE();
}
