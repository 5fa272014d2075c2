/* pgp_rows.h - the store's typed calls for OpenPGP keys (tables pgp_keys, pgp_uids,
 * pgp_secrets). Owner: src/store. Caller: the keystore (keys/keystore.c), which parses the key
 * material with librnp and keeps every rule (selection, merging, KEK wrapping); the store only
 * keeps rows. A key's row holds the facts derived from its material so that selection is a
 * query. Fingerprints are upper-case hex as the keystore writes them.
 * Returns: 0 done / found, 1 no such row, -1 error with sg_store_error (never "not found").
 * SECURITY: the secret blob is the KEK-wrapped key; plaintext secrets never reach the store. */
#ifndef SG_STORE_PGP_ROWS_H
#define SG_STORE_PGP_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define SG_STORE_PGP_FPR_LEN 40

typedef struct sg_store_pgp_uid {
    char *uid;
    char *addr; /* NULL when the user ID has no address */
    bool valid;
} sg_store_pgp_uid;

/* A key's summary row and its user IDs. Rows read from the store own their strings and uids
 * (free with sg_store_pgp_key_clear); a row given to put_key is only read. */
typedef struct sg_store_pgp_key {
    char fpr[SG_STORE_PGP_FPR_LEN + 1];
    char keyid[17];
    char alg[16];
    unsigned bits;
    int64_t created, expires, valid_until;
    bool revoked;
    char *revoke_reason; /* NULL when none */
    bool can_sign, can_encrypt, can_certify, enc_subkey;
    int64_t enc_until;
    bool secret; /* read only: a wrapped secret is held for the key */
    sg_store_pgp_uid *uids;
    size_t nuids;
} sg_store_pgp_key;

void sg_store_pgp_key_clear(sg_store_pgp_key *k);
void sg_store_pgp_free_list(sg_store_pgp_key *keys, size_t n);

/* Writes key k (inserted, or its row updated with `now` as its update time) with public key
 * bytes pub, and replaces its user IDs. Inside the caller's transaction. 0 or -1. */
int sg_store_pgp_put_key(sg_store *s, const sg_store_pgp_key *k, const uint8_t *pub, size_t publen,
                         int64_t now);
/* Stores (replacing) the wrapped secret of fpr. Inside the caller's transaction. 0 or -1. */
int sg_store_pgp_put_secret(sg_store *s, const char *fpr, const uint8_t *wrapped, size_t len);
/* Removes fpr's secret, user IDs and key row (inside the caller's transaction): 0 when a key
 * row was removed, 1 when there was none, -1. */
int sg_store_pgp_delete(sg_store *s, const char *fpr);

/* The public key bytes / the wrapped secret of fpr, copied into *out (malloc'd, the caller
 * frees). 0, 1, -1 (an empty blob is an error). */
int sg_store_pgp_get_public(sg_store *s, const char *fpr, uint8_t **out, size_t *len);
int sg_store_pgp_get_wrapped(sg_store *s, const char *fpr, uint8_t **out, size_t *len);
/* 0 when a wrapped secret is held for fpr, 1 when not, -1. */
int sg_store_pgp_has_secret(sg_store *s, const char *fpr);
/* Calls cb with every stored public key (bytes valid during the call only). 0 or -1. */
int sg_store_pgp_each_public(sg_store *s, void (*cb)(void *ctx, const uint8_t *pub, size_t len), void *ctx);

/* Key fpr with its user IDs into *k. 0, 1, -1. */
int sg_store_pgp_get(sg_store *s, const char *fpr, sg_store_pgp_key *k);
/* Every key (addr NULL) or the keys with a user ID of address addr (stored form), newest
 * first: a malloc'd array of *n rows (free with sg_store_pgp_free_list). 0 or -1. */
int sg_store_pgp_list(sg_store *s, const char *addr, sg_store_pgp_key **keys, size_t *n);
/* One page of list's answer (the same order) and in *total how many keys list would answer:
 * only the page's rows are read. 0 or -1. */
int sg_store_pgp_page(sg_store *s, const char *addr, size_t limit, size_t offset, sg_store_pgp_key **keys,
                      size_t *n, int64_t *total);

/* Per-message selection (cached statements): the newest key, valid at now and not revoked,
 * with a valid user ID of address addr (stored form) that has a valid encryption subkey /
 * can sign and has its secret held. Its fingerprint into fpr. 0, 1 none, -1. */
int sg_store_pgp_find_encryption(sg_store *s, const char *addr, int64_t now,
                                 char fpr[SG_STORE_PGP_FPR_LEN + 1]);
int sg_store_pgp_find_own_signing(sg_store *s, const char *addr, int64_t now,
                                  char fpr[SG_STORE_PGP_FPR_LEN + 1]);

/* What a backend provides for pgp data (store_int.h): the calls above, same contracts. */
struct sg_store_pgp_ops {
    int (*put_key)(sg_store *s, const sg_store_pgp_key *k, const uint8_t *pub, size_t publen, int64_t now);
    int (*put_secret)(sg_store *s, const char *fpr, const uint8_t *wrapped, size_t len);
    int (*delete_key)(sg_store *s, const char *fpr);
    int (*get_public)(sg_store *s, const char *fpr, uint8_t **out, size_t *len);
    int (*get_wrapped)(sg_store *s, const char *fpr, uint8_t **out, size_t *len);
    int (*has_secret)(sg_store *s, const char *fpr);
    int (*each_public)(sg_store *s, void (*cb)(void *ctx, const uint8_t *pub, size_t len), void *ctx);
    int (*get)(sg_store *s, const char *fpr, sg_store_pgp_key *k);
    int (*list)(sg_store *s, const char *addr, sg_store_pgp_key **keys, size_t *n);
    int (*page)(sg_store *s, const char *addr, size_t limit, size_t offset, sg_store_pgp_key **keys,
                size_t *n, int64_t *total);
    int (*find_encryption)(sg_store *s, const char *addr, int64_t now, char fpr[SG_STORE_PGP_FPR_LEN + 1]);
    int (*find_own_signing)(sg_store *s, const char *addr, int64_t now, char fpr[SG_STORE_PGP_FPR_LEN + 1]);
};

#endif
