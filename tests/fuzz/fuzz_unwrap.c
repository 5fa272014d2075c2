/* fuzz_unwrap.c - libFuzzer target for the decryption-oracle rule of the decrypt/verify entry
 * point (issue 9, item 6): the fuzzer builds the wrapper, sealgate's ciphertext goes inside.
 * A marker text is encrypted once to bob's OpenPGP key and once to his S/MIME certificate (held
 * in a real store); in the input every "@E@" becomes the PGP/MIME multipart/encrypted entity,
 * every "@A@" an inline armored block, every "@S@" the application/pkcs7-mime entity
 * (EnvelopedData); the two formats nested in each other, made at setup as well: every "@P@" is
 * a PGP/MIME entity whose plaintext is that S/MIME entity, every "@Q@" an S/MIME entity whose
 * plaintext is the PGP/MIME one (both engines and their stores loaded; setup checks that both
 * open to the marker, so the nesting is really peeled). Whatever the wrapper (parts beside it,
 * alternatives, text around the block, nesting, signatures), when sg_unwrap decrypted anything
 * and the marker is in the body it delivers, that body must be the decrypted text and nothing
 * else: no plaintext byte ever sits beside a part the outer sender controls.
 * Owner: src/cryptd (OpenPGP). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/pgp/engine_pgp_int.h"
#include "engine/unwrap.h"
#include "fuzz_engines.h"
#include "mime/mime.h"

#define MARKER "sealgate-oracle-marker-7c1d\r\n"
#define MAX_SUBST 8

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sg_config cfg;
static sg_engine_env env;
static const char *const rcpts[] = {"bob@demo.test", "carl@demo.test"};
static sg_buf pgpmime; /* "@E@" */
static char *armor;    /* "@A@" */
static size_t armorlen;
static sg_buf smime;        /* "@S@" */
static sg_buf smime_in_pgp; /* "@P@" */
static sg_buf pgp_in_smime; /* "@Q@" */
static char fpr[1][SG_PGP_FPR_LEN + 1];

/* The entity ent (headers, empty line, body) encrypted by the S/MIME engine to bob, as an
 * application/pkcs7-mime entity (what follows MIME-Version in the engine's message). */
static void smime_wrap(const char *ent, size_t entlen, sg_buf *to_buf)
{
    const char *to[] = {"bob@demo.test"};
    sg_protect_req req = {.sender = "alice@example.net", .sign = SG_SIGN_NONE, .rcpts = to, .nrcpt = 1};
    sg_buf msg, out;
    char err[256];
    sg_buf_init(&msg, 4u << 20);
    sg_buf_init(&out, 4u << 20);
    sg_buf_init(to_buf, 4u << 20);
    const sg_engine *e = sg_engine_by_method(SG_METHOD_SMIME);
    if (!e || sg_buf_appendf(&msg, "From: alice@example.net\r\nTo: bob@demo.test\r\nSubject: s\r\n") < 0 ||
        sg_buf_append(&msg, ent, entlen) < 0 || e->protect(&req, msg.data, msg.len, &out, err, sizeof err) < 0 ||
        sg_buf_append(&out, "", 1) < 0)
        abort();
    const char *mv = strstr(out.data, "\r\nMIME-Version: 1.0\r\n");
    if (!mv || sg_buf_append(to_buf, mv + 21, out.len - 1 - (size_t)(mv + 21 - out.data)) < 0)
        abort();
    sg_buf_free(&msg);
    sg_buf_free(&out);
}

/* The entity ent encrypted to bob's OpenPGP key, as a PGP/MIME multipart/encrypted entity. */
static void pgp_wrap(const char *ent, size_t entlen, sg_buf *to_buf)
{
    char err[256], *c = NULL;
    size_t clen = 0;
    if (sg_pgp_ops_encrypt(sg_engine_pgp_keys(), NULL, fpr, 1, ent, entlen, &c, &clen, err, sizeof err) < 0)
        abort();
    sg_buf_init(to_buf, 4u << 20);
    if (sg_buf_appendf(
            to_buf,
            "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"enc\"\r\n"
            "\r\n--enc\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--enc\r\n"
            "Content-Type: application/octet-stream\r\n\r\n") < 0 ||
        sg_mime_to_crlf(c, clen, to_buf) < 0 || sg_buf_appendf(to_buf, "\r\n--enc--\r\n") < 0)
        abort();
    free(c);
}

/* A nesting made at setup must open, layer by layer, to exactly the marker: else the fuzzer
 * would only ever see an undecryptable blob and the nesting would go untested. */
static void check_opens(const sg_buf *entity)
{
    const char *to[] = {"bob@demo.test"};
    sg_buf msg;
    sg_buf_init(&msg, 4u << 20);
    if (sg_buf_appendf(&msg, "From: alice@example.net\r\nTo: bob@demo.test\r\nSubject: n\r\nMIME-Version: 1.0\r\n") < 0 ||
        sg_buf_append(&msg, entity->data, entity->len) < 0)
        abort();
    sg_unwrap_req req = {.rcpts = to, .nrcpt = 1, .authserv_id = "gw.demo.test", .max_layers = 4, .qid = "fuzz"};
    sg_unwrap_result u;
    if (sg_unwrap(&req, msg.data, msg.len, &u) < 0 || u.hold || !u.readable[0] || u.layers < 2 ||
        u.reader.dec != SG_UNWRAP_DEC_FULL || !u.reader_msg ||
        !memmem(u.reader_msg, u.reader_len, "\r\n\r\n" MARKER, strlen(MARKER) + 4)) {
        fprintf(stderr, "fuzz_unwrap setup: a nesting does not open to the marker (layers=%d)\n", u.layers);
        abort();
    }
    sg_unwrap_result_free(&u);
    sg_buf_free(&msg);
}

/* Once per process: bob's key and the engines (fuzz_engines.h), the ciphertexts of the
 * marker and the two nestings. */
static void setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    char err[256];
    fuzz_engines_setup(&cfg, &env, &lock, "bob@demo.test", fpr[0], true);
    /* The entity "Content-Type: text/plain" + MARKER for PGP/MIME and S/MIME, the bare MARKER
     * inline: all open to a body that is exactly MARKER. */
    static const char ent[] = "Content-Type: text/plain\r\n\r\n" MARKER;
    smime_wrap(ent, sizeof ent - 1, &smime);
    pgp_wrap(ent, sizeof ent - 1, &pgpmime);
    if (sg_pgp_ops_encrypt(sg_engine_pgp_keys(), NULL, fpr, 1, MARKER, strlen(MARKER), &armor, &armorlen, err,
                           sizeof err) < 0)
        abort();
    pgp_wrap(smime.data, smime.len, &smime_in_pgp);
    smime_wrap(pgpmime.data, pgpmime.len, &pgp_in_smime);
    check_opens(&smime_in_pgp);
    check_opens(&pgp_in_smime);
}

/* The input with the placeholders replaced (at most MAX_SUBST of them). */
static int build(const char *in, size_t n, sg_buf *out)
{
    size_t subst = 0, i = 0, copied = 0;
    while (i + 3 <= n && subst < MAX_SUBST) {
        const char *with = NULL;
        size_t wlen = 0;
        if (memcmp(in + i, "@E@", 3) == 0) {
            with = pgpmime.data;
            wlen = pgpmime.len;
        } else if (memcmp(in + i, "@A@", 3) == 0) {
            with = armor;
            wlen = armorlen;
        } else if (memcmp(in + i, "@S@", 3) == 0) {
            with = smime.data;
            wlen = smime.len;
        } else if (memcmp(in + i, "@P@", 3) == 0) {
            with = smime_in_pgp.data;
            wlen = smime_in_pgp.len;
        } else if (memcmp(in + i, "@Q@", 3) == 0) {
            with = pgp_in_smime.data;
            wlen = pgp_in_smime.len;
        } else {
            i++;
            continue;
        }
        if (sg_buf_append(out, in + copied, i - copied) < 0 || sg_buf_append(out, with, wlen) < 0)
            return -1;
        i += 3;
        copied = i;
        subst++;
    }
    return sg_buf_append(out, in + copied, n - copied);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    sg_buf msg;
    sg_buf_init(&msg, 4u << 20);
    if (build((const char *)data, size, &msg) < 0 || !msg.data) {
        sg_buf_free(&msg);
        return 0;
    }
    sg_unwrap_req req = {
        .rcpts = rcpts, .nrcpt = 2, .authserv_id = "gw.demo.test", .max_layers = 4, .qid = "fuzz"};
    sg_unwrap_result u;
    if (sg_unwrap(&req, msg.data, msg.len, &u) < 0) {
        sg_buf_free(&msg);
        return 0;
    }
    if (u.hold && (u.reader_msg || u.other_msg))
        abort(); /* a held message releases nothing */
    bool opened = u.reader_msg && u.reader.encrypted &&
                  (u.reader.dec == SG_UNWRAP_DEC_FULL || u.reader.dec == SG_UNWRAP_DEC_PARTIAL);
    if (opened) {
        const char *end = memmem(u.reader_msg, u.reader_len, "\r\n\r\n", 4);
        const char *body = end ? end + 4 : u.reader_msg + u.reader_len;
        size_t blen = (size_t)(u.reader_msg + u.reader_len - body);
        /* The plaintext is delivered only as the whole body, alone. */
        if (memmem(body, blen, "oracle-marker", 13) &&
            (blen != strlen(MARKER) || memcmp(body, MARKER, blen) != 0))
            abort();
    }
    /* What the others get is the message as it arrived: never the plaintext. */
    if (u.other_msg && memmem(u.other_msg, u.other_len, "oracle-marker", 13) &&
        !memmem(msg.data, msg.len, "oracle-marker", 13))
        abort();
    sg_unwrap_result_free(&u);
    sg_buf_free(&msg);
    return 0;
}
