/* fuzz_pgp_inline.c - libFuzzer target for the decrypt/verify entry point on attacker-made
 * mail: any bytes as a message go through sg_unwrap with a real keystore holding a key of the
 * recipient (so armor scanning, inline and PGP/MIME peeling, the multipart walk, splicing and
 * stamping all run), and through the engines' detect. Checks the EFAIL invariants that must
 * hold whatever comes in: a hold releases no message, a reader always gets the opened message,
 * and no forged copy of our result fields survives. Owner: src/cryptd (OpenPGP). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/unwrap.h"
#include "fuzz_engines.h"
#include "mime/mime.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sg_config cfg;
static sg_engine_env env;
static const char *const rcpts[] = {"bob@demo.test", "carl@demo.test"};

/* Once per process: bob's key and the engines (fuzz_engines.h). */
static void setup(void)
{
    static int done;
    char fpr[SG_PGP_FPR_LEN + 1];
    if (!done)
        fuzz_engines_setup(&cfg, &env, &lock, "bob@demo.test", fpr, false);
    done = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    const char *msg = (const char *)data;
    for (size_t e = 0; sg_engines[e]; e++)
        (void)sg_engines[e]->detect(msg, size);
    sg_unwrap_req req = {.rcpts = rcpts, .nrcpt = 2, .authserv_id = "gw.demo.test", .max_layers = 4, .qid = "fuzz"};
    sg_unwrap_result u;
    if (sg_unwrap(&req, msg, size, &u) < 0)
        return 0;
    if (u.hold && (u.reader_msg || u.other_msg))
        abort(); /* EFAIL: a held message releases nothing */
    if (u.unchanged && (u.reader_msg || u.other_msg))
        abort();
    if ((u.readable[0] || u.readable[1]) && !u.reader_msg)
        abort(); /* a reader always gets the opened message */
    /* Forged result fields never survive: at most one of each of ours in what is delivered. */
    const char *out[] = {u.reader_msg, u.other_msg};
    size_t outlen[] = {u.reader_len, u.other_len};
    for (int i = 0; i < 2; i++) {
        sg_rawmsg m;
        if (!out[i] || sg_rawmsg_parse(out[i], outlen[i], &m) < 0)
            continue;
        int dec = 0, sig = 0;
        for (size_t h = 0; h < m.nh; h++) {
            dec += sg_rawhdr_is(&m.h[h], "X-Sealgate-Decryption");
            sig += sg_rawhdr_is(&m.h[h], "X-Sealgate-Signature");
        }
        sg_rawmsg_free(&m);
        if (dec > 1 || sig > 1)
            abort();
    }
    sg_unwrap_result_free(&u);
    return 0;
}
