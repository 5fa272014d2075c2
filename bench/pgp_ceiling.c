/* pgp_ceiling.c - in-process OpenPGP sign+encrypt rates, the yardsticks of bench/pgp.
 * Owner: bench.
 *
 *   pgp_ceiling ALGO MESSAGES [THREADS [SIZE [PART]]]
 *   ALGO ed25519|rsa3072; THREADS default 2; SIZE default 10240; PART both|raw|keystore
 *
 * Two measurements of the same work (one SIZE-byte MIME entity signed by the sender's key and
 * encrypted to one recipient, with pgp_ops.c's options: AES-256, SEIPD with MDC, SHA-256, no
 * compression, ASCII armor), MESSAGES in all, spread over THREADS threads:
 *   raw       the ceiling: librnp alone, each thread with one context holding both keys,
 *             loaded from the keystore before the clock starts; per message only the librnp
 *             operation.
 *   keystore  sg_pgp_ops_encrypt, as cryptd calls it: keys from a real keystore (SQLite store,
 *             KEK-wrapped secret) behind one shared mutex, like cryptd's worker threads.
 * Prints one line per part: "PART ALGO: R msg/s (N messages, T threads, S s)".
 * PART lets a profiler (perf, callgrind) look at one path alone.
 * Keys are generated in a temporary directory that is removed at the end. */
#include <pthread.h>
#include <rnp/rnp.h>
#include <rnp/rnp_err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchstore.h"
#include "engine/pgp/pgpcache.h"
#include "engine/pgp/pgp_ops.h"
#include "keys/keystore.h"
#include "store/store.h"

typedef struct job {
    const char *algo;
    const char *signer, *rcpt; /* fingerprints */
    const sg_pgp_ops_keys *keys;
    const char *data;
    size_t len;
    size_t n; /* messages for this thread */
    int failed;
} job;

/* One sign+encrypt with librnp, the options of sg_pgp_ops_encrypt. */
static int seal(rnp_ffi_t ffi, rnp_key_handle_t signer, rnp_key_handle_t rcpt, const char *data, size_t len)
{
    rnp_input_t in = NULL;
    rnp_output_t o = NULL;
    rnp_op_encrypt_t op = NULL;
    int rc = -1;
    if (rnp_input_from_memory(&in, (const uint8_t *)data, len, false) == RNP_SUCCESS &&
        rnp_output_to_memory(&o, 0) == RNP_SUCCESS && rnp_op_encrypt_create(&op, ffi, in, o) == RNP_SUCCESS &&
        rnp_op_encrypt_add_recipient(op, rcpt) == RNP_SUCCESS &&
        rnp_op_encrypt_add_signature(op, signer, NULL) == RNP_SUCCESS &&
        rnp_op_encrypt_set_hash(op, "SHA256") == RNP_SUCCESS &&
        rnp_op_encrypt_set_cipher(op, "AES256") == RNP_SUCCESS &&
        rnp_op_encrypt_set_aead(op, "None") == RNP_SUCCESS &&
        rnp_op_encrypt_set_compression(op, "Uncompressed", 0) == RNP_SUCCESS &&
        rnp_op_encrypt_set_armor(op, true) == RNP_SUCCESS && rnp_op_encrypt_execute(op) == RNP_SUCCESS)
        rc = 0;
    rnp_op_encrypt_destroy(op);
    rnp_output_destroy(o);
    rnp_input_destroy(in);
    return rc;
}

static void *raw_thread(void *arg)
{
    job *j = arg;
    rnp_ffi_t ffi = NULL;
    rnp_key_handle_t s = NULL, r = NULL;
    j->failed = 1;
    if (rnp_ffi_create(&ffi, "GPG", "GPG") != RNP_SUCCESS ||
        sg_pgpcache_load(j->keys, ffi, j->signer, true) < 0 ||
        sg_pgpcache_load(j->keys, ffi, j->rcpt, false) < 0 ||
        rnp_locate_key(ffi, "fingerprint", j->signer, &s) != RNP_SUCCESS ||
        rnp_locate_key(ffi, "fingerprint", j->rcpt, &r) != RNP_SUCCESS || !s || !r)
        goto out;
    j->failed = 0;
    for (size_t i = 0; i < j->n && !j->failed; i++)
        j->failed = seal(ffi, s, r, j->data, j->len) < 0;
out:
    rnp_key_handle_destroy(s);
    rnp_key_handle_destroy(r);
    rnp_ffi_destroy(ffi);
    return NULL;
}

static void *keystore_thread(void *arg)
{
    job *j = arg;
    char rcpts[1][SG_PGP_FPR_LEN + 1];
    memcpy(rcpts[0], j->rcpt, SG_PGP_FPR_LEN + 1);
    for (size_t i = 0; i < j->n && !j->failed; i++) {
        char *out = NULL, err[200];
        size_t outlen = 0;
        if (sg_pgp_ops_encrypt(j->keys, j->signer, rcpts, 1, j->data, j->len, &out, &outlen, err,
                               sizeof err) < 0) {
            fprintf(stderr, "pgp_ceiling: %s\n", err);
            j->failed = 1;
        }
        free(out);
    }
    return NULL;
}

/* Runs fn on nthreads threads sharing n messages; prints the rate. 0 or -1. */
static int run(const char *part, void *(*fn)(void *), const job *tmpl, size_t n, int nthreads)
{
    job jobs[64];
    pthread_t tid[64];
    double t0 = bench_now();
    for (int i = 0; i < nthreads; i++) {
        jobs[i] = *tmpl;
        jobs[i].n = n / (size_t)nthreads + ((size_t)i < n % (size_t)nthreads);
        pthread_create(&tid[i], NULL, fn, &jobs[i]);
    }
    int failed = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(tid[i], NULL);
        failed |= jobs[i].failed;
    }
    double dt = bench_now() - t0;
    if (failed) {
        fprintf(stderr, "pgp_ceiling: %s %s failed\n", part, tmpl->algo);
        return -1;
    }
    printf("%s %s: %.0f msg/s (%zu messages, %d threads, %.2f s)\n", part, tmpl->algo, (double)n / dt, n,
           nthreads, dt);
    fflush(stdout);
    return 0;
}

/* A MIME entity of about size bytes: text lines of 76 characters, CRLF. */
static char *entity(size_t size, size_t *len)
{
    static const char head[] = "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
    char *b = malloc(size + sizeof head + 80);
    if (!b)
        return NULL;
    size_t n = sizeof head - 1;
    memcpy(b, head, n);
    for (size_t line = 0; n < size; line++) {
        for (int c = 0; c < 76; c++)
            b[n++] = (char)('a' + (line * 7 + (size_t)c) % 26);
        b[n++] = '\r';
        b[n++] = '\n';
    }
    *len = n;
    return b;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: pgp_ceiling ed25519|rsa3072 MESSAGES [THREADS [SIZE [both|raw|keystore]]]\n");
        return 2;
    }
    const char *algo = argv[1];
    size_t n = strtoul(argv[2], NULL, 10);
    int nthreads = argc > 3 ? atoi(argv[3]) : 2;
    size_t size = argc > 4 ? strtoul(argv[4], NULL, 10) : 10240;
    const char *part = argc > 5 ? argv[5] : "both";
    if (nthreads < 1 || nthreads > 64 || n == 0) {
        fprintf(stderr, "pgp_ceiling: THREADS 1..64, MESSAGES > 0\n");
        return 2;
    }
    bench_store b;
    if (bench_store_open(&b, "pgpceil") < 0) {
        bench_store_close(&b);
        return 1;
    }
    sg_keystore *ks = b.ks;
    char signer[SG_PGP_FPR_LEN + 1], rcpt[SG_PGP_FPR_LEN + 1];
    size_t len = 0;
    char *data = entity(size, &len);
    int rc = 1;
    if (!data || sg_keystore_generate(ks, "Alice <alice@demo.test>", algo, 0, NULL, signer) < 0 ||
        sg_keystore_generate(ks, "Bob <bob@ext.test>", algo, 0, NULL, rcpt) < 0) {
        fprintf(stderr, "pgp_ceiling: setup: %s\n", sg_keystore_error(ks));
        goto out;
    }
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    sg_pgp_ops_keys keys = {.ks = ks, .lock = &lock};
    job j = {.algo = algo, .signer = signer, .rcpt = rcpt, .keys = &keys, .data = data, .len = len};
    rc = 0;
    if (strcmp(part, "keystore") != 0 && run("raw", raw_thread, &j, n, nthreads) < 0)
        rc = 1;
    if (strcmp(part, "raw") != 0 && run("keystore", keystore_thread, &j, n, nthreads) < 0)
        rc = 1;
out:
    free(data);
    sg_pgp_ops_cache_clear();
    bench_store_close(&b);
    return rc;
}
