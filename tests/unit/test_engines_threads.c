/* test_engines_threads.c - both engines and the decrypt/verify entry point used by several
 * threads at once over one store and its lock, as cryptd's workers use them: each thread
 * protects a message to bob with OpenPGP and with S/MIME and opens both again through
 * sg_unwrap, several times (the per-thread key caches fill and are reused), and then runs the
 * policy transform from several threads while the main thread puts new policy revisions in
 * force, as cryptd's reload does every second. Every round trip must give back the text and
 * every transform the output of one of the revisions. Mainly for the ThreadSanitizer tree (tests/unit/tsan-tests), where a
 * data race in the engines, their caches or the store is a failure. Owner: tests.
 * The fixture (KEK, store, bob's key and certificate, every engine) is the fuzz targets' one. */
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/fuzz_engines.h"
#include "check.h"
#include "policy/transform_policy.h"
#include "engine/unwrap.h"
#include "policy/pstore.h"

#define THREADS 3
#define ROUNDS 4

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sg_config cfg;
static sg_engine_env env;
static const char text[] = "threads round trip\r\n";
static const char msg[] = "From: alice@example.net\r\nTo: bob@demo.test\r\nSubject: t\r\n"
                          "Content-Type: text/plain\r\n\r\nthreads round trip\r\n";

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

/* protect with method to bob, then sg_unwrap as bob: 1 when bob gets exactly the text. */
static int round_trip(int method)
{
    const char *to[] = {"bob@demo.test"};
    sg_protect_req req = {.sender = "alice@example.net", .sign = SG_SIGN_NONE, .rcpts = to, .nrcpt = 1, .qid = "t"};
    sg_buf out;
    char err[256];
    sg_buf_init(&out, 1u << 20);
    const sg_engine *e = sg_engine_by_method(method);
    int ok = 0;
    if (e && e->protect(&req, msg, sizeof msg - 1, &out, err, sizeof err) == 0) {
        sg_unwrap_req ur = {.rcpts = to, .nrcpt = 1, .authserv_id = "gw.demo.test", .max_layers = 4, .qid = "t"};
        sg_unwrap_result u;
        if (sg_unwrap(&ur, out.data, out.len, &u) == 0) {
            const char *body = u.reader_msg ? memmem(u.reader_msg, u.reader_len, "\r\n\r\n", 4) : NULL;
            ok = !u.hold && u.readable[0] && u.reader.dec == SG_UNWRAP_DEC_FULL && body &&
                 (size_t)(u.reader_msg + u.reader_len - body - 4) == sizeof text - 1 &&
                 memcmp(body + 4, text, sizeof text - 1) == 0;
            sg_unwrap_result_free(&u);
        }
    }
    sg_buf_free(&out);
    return ok;
}

static void *worker(void *arg)
{
    int *good = arg;
    for (int r = 0; r < ROUNDS; r++)
        *good += round_trip(SG_METHOD_PGP) + round_trip(SG_METHOD_SMIME);
    return NULL;
}

/* The two revisions the main thread alternates: the message unchanged, or with a header. */
static const char *const revisions[] = {
    "rules = ( { then = \"deliver\"; } );\n",
    "rules = ( { then = ( { add_header = \"X-Rev: b\"; }, \"deliver\" ); } );\n",
};

static void *transformer(void *arg)
{
    int *good = arg;
    const char m[] = "From: alice@demo.test\r\nTo: carl@x.example\r\nSubject: p\r\n\r\nHello.\r\n";
    for (int r = 0; r < ROUNDS * 5; r++) {
        sg_envelope e;
        sg_env_init(&e);
        snprintf(e.id, sizeof e.id, "0123456789abcdef");
        sg_env_set(&e.from, "alice@demo.test");
        sg_env_add_rcpt(&e, "carl@x.example", NULL, NULL);
        sg_transform_result res;
        if (sg_transform_policy(&e, m, sizeof m - 1, &res) == 0) {
            const sg_output *o = res.nout == 1 ? &res.out[0] : NULL;
            *good += !res.hold && !res.defer && o && !o->hold &&
                     (res.unchanged || memmem(o->data, o->len, "X-Rev: b\r\n", 10) != NULL);
            sg_transform_result_free(&res);
        }
        sg_env_free(&e);
    }
    return NULL;
}

int main(void)
{
    char fpr[SG_PGP_FPR_LEN + 1];
    LLVMFuzzerInitialize(NULL, NULL); /* the fixture's KEK (named for libFuzzer) */
    fuzz_engines_setup(&cfg, &env, &lock, "bob@demo.test", fpr, true);
    CHECK(round_trip(SG_METHOD_PGP) && round_trip(SG_METHOD_SMIME), "one thread: OpenPGP and S/MIME round trips");
    pthread_t t[THREADS];
    int good[THREADS] = {0};
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, &good[i]);
    int all = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        all += good[i];
    }
    CHECK(all == THREADS * ROUNDS * 2, "%d threads at once: %d of %d round trips exact", THREADS, all,
          THREADS * ROUNDS * 2);

    char err[256];
    long long rev;
    CHECK(sg_transform_policy_init(&env) == 0 && sg_pstore_save(env.st, revisions[0], "t", &rev, err, sizeof err) == 0 &&
              sg_transform_policy_reload() == 1,
          "the policy transform starts with a revision in force");
    int done = 0;
    for (int i = 0; i < THREADS; i++) {
        good[i] = 0;
        pthread_create(&t[i], NULL, transformer, &good[i]);
    }
    int reloads = 0;
    for (int i = 1; i <= 8; i++) { /* the admin's save, under the store lock the workers share */
        pthread_mutex_lock(&lock);
        int saved = sg_pstore_save(env.st, revisions[i % 2], "t", &rev, err, sizeof err) == 0;
        pthread_mutex_unlock(&lock);
        reloads += saved && sg_transform_policy_reload() == 1;
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        done += good[i];
    }
    CHECK(reloads == 8 && done == THREADS * ROUNDS * 5,
          "%d threads transform while 8 revisions are put in force: %d of %d outputs those of a revision",
          THREADS, done, THREADS * ROUNDS * 5);
    sg_transform_policy_done();
    *strstr(kek_path, "/keys/kek") = '\0'; /* the fixture's temp dir, store and KEK in it */
    CHECK(nftw(kek_path, rm_one, 8, FTW_DEPTH | FTW_PHYS) == 0, "temporary store removed");
    return CHECK_DONE();
}
