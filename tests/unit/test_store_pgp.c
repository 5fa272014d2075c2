/* test_store_pgp.c - the store's typed calls for OpenPGP keys (store/pgp_rows.h): rows round
 * trip, "no such row" is not an error, lists and selection, and a broken store (tables dropped
 * by another connection) is an error at the store and at the keystore above it, never "not
 * found" or "no secret". Owner: src/store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "check.h"
#include "keys/keystore.h"
#include "store/pgp_rows.h"
#include "store_side.h"

#define FA "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define FB "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define NOW 1700000000

static sg_store_pgp_key key(const char *fpr, int64_t created, sg_store_pgp_uid *uids, size_t n)
{
    sg_store_pgp_key k = {.bits = 255, .created = created, .valid_until = INT64_MAX, .can_sign = true,
                          .can_encrypt = true, .enc_subkey = true, .enc_until = INT64_MAX, .uids = uids,
                          .nuids = n};
    snprintf(k.fpr, sizeof k.fpr, "%s", fpr);
    snprintf(k.keyid, sizeof k.keyid, "%.16s", fpr + 24);
    snprintf(k.alg, sizeof k.alg, "EDDSA");
    return k;
}

static int put(sg_store *st, const sg_store_pgp_key *k, const char *pub)
{
    if (sg_store_begin(st) < 0)
        return -1;
    if (sg_store_pgp_put_key(st, k, (const uint8_t *)pub, strlen(pub), NOW) < 0) {
        sg_store_rollback(st);
        return -1;
    }
    return sg_store_commit(st);
}

static void count_public(void *ctx, const uint8_t *pub, size_t len)
{
    size_t *n = ctx;
    n[0]++;
    n[1] += pub ? len : 0;
}

static void absent(sg_store *st)
{
    sg_store_pgp_key k;
    uint8_t *b = (uint8_t *)"x";
    size_t len = 7;
    char fpr[SG_STORE_PGP_FPR_LEN + 1];
    CHECK(sg_store_pgp_get(st, FA, &k) == 1 && k.nuids == 0, "get of an unknown key: 1 (no row)");
    CHECK(sg_store_pgp_get_public(st, FA, &b, &len) == 1 && !b && len == 0, "get_public of an unknown key: 1");
    CHECK(sg_store_pgp_get_wrapped(st, FA, &b, &len) == 1 && !b, "get_wrapped without a secret: 1");
    CHECK(sg_store_pgp_has_secret(st, FA) == 1, "has_secret without a secret: 1");
    CHECK(sg_store_pgp_find_encryption(st, "a@x.example", NOW, fpr) == 1, "no key for an address: 1");
    CHECK(sg_store_begin(st) == 0 && sg_store_pgp_delete(st, FA) == 1 && sg_store_commit(st) == 0,
          "delete of an unknown key: 1");
}

static void round_trip(sg_store *st)
{
    sg_store_pgp_uid ua[] = {{"Alice <a@x.example>", "a@x.example", true}, {"no address", NULL, false}};
    sg_store_pgp_key a = key(FA, 100, ua, 2);
    a.revoke_reason = NULL;
    CHECK(put(st, &a, "PUBLIC-A") == 0, "a key is written (%s)", sg_store_error(st));
    sg_store_pgp_key r;
    int rc = sg_store_pgp_get(st, FA, &r);
    CHECK(rc == 0 && strcmp(r.fpr, FA) == 0 && strcmp(r.alg, "EDDSA") == 0 && r.bits == 255 && r.created == 100 &&
              r.valid_until == INT64_MAX && r.enc_until == INT64_MAX && r.can_sign && r.enc_subkey && !r.revoked &&
              !r.revoke_reason && !r.secret,
          "its summary row reads back as written");
    CHECK(rc == 0 && r.nuids == 2 && strcmp(r.uids[0].uid, ua[0].uid) == 0 && strcmp(r.uids[0].addr, "a@x.example") == 0 &&
              r.uids[0].valid && strcmp(r.uids[1].uid, "no address") == 0 && !r.uids[1].addr && !r.uids[1].valid,
          "its user IDs read back in order, a missing address as NULL");
    sg_store_pgp_key_clear(&r);
    uint8_t *b = NULL;
    size_t len = 0;
    rc = sg_store_pgp_get_public(st, FA, &b, &len);
    CHECK(rc == 0 && len == 8 && memcmp(b, "PUBLIC-A", 8) == 0, "its public key bytes read back");
    free(b);

    const uint8_t w[] = {1, 2, 3, 0, 5};
    CHECK(sg_store_pgp_put_secret(st, FA, w, sizeof w) == 0 && sg_store_pgp_has_secret(st, FA) == 0,
          "a wrapped secret is stored and held");
    rc = sg_store_pgp_get_wrapped(st, FA, &b, &len);
    CHECK(rc == 0 && len == sizeof w && memcmp(b, w, sizeof w) == 0, "the wrapped secret reads back, NUL and all");
    free(b);
    CHECK(sg_store_pgp_get(st, FA, &r) == 0 && r.secret, "the row says a secret is held");
    sg_store_pgp_key_clear(&r);

    /* An update replaces the user IDs rather than adding to them; a revocation is kept. */
    sg_store_pgp_uid ua2[] = {{"Alice <a@x.example>", "a@x.example", true}};
    a = key(FA, 100, ua2, 1);
    a.revoked = true;
    a.revoke_reason = "superseded";
    CHECK(put(st, &a, "PUBLIC-A2") == 0 && sg_store_pgp_get(st, FA, &r) == 0 && r.nuids == 1 && r.revoked &&
              r.revoke_reason && strcmp(r.revoke_reason, "superseded") == 0,
          "an update replaces the user IDs and keeps the revocation");
    sg_store_pgp_key_clear(&r);

    uint8_t empty = 0;
    sg_store_pgp_key e = key(FB, 50, NULL, 0);
    CHECK(sg_store_begin(st) == 0 && sg_store_pgp_put_key(st, &e, &empty, 0, NOW) == 0 && sg_store_commit(st) == 0,
          "a key with empty public bytes is written");
    CHECK(sg_store_pgp_get_public(st, FB, &b, &len) == -1 && !b && strstr(sg_store_error(st), "empty"),
          "empty key material is an error, not a key (%s)", sg_store_error(st));
    CHECK(sg_store_begin(st) == 0 && sg_store_pgp_delete(st, FB) == 0 && sg_store_commit(st) == 0 &&
              sg_store_pgp_get(st, FB, &r) == 1,
          "delete removes the key");
}

static void lists_and_selection(sg_store *st)
{
    /* A (created 100, revoked above) and B (created 200, valid), both for a@x.example. */
    sg_store_pgp_uid ub[] = {{"A2 <a@x.example>", "a@x.example", true}, {"B <b@x.example>", "b@x.example", true}};
    sg_store_pgp_key b = key(FB, 200, ub, 2);
    b.enc_until = NOW + 10;
    CHECK(put(st, &b, "PUBLIC-B") == 0, "a second key is written");
    sg_store_pgp_key *keys = NULL;
    size_t n = 0;
    CHECK(sg_store_pgp_list(st, NULL, &keys, &n) == 0 && n == 2 && strcmp(keys[0].fpr, FB) == 0 &&
              strcmp(keys[1].fpr, FA) == 0 && keys[0].nuids == 2 && keys[1].secret && !keys[0].secret,
          "list: every key, newest first, with user IDs and secret flags");
    sg_store_pgp_free_list(keys, n);
    CHECK(sg_store_pgp_list(st, "b@x.example", &keys, &n) == 0 && n == 1 && strcmp(keys[0].fpr, FB) == 0,
          "list by address: only the keys with that address");
    sg_store_pgp_free_list(keys, n);
    CHECK(sg_store_pgp_list(st, "nobody@x.example", &keys, &n) == 0 && n == 0 && !keys,
          "list by an unknown address: no rows, not an error");
    size_t seen[2] = {0, 0};
    CHECK(sg_store_pgp_each_public(st, count_public, seen) == 0 && seen[0] == 2 && seen[1] == 9 + 8,
          "each_public: every key's public bytes once");

    char fpr[SG_STORE_PGP_FPR_LEN + 1] = "";
    CHECK(sg_store_pgp_find_encryption(st, "a@x.example", NOW, fpr) == 0 && strcmp(fpr, FB) == 0,
          "encryption selection skips the revoked key");
    CHECK(sg_store_pgp_find_encryption(st, "a@x.example", NOW + 10, fpr) == 1,
          "no key once the encryption subkey expired");
    CHECK(sg_store_pgp_find_own_signing(st, "b@x.example", NOW, fpr) == 1,
          "signing selection wants a held secret");
    const uint8_t w[] = {9};
    CHECK(sg_store_pgp_put_secret(st, FB, w, 1) == 0 && sg_store_pgp_find_own_signing(st, "b@x.example", NOW, fpr) == 0 &&
              strcmp(fpr, FB) == 0,
          "with its secret held the key signs");
}

/* Another connection breaks the tables: every call reports an error, with SQLite's reason. */
static void broken(sg_store *st, const char *path)
{
    int ok = side_once(path, "DROP TABLE pgp_uids; DROP TABLE pgp_secrets;") == 0;
    CHECK(ok, "another connection drops pgp_uids and pgp_secrets");
    sg_store_pgp_key k, *keys = NULL;
    size_t n = 9;
    uint8_t *b = NULL;
    size_t len = 0;
    char fpr[SG_STORE_PGP_FPR_LEN + 1];
    CHECK(sg_store_pgp_get(st, FB, &k) == -1 && k.nuids == 0 && strstr(sg_store_error(st), SIDE_NO_TABLE),
          "get: an error, not a key without user IDs (%s)", sg_store_error(st));
    CHECK(sg_store_pgp_list(st, NULL, &keys, &n) == -1 && !keys && n == 0, "list: an error, not an empty list");
    CHECK(sg_store_pgp_has_secret(st, FB) == -1, "has_secret: an error, not 'no secret'");
    CHECK(sg_store_pgp_get_wrapped(st, FB, &b, &len) == -1 && !b, "get_wrapped: an error, not 'no secret'");
    CHECK(sg_store_pgp_find_encryption(st, "a@x.example", NOW, fpr) == -1,
          "selection (a cached statement): an error, not 'no key'");
    CHECK(sg_store_begin(st) == 0 && sg_store_pgp_delete(st, FB) == -1, "delete: an error");
    sg_store_rollback(st);
    sg_store_pgp_key a = key(FA, 1, NULL, 0);
    CHECK(put(st, &a, "P") == -1, "put_key: an error");
}

/* The keystore above the store: a store error is its error too, never "no secret key held". */
static void keystore_errors(const char *dir)
{
    char path[300], kek[300], err[512] = "", fpr[SG_PGP_FPR_LEN + 1] = "";
    if (side_store(dir, "ks", path, sizeof path) < 0)
        return;
    snprintf(kek, sizeof kek, "%s/kek", dir);
    sg_store *st = sg_store_open(path, err, sizeof err);
    sg_keystore *ks = st ? sg_keystore_open(st, kek, SG_KS_CREATE_KEK) : NULL;
    int rc = ks ? sg_keystore_generate(ks, "Carol <c@x.example>", "ed25519", 0, NULL, fpr) : -1;
    CHECK(rc == 0, "keystore: a key is generated (%s)", ks ? sg_keystore_error(ks) : err);
    if (rc != 0)
        goto out;
    int ok = side_once(path, "DROP TABLE pgp_secrets;") == 0;
    CHECK(ok, "keystore: another connection drops pgp_secrets");
    uint8_t *out = NULL;
    size_t len = 0;
    char got[SG_PGP_FPR_LEN + 1];
    CHECK(sg_keystore_export(ks, fpr, true, true, &out, &len) == -1 && !strstr(sg_keystore_error(ks), "no secret"),
          "keystore: export --secret reports the store error (%s)", sg_keystore_error(ks));
    free(out);
    CHECK(sg_keystore_revoke(ks, fpr, "test") == -1 && strstr(sg_keystore_error(ks), SIDE_NO_TABLE),
          "keystore: revoke reports the store error (%s)", sg_keystore_error(ks));
    CHECK(sg_keystore_find_signing_key(ks, "c@x.example", NULL, got) == -1,
          "keystore: signing-key selection reports the store error, not 'no key'");
    CHECK(sg_keystore_load_secret(ks, fpr) == NULL && strstr(sg_keystore_error(ks), SIDE_NO_TABLE),
          "keystore: load_secret reports the store error (%s)", sg_keystore_error(ks));
out:
    sg_keystore_close(ks);
    sg_store_close(st);
}

int main(void)
{
    char dir[] = "/tmp/sg-test-store-pgp-XXXXXX", path[300], err[512] = "";
    if (!mkdtemp(dir))
        return 1;
    if (side_store(dir, "pgp", path, sizeof path) < 0)
        return 1;
    sg_store *st = sg_store_open(path, err, sizeof err);
    CHECK(st != NULL, "store opened (%s)", err);
    if (st) {
        absent(st);
        round_trip(st);
        lists_and_selection(st);
        broken(st, path);
        sg_store_close(st);
    }
    keystore_errors(dir);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
