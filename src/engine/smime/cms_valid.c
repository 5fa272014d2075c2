/* cms_valid.c - sg_cert_validate with a short memory of "valid" verdicts, for the engine's
 * per-message certificate selection, and the selection itself (see cms.h). Owner: src/engine (S/MIME).
 * Validation loads every CA certificate and CRL from the store and builds the chain, which
 * costs more than the signature itself; a gateway asks the same question (this sender's
 * certificate for signing, this recipient's for encryption) for every message.
 * SECURITY: only "valid" is remembered, and only while nothing in the store changed: the
 * generation is the store's x509 generation (sg_store_generation, SG_GEN_X509), which triggers
 * bump on every change of certificates, trust, CRLs and OCSP answers by any process: the admin
 * CLI trusting, revoking, importing a CRL, and cryptd itself issuing or learning certificates.
 * Any change forgets everything; a generation that cannot be read remembers and finds nothing.
 * A verdict also ends after TTL seconds and at the certificate's notAfter, so expiry is never
 * missed by more than TTL for a CA certificate and not at all for the leaf. Validation releases
 * the store lock while it fetches revocation data (certstore.h), so a verdict is remembered only
 * when the store is at the generation it had before the validation began
 * (sg_smime_memo_put_since). */
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/smime/cms_int.h"

#define TTL 60
#define SLOTS 512
#define KEY_MAX 400

static struct {
    char key[KEY_MAX];
    char fpr[SG_CERT_FPR_LEN + 1];
    uint64_t store; /* sg_store_id: generations of different stores are unrelated */
    int64_t gen;
    time_t until;
} memo[SLOTS];
static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;

int sg_smime_generation(sg_store *st, int64_t *gen)
{
    return st ? sg_store_generation(st, SG_GEN_X509, gen) : -1;
}

static size_t slot_of(const char *key)
{
    size_t h = 5381;
    for (const char *c = key; *c; c++)
        h = h * 33 + (unsigned char)*c;
    return h % SLOTS;
}

static time_t not_after(X509 *x)
{
    struct tm tm;
    if (!ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
        return 0;
    return timegm(&tm);
}

bool sg_smime_memo_get(sg_store *st, const char *key, char fpr[SG_CERT_FPR_LEN + 1])
{
    int64_t gen;
    if (strlen(key) >= KEY_MAX || sg_smime_generation(st, &gen) < 0)
        return false;
    time_t now = time(NULL);
    size_t s = slot_of(key);
    pthread_mutex_lock(&memo_lock);
    bool hit = memo[s].store == sg_store_id(st) && memo[s].gen == gen && now < memo[s].until && strcmp(memo[s].key, key) == 0;
    if (hit)
        memcpy(fpr, memo[s].fpr, SG_CERT_FPR_LEN + 1);
    pthread_mutex_unlock(&memo_lock);
    return hit;
}

int sg_smime_memo_mark(sg_store *st, sg_smime_gen *g)
{
    return sg_smime_generation(st, &g->gen);
}

void sg_smime_memo_put_since(sg_store *st, const sg_smime_gen *g, const char *key, const char *fpr, X509 *x)
{
    sg_smime_gen now;
    if (sg_smime_memo_mark(st, &now) == 0 && now.gen == g->gen)
        sg_smime_memo_put(st, key, fpr, x);
}

void sg_smime_memo_put(sg_store *st, const char *key, const char *fpr, X509 *x)
{
    int64_t gen;
    if (strlen(key) >= KEY_MAX || strlen(fpr) != SG_CERT_FPR_LEN || sg_smime_generation(st, &gen) < 0)
        return;
    time_t now = time(NULL), end = not_after(x);
    size_t s = slot_of(key);
    pthread_mutex_lock(&memo_lock);
    snprintf(memo[s].key, sizeof memo[s].key, "%s", key);
    memcpy(memo[s].fpr, fpr, SG_CERT_FPR_LEN + 1);
    memo[s].store = sg_store_id(st);
    memo[s].gen = gen;
    memo[s].until = end && end < now + TTL ? end : now + TTL;
    pthread_mutex_unlock(&memo_lock);
}

int sg_smime_validate_locked(sg_certstore *cs, sg_store *st, X509 *x, const char *fpr, const char *addr,
                             int purpose, char *why, size_t whylen)
{
    char key[KEY_MAX], got[SG_CERT_FPR_LEN + 1];
    snprintf(key, sizeof key, "valid|%d|%s|%s", purpose, fpr, addr ? addr : "");
    if (addr && sg_smime_memo_get(st, key, got) && strcmp(got, fpr) == 0) {
        if (why && whylen)
            why[0] = '\0';
        return SG_CERT_VALID;
    }
    sg_smime_gen g;
    bool marked = st && sg_smime_memo_mark(st, &g) == 0;
    int v = sg_cert_validate(cs, x, addr, purpose, time(NULL), why, whylen);
    if (v == SG_CERT_VALID && addr && marked)
        sg_smime_memo_put_since(st, &g, key, fpr, x);
    return v;
}
