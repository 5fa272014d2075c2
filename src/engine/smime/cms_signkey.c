/* cms_signkey.c - signing keys kept parsed between messages. Owner: src/engine (S/MIME).
 * Unwrapping a signing key with the KEK and parsing it (for RSA also setting up blinding) cost
 * about as much as the signature itself, every message, under the store lock the workers share
 * (bench/smime). The same trade-off as OpenPGP's per-thread key cache (docs/keys.md):
 * SECURITY: cryptd keeps at most SLOTS unwrapped *signing* keys in memory (never a decryption
 * key: those are unwrapped per message, for the certificates a message names). An entry is used
 * only while the store is unchanged since it was loaded (the store's x509 generation: any
 * import, trust change, revocation, CRL or deletion by the CLI or by cryptd drops it) and for
 * at most TTL seconds; a replaced or dropped key is freed, which makes OpenSSL wipe it.
 * Signing with one EVP_PKEY from several threads is safe in OpenSSL 3 (read-only use). */
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "engine/smime/cms_int.h"

#define SLOTS 16
#define TTL 300

static struct {
    char fpr[SG_CERT_FPR_LEN + 1];
    EVP_PKEY *key;
    uint64_t store; /* sg_store_id */
    int64_t gen;
    time_t until;
} slot[SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static size_t slot_of(const char *fpr)
{
    size_t h = 5381;
    for (const char *c = fpr; *c; c++)
        h = h * 33 + (unsigned char)(*c | 0x20);
    return h % SLOTS;
}

EVP_PKEY *smime_signing_key(const sg_smime_keys *k, const char *fpr)
{
    int64_t g;
    size_t s = slot_of(fpr);
    time_t now = time(NULL);
    EVP_PKEY *key = NULL;
    pthread_mutex_lock(k->lock);
    int gen = sg_smime_generation(k->st, &g);
    pthread_mutex_unlock(k->lock);
    if (gen == 0) {
        pthread_mutex_lock(&lock);
        if (slot[s].key && slot[s].store == sg_store_id(k->st) && slot[s].gen == g && now < slot[s].until && strcasecmp(slot[s].fpr, fpr) == 0 &&
            EVP_PKEY_up_ref(slot[s].key))
            key = slot[s].key;
        pthread_mutex_unlock(&lock);
    }
    if (key || !(key = smime_load_key(k, fpr)) || gen != 0 || strlen(fpr) != SG_CERT_FPR_LEN)
        return key;
    pthread_mutex_lock(&lock);
    if (EVP_PKEY_up_ref(key)) {
        EVP_PKEY_free(slot[s].key);
        slot[s].key = key;
        memcpy(slot[s].fpr, fpr, SG_CERT_FPR_LEN + 1);
        slot[s].store = sg_store_id(k->st);
        slot[s].gen = g;
        slot[s].until = now + TTL;
    }
    pthread_mutex_unlock(&lock);
    return key;
}
