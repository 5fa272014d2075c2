/* fuzz_smime.c - libFuzzer target for S/MIME input: arbitrary bytes go (1) as a message
 * through the S/MIME engine's detect and peel (MIME detection, base64, CMS parsing,
 * RecipientInfo matching, signature verification), (2) as raw DER through the CMS calls, and
 * (3) when they look like an entity ("Content-..."), through protect and back through peel
 * twice, so decrypted and signed content of any shape reaches the parsers too.
 * The store (in memory) holds a local CA and two internal users with keys, made once per
 * process. Owner: src/cryptd (S/MIME). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/smime/cms.h"
#include "engine/engine.h"
#include "fuzz_kek.h"
#include "keys/ca.h"
#include "mime/mime.h"
#include "mime/smime.h"

static sg_store *st;
static sg_certstore *cs;
static sg_config cfg;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sg_engine_env env;
static const sg_engine *eng;
static char fprs[2][SG_CERT_FPR_LEN + 1];
static const char *const rcpts[] = {"alice@demo.test", "carol@demo.test"};

static void setup(void)
{
    char err[256], ca[SG_CERT_FPR_LEN + 1];
    sg_mime_init();
    if (!(st = sg_store_open(":memory:", err, sizeof err)) || !(cs = sg_certstore_open(st, kek_path, 0)) ||
        sg_ca_init(cs, "CN=Fuzz CA", 3650, false, ca) != 0 ||
        sg_ca_issue(cs, rcpts[0], SG_CA_USAGE_SIGN | SG_CA_USAGE_ENCRYPT, 365, false, fprs[0]) != 0 ||
        sg_ca_issue(cs, rcpts[1], SG_CA_USAGE_SIGN | SG_CA_USAGE_ENCRYPT, 365, true, fprs[1]) != 0 ||
        sg_config_load(&cfg, NULL, err, sizeof err) < 0)
        abort();
    env = (sg_engine_env){.cfg = &cfg, .st = st, .cs = cs, .lock = &lock};
    snprintf(env.domain_addr, sizeof env.domain_addr, "sealgate@demo.test");
    if (!(eng = sg_engine_by_method(SG_METHOD_SMIME)) || eng->init(&env) < 0)
        abort();
}

/* Touches what a layer reports, so ASan sees a bad pointer or length. */
static void consume(const sg_layer *l, size_t nrcpt)
{
    if (l->inner && strlen(l->inner) > l->innerlen)
        abort();
    for (size_t i = 0; l->readable && i < nrcpt; i++)
        (void)l->readable[i];
    if (l->signer_cert && l->signer_certlen)
        (void)l->signer_cert[l->signer_certlen - 1];
    if (l->dec == SG_DEC_NO_INTEGRITY && l->inner)
        abort(); /* never release plaintext that failed its integrity check */
}

static void peel_twice(const char *msg, size_t len)
{
    sg_peel_req req = {.from = "alice@demo.test", .rcpts = rcpts, .nrcpt = 2, .max_plain = 1 << 20};
    sg_layer l;
    (void)eng->detect(msg, len);
    if (eng->peel(&req, msg, len, &l) < 0)
        return;
    consume(&l, 2);
    if (l.inner) {
        sg_layer l2;
        if (eng->peel(&req, l.inner, l.innerlen, &l2) == 0) {
            consume(&l2, 2);
            sg_layer_free(&l2);
        }
    }
    sg_layer_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    if (!eng)
        setup();
    char *copy = malloc(len ? len : 1); /* exact size: ASan catches reads past the end */
    if (!copy)
        return 0;
    memcpy(copy, buf, len);
    peel_twice(copy, len);

    sg_smime_keys k = {.cs = cs, .lock = &lock};
    const unsigned char *der = (const unsigned char *)copy;
    (void)sg_smime_der_type(der, len);
    sg_smime_decrypted d;
    if (sg_smime_decrypt(&k, fprs, 2, der, len, 1 << 20, &d) == 0) {
        if (d.status != SG_DEC_OK && d.plain)
            abort();
        sg_smime_decrypted_free(&d);
    }
    sg_smime_verified v;
    if (sg_smime_verify(&k, "alice@demo.test", time(NULL), der, len, NULL, 0, 1 << 20, &v) == 0)
        sg_smime_verified_free(&v);
    if (sg_smime_verify(&k, "alice@demo.test", time(NULL), der, len, "x\r\n", 3, 1 << 20, &v) == 0)
        sg_smime_verified_free(&v);

    if (len > 8 && memcmp(copy, "Content-", 8) == 0) {
        const char *to[] = {rcpts[1]};
        sg_protect_req req = {.sender = rcpts[0], .sign = SG_SIGN_SENDER, .rcpts = to, .nrcpt = 1};
        sg_buf out;
        sg_buf_init(&out, 1 << 22);
        char err[256];
        if (eng->protect(&req, copy, len, &out, err, sizeof err) == 0)
            peel_twice(out.data, out.len);
        sg_buf_free(&out);
    }
    free(copy);
    return 0;
}
