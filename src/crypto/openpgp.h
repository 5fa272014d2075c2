/* openpgp.h - thin wrapper over librnp: parse, inspect, export, generate and revoke OpenPGP keys
 * in memory. Owner: src/crypto. keystore.c talks to librnp only through this file, so the rest
 * of sealgate never sees rnp types.
 * SECURITY: a context holding secret keys (loaded with sg_pgp_load after unwrapping, or made by
 * sg_pgp_generate) exists only in cryptd and the admin CLI. Secret exports are returned in
 * buffers that must be released with sg_pgp_free_secret (wiped before free). Nothing here
 * writes to disk. */
#ifndef SG_OPENPGP_H
#define SG_OPENPGP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SG_PGP_FPR_LEN 40 /* v4 fingerprint, upper-case hex */

typedef struct sg_pgp sg_pgp;

typedef struct sg_pgp_uid {
    char *uid;  /* the full user ID as in the key */
    char *addr; /* the e-mail address in it, domain lower-cased (NULL when none) */
    bool valid; /* bound by a valid, unexpired self-signature */
} sg_pgp_uid;

/* One primary key with what selection needs; times are Unix seconds. */
typedef struct sg_pgp_key {
    char fpr[SG_PGP_FPR_LEN + 1];
    char keyid[17];
    char alg[16];
    unsigned bits;
    int64_t created;
    int64_t expires;     /* 0: never */
    int64_t valid_until; /* primary: end of validity (revocation/expiry), INT64_MAX never, 0 never valid */
    bool revoked;
    char *revoke_reason;
    bool can_sign, can_encrypt, can_certify;
    bool enc_subkey;    /* has an encryption-capable, unrevoked subkey with a valid binding */
    int64_t enc_until;  /* latest validity end of such subkeys (INT64_MAX: never expires) */
    bool secret;        /* secret material held (keystore) / present (parsed input) */
    bool secret_locked; /* parsed input: secret present but passphrase-protected */
    sg_pgp_uid *uids;
    size_t nuids;
} sg_pgp_key;

enum { SG_PGP_EXPORT_SECRET = 1, SG_PGP_EXPORT_ARMOR = 2 };

sg_pgp *sg_pgp_new(void);
void sg_pgp_free(sg_pgp *p);
/* Loads every key of data (armored or binary, public and secret, many keys) into the context,
 * merging with keys already there. Unparsable packets are skipped. Returns 0 or -1. */
int sg_pgp_load(sg_pgp *p, const uint8_t *data, size_t len);
/* Loads standalone signatures (e.g. a revocation certificate) onto keys in the context.
 * Returns how many signatures were read (-1 when none could be), and in *known how many of them
 * the context's keys had already. */
int sg_pgp_load_signatures(sg_pgp *p, const uint8_t *data, size_t len, int *known);
/* Fingerprints of the primary keys in the context: *fprs is one malloc'd array of n entries. */
int sg_pgp_primaries(sg_pgp *p, char (**fprs)[SG_PGP_FPR_LEN + 1], size_t *n);
/* Fills k for primary key fpr; 0, 1 when absent, -1 on error. Free with sg_pgp_key_clear. */
int sg_pgp_inspect(sg_pgp *p, const char *fpr, sg_pgp_key *k);
void sg_pgp_key_clear(sg_pgp_key *k);
/* One subkey of a primary key, for people (the key's details page): times are Unix seconds. */
typedef struct sg_pgp_subkey {
    char fpr[SG_PGP_FPR_LEN + 1];
    char alg[16];
    unsigned bits;
    int64_t created;
    int64_t expires;     /* 0: never */
    int64_t valid_until; /* end of validity, INT64_MAX never, 0 never valid (no valid binding) */
    bool revoked;
    bool can_sign, can_encrypt, can_auth;
} sg_pgp_subkey;
/* The subkeys of primary key fpr, in the key's order: 0 with *subs (malloc'd, n entries; NULL
 * when n is 0), 1 when fpr is not in the context, -1 on error. */
int sg_pgp_subkeys(sg_pgp *p, const char *fpr, sg_pgp_subkey **subs, size_t *n);
/* NULL when acceptable, else why not (weak algorithm or size, on the primary or any subkey). */
const char *sg_pgp_weakness(sg_pgp *p, const char *fpr);
/* Exports primary key fpr with its subkeys; flags SG_PGP_EXPORT_*. *out malloc'd (release
 * secret exports with sg_pgp_free_secret). Secret export of a key without secret fails. */
int sg_pgp_export(sg_pgp *p, const char *fpr, unsigned flags, uint8_t **out, size_t *len);
void sg_pgp_free_secret(uint8_t *buf, size_t len);
/* The key fpr reduced to its primary key, the one user ID uid (with its self-signature) and one
 * valid encryption subkey (librnp's minimal "Autocrypt" export), binary. Key discovery imports
 * only this (docs/discovery.md). 0, or -1 when the key or uid is unusable. */
int sg_pgp_export_minimal(sg_pgp *p, const char *fpr, const char *uid, uint8_t **out, size_t *len);
/* Removes from key fpr in p every user ID (with its signatures) for which keep(uid, ctx) is false;
 * subkeys and direct-key signatures (a revocation) stay. The web role publishes keys reduced
 * this way (docs/publishing.md): a revoked key has no valid encryption subkey, so the minimal
 * export above refuses it. The number of user IDs kept, or -1 on error. */
int sg_pgp_keep_uids(sg_pgp *p, const char *fpr, bool (*keep)(const char *uid, void *ctx), void *ctx);
/* New primary (sign, certify) plus encryption subkey, unprotected, in the context.
 * algo: "ed25519" (Ed25519 + Cv25519), "rsa3072", "rsa4096". expires: seconds, 0 never. */
int sg_pgp_generate(sg_pgp *p, const char *uid, const char *algo, uint32_t expires,
                    char fpr[SG_PGP_FPR_LEN + 1]);
/* Adds a key revocation signature (needs the secret key in the context). */
int sg_pgp_revoke(sg_pgp *p, const char *fpr, const char *reason);
/* Certifies user ID uid of key fpr in p (type 0x10 signature) with signer_fpr, whose
 * unprotected secret must be in signer (Ed25519 only). The signature is merged into p. */
int sg_pgp_certify(sg_pgp *p, const char *fpr, const char *uid, sg_pgp *signer, const char *signer_fpr);
/* The address in a user ID ("Name <a@b>" or a bare "a@b"), domain lower-cased, local part kept
 * exact; NULL when there is none. malloc'd. */
char *sg_pgp_uid_address(const char *uid);

#endif
