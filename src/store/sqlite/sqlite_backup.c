/* sqlite_backup.c - the SQLite backend's backup calls (store/backup.h): VACUUM INTO for the
 * snapshot, rename for the install, and the walk over every KEK-wrapped secret. Owner: src/store.
 * SECURITY: the walk knows every table that holds KEK-wrapped bytes (pgp_secrets, x509_keys, pdf_passwords);
 * a migration adding another such table must add it to `secret_tables` or rotation would leave
 * its rows under a KEK that is then gone (tests/integration/test_kek_rotate.py checks each). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "store/backup.h"
#include "store/sqlite/sqlite_int.h"

static int sq_snapshot(sg_store *s, const char *path)
{
    /* VACUUM INTO reads inside one transaction: the copy is one consistent state, and in WAL mode
     * writers (cryptd, the CLI) go on meanwhile. */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(sq_of(s)->db, "VACUUM INTO ?", -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return sq_fail(s, "preparing the snapshot");
    }
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sq_fail(s, "writing the snapshot");
}

static void sq_staging_path(const char *spec, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s.restore", spec);
}

static int sq_install(const char *staged, const char *spec, char *err, size_t errlen)
{
    /* The old store's WAL and shared-memory files belong to the old database: left beside the
     * new one, SQLite would replay the old WAL into it. */
    static const char *const side[] = {"-wal", "-shm", "-journal"};
    for (int i = 0; i < 3; i++) {
        char p[PATH_MAX + 16], q[PATH_MAX + 16];
        snprintf(p, sizeof p, "%s%s", spec, side[i]);
        snprintf(q, sizeof q, "%s%s", staged, side[i]);
        if ((unlink(p) < 0 && errno != ENOENT) || (unlink(q) < 0 && errno != ENOENT)) {
            snprintf(err, errlen, "cannot remove %s: %s", p, strerror(errno));
            return -1;
        }
    }
    if (rename(staged, spec) < 0) {
        snprintf(err, errlen, "cannot move %s to %s: %s", staged, spec, strerror(errno));
        return -1;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", spec);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    sg_fsync_dir(slash ? dir : ".");
    return 0;
}

static int sq_has_data(sg_store *s)
{
    sqlite3_stmt *st =
        sq_stmt(s, "SELECT EXISTS (SELECT 1 FROM pgp_keys) OR EXISTS (SELECT 1 FROM x509_certs)"
                   " OR EXISTS (SELECT 1 FROM policy)");
    if (!st)
        return -1;
    int rc = sqlite3_step(st), v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) != 0 : -1;
    if (rc != SQLITE_ROW)
        sq_fail(s, "looking for data");
    sq_done(s, st);
    return v;
}

typedef struct secret_row {
    int table;
    char fpr[700]; /* a fingerprint, or a pdf password's "pdf-password:SENDER|RCPT" */
    uint8_t *wrapped;
    size_t len;
} secret_row;

static const char *const secret_tables[][2] = {
    {"SELECT fpr, wrapped FROM pgp_secrets ORDER BY fpr", "UPDATE pgp_secrets SET wrapped = ? WHERE fpr = ?"},
    {"SELECT fpr, wrapped FROM x509_keys ORDER BY fpr", "UPDATE x509_keys SET wrapped = ? WHERE fpr = ?"},
    /* the pdf method's passwords: their AAD (engine/pdf/pdf_pass.c) names the row */
    {"SELECT 'pdf-password:' || sender || '|' || rcpt, wrapped FROM pdf_passwords ORDER BY sender, rcpt",
     "UPDATE pdf_passwords SET wrapped = ? WHERE 'pdf-password:' || sender || '|' || rcpt = ?"},
};
enum { N_TABLES = sizeof secret_tables / sizeof secret_tables[0] };

/* All rows first, then the callbacks and updates: no update runs while a SELECT on the same
 * table is open. */
static int collect(sg_store *s, secret_row **rows, size_t *n)
{
    size_t cap = 0;
    for (int t = 0; t < N_TABLES; t++) {
        sqlite3_stmt *st = sq_stmt(s, secret_tables[t][0]);
        if (!st)
            return -1;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (*n == cap) {
                secret_row *m = realloc(*rows, (cap = cap ? 2 * cap : 16) * sizeof *m);
                if (!m) {
                    sq_done(s, st);
                    return sg_store_fail(s, "store: out of memory");
                }
                *rows = m;
            }
            secret_row *r = &(*rows)[*n];
            r->table = t;
            sq_col_text(st, 0, r->fpr, sizeof r->fpr);
            if (sq_col_bytes(s, st, 1, r->fpr, &r->wrapped, &r->len) < 0) {
                sq_done(s, st);
                return -1;
            }
            (*n)++;
        }
        sq_done(s, st);
        if (rc != SQLITE_DONE)
            return sq_fail(s, "reading wrapped secrets");
    }
    return 0;
}

static int put(sg_store *s, const secret_row *r, const uint8_t *b, size_t len)
{
    sqlite3_stmt *st = sq_stmt(s, secret_tables[r->table][1]);
    if (!st)
        return -1;
    sqlite3_bind_blob(st, 1, b, (int)len, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->fpr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sq_done(s, st);
    return rc == SQLITE_DONE && sqlite3_changes(sq_of(s)->db) == 1 ? 0
                                                                   : sq_fail(s, "replacing a wrapped secret");
}

static int sq_secrets_each(sg_store *s, sg_store_secret_fn fn, void *ctx)
{
    secret_row *rows = NULL;
    size_t n = 0;
    int rc = collect(s, &rows, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint8_t *out = NULL;
        size_t outlen = 0;
        rc = fn(ctx, rows[i].fpr, rows[i].wrapped, rows[i].len, &out, &outlen);
        if (rc == 0 && out)
            rc = put(s, &rows[i], out, outlen);
        free(out);
    }
    for (size_t i = 0; i < n; i++)
        free(rows[i].wrapped);
    free(rows);
    return rc;
}

const struct sg_store_backup_ops sg_sqlite_backup_ops = {
    .snapshot = sq_snapshot,
    .staging_path = sq_staging_path,
    .install = sq_install,
    .has_data = sq_has_data,
    .secrets_each = sq_secrets_each,
};
