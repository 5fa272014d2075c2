/* pgpcache.c - per-thread librnp contexts with the keys loaded for signing and encrypting
 * (see pgpcache.h). Owner: src/engine (PGP/MIME).
 * Why: importing a key into librnp verifies every self-signature and binding (87% of the
 * instructions of a sign+encrypt with a fresh context per message, Ed25519, callgrind), and the
 * secret additionally needs an unwrap and a second parse; a loaded key is reused as is.
 * SECURITY: see pgpcache.h for when a context is dropped. Secret exports are wiped at once
 * after librnp imported them. Each context belongs to one thread (thread-specific data), so no
 * librnp object is ever shared between threads. */
#include "engine/pgp/pgpcache.h"

#include <pthread.h>
#include <rnp/rnp_err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct entry {
    char fpr[SG_PGP_FPR_LEN + 1];
    bool secret;
    sg_pgp_rsasigner *rsa; /* an RSA signer's key for OpenSSL (pgp_rsasign.h), else NULL */
} entry;

typedef struct cache {
    rnp_ffi_t ffi;
    uint64_t ks_id; /* sg_keystore_id of the keystore the keys came from */
    int64_t gen;    /* its generation when the context was made */
    int64_t until;  /* drop when the clock reaches this: the first end of validity of a key */
    size_t n;
    entry e[SG_PGPCACHE_MAX];
} cache;

static pthread_key_t tls;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void drop(cache *c)
{
    for (size_t i = 0; i < c->n; i++) {
        sg_pgp_rsasigner_free(c->e[i].rsa); /* OpenSSL clears private BIGNUMs as it frees them */
        c->e[i].rsa = NULL;
    }
    rnp_ffi_destroy(c->ffi);                /* librnp wipes secret key material as it frees it */
    c->ffi = NULL;
    c->n = 0;
}

static void thread_end(void *p)
{
    drop(p);
    free(p);
}

static void tls_init(void)
{
    pthread_key_create(&tls, thread_end);
}

static cache *mine(bool create)
{
    pthread_once(&tls_once, tls_init);
    cache *c = pthread_getspecific(tls);
    if (!c && create && (c = calloc(1, sizeof *c)) && pthread_setspecific(tls, c) != 0) {
        free(c);
        c = NULL;
    }
    return c;
}

void sg_pgp_ops_cache_clear(void)
{
    cache *c = mine(false);
    if (c)
        drop(c);
}

rnp_ffi_t sg_pgpcache_begin(const sg_pgp_ops_keys *k, size_t nkeys)
{
    cache *c = mine(true);
    int64_t gen = 0;
    if (!c)
        return NULL;
    pthread_mutex_lock(k->lock);
    int rc = sg_keystore_generation(k->ks, &gen);
    pthread_mutex_unlock(k->lock);
    if (rc < 0) {
        drop(c);
        return NULL;
    }
    if (c->ffi && (c->ks_id != sg_keystore_id(k->ks) || c->gen != gen || (int64_t)time(NULL) >= c->until ||
                   c->n + nkeys > SG_PGPCACHE_MAX))
        drop(c);
    if (!c->ffi) {
        if (rnp_ffi_create(&c->ffi, "GPG", "GPG") != RNP_SUCCESS) {
            c->ffi = NULL;
            return NULL;
        }
        c->ks_id = sg_keystore_id(k->ks);
        c->gen = gen;
        c->until = INT64_MAX;
    }
    return c->ffi;
}

/* The earliest end of validity, after now, of primary key h or any of its subkeys: librnp
 * judges validity when a key is imported, so a context must not outlive that moment. */
static int64_t first_end(rnp_key_handle_t h, int64_t now)
{
    int64_t first = INT64_MAX;
    size_t n = 0;
    uint64_t t = 0;
    if (rnp_key_valid_till64(h, &t) == RNP_SUCCESS && t <= (uint64_t)INT64_MAX && (int64_t)t > now &&
        (int64_t)t < first)
        first = (int64_t)t;
    rnp_key_get_subkey_count(h, &n);
    for (size_t i = 0; i < n; i++) {
        rnp_key_handle_t sk = NULL;
        if (rnp_key_get_subkey_at(h, i, &sk) == RNP_SUCCESS && rnp_key_valid_till64(sk, &t) == RNP_SUCCESS &&
            t <= (uint64_t)INT64_MAX && (int64_t)t > now && (int64_t)t < first)
            first = (int64_t)t;
        rnp_key_handle_destroy(sk);
    }
    return first;
}

/* The key's export from the keystore (secret: unwrapped; release with sg_pgp_free_secret). */
static int export_key(const sg_pgp_ops_keys *k, const char *fpr, bool secret, uint8_t **b, size_t *n)
{
    pthread_mutex_lock(k->lock);
    int rc = sg_keystore_export(k->ks, fpr, secret, false, b, n);
    pthread_mutex_unlock(k->lock);
    return rc == 0 ? 0 : -1;
}

static int import(rnp_ffi_t ffi, const uint8_t *b, size_t n)
{
    rnp_input_t in = NULL;
    rnp_result_t r = RNP_ERROR_GENERIC;
    if (rnp_input_from_memory(&in, b, n, false) == RNP_SUCCESS)
        r = rnp_import_keys(ffi, in, RNP_LOAD_SAVE_PUBLIC_KEYS | RNP_LOAD_SAVE_SECRET_KEYS, NULL);
    rnp_input_destroy(in);
    return r == RNP_SUCCESS ? 0 : -1;
}

static void release(uint8_t *b, size_t n, bool secret)
{
    if (secret)
        sg_pgp_free_secret(b, n);
    else
        free(b);
}

int sg_pgpcache_load(const sg_pgp_ops_keys *k, rnp_ffi_t ffi, const char *fpr, bool secret)
{
    uint8_t *b = NULL;
    size_t n = 0;
    if (export_key(k, fpr, secret, &b, &n) < 0)
        return -1;
    int rc = import(ffi, b, n);
    release(b, n, secret);
    return rc;
}

sg_pgp_rsasigner *sg_pgpcache_rsa(const char *fpr)
{
    cache *c = mine(false);
    for (size_t i = 0; c && i < c->n; i++)
        if (strcasecmp(c->e[i].fpr, fpr) == 0)
            return c->e[i].rsa;
    return NULL;
}

int sg_pgpcache_need(const sg_pgp_ops_keys *k, const char *fpr, bool secret)
{
    cache *c = mine(false);
    if (!c || !c->ffi)
        return -1;
    entry *e = NULL;
    for (size_t i = 0; i < c->n && !e; i++)
        if (strcasecmp(c->e[i].fpr, fpr) == 0)
            e = &c->e[i];
    if (e && (e->secret || !secret))
        return 0;
    if (!e && c->n == SG_PGPCACHE_MAX)
        return -1; /* sg_pgpcache_begin made room for the keys the caller said it needs */
    uint8_t *b = NULL;
    size_t n = 0;
    if (export_key(k, fpr, secret, &b, &n) < 0)
        return -1;
    int rc = import(c->ffi, b, n);
    /* An RSA signer also gets its OpenSSL key, made once here rather than per message. */
    sg_pgp_rsasigner *rsa = rc == 0 && secret ? sg_pgp_rsasigner_new(b, n, fpr) : NULL;
    release(b, n, secret);
    rnp_key_handle_t h = NULL;
    if (rc < 0 || rnp_locate_key(c->ffi, "fingerprint", fpr, &h) != RNP_SUCCESS || !h) {
        sg_pgp_rsasigner_free(rsa);
        return -1;
    }
    int64_t end = first_end(h, (int64_t)time(NULL));
    rnp_key_handle_destroy(h);
    if (end < c->until)
        c->until = end;
    if (!e) {
        e = &c->e[c->n++];
        memset(e, 0, sizeof *e);
        snprintf(e->fpr, sizeof e->fpr, "%s", fpr);
    }
    e->secret = e->secret || secret;
    if (rsa)
        e->rsa = rsa;
    return 0;
}
