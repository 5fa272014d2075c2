/* pg_backup.c - the PostgreSQL backend's backup calls (store/backup.h). Owner: src/store.
 * A snapshot of a shared PostgreSQL database is the database administrator's job, with the
 * database's own tools (pg_dump for a consistent logical copy, pg_basebackup and WAL archiving
 * for point-in-time recovery): `sealgate backup` answers "unavailable: use pg_dump" rather than
 * shipping a second, weaker dump format (docs/cluster.md). What stays here works on the live
 * database: whether it holds data, and the walk over every KEK-wrapped secret that KEK
 * rotation needs.
 * SECURITY: the walk knows every table that holds KEK-wrapped bytes (pgp_secrets, x509_keys, pdf_passwords),
 * as sqlite_backup.c does; a migration adding another must add it to both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/backup.h"
#include "store/pg/pg_int.h"

static int pg_snapshot(sg_store *s, const char *path)
{
    (void)path;
    return sg_store_fail(s, "store: backup of a PostgreSQL store is unavailable here: use pg_dump "
                            "(docs/cluster.md); the KEK is exported with `sealgate kek export`");
}

static void pg_staging_path(const char *spec, char *out, size_t outlen)
{
    (void)spec;
    snprintf(out, outlen, "%s", "");
}

static int pg_install(const char *staged, const char *spec, char *err, size_t errlen)
{
    (void)staged;
    (void)spec;
    snprintf(err, errlen,
             "restore into a PostgreSQL store is unavailable here: use pg_restore (docs/cluster.md)");
    return -1;
}

static int pg_has_data(sg_store *s)
{
    PGresult *r = pg_run(s,
                         "SELECT EXISTS (SELECT 1 FROM pgp_keys) OR EXISTS (SELECT 1 FROM x509_certs)"
                         " OR EXISTS (SELECT 1 FROM policy)",
                         NULL, "looking for data");
    if (!r)
        return -1;
    int v = pg_col_i64(r, 0, 0) != 0;
    PQclear(r);
    return v;
}

static const char *const secret_tables[][2] = {
    {"SELECT fpr, wrapped FROM pgp_secrets ORDER BY fpr COLLATE \"C\"",
     "UPDATE pgp_secrets SET wrapped = $1 WHERE fpr = $2"},
    {"SELECT fpr, wrapped FROM x509_keys ORDER BY fpr COLLATE \"C\"",
     "UPDATE x509_keys SET wrapped = $1 WHERE fpr = $2"},
    /* the pdf method's passwords: their AAD (engine/pdf/pdf_pass.c) names the row */
    {"SELECT 'pdf-password:' || sender || '|' || rcpt, wrapped FROM pdf_passwords"
     " ORDER BY sender COLLATE \"C\", rcpt COLLATE \"C\"",
     "UPDATE pdf_passwords SET wrapped = $1 WHERE 'pdf-password:' || sender || '|' || rcpt = $2"},
};

static int pg_secrets_each(sg_store *s, sg_store_secret_fn fn, void *ctx)
{
    int rc = 0;
    for (size_t t = 0; rc == 0 && t < sizeof secret_tables / sizeof secret_tables[0]; t++) {
        /* The whole result is in memory: updating rows of the same table while walking is safe. */
        PGresult *r = pg_run(s, secret_tables[t][0], NULL, "reading wrapped secrets");
        if (!r)
            return -1;
        for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
            const char *fpr = PQgetvalue(r, i, 0);
            int len = PQgetisnull(r, i, 1) ? 0 : PQgetlength(r, i, 1);
            if (len <= 0) {
                rc = sg_store_fail(s, "store: empty or unreadable data for %s", fpr);
                break;
            }
            uint8_t *out = NULL;
            size_t outlen = 0;
            rc = fn(ctx, fpr, (const uint8_t *)PQgetvalue(r, i, 1), (size_t)len, &out, &outlen);
            if (rc == 0 && out) {
                pg_args a = {0};
                pa_bytes(&a, out, outlen);
                pa_text(&a, fpr);
                int64_t n = pg_cmd(s, secret_tables[t][1], &a, "replacing a wrapped secret");
                rc = n == 1  ? 0
                     : n < 0 ? -1
                             : sg_store_fail(s, "store: replacing a wrapped secret: %s is gone", fpr);
            }
            free(out);
        }
        PQclear(r);
    }
    return rc;
}

const struct sg_store_backup_ops sg_pg_backup_ops = {
    .snapshot = pg_snapshot,
    .staging_path = pg_staging_path,
    .install = pg_install,
    .has_data = pg_has_data,
    .secrets_each = pg_secrets_each,
};
