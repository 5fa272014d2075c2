/* test_keystore.c - the OpenPGP keystore against a temp store with keys generated at test time:
 * import, re-import, list by address, recipient selection rules, the secret never stored in
 * clear, revoke, delete. Owner: src/keys. */
#include <rnp/rnp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "store_side.h"
#include "crypto/openpgp.h"
#include "keys/keystore.h"
#include "lib/fsutil.h"

static char dir[] = "/tmp/sg-test-keystore-XXXXXX";
static int last_status[8];
static int nreports;

static void record(void *ctx, const sg_import_result *r)
{
    (void)ctx;
    if (nreports < 8)
        last_status[nreports] = r->status;
    nreports++;
}

static int import(sg_keystore *ks, const uint8_t *data, size_t len)
{
    nreports = 0;
    int rc = sg_keystore_import(ks, data, len, record, NULL);
    return rc < 0 || nreports != 1 ? -1 : last_status[0];
}

/* A key made outside the keystore (as a correspondent's key would be): public part only. */
static int make_external(const char *uid, const char *algo, uint32_t expires, uint8_t **pub, size_t *len,
                         char fpr[SG_PGP_FPR_LEN + 1])
{
    sg_pgp *p = sg_pgp_new();
    int rc =
        sg_pgp_generate(p, uid, algo, expires, fpr) == 0 && sg_pgp_export(p, fpr, 0, pub, len) == 0 ? 0 : -1;
    sg_pgp_free(p);
    return rc;
}

/* A sign-only key: primary without any subkey, straight from librnp. */
static int make_sign_only(const char *uid, uint8_t **pub, size_t *len, char fpr[SG_PGP_FPR_LEN + 1])
{
    rnp_ffi_t ffi;
    rnp_op_generate_t op = NULL;
    rnp_key_handle_t k = NULL;
    char *f = NULL;
    int rc = -1;
    sg_pgp *p = NULL;
    rnp_output_t o = NULL;
    uint8_t *buf;
    if (rnp_ffi_create(&ffi, "GPG", "GPG") != 0)
        return -1;
    if (rnp_op_generate_create(&op, ffi, "EDDSA") == 0 && rnp_op_generate_set_userid(op, uid) == 0 &&
        rnp_op_generate_set_expiration(op, 0) == 0 && rnp_op_generate_execute(op) == 0 &&
        rnp_op_generate_get_key(op, &k) == 0 && rnp_key_get_fprint(k, &f) == 0 &&
        rnp_output_to_memory(&o, 0) == 0 &&
        rnp_key_export(k, o, RNP_KEY_EXPORT_PUBLIC | RNP_KEY_EXPORT_SUBKEYS) == 0 &&
        rnp_output_memory_get_buf(o, &buf, len, false) == 0 && (*pub = malloc(*len))) {
        memcpy(*pub, buf, *len);
        snprintf(fpr, SG_PGP_FPR_LEN + 1, "%s", f);
        rc = 0;
    }
    rnp_output_destroy(o);
    rnp_buffer_destroy(f);
    rnp_key_handle_destroy(k);
    rnp_op_generate_destroy(op);
    rnp_ffi_destroy(ffi);
    sg_pgp_free(p);
    return rc;
}

static bool file_contains(const char *path, const uint8_t *needle, size_t n)
{
    char *data = NULL;
    size_t len = 0;
    if (sg_read_file(path, 64u << 20, &data, &len) < 0)
        return false;
    bool found = len >= n && memmem(data, len, needle, n) != NULL;
    free(data);
    return found;
}

/* The body of the first packet of an OpenPGP binary stream (old or new format header). */
static const uint8_t *first_packet_body(const uint8_t *p, size_t len, size_t *blen)
{
    if (len < 2 || !(p[0] & 0x80))
        return NULL;
    size_t hl, bl;
    if (p[0] & 0x40) {
        if (p[1] < 192)
            hl = 2, bl = p[1];
        else if (p[1] < 224)
            hl = 3, bl = ((size_t)(p[1] - 192) << 8) + p[2] + 192;
        else if (p[1] == 255)
            hl = 6, bl = ((size_t)p[2] << 24) | ((size_t)p[3] << 16) | ((size_t)p[4] << 8) | p[5];
        else
            return NULL;
    } else {
        int lt = p[0] & 3;
        if (lt == 0)
            hl = 2, bl = p[1];
        else if (lt == 1)
            hl = 3, bl = ((size_t)p[1] << 8) | p[2];
        else if (lt == 2)
            hl = 5, bl = ((size_t)p[1] << 24) | ((size_t)p[2] << 16) | ((size_t)p[3] << 8) | p[4];
        else
            return NULL;
    }
    if (hl + bl > len)
        return NULL;
    *blen = bl;
    return p + hl;
}

static void test_secret_at_rest(sg_keystore *ks, const char *store_path, const char *fpr)
{
    sg_pgp *p = sg_keystore_load_secret(ks, fpr);
    uint8_t *sec = NULL;
    size_t seclen = 0, blen = 0;
    CHECK(p && sg_pgp_export(p, fpr, SG_PGP_EXPORT_SECRET, &sec, &seclen) == 0, "secret unwraps and exports");
    const uint8_t *body = sec ? first_packet_body(sec, seclen, &blen) : NULL;
    CHECK(body && blen > 40 && (sec[0] & 0x3f) >> ((sec[0] & 0x40) ? 0 : 2) == 5,
          "first packet of the secret export is a secret key packet");
    if (body && blen > 40) {
        char wal[700];
        snprintf(wal, sizeof wal, "%s-wal", store_path);
        /* The packet ends with the secret MPI and its checksum: 20 bytes there are secret only. */
        const uint8_t *secret_tail = body + blen - 20;
        CHECK(!file_contains(store_path, secret_tail, 20) && !file_contains(wal, secret_tail, 20),
              "the secret key material is not in the store file (nor its WAL) in clear");
        /* Control: the public part of the same packet is there, so the scan can find things. */
        CHECK(file_contains(store_path, body, 20) || file_contains(wal, body, 20),
              "control: the public key packet bytes are found by the same scan");
    }
    sg_pgp_free_secret(sec, seclen);
    sg_pgp_free(p);
}

static void test_addresses(void)
{
    static const struct {
        const char *uid, *want;
    } cases[] = {
        {"Alice <Alice@Example.ORG>", "Alice@example.org"},
        {"alice@example.org", "alice@example.org"},
        {"<a@b>", "a@b"},
        {"Alice (work) <alice@example.org>", "alice@example.org"},
        {"Alice alice@example.org", NULL},
        {"Alice <alice@example.org", NULL},
        {"Alice", NULL},
        {"<@example.org>", NULL},
        {"<alice@>", NULL},
        {"<a@b@c>", NULL},
        {"", NULL},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *a = sg_pgp_uid_address(cases[i].uid);
        if (!((a == NULL && cases[i].want == NULL) ||
              (a && cases[i].want && strcmp(a, cases[i].want) == 0))) {
            printf("# '%s' -> '%s'\n", cases[i].uid, a ? a : "(null)");
            bad++;
        }
        free(a);
    }
    CHECK(bad == 0, "addresses from user IDs: domain lower-cased, local part exact, malformed refused");
}

/* Moving a wrapped secret onto another key's row must not yield a usable secret (AAD = fpr). */
static void test_swapped_secret(sg_keystore *ks, const char *a, const char *b)
{
    sqlite3 *db = side_db;
    sqlite3_stmt *q;
    int ok = sqlite3_prepare_v2(db,
                                "UPDATE pgp_secrets SET wrapped = (SELECT wrapped FROM pgp_secrets"
                                " WHERE fpr = ?1) WHERE fpr = ?2",
                                -1, &q, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_text(q, 1, a, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, b, -1, SQLITE_STATIC);
        ok = sqlite3_step(q) == SQLITE_DONE && sqlite3_changes(db) == 1;
    }
    sqlite3_finalize(q);
    CHECK(ok, "copied one key's wrapped secret onto another key's row");
    uint8_t *out = NULL;
    size_t len = 0;
    CHECK(sg_keystore_export(ks, b, true, false, &out, &len) == -1 && !out,
          "the swapped secret does not unwrap (%s)", sg_keystore_error(ks));
    CHECK(sg_keystore_load_secret(ks, b) == NULL, "nor load for signing");
    CHECK(sg_keystore_export(ks, a, true, false, &out, &len) == 0, "the original row still unwraps");
    sg_pgp_free_secret(out, len);
}

int main(void)
{
    test_addresses();
    if (!mkdtemp(dir))
        return 1;
    char store_path[600], kek[600], err[256];
    snprintf(store_path, sizeof store_path, "%s/store.db", dir);
    snprintf(kek, sizeof kek, "%s/keys/kek", dir);
    sg_store *st = sg_store_open(store_path, err, sizeof err);
    side_open(store_path);
    CHECK(st != NULL, "store opens and migrates (%s)", st ? "" : err);
    if (!st)
        return CHECK_DONE();
    sg_keystore *ks = sg_keystore_open(st, kek, SG_KS_CREATE_KEK);
    CHECK(ks != NULL, "keystore opens");
    char f1[41], f2[41], fexp[41], frev[41], fcase[41], fsign[41], fbob1[41], fbob2[41], sel[41], dom[41];
    uint8_t *pub = NULL;
    size_t len = 0;

    /* import / re-import */
    CHECK(make_external("Carol <carol@example.org>", "ed25519", 0, &pub, &len, f1) == 0,
          "made an external key");
    CHECK(import(ks, pub, len) == SG_IMPORT_IMPORTED, "new key: imported");
    CHECK(import(ks, pub, len) == SG_IMPORT_UNCHANGED, "same key again: unchanged");
    CHECK(sg_keystore_find_encryption_key(ks, "carol@example.org", sel) == 0 && strcmp(sel, f1) == 0,
          "selected for its address");
    CHECK(sg_keystore_find_encryption_key(ks, "carol@EXAMPLE.org", sel) == 0 && strcmp(sel, f1) == 0,
          "domain case does not matter");
    CHECK(sg_keystore_find_encryption_key(ks, "Carol@example.org", sel) == 1,
          "a local part differing in case is not the same address");
    {
        /* A user ID someone appended without a self-signature binds nothing. */
        static const char fake[] = "<mallory@example.org>";
        uint8_t *ext = malloc(len + 2 + sizeof fake);
        memcpy(ext, pub, len);
        ext[len] = 0xC0 | 13;
        ext[len + 1] = (uint8_t)(sizeof fake - 1);
        memcpy(ext + len + 2, fake, sizeof fake - 1);
        int st2 = import(ks, ext, len + 1 + sizeof fake);
        CHECK(st2 == SG_IMPORT_UNCHANGED || st2 == SG_IMPORT_UPDATED,
              "key with an unbound user ID appended: accepted (%d)", st2);
        CHECK(sg_keystore_find_encryption_key(ks, "mallory@example.org", sel) == 1,
              "a user ID without a valid self-signature is not chosen");
        free(ext);
    }
    CHECK(sg_keystore_find_encryption_key(ks, "carol@example.org.evil", sel) == 1 &&
              sg_keystore_find_encryption_key(ks, "arol@example.org", sel) == 1,
          "no partial address matches");
    free(pub);

    /* rsa3072, secret included: taken and wrapped */
    CHECK(make_external("<dave@example.org>", "rsa3072", 0, &pub, &len, f2) == 0, "made an RSA-3072 key");
    CHECK(import(ks, pub, len) == SG_IMPORT_IMPORTED, "RSA-3072 key imported");
    free(pub);

    /* selection rules */
    CHECK(make_external("<erin@example.org>", "ed25519", 1, &pub, &len, fexp) == 0,
          "made a key expiring in 1s");
    CHECK(import(ks, pub, len) == SG_IMPORT_IMPORTED, "soon-expiring key imported");
    free(pub);
    CHECK(sg_keystore_generate(ks, "frank@example.org", "ed25519", 0, NULL, frev) == 0, "generated a key");
    CHECK(sg_keystore_find_encryption_key(ks, "frank@example.org", sel) == 0, "generated key selectable");
    CHECK(sg_keystore_revoke(ks, frev, "test") == 0, "revoked it");
    CHECK(sg_keystore_find_encryption_key(ks, "frank@example.org", sel) == 1, "revoked key not chosen");
    sg_pgp_key k;
    CHECK(sg_keystore_get(ks, frev, &k) == 0 && k.revoked && k.secret,
          "revoked key is marked revoked, secret kept");
    sg_pgp_key_clear(&k);
    CHECK(make_external("<Grace@example.org>", "ed25519", 0, &pub, &len, fcase) == 0 &&
              import(ks, pub, len) == SG_IMPORT_IMPORTED,
          "imported a key for Grace@ (upper-case local part)");
    free(pub);
    CHECK(sg_keystore_find_encryption_key(ks, "grace@example.org", sel) == 1,
          "key whose uid differs only in local-part case is not chosen");
    CHECK(make_sign_only("<heidi@example.org>", &pub, &len, fsign) == 0 &&
              import(ks, pub, len) == SG_IMPORT_IMPORTED,
          "imported a sign-only key");
    free(pub);
    CHECK(sg_keystore_find_encryption_key(ks, "heidi@example.org", sel) == 1,
          "sign-only key not chosen for encryption");
    CHECK(sg_keystore_generate(ks, "Bob <bob@example.org>", "ed25519", 0, NULL, fbob1) == 0,
          "generated bob #1");
    sleep(2); /* creation times have one-second resolution; also lets erin's key expire */
    CHECK(sg_keystore_generate(ks, "Bob <bob@example.org>", "ed25519", 0, NULL, fbob2) == 0,
          "generated bob #2");
    CHECK(sg_keystore_find_encryption_key(ks, "bob@example.org", sel) == 0 && strcmp(sel, fbob2) == 0,
          "newest of two valid keys chosen");
    CHECK(sg_keystore_find_encryption_key(ks, "erin@example.org", sel) == 1, "expired key not chosen");
    CHECK(sg_keystore_get(ks, fexp, &k) == 0 && k.expires && k.expires <= time(NULL),
          "expired key is stored, marked expired");
    sg_pgp_key_clear(&k);

    /* list by address */
    sg_pgp_key *keys;
    size_t n;
    CHECK(sg_keystore_list(ks, "bob@example.org", &keys, &n) == 0 && n == 2 &&
              strcmp(keys[0].fpr, fbob2) == 0,
          "list by address: both of bob's keys, newest first");
    sg_keystore_free_list(keys, n);
    CHECK(sg_keystore_list(ks, NULL, &keys, &n) == 0 && n == 8, "list all: 8 keys (%zu)", n);
    sg_keystore_free_list(keys, n);

    /* signing key selection and the domain key */
    CHECK(sg_keystore_find_signing_key(ks, "bob@example.org", NULL, sel) == 0 && strcmp(sel, fbob2) == 0,
          "own secret key chosen for signing");
    CHECK(sg_keystore_find_signing_key(ks, "carol@example.org", NULL, sel) == 1,
          "no signing key when only the public key is held");
    CHECK(sg_keystore_domain_key(ks, "sealgate@example.org", true, dom) == 0, "domain key created");
    CHECK(sg_keystore_find_signing_key(ks, "carol@example.org", "sealgate@example.org", sel) == 0 &&
              strcmp(sel, dom) == 0,
          "domain key is the fallback signer");

    /* secret at rest */
    test_secret_at_rest(ks, store_path, fbob2);
    test_swapped_secret(ks, fbob2, fbob1);

    /* export and re-import through the public export: unchanged */
    uint8_t *out = NULL;
    size_t olen = 0;
    CHECK(sg_keystore_export(ks, fbob2, false, false, &out, &olen) == 0 &&
              import(ks, out, olen) == SG_IMPORT_UNCHANGED,
          "exported public key re-imports unchanged");
    free(out);
    CHECK(sg_keystore_export(ks, f1, true, false, &out, &olen) == 1, "no secret export without a secret");

    /* a revocation merges into a stored public-only copy as an update */
    CHECK(sg_keystore_export(ks, frev, false, false, &out, &olen) == 0, "exported the revoked key");
    CHECK(sg_keystore_delete(ks, frev) == 0 && sg_keystore_get(ks, frev, &k) == 1, "deleted it");
    CHECK(sg_keystore_delete(ks, frev) == 1, "deleting again: not found");
    CHECK(import(ks, out, olen) == SG_IMPORT_IMPORTED && sg_keystore_get(ks, frev, &k) == 0 && k.revoked &&
              !k.secret,
          "re-imported public copy is revoked, without secret");
    sg_pgp_key_clear(&k);
    free(out);

    /* garbage */
    static const uint8_t junk[] =
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n";
    CHECK(import(ks, junk, sizeof junk - 1) == SG_IMPORT_REJECTED, "garbage: rejected");
    CHECK(import(ks, (const uint8_t *)"\x99\x01", 2) == SG_IMPORT_REJECTED, "truncated packet: rejected");

    sg_keystore_close(ks);
    sg_store_close(st);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
