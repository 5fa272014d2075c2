/* test_store_discovery.c - the store's discovery calls (store/discovery_rows.h) on either backend
 * (SQLite by default, PostgreSQL under SEALGATE_TEST_STORE, the store-pg suite): cache rows and
 * provenance round trip and are replaced, an expired cache row is "none", "no such row" is not
 * an error, deleting a key deletes its provenance in the caller's transaction (a rollback keeps
 * both), and tables dropped by another connection are an error, never "not cached" or
 * "verified" (a key without provenance is trusted as verified). Owner: src/store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "store/discovery_rows.h"
#include "store/pgp_rows.h"
#include "store_side.h"

#define FA "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define FB "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define NOW 1700000000

static sg_store_disc_cache cache_row(const char *key, int result, const char *fpr, const char *url, int64_t expires)
{
    sg_store_disc_cache c = {.result = result, .fetched = NOW, .expires = expires};
    snprintf(c.key, sizeof c.key, "%s", key);
    snprintf(c.fpr, sizeof c.fpr, "%s", fpr);
    snprintf(c.source, sizeof c.source, "wkd");
    snprintf(c.url, sizeof c.url, "%s", url);
    return c;
}

static sg_store_provenance prov_row(const char *fpr, int trust, const char *source, int64_t time)
{
    sg_store_provenance p = {.trust = trust, .time = time};
    snprintf(p.fpr, sizeof p.fpr, "%s", fpr);
    snprintf(p.source, sizeof p.source, "%s", source);
    snprintf(p.url, sizeof p.url, "https://keys.example/%s", fpr);
    return p;
}

static void absent(sg_store *st)
{
    sg_store_disc_cache c;
    sg_store_provenance p;
    CHECK(sg_store_disc_cache_get(st, "a@x.example", NOW, &c) == 1 && c.key[0] == '\0' && c.result == 0,
          "cache_get of an unknown address: 1 (no row), nothing filled in");
    CHECK(sg_store_provenance_get(st, FA, &p) == 1 && p.fpr[0] == '\0' && p.trust == 0,
          "provenance_get of an unknown key: 1 (verified), nothing filled in");
}

static void cache_round_trip(sg_store *st)
{
    sg_store_disc_cache a = cache_row("a@x.example", SG_DISC_FOUND, FA, "https://openpgpkey.x.example/a", NOW + 600);
    CHECK(sg_store_disc_cache_put(st, &a) == 0, "a found key is cached (%s)", sg_store_error(st));
    sg_store_disc_cache r;
    int rc = sg_store_disc_cache_get(st, "a@x.example", NOW, &r);
    CHECK(rc == 0 && strcmp(r.key, "a@x.example") == 0 && r.result == SG_DISC_FOUND && strcmp(r.fpr, FA) == 0 &&
              strcmp(r.source, "wkd") == 0 && strcmp(r.url, a.url) == 0 && r.fetched == NOW &&
              r.expires == NOW + 600,
          "the cache row reads back as written (rc %d)", rc);
    CHECK(sg_store_disc_cache_get(st, "a@x.example", NOW + 599, &r) == 0, "it is used until just before expires");
    CHECK(sg_store_disc_cache_get(st, "a@x.example", NOW + 600, &r) == 1, "at expires it is no longer used: 1");
    CHECK(sg_store_disc_cache_get(st, "A@x.example", NOW, &r) == 1, "keys are exact (the caller lower-cases)");

    sg_store_disc_cache d = cache_row("@y.example", SG_DISC_NOT_FOUND, "", "https://y.example/.well-known", NOW + 60);
    snprintf(d.source, sizeof d.source, "keyserver");
    CHECK(sg_store_disc_cache_put(st, &d) == 0, "a domain's negative result is cached");
    rc = sg_store_disc_cache_get(st, "@y.example", NOW, &r);
    CHECK(rc == 0 && r.result == SG_DISC_NOT_FOUND && r.fpr[0] == '\0' && strcmp(r.source, "keyserver") == 0,
          "the domain row reads back: not found, no key");

    sg_store_disc_cache b = cache_row("a@x.example", SG_DISC_PENDING, FB, "https://keys.example/b", NOW + 7200);
    b.fetched = NOW + 5;
    CHECK(sg_store_disc_cache_put(st, &b) == 0, "the address's row is written again");
    rc = sg_store_disc_cache_get(st, "a@x.example", NOW + 1000, &r);
    CHECK(rc == 0 && r.result == SG_DISC_PENDING && strcmp(r.fpr, FB) == 0 && strcmp(r.url, b.url) == 0 &&
              r.fetched == NOW + 5 && r.expires == NOW + 7200,
          "the second write replaced the first (one row per address)");
    char n[32] = "";
    CHECK(side_text("SELECT count(*) FROM discovery_cache", n, sizeof n) == 0 && strcmp(n, "2") == 0,
          "two rows in discovery_cache (%s)", n);
}

static int put_key(sg_store *st, const char *fpr)
{
    sg_store_pgp_key k = {.bits = 255, .created = 1, .valid_until = INT64_MAX, .can_encrypt = true,
                          .enc_subkey = true, .enc_until = INT64_MAX};
    snprintf(k.fpr, sizeof k.fpr, "%s", fpr);
    snprintf(k.keyid, sizeof k.keyid, "%.16s", fpr + 24);
    snprintf(k.alg, sizeof k.alg, "EDDSA");
    if (sg_store_begin(st) < 0)
        return -1;
    if (sg_store_pgp_put_key(st, &k, (const uint8_t *)"PUB", 3, NOW) < 0) {
        sg_store_rollback(st);
        return -1;
    }
    return sg_store_commit(st);
}

static void provenance(sg_store *st)
{
    sg_store_provenance p = prov_row(FA, SG_TRUST_DISCOVERED, "wkd", NOW), r;
    CHECK(sg_store_provenance_put(st, &p) == 0, "a provenance row is written (%s)", sg_store_error(st));
    int rc = sg_store_provenance_get(st, FA, &r);
    CHECK(rc == 0 && strcmp(r.fpr, FA) == 0 && r.trust == SG_TRUST_DISCOVERED && strcmp(r.source, "wkd") == 0 &&
              strcmp(r.url, p.url) == 0 && r.time == NOW,
          "it reads back as written");
    p = prov_row(FA, SG_TRUST_HARVESTED, "keyserver", NOW + 9);
    CHECK(sg_store_provenance_put(st, &p) == 0 && sg_store_provenance_get(st, FA, &r) == 0 &&
              r.trust == SG_TRUST_HARVESTED && strcmp(r.source, "keyserver") == 0 && r.time == NOW + 9,
          "a second write replaces it");

    /* Deleting the key takes its provenance along, inside the caller's transaction. */
    CHECK(put_key(st, FA) == 0, "the key itself is stored (%s)", sg_store_error(st));
    int del = sg_store_begin(st) == 0 ? sg_store_pgp_delete(st, FA) : -2;
    sg_store_rollback(st);
    CHECK(del == 0, "a key delete is rolled back");
    CHECK(sg_store_provenance_get(st, FA, &r) == 0 && r.trust == SG_TRUST_HARVESTED,
          "after the rollback the provenance is still there");
    CHECK(sg_store_begin(st) == 0 && sg_store_pgp_delete(st, FA) == 0 && sg_store_commit(st) == 0,
          "the key is deleted (%s)", sg_store_error(st));
    CHECK(sg_store_provenance_get(st, FA, &r) == 1,
          "its provenance went with it (a key imported again later is not 'harvested' from old rows)");
}

/* Another connection drops the tables: every call is an error with the backend's reason. */
static void broken(sg_store *st, const char *path)
{
    CHECK(side_once(path, "DROP TABLE discovery_cache; DROP TABLE pgp_provenance;") == 0,
          "another connection drops discovery_cache and pgp_provenance");
    sg_store_disc_cache c = cache_row("b@x.example", SG_DISC_FOUND, FB, "u", NOW + 60);
    sg_store_provenance p = prov_row(FB, SG_TRUST_DISCOVERED, "wkd", NOW);
    CHECK(sg_store_disc_cache_get(st, "a@x.example", NOW, &c) == -1 && strstr(sg_store_error(st), SIDE_NO_TABLE),
          "cache_get: an error, not 'not cached' (%s)", sg_store_error(st));
    c = cache_row("b@x.example", SG_DISC_FOUND, FB, "u", NOW + 60);
    CHECK(sg_store_disc_cache_put(st, &c) == -1 && strstr(sg_store_error(st), SIDE_NO_TABLE),
          "cache_put: an error (%s)", sg_store_error(st));
    CHECK(sg_store_provenance_get(st, FA, &p) == -1 && strstr(sg_store_error(st), SIDE_NO_TABLE),
          "provenance_get: an error, not 'verified' (%s)", sg_store_error(st));
    p = prov_row(FB, SG_TRUST_DISCOVERED, "wkd", NOW);
    CHECK(sg_store_provenance_put(st, &p) == -1, "provenance_put: an error");
    CHECK(put_key(st, FB) == 0, "a key is stored");
    CHECK(sg_store_begin(st) == 0 && sg_store_pgp_delete(st, FB) == -1 && strstr(sg_store_error(st), SIDE_NO_TABLE),
          "a key delete without the provenance table: an error (%s)", sg_store_error(st));
    sg_store_rollback(st);
}

int main(void)
{
    char dir[] = "/tmp/sg-test-store-disc-XXXXXX", path[300], err[512] = "";
    if (!mkdtemp(dir))
        return 1;
    if (side_store(dir, "disc", path, sizeof path) < 0)
        return 1;
    sg_store *st = sg_store_open(path, err, sizeof err);
    CHECK(st != NULL, "store opened (%s)", err);
    if (st && side_open(path)) {
        absent(st);
        cache_round_trip(st);
        provenance(st);
        broken(st, path);
    }
    side_close();
    sg_store_close(st);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
