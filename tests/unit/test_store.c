/* test_store.c - the store's schema migrations when several processes open a new store at the
 * same moment (cryptd and the admin CLI do; with PostgreSQL, several nodes): every opener
 * succeeds and each migration runs once; generations; and, run against PostgreSQL
 * (SEALGATE_TEST_STORE, the store-pg suite), the same schema as SQLite's, change notifications,
 * the password file and a password never shown in a message; on both backends, the upgrade of a
 * store of the previous release (schema version 7) to a schema equal to a fresh store's. Owner: src/store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "store/pg/pg_int.h"
#include "store/pgp_rows.h"
#include "store/policy_rows.h"
#include "store/x509_rows.h"
#include "store/sqlite/sqlite_int.h"
#include "store/store.h"
#include "store_side.h"

#define OPENERS 6

/* A write by another connection (as by the CLI or another process) to the tables of one kind
 * changes that kind's generation and no other's. */
static void generations(const char *dir)
{
    char path[256], err[512] = "";
    if (side_store(dir, "gen/sealgate", path, sizeof path) < 0)
        return;
    sg_store *st = sg_store_open(path, err, sizeof err);
    int opened = st && side_open(path);
    CHECK(opened, "generations: store opened (%s)", err);
    if (!opened)
        return;
    static const struct {
        const char *sql;
        int kind; /* -1: no kind changes */
    } writes[] = {
        {"INSERT INTO pgp_keys VALUES ('F','K','ed25519',255,0,0,0,0,NULL,1,1,1,1,0,0,0,x'00')", SG_GEN_PGP},
        {"INSERT INTO pgp_uids VALUES ('F','a <a@b>','a@b',1)", SG_GEN_PGP},
        {"DELETE FROM pgp_keys", SG_GEN_PGP},
        {"INSERT INTO x509_certs (fpr, der, subject, issuer, serial, not_before, not_after, key_usage,"
         " eku_email, is_ca, imported) VALUES ('C', x'00', 's', 'i', '1', 0, 0, -1, 1, 0, 0)",
         SG_GEN_X509},
        {"UPDATE x509_certs SET trusted = 1", SG_GEN_X509},
        {"INSERT INTO x509_ocsp VALUES ('C', 1, 0, 0, 0, 0, 'u', x'00')", SG_GEN_X509},
        {"INSERT INTO x509_learned VALUES ('a@b', 'C', NULL, 0, 1, 1)", SG_GEN_X509},
        {"UPDATE x509_learned SET last_seen = 2", -1},
        {"UPDATE x509_learned SET cap_flags = 3", SG_GEN_X509},
        {"INSERT INTO policy (text, source, loaded) VALUES ('x', 'test', 0)", SG_GEN_POLICY},
        {"INSERT INTO meta VALUES ('k', 'v')", -1},
        {"INSERT INTO admin_accounts (name, hash, roles, created) VALUES ('a', 'h', 1, 0)", SG_GEN_ADMIN},
        {"UPDATE admin_accounts SET failed = 1, locked_until = 9, last_login = 3", -1},
        {"UPDATE admin_accounts SET roles = 3", SG_GEN_ADMIN},
        {"UPDATE admin_accounts SET hash = 'h2'", SG_GEN_ADMIN},
        {"INSERT INTO admin_tokens VALUES ('t', 'h', 1, 'a', 'l', 0, 0)", SG_GEN_ADMIN},
        {"UPDATE admin_tokens SET revoked = 5", SG_GEN_ADMIN},
        {"INSERT INTO admin_sessions VALUES ('s', 'a', 0, 0, 'c', 'local')", -1},
        {"UPDATE admin_sessions SET last_seen = 7", -1},
        {"INSERT INTO audit_events (time, actor, roles, op, target, result, client, detail)"
         " VALUES (1, 'a', 1, 'x', '', 'ok', 'local', '')",
         -1},
        {"DELETE FROM admin_accounts", SG_GEN_ADMIN},
    };
    static const char *const names[] = {"pgp", "x509", "policy", "admin"};
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        int64_t before[4], after[4];
        int ok = 1;
        for (int k = 0; k < 4; k++)
            ok &= sg_store_generation(st, (sg_store_gen)k, &before[k]) == 0;
        ok &= side_exec(writes[i].sql) == 0;
        for (int k = 0; k < 4; k++)
            ok &= sg_store_generation(st, (sg_store_gen)k, &after[k]) == 0;
        char what[64] = "";
        for (int k = 0; k < 4; k++)
            if (before[k] != after[k])
                snprintf(what + strlen(what), sizeof what - strlen(what), "%s ", names[k]);
        int expect_ok = 1;
        for (int k = 0; k < 4; k++)
            expect_ok &= (before[k] != after[k]) == (k == writes[i].kind);
        CHECK(ok && expect_ok, "generations: \"%.50s\" by another connection changes %s (changed: %s)",
              writes[i].sql, writes[i].kind < 0 ? "nothing" : names[writes[i].kind], what[0] ? what : "none");
    }
    int64_t g;
    CHECK(sg_store_generation(st, (sg_store_gen)7, &g) == -1 && strstr(sg_store_error(st), "generation"),
          "generations: an unknown kind is an error, not a number (%s)", sg_store_error(st));
    side_close();
    sg_store_close(st);
}

/* Messages name a PostgreSQL store without its password, wherever it was written. */
static void redaction(void)
{
    char out[512], err[512] = "";
    sg_store_describe("postgresql://sg:s3cr3tpw@db1:5432,db2:5432/sealgate?target_session_attrs=read-write",
                      out, sizeof out);
    CHECK(!strstr(out, "s3cr3tpw") && strstr(out, "sg:***@db1:5432,db2:5432/sealgate?target_session_attrs"),
          "describe: the URI's password is cut (%s)", out);
    sg_store_describe("postgres://db1/sealgate?user=sg&password=s3cr3tpw&sslmode=require", out, sizeof out);
    CHECK(!strstr(out, "s3cr3tpw") && strstr(out, "password=***&sslmode=require"),
          "describe: a password parameter is cut (%s)", out);
    sg_store_describe("/var/lib/sealgate/store/sealgate.db", out, sizeof out);
    CHECK(strcmp(out, "/var/lib/sealgate/store/sealgate.db") == 0, "describe: a path stays as it is");
    /* Nothing listens on port 1: the error names the store, not its password. */
    sg_store *st =
        sg_store_open("postgresql://sg:s3cr3tpw@127.0.0.1:1/sealgate?connect_timeout=2", err, sizeof err);
    CHECK(!st && err[0] && !strstr(err, "s3cr3tpw") && strstr(err, "sg:***@127.0.0.1:1"),
          "open: a connection error shows no password (%s)", err);
    sg_store_close(st);
}

/* SQLite announces nothing; PostgreSQL announces a change by another connection (as by another
 * node) without a query, per kind. */
static void notifications(const char *dir)
{
    char path[256], err[512] = "";
    if (side_store(dir, "notify/sealgate", path, sizeof path) < 0)
        return;
    sg_store *st = sg_store_open(path, err, sizeof err);
    unsigned kinds = 99;
    int ok = st && side_open(path) && sg_store_poll_changes(st, &kinds) == 0;
    CHECK(ok && kinds == 0, "notify: nothing announced after opening (%u)", kinds);
    if (!ok) {
        side_close();
        sg_store_close(st);
        return;
    }
    side_exec("INSERT INTO policy (text, source, loaded) VALUES ('x', 'another node', 0)");
    int fd = sg_store_notify_fd(st);
    if (!side_is_pg()) {
        CHECK(fd == -1 && sg_store_poll_changes(st, &kinds) == 0 && kinds == 0,
              "notify: SQLite announces nothing, its generation read is the way");
    } else {
        unsigned got = 0;
        for (int i = 0; i < 50 && !(got & (1u << SG_GEN_POLICY)); i++) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            poll(&p, 1, 100);
            if (sg_store_poll_changes(st, &kinds) < 0)
                break;
            got |= kinds;
        }
        CHECK(fd >= 0 && got == 1u << SG_GEN_POLICY,
              "notify: a policy added by another connection is announced, as policy only (%#x)", got);
        CHECK(sg_store_poll_changes(st, &kinds) == 0 && kinds == 0, "notify: announced once");
    }
    side_close();
    sg_store_close(st);
}

/* PostgreSQL only: a handle that trusts announcements (cryptd's) answers generations from
 * memory while none arrived, sees another connection's change once its NOTIFY is there, and
 * reads the server again after the safety net's 5 s even without one. */
static void trusted_generations(const char *dir)
{
    char path[256], err[512] = "";
    if (side_store(dir, "trusted/sealgate", path, sizeof path) < 0)
        return;
    sg_store *st = sg_store_open(path, err, sizeof err), *plain = sg_store_open(path, err, sizeof err);
    int64_t g0 = -1, g1 = -1, g2 = -1, p1 = -1;
    int ok = st && plain && side_open(path);
    if (ok)
        sg_store_trust_announcements(st);
    ok = ok && sg_store_generation(st, SG_GEN_PGP, &g0) == 0;
    /* A write of the number itself fires no trigger, so no NOTIFY: only a query would see it. */
    ok = ok && side_exec("UPDATE store_generation SET gen = gen + 100 WHERE kind = 'pgp'") == 0;
    ok = ok && sg_store_generation(st, SG_GEN_PGP, &g1) == 0 && sg_store_generation(plain, SG_GEN_PGP, &p1) == 0;
    CHECK(ok && g1 == g0 && p1 == g0 + 100,
          "trusted: without an announcement the number comes from memory (%lld), a plain handle asks (%lld)",
          (long long)g1, (long long)p1);
    side_exec("INSERT INTO policy (text, source, loaded) VALUES ('x', 'another node', 0)");
    int64_t pol0 = -1, pol1 = -1;
    ok = ok && sg_store_generation(plain, SG_GEN_POLICY, &pol0) == 0;
    int fd = sg_store_notify_fd(st);
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    for (int i = 0; ok && i < 50 && poll(&pf, 1, 100) == 0; i++)
        ;
    CHECK(ok && sg_store_generation(st, SG_GEN_POLICY, &pol1) == 0 && pol1 == pol0,
          "trusted: a policy added by another connection is seen once its NOTIFY arrived (%lld, %lld)",
          (long long)pol1, (long long)pol0);
    sleep(6);
    CHECK(ok && sg_store_generation(st, SG_GEN_PGP, &g2) == 0 && g2 == g0 + 100,
          "trusted: after 5 s the number is read again without an announcement (safety net) (%lld)",
          (long long)g2);
    side_close();
    sg_store_close(st);
    sg_store_close(plain);
}

/* PostgreSQL only: a role that must give its password logs in with the password file; a wrong
 * one fails without showing it. */
static void password_file(const char *dir)
{
    char path[256], uri[512], pwf[300], err[512] = "";
    const char *base = getenv("SEALGATE_TEST_STORE");
    const char *at = strchr(base, '@');
    if (!at || side_store(dir, "pw", path, sizeof path) < 0 || !side_open(path)) {
        CHECK(0, "password: set-up (%s)", base);
        return;
    }
    const char *db = strrchr(path, '/') + 1;
    char sql[512];
    snprintf(sql, sizeof sql,
             "DROP ROLE IF EXISTS sgpw; CREATE ROLE sgpw LOGIN PASSWORD 'right-pw-1'; ALTER DATABASE \"%s\" "
             "OWNER TO "
             "sgpw",
             db);
    int ok = side_exec(sql) == 0;
    side_close();
    snprintf(uri, sizeof uri, "postgresql://sgpw%s/%s", at, db);
    snprintf(pwf, sizeof pwf, "%s/pw", dir);
    FILE *f = fopen(pwf, "w");
    ok = ok && f && fputs("wrong-pw-2\n", f) >= 0;
    if (f)
        fclose(f);
    sg_store *st = sg_store_open_auth(uri, pwf, err, sizeof err);
    CHECK(ok && !st && strstr(err, "password") && !strstr(err, "wrong-pw-2"),
          "password: a wrong password fails, unshown (%s)", err);
    sg_store_close(st);
    f = fopen(pwf, "w");
    ok = ok && f && fputs("right-pw-1\n", f) >= 0;
    if (f)
        fclose(f);
    st = sg_store_open_auth(uri, pwf, err, sizeof err);
    CHECK(ok && st && sg_store_schema_version(st) > 0,
          "password: the right one from the file opens the store (%s)", err);
    sg_store_close(st);
}

/* PostgreSQL only: a multi-host URI goes to libpq as it is; with the first host down the
 * store opens on the second, the read-write one (fail-over after a promotion). */
static void multi_host(const char *dir)
{
    char path[256], uri[600], err[512] = "";
    const char *at = side_store(dir, "multi", path, sizeof path) == 0 ? strchr(path, '@') : NULL;
    if (!at) {
        CHECK(0, "multi-host: set-up");
        return;
    }
    /* postgresql://postgres@127.0.0.1:PORT/db -> postgresql://postgres@127.0.0.1:1,127.0.0.1:PORT/db */
    snprintf(uri, sizeof uri, "postgresql://postgres@127.0.0.1:1,%s?target_session_attrs=read-write", at + 1);
    sg_store *st = sg_store_open(uri, err, sizeof err);
    int64_t g = -1;
    CHECK(st && sg_store_generation(st, SG_GEN_PGP, &g) == 0 && g == 0,
          "multi-host: the first host down, the store opens on the second (%s)", err);
    sg_store_close(st);
}

/* PostgreSQL only: a connection the server ends (a restart, a fail-over) is made again by the
 * next call outside a transaction (a loss that left no trace on the socket fails that call:
 * fail closed); inside a transaction the commit fails; after a reconnection every kind counts
 * as changed. */
static void reconnection(const char *dir)
{
    char path[256], err[512] = "";
    if (side_store(dir, "reconnect", path, sizeof path) < 0)
        return;
    sg_store *st = sg_store_open(path, err, sizeof err);
    int64_t g = 0, rev = 0;
    unsigned kinds = 0;
    static const char *const kill =
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = 'sealgate'"
        " AND pid <> pg_backend_pid()"; /* waits until it is gone (PostgreSQL 14+) */
    int ok = st && sg_store_generation(st, SG_GEN_POLICY, &g) == 0 &&
             sg_store_poll_changes(st, &kinds) == 0 && side_once(path, kill) == 0;
    int first = ok ? sg_store_generation(st, SG_GEN_POLICY, &g) : -1;
    int again = ok ? sg_store_generation(st, SG_GEN_POLICY, &g) : -1;
    /* The server closed the connection: the next call finds that on the socket before it
     * sends anything, and connects again (a loss nothing announced fails that one call). */
    CHECK(ok && first == 0 && again == 0,
          "reconnect: the call after the server ended the connection connects again (%d, %s), the next works",
          first, st ? sg_store_error(st) : err);
    CHECK(ok && sg_store_poll_changes(st, &kinds) == 0 && kinds == ~0u,
          "reconnect: every kind counts as changed (announcements in the gap were lost) (%#x)", kinds);
    ok = ok && sg_store_begin(st) == 0 && sg_store_policy_add(st, "rules = ();\n", "t", 1, &rev) == 0 &&
         side_once(path, kill) == 0;
    int commit = ok ? sg_store_commit(st) : 0;
    sg_store_rollback(st);
    int64_t newest = -1;
    CHECK(ok && commit == -1 && sg_store_policy_newest(st, &newest) == 0 && newest == 0,
          "reconnect: a transaction cut by the loss fails at commit, nothing of it stays (%s)",
          sg_store_error(st));
    sg_store_close(st);
}

/* PostgreSQL only: its migrations end at the same version with the same tables and columns as
 * SQLite's (less the version table and pgp_uids' rowid, which SQLite has implicitly). */
static void same_schema(const char *dir)
{
    char pgpath[256], sqpath[300], err[512] = "", sqcols[8192] = "", pgcols[8192] = "";
    snprintf(sqpath, sizeof sqpath, "%s/schema.db", dir);
    if (side_store(dir, "schema", pgpath, sizeof pgpath) < 0)
        return;
    sg_store *a = sg_store_open(sqpath, err, sizeof err),
             *b = a ? sg_store_open(pgpath, err, sizeof err) : NULL;
    int va = a ? sg_store_schema_version(a) : -1, vb = b ? sg_store_schema_version(b) : -2;
    CHECK(a && b && va == vb && va > 0, "schema: both backends at version %d / %d (%s)", va, vb, err);
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    if (sqlite3_open(sqpath, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(
            db,
            "SELECT group_concat(t || '.' || c, ' ') FROM (SELECT m.name AS t, p.name AS c FROM"
            " sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name"
            " NOT LIKE 'sqlite_%' ORDER BY 1, 2)",
            -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
        snprintf(sqcols, sizeof sqcols, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(db);
    if (side_open(pgpath))
        side_text(
            "SELECT string_agg(t || '.' || c, ' ' ORDER BY t COLLATE \"C\", c COLLATE \"C\") FROM (SELECT"
            " table_name::text AS t, column_name::text AS c FROM information_schema.columns WHERE"
            " table_schema = 'public' AND table_name <> 'sg_schema_version'"
            " AND NOT (table_name = 'pgp_uids' AND column_name = 'rowid')) x",
            pgcols, sizeof pgcols);
    side_close();
    int same = sqcols[0] && strcmp(sqcols, pgcols) == 0;
    if (!same)
        fprintf(stderr, "sqlite: %s\npg:     %s\n", sqcols, pgcols);
    CHECK(same, "schema: the same tables and columns (%zu characters of table.column)", strlen(sqcols));
    sg_store_close(a);
    sg_store_close(b);
    /* A database migrated by a newer sealgate is refused, not used with a schema it does not know. */
    int ok = side_once(pgpath, "UPDATE sg_schema_version SET version = 999") == 0;
    sg_store *c = sg_store_open(pgpath, err, sizeof err);
    CHECK(ok && !c && strstr(err, "schema version 999 is newer"), "schema: a newer schema is refused (%s)",
          err);
    sg_store_close(c);
}

/* Release 0.1.0 (debian/changelog, the previous release) shipped schema version 7. */
#define PREVIOUS_RELEASE_SCHEMA 7

/* The schema of the store open on the side connection as text: every table, column, index and
 * trigger (SQLite: sqlite_master as created; PostgreSQL: the catalog), in a fixed order. */
static void schema_text(char *out, size_t outlen)
{
    out[0] = '\0';
    if (side_is_pg())
        side_text("SELECT string_agg(d, E'\\n' ORDER BY d COLLATE \"C\") FROM ("
                  " SELECT table_name || '.' || column_name || ' ' || ordinal_position || ' ' || data_type || ' '"
                  "  || is_nullable || ' ' || coalesce(column_default, '') AS d FROM information_schema.columns"
                  "  WHERE table_schema = 'public'"
                  " UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'"
                  " UNION ALL SELECT 'trigger ' || event_object_table || '.' || trigger_name || ' '"
                  "  || event_manipulation || ' ' || action_statement FROM information_schema.triggers"
                  "  WHERE trigger_schema = 'public'"
                  " UNION ALL SELECT 'function ' || p.proname || ' ' || md5(p.prosrc) FROM pg_proc p"
                  "  JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public') s",
                  out, outlen);
    else
        side_text("SELECT group_concat(d, char(10)) FROM (SELECT type || ' ' || name || ' ' || coalesce(sql, '')"
                  " AS d FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name)",
                  out, outlen);
}

/* Upgrade from the previous release: a store built at its schema version from the first
 * migrations of this backend's list (what that release ran), filled with rows as it wrote them,
 * is opened by this code: it migrates to the newest version, the rows are all there through the
 * store's calls, and the schema is the same as a fresh store's, index for index. */
static void previous_release(const char *dir)
{
    static char fresh[65536], upgraded[65536];
    char path[256], fpath[256], err[512] = "";
    if (side_store(dir, "prev_old", path, sizeof path) < 0 ||
        side_store(dir, "prev_fresh", fpath, sizeof fpath) < 0)
        return;
    int ok = 1;
    if (side_is_pg()) {
        ok = side_open(path);
        PGresult *r = ok ? PQexec(side_pg, "BEGIN") : NULL;
        PQclear(r);
        for (int i = 0; ok && i < PREVIOUS_RELEASE_SCHEMA; i++) {
            r = PQexec(side_pg, sg_pg_migrations[i]); /* PostgreSQL's text as is, not side_sql's */
            ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
            if (!ok)
                fprintf(stderr, "old migration %d: %s", i + 1, PQerrorMessage(side_pg));
            PQclear(r);
        }
        char v[160];
        snprintf(v, sizeof v,
                 "CREATE TABLE sg_schema_version (version bigint NOT NULL);"
                 "INSERT INTO sg_schema_version VALUES (%d); COMMIT;",
                 PREVIOUS_RELEASE_SCHEMA);
        ok = ok && side_exec(v) == 0;
    } else {
        sqlite3 *db = NULL;
        ok = sqlite3_open(path, &db) == SQLITE_OK;
        for (int i = 0; ok && i < PREVIOUS_RELEASE_SCHEMA; i++)
            ok = sqlite3_exec(db, sq_migration(i), NULL, NULL, NULL) == SQLITE_OK;
        char v[64];
        snprintf(v, sizeof v, "PRAGMA user_version=%d;", PREVIOUS_RELEASE_SCHEMA);
        ok = ok && sqlite3_exec(db, v, NULL, NULL, NULL) == SQLITE_OK;
        sqlite3_close(db);
        ok = ok && side_open(path);
    }
    /* the rows 0.1.0 wrote: an OpenPGP key with a user ID and a secret, a certificate, a policy */
    ok = ok &&
         side_exec("INSERT INTO pgp_keys (fpr, keyid, alg, bits, created, expires, valid_until, revoked,"
                   " revoke_reason, can_sign, can_encrypt, can_certify, enc_subkey, enc_until, imported, updated,"
                   " pubkey) VALUES ('0123456789ABCDEF0123456789ABCDEF01234567', '89ABCDEF01234567', 'ed25519',"
                   " 255, 100, 0, 0, 0, NULL, 1, 1, 1, 1, 9223372036854775807, 100, 100, x'0a0b0c')") == 0 &&
         side_exec("INSERT INTO pgp_uids VALUES ('0123456789ABCDEF0123456789ABCDEF01234567',"
                   " 'Old <old@demo.test>', 'old@demo.test', 1)") == 0 &&
         side_exec("INSERT INTO pgp_secrets VALUES ('0123456789ABCDEF0123456789ABCDEF01234567', x'5e5e')") == 0 &&
         side_exec("INSERT INTO x509_certs (fpr, der, subject, issuer, serial, not_before, not_after, key_usage,"
                   " eku_email, is_ca, imported) VALUES ('C0', x'3082', 'CN=old', 'CN=ca', '1', 0, 9, -1, 1, 0, 5)") == 0 &&
         side_exec("INSERT INTO policy (text, source, loaded) VALUES ('rules = ();\n', 'old', 42)") == 0;
    side_close();
    CHECK(ok, "previous release: a store at schema version %d (release 0.1.0), filled as it wrote it",
          PREVIOUS_RELEASE_SCHEMA);
    if (!ok)
        return;

    sg_store *st = sg_store_open(path, err, sizeof err), *fr = st ? sg_store_open(fpath, err, sizeof err) : NULL;
    int v = st ? sg_store_schema_version(st) : -1, fv = fr ? sg_store_schema_version(fr) : -2;
    CHECK(st && fr && v == fv && v > PREVIOUS_RELEASE_SCHEMA,
          "previous release: opened by this code, migrated from %d to %d, a fresh store's version (%s)",
          PREVIOUS_RELEASE_SCHEMA, v, err);
    if (!st || !fr) {
        sg_store_close(st);
        sg_store_close(fr);
        return;
    }
    sg_store_pgp_key k = {0};
    uint8_t *pub = NULL, *wrapped = NULL;
    size_t publen = 0, wlen = 0;
    char *text = NULL, *source = NULL;
    int64_t newest = 0, loaded = 0;
    int kept = sg_store_pgp_get(st, "0123456789ABCDEF0123456789ABCDEF01234567", &k) == 0 && k.can_encrypt &&
               k.secret && k.nuids == 1 && strcmp(k.uids[0].addr, "old@demo.test") == 0 &&
               sg_store_pgp_get_public(st, k.fpr, &pub, &publen) == 0 && publen == 3 && pub[2] == 0x0c &&
               sg_store_pgp_get_wrapped(st, k.fpr, &wrapped, &wlen) == 0 && wlen == 2 &&
               sg_store_policy_newest(st, &newest) == 0 && newest == 1 &&
               sg_store_policy_get(st, newest, &text, &source, &loaded) == 0 && strcmp(text, "rules = ();\n") == 0 &&
               strcmp(source, "old") == 0 && loaded == 42;
    sg_store_pgp_key_clear(&k);
    free(pub);
    free(wrapped);
    free(text);
    free(source);
    bool have_cert = false, have_key = true;
    kept = kept && sg_store_x509_state(st, "C0", &have_cert, &have_key) == 0 && have_cert && !have_key;
    CHECK(kept, "previous release: its key, user ID, secret, certificate and policy read back through the store (%s)",
          sg_store_error(st));
    sg_store_close(st);
    sg_store_close(fr);
    ok = side_open(path);
    if (ok)
        schema_text(upgraded, sizeof upgraded);
    side_close();
    ok = ok && side_open(fpath);
    if (ok)
        schema_text(fresh, sizeof fresh);
    side_close();
    int same = ok && fresh[0] && strcmp(fresh, upgraded) == 0;
    if (!same)
        fprintf(stderr, "fresh:\n%s\nupgraded:\n%s\n", fresh, upgraded);
    CHECK(same, "previous release: the upgraded schema equals a fresh store's (%zu characters of tables, columns,"
          " indexes and triggers)", strlen(fresh));
}

int main(void)
{
    redaction();
    char dir[] = "/tmp/sg-test-store-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    for (int round = 0; round < 5; round++) {
        char path[256], name[16];
        snprintf(name, sizeof name, "r%d/sealgate", round);
        if (side_store(dir, name, path, sizeof path) < 0)
            return 1;
        int pipefd[2];
        if (pipe(pipefd) < 0)
            return 1;
        pid_t kids[OPENERS];
        for (int i = 0; i < OPENERS; i++) {
            kids[i] = fork();
            if (kids[i] == 0) {
                char c;
                close(pipefd[1]);
                if (read(pipefd[0], &c, 1) < 0) /* all start together when the pipe closes */
                    _exit(3);
                char err[512] = "";
                sg_store *st = sg_store_open(path, err, sizeof err);
                if (!st) {
                    fprintf(stderr, "opener %d: %s\n", i, err);
                    _exit(1);
                }
                sg_store_close(st);
                _exit(0);
            }
        }
        close(pipefd[0]);
        close(pipefd[1]);
        int ok = 0;
        for (int i = 0; i < OPENERS; i++) {
            int status = 0;
            waitpid(kids[i], &status, 0);
            ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
        }
        char err[512] = "";
        sg_store *st = sg_store_open(path, err, sizeof err);
        int v = st ? sg_store_schema_version(st) : -1, again = -1;
        if (st)
            sg_store_close(st);
        st = sg_store_open(path, err, sizeof err);
        again = st ? sg_store_schema_version(st) : -2;
        if (st)
            sg_store_close(st);
        CHECK(ok == OPENERS && v > 0 && v == again,
              "round %d: %d processes open a new store at once, all succeed (%d did), schema version %d",
              round, OPENERS, ok, v);
    }
    generations(dir);
    notifications(dir);
    previous_release(dir);
    if (side_is_pg()) {
        password_file(dir);
        multi_host(dir);
        reconnection(dir);
        trusted_generations(dir);
        same_schema(dir);
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
