/* keystore_int.h - shared between keystore.c and keystore_gen.c only. Owner: src/keys. */
#ifndef SG_KEYSTORE_INT_H
#define SG_KEYSTORE_INT_H

#include "crypto/kek.h"
#include "keys/keystore.h"

struct sg_keystore {
    sg_store *st; /* the rows, through store/pgp_rows.h (its statement cache serves selection) */
    char *kek_path;
    unsigned flags;
    bool have_kek;
    sg_kek kek;
    uint64_t id; /* sg_keystore_id */
    char err[256];
};

/* Sets the error message; returns -1. */
int ks_fail(sg_keystore *ks, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Loads (or, with SG_KS_CREATE_KEK, creates) the KEK on first need. */
int ks_need_kek(sg_keystore *ks);
void ks_upper_fpr(const char *in, char out[SG_PGP_FPR_LEN + 1]);
/* Stores public key fpr of p (and its secret when with_secret), in one transaction. */
int ks_save(sg_keystore *ks, sg_pgp *p, const char *fpr, bool with_secret);
/* 0 when fpr's secret is held, 1 when not, -1 on a store error. */
int ks_has_secret(sg_keystore *ks, const char *fpr);
int ks_find_own_signing_key(sg_keystore *ks, const char *address, char fpr[SG_PGP_FPR_LEN + 1]);

#endif
