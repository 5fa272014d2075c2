/* test_store_backup.c - the store's backup calls (store/backup.h): a backup staged and installed
 * gives the same rows back; every class of damage is refused before anything is installed
 * (cut inside the header, cut inside the snapshot, a trailing byte, a flipped snapshot byte,
 * another store kind, another format version); has_data; secrets_each visits every wrapped
 * secret of both kinds, replaces what the callback returns, and inside a rolled-back
 * transaction changes nothing. Against PostgreSQL (SEALGATE_TEST_STORE, the store-pg suite)
 * has_data and secrets_each the same, and backup and restore refused with the pointer to
 * pg_dump / pg_restore, leaving no file. Owner: src/store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store/backup.h"
#include "store/pgp_rows.h"
#include "store/policy_rows.h"
#include "store/x509_rows.h"
#include "store_side.h"

static char dir[] = "/tmp/sg-test-backup-XXXXXX";

static int get_policy(sg_store *st, char **text)
{
    int64_t rev = 0;
    return sg_store_policy_newest(st, &rev) == 0 && rev > 0 ? sg_store_policy_get(st, rev, text, NULL, NULL)
                                                            : -1;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    char *b = malloc(*len + 1);
    if (fread(b, 1, *len, f) != *len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static void spit(const char *path, const char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, len, f);
    fclose(f);
}

/* Stages path for the store at spec: 1 when refused with a message containing want. */
static int refused(const char *path, const char *spec, const char *want)
{
    char err[512] = "";
    sg_store *st = sg_store_backup_stage(path, spec, err, sizeof err);
    if (st) {
        sg_store_backup_discard(st, spec);
        return 0;
    }
    char staged[600];
    snprintf(staged, sizeof staged, "%s.restore", spec);
    if (access(staged, F_OK) == 0) {
        printf("# a staged copy was left: %s\n", staged);
        return 0;
    }
    if (!strstr(err, want))
        printf("# message: %s\n", err);
    return strstr(err, want) != NULL;
}

typedef struct walk {
    int n, pgp, x509;
    int replace;
} walk;

static int visit(void *ctx, const char *fpr, const uint8_t *w, size_t len, uint8_t **out, size_t *outlen)
{
    walk *k = ctx;
    k->n++;
    if (strcmp(fpr, "PGPFPR") == 0 && len == 3 && memcmp(w, "p-1", 3) == 0)
        k->pgp++;
    if (strcmp(fpr, "X509FPR") == 0 && len == 3 && memcmp(w, "x-1", 3) == 0)
        k->x509++;
    if (k->replace) {
        *out = malloc(3);
        memcpy(*out, fpr[0] == 'P' ? "p-2" : "x-2", 3);
        *outlen = 3;
    }
    return 0;
}

static int wrapped_is(sg_store *st, const char *want)
{
    uint8_t *w = NULL;
    size_t len = 0;
    int ok = sg_store_pgp_get_wrapped(st, "PGPFPR", &w, &len) == 0 && len == 3 && memcmp(w, want, 3) == 0;
    free(w);
    return ok;
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    char a[256], b[256], bk[256], bad[256], err[512] = "";
    if (side_store(dir, "a/sealgate", a, sizeof a) < 0)
        return 1;
    snprintf(b, sizeof b, "%s/b/sealgate.db", dir);
    snprintf(bk, sizeof bk, "%s/backup", dir);
    snprintf(bad, sizeof bad, "%s/bad", dir);
    sg_store *st = sg_store_open(a, err, sizeof err);
    CHECK(st != NULL, "store opened (%s)", err);
    if (!st)
        return CHECK_DONE();
    CHECK(sg_store_has_data(st) == 0, "a new store has no data");
    int64_t rev = 0;
    CHECK(sg_store_policy_add(st, "rule text", "test", 1, &rev) == 0 && sg_store_has_data(st) == 1,
          "a policy revision is data");
    CHECK(sg_store_pgp_put_secret(st, "PGPFPR", (const uint8_t *)"p-1", 3) == 0 &&
              sg_store_x509_put_key(st, "X509FPR", (const uint8_t *)"x-1", 3) == 0,
          "a wrapped secret of each kind stored");

    walk k = {0};
    CHECK(sg_store_secrets_each(st, visit, &k) == 0 && k.n == 2 && k.pgp == 1 && k.x509 == 1,
          "secrets_each visits both kinds (%d rows)", k.n);
    k = (walk){.replace = 1};
    CHECK(sg_store_begin(st) == 0 && sg_store_secrets_each(st, visit, &k) == 0 && wrapped_is(st, "p-2"),
          "inside a transaction the callback's bytes replace the row");
    sg_store_rollback(st);
    CHECK(wrapped_is(st, "p-1"), "rolled back: the old bytes are there again");

    if (side_is_pg()) {
        CHECK(sg_store_backup(st, bk) == -1 && strstr(sg_store_error(st), "use pg_dump") &&
                  access(bk, F_OK) < 0,
              "PostgreSQL: backup refused, pointing to pg_dump, no file left (%s)", sg_store_error(st));
        sg_store *staged = sg_store_backup_stage(bk, a, err, sizeof err);
        CHECK(!staged && strstr(err, "pg_restore"),
              "PostgreSQL: restore refused, pointing to pg_restore (%s)", err);
        sg_store_close(st);
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
        return CHECK_DONE();
    }
    CHECK(sg_store_backup(st, bk) == 0, "backup written (%s)", sg_store_error(st));
    sg_store *staged = sg_store_backup_stage(bk, b, err, sizeof err);
    CHECK(staged != NULL, "the backup stages (%s)", err);
    if (staged) {
        char *text = NULL;
        CHECK(get_policy(staged, &text) == 0 && text && strcmp(text, "rule text") == 0 &&
                  wrapped_is(staged, "p-1"),
              "the staged copy has the rows");
        free(text);
        CHECK(sg_store_backup_install(staged, b, err, sizeof err) == 0, "installed (%s)", err);
        sg_store *st2 = sg_store_open(b, err, sizeof err);
        CHECK(st2 && wrapped_is(st2, "p-1") && sg_store_has_data(st2) == 1,
              "the installed store has the rows");
        sg_store_close(st2);
    }

    size_t len = 0;
    char *whole = slurp(bk, &len);
    CHECK(whole && len > SG_BACKUP_HEADER_LEN + 1000 && memcmp(whole, SG_BACKUP_MAGIC, 8) == 0,
          "the file has the header (%zu bytes)", len);
    if (whole) {
        int ok = 1;
        size_t cuts[] = {
            0,       4,      8, 30, SG_BACKUP_HEADER_LEN - 1, SG_BACKUP_HEADER_LEN, SG_BACKUP_HEADER_LEN + 1,
            len / 2, len - 1};
        for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
            spit(bad, whole, cuts[i]);
            const char *want = cuts[i] < 8 ? "not a sealgate backup" : "truncated";
            if (!refused(bad, b, want)) {
                ok = 0;
                printf("# cut at %zu\n", cuts[i]);
            }
        }
        CHECK(ok, "cut anywhere (header or snapshot): refused as truncated, nothing staged");
        char *more = malloc(len + 1);
        memcpy(more, whole, len);
        more[len] = 'x';
        spit(bad, more, len + 1);
        CHECK(refused(bad, b, "trailing bytes"), "a trailing byte is refused");
        free(more);
        whole[len - 10] ^= 1;
        spit(bad, whole, len);
        CHECK(refused(bad, b, "corrupt"), "a flipped byte in the snapshot: corrupt");
        whole[len - 10] ^= 1;
        whole[12] = 'p';
        spit(bad, whole, len);
        CHECK(refused(bad, b, "store is sqlite"), "a backup of another store kind is refused");
        whole[12] = 's';
        whole[11] = 9;
        spit(bad, whole, len);
        CHECK(refused(bad, b, "format version 9"), "an unknown format version is refused");
        free(whole);
    }
    sg_store_close(st);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
