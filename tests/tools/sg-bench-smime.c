/* sg-bench-smime.c - the measuring half of bench/smime: sign+encrypt of one message as fast
 * as THREADS threads can for SECONDS, either through the S/MIME engine's protect (store
 * lookups, certificate validation, MIME canonicalisation, CMS, base64) or as the in-process
 * CMS ceiling (the same CMS sign and encrypt with certificates and keys loaded once, no store,
 * no MIME). Prints "messages=N seconds=S rate=R". Owner: bench (S/MIME). Not installed.
 *
 *   sg-bench-smime -c CONF --mode engine|ceiling --from A --to B [--threads N] [--seconds S] <msg */
#include <openssl/cms.h>
#include <openssl/err.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/kek.h"
#include "engine/engine.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "mime/mime.h"

#define MAX_THREADS 64

static const sg_engine *eng;
static const char *from, *to, *msg;
static size_t msglen;
static int ceiling;
static X509 *scert, *rcert;
static EVP_PKEY *skey;
static STACK_OF(X509) * rstack;
static atomic_long done;
static atomic_int failed, stop;

/* The CMS work of one message without anything around it. */
static int ceiling_once(void)
{
    BIO *in = BIO_new_mem_buf(msg, (int)msglen), *mid = BIO_new(BIO_s_mem());
    CMS_ContentInfo *s = CMS_sign(scert, skey, NULL, in, CMS_DETACHED | CMS_BINARY);
    int ok = s && i2d_CMS_bio(mid, s);
    CMS_ContentInfo *e = ok ? CMS_encrypt(rstack, mid, EVP_aes_256_cbc(), CMS_BINARY) : NULL;
    BIO *out = BIO_new(BIO_s_mem());
    ok = e && i2d_CMS_bio(out, e);
    CMS_ContentInfo_free(s);
    CMS_ContentInfo_free(e);
    BIO_free(in);
    BIO_free(mid);
    BIO_free(out);
    ERR_clear_error();
    return ok ? 0 : -1;
}

static int engine_once(void)
{
    const char *rc[1] = {to};
    sg_protect_req req = {.sender = from, .sign = SG_SIGN_SENDER, .rcpts = rc, .nrcpt = 1, .qid = "bench"};
    sg_buf out;
    sg_buf_init(&out, SG_MIME_MAX_OUT);
    char err[256];
    int r = eng->protect(&req, msg, msglen, &out, err, sizeof err);
    if (r < 0 && atomic_load(&failed) == 0)
        fprintf(stderr, "protect: %s\n", err);
    sg_buf_free(&out);
    return r;
}

static void *worker(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        if ((ceiling ? ceiling_once() : engine_once()) < 0) {
            atomic_fetch_add(&failed, 1);
            break;
        }
        atomic_fetch_add(&done, 1);
    }
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The newest certificate of addr with a key (ceiling mode needs the signer's key too). */
static int load_pair(sg_certstore *cs, const char *addr, X509 **x, EVP_PKEY **k)
{
    sg_cert_info *list;
    size_t n;
    if (sg_certstore_list(cs, addr, &list, &n) < 0 || n == 0)
        return -1;
    *x = sg_certstore_load_cert(cs, list[0].fpr);
    if (k)
        *k = sg_certstore_load_key(cs, list[0].fpr);
    sg_certstore_free_list(list, n);
    return *x && (!k || *k) ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *conf = NULL;
    int threads = 2;
    double seconds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-c") == 0)
            conf = argv[i + 1];
        else if (strcmp(argv[i], "--mode") == 0)
            ceiling = strcmp(argv[i + 1], "ceiling") == 0;
        else if (strcmp(argv[i], "--from") == 0)
            from = argv[i + 1];
        else if (strcmp(argv[i], "--to") == 0)
            to = argv[i + 1];
        else if (strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[i + 1]);
    }
    if (!from || !to || threads < 1 || threads > MAX_THREADS || seconds <= 0) {
        fprintf(stderr, "usage: sg-bench-smime -c CONF --mode engine|ceiling --from A --to B [--threads N]"
                        " [--seconds S] <msg\n");
        return 2;
    }
    sg_buf in;
    sg_buf_init(&in, SG_MIME_MAX_OUT);
    char chunk[65536], err[512];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
        sg_buf_append(&in, chunk, n);
    msg = in.data ? in.data : "";
    msglen = in.len;
    sg_config cfg;
    if (sg_config_load(&cfg, sg_config_default_path(conf), err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    sg_mime_init();
    char kek[4096];
    sg_kek_path(cfg.base_dir, kek, sizeof kek);
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    sg_engine_env env = {.cfg = &cfg, .lock = &lock};
    if (!(env.st = sg_store_open(cfg.store_path, err, sizeof err)) ||
        !(env.cs = sg_certstore_open(env.st, kek, 0))) {
        fprintf(stderr, "store: %s\n", err);
        return 2;
    }
    snprintf(env.domain_addr, sizeof env.domain_addr, "sealgate@%s",
             cfg.internal_domains.n ? cfg.internal_domains.v[0] : "localhost");
    eng = sg_engine_by_method(SG_METHOD_SMIME);
    if (!eng || eng->init(&env) < 0)
        return 2;
    if (ceiling) {
        if (load_pair(env.cs, from, &scert, &skey) < 0 || load_pair(env.cs, to, &rcert, NULL) < 0) {
            fprintf(stderr, "certificates for %s (with key) and %s needed\n", from, to);
            return 2;
        }
        rstack = sk_X509_new_null();
        sk_X509_push(rstack, rcert);
    }
    /* One message first, so a setup error is reported rather than measured. */
    if ((ceiling ? ceiling_once() : engine_once()) < 0)
        return 1;
    pthread_t th[MAX_THREADS];
    double t0 = now();
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, worker, NULL);
    while (now() - t0 < seconds && !atomic_load(&failed)) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    double el = now() - t0;
    long d = atomic_load(&done);
    printf("messages=%ld seconds=%.2f rate=%.1f\n", d, el, (double)d / el);
    sk_X509_free(rstack);
    X509_free(scert);
    X509_free(rcert);
    EVP_PKEY_free(skey);
    sg_certstore_close(env.cs);
    sg_store_close(env.st);
    sg_config_free(&cfg);
    sg_buf_free(&in);
    return atomic_load(&failed) ? 1 : 0;
}
