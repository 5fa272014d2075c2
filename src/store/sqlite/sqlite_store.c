/* sqlite_store.c - the SQLite backend: opening, the schema migrations, transactions,
 * generations and the statement cache the typed calls (sqlite_*.c) share. Owner: src/store. */
#include <stddef.h>

#include "store/sqlite/sqlite_int.h"
#include "store/store_int.h"

#include "lib/fsutil.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

/* Append only: migration N takes the schema from version N to N+1. */
static const char *const migrations[] = {
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT INTO meta VALUES ('created', strftime('%s','now'));",
    /* 2: OpenPGP keystore (src/keys/keystore.c). pgp_uids.addr keeps the local part exact and
     * the domain lower-cased; pgp_secrets.wrapped is the binary secret key wrapped by the KEK
     * (AES-256-GCM, AAD = fpr); times are Unix seconds, expires 0 = never, enc_until is the
     * validity end of the best encryption subkey (0 none, 9223372036854775807 never). */
    "CREATE TABLE pgp_keys (fpr TEXT PRIMARY KEY, keyid TEXT NOT NULL, alg TEXT NOT NULL,"
    " bits INTEGER NOT NULL, created INTEGER NOT NULL, expires INTEGER NOT NULL,"
    " valid_until INTEGER NOT NULL, revoked INTEGER NOT NULL, revoke_reason TEXT,"
    " can_sign INTEGER NOT NULL, can_encrypt INTEGER NOT NULL, can_certify INTEGER NOT NULL,"
    " enc_subkey INTEGER NOT NULL, enc_until INTEGER NOT NULL, imported INTEGER NOT NULL,"
    " updated INTEGER NOT NULL, pubkey BLOB NOT NULL);"
    "CREATE TABLE pgp_uids (fpr TEXT NOT NULL, uid TEXT NOT NULL, addr TEXT,"
    " valid INTEGER NOT NULL, PRIMARY KEY (fpr, uid));"
    "CREATE INDEX pgp_uids_addr ON pgp_uids (addr);"
    "CREATE TABLE pgp_secrets (fpr TEXT PRIMARY KEY, wrapped BLOB NOT NULL);",
    /* 3: X.509 certificate store and local CA (src/keys/certstore.c, ca.c). fpr is the SHA-256
     * of the DER in upper-case hex; key_usage is the keyUsage bit mask (-1 without the
     * extension); eku_email 1 when the EKU allows emailProtection; trusted marks trust anchors
     * (CA certificates only), learned certificates came from incoming mail, local_ca marks the
     * gateway's own CA. x509_addrs.addr keeps the local part exact and the domain lower-cased.
     * x509_keys.wrapped is the PKCS#8 DER wrapped by the KEK (AAD = fpr). x509_crls holds the
     * newest CRL per issuer; revoked/revoked_at record `ca revoke`. */
    "CREATE TABLE x509_certs (fpr TEXT PRIMARY KEY, der BLOB NOT NULL, subject TEXT NOT NULL,"
    " issuer TEXT NOT NULL, serial TEXT NOT NULL, not_before INTEGER NOT NULL,"
    " not_after INTEGER NOT NULL, key_usage INTEGER NOT NULL, eku_email INTEGER NOT NULL,"
    " is_ca INTEGER NOT NULL, trusted INTEGER NOT NULL DEFAULT 0, learned INTEGER NOT NULL DEFAULT 0,"
    " local_ca INTEGER NOT NULL DEFAULT 0, revoked INTEGER NOT NULL DEFAULT 0,"
    " revoked_at INTEGER NOT NULL DEFAULT 0, imported INTEGER NOT NULL);"
    "CREATE TABLE x509_addrs (fpr TEXT NOT NULL, addr TEXT NOT NULL, domain TEXT NOT NULL,"
    " PRIMARY KEY (fpr, addr));"
    "CREATE INDEX x509_addrs_addr ON x509_addrs (addr);"
    "CREATE INDEX x509_addrs_domain ON x509_addrs (domain);"
    "CREATE TABLE x509_keys (fpr TEXT PRIMARY KEY, wrapped BLOB NOT NULL);"
    "CREATE TABLE x509_crls (issuer_fpr TEXT PRIMARY KEY, der BLOB NOT NULL,"
    " this_update INTEGER NOT NULL, next_update INTEGER NOT NULL, number INTEGER NOT NULL);",
    /* 4: X.509 learned certificates and revocation caches (src/keys/certstore_learn.c,
     * revocation*.c). x509_learned: one row per (From address, signer certificate) seen on a
     * validly signed incoming message, with that signature's SMIMECapabilities (DER as sent,
     * cap_flags the SG_CAP_* bits we recognise) and when it was first and last seen.
     * x509_ocsp: the last verified OCSP answer per certificate (status 0 good, 1 revoked),
     * usable until `until` (nextUpdate, capped by the configured maximum age). x509_crls gains
     * where a CRL was fetched from and when (0: made or imported locally). */
    "CREATE TABLE x509_learned (addr TEXT NOT NULL, fpr TEXT NOT NULL, caps BLOB,"
    " cap_flags INTEGER NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    " PRIMARY KEY (addr, fpr));"
    "CREATE TABLE x509_ocsp (fpr TEXT PRIMARY KEY, status INTEGER NOT NULL,"
    " revoked_at INTEGER NOT NULL, this_update INTEGER NOT NULL, until INTEGER NOT NULL,"
    " fetched INTEGER NOT NULL, url TEXT NOT NULL, response BLOB NOT NULL);"
    "ALTER TABLE x509_crls ADD COLUMN url TEXT;"
    "ALTER TABLE x509_crls ADD COLUMN fetched INTEGER NOT NULL DEFAULT 0;",
    /* 5: policy (src/policy/pstore.c): every `policy load` (later every portal edit) adds a revision;
     * text is the rules file as written, source where it came from, loaded Unix seconds. cryptd
     * runs the newest revision that parses. */
    "CREATE TABLE policy (rev INTEGER PRIMARY KEY AUTOINCREMENT, text TEXT NOT NULL,"
    " source TEXT NOT NULL, loaded INTEGER NOT NULL);",
    /* 6: the OpenPGP keystore's generation (src/keys/keystore.c, sg_keystore_generation):
     * bumped by triggers on every change of pgp_keys, pgp_uids or pgp_secrets, by whichever
     * process makes it (cryptd, the CLI), so cryptd's cache of loaded keys notices revocations,
     * updates and deletions without every writer having to remember to bump it. */
    "CREATE TABLE pgp_generation (id INTEGER PRIMARY KEY CHECK (id = 1), gen INTEGER NOT NULL);"
    "INSERT INTO pgp_generation VALUES (1, 0);"
    "CREATE TRIGGER pgp_keys_ins AFTER INSERT ON pgp_keys BEGIN UPDATE pgp_generation SET gen = gen + 1; END;"
    "CREATE TRIGGER pgp_keys_upd AFTER UPDATE ON pgp_keys BEGIN UPDATE pgp_generation SET gen = gen + 1; END;"
    "CREATE TRIGGER pgp_keys_del AFTER DELETE ON pgp_keys BEGIN UPDATE pgp_generation SET gen = gen + 1; END;"
    "CREATE TRIGGER pgp_uids_ins AFTER INSERT ON pgp_uids BEGIN UPDATE pgp_generation SET gen = gen + 1; END;"
    "CREATE TRIGGER pgp_uids_upd AFTER UPDATE ON pgp_uids BEGIN UPDATE pgp_generation SET gen = gen + 1; END;"
    "CREATE TRIGGER pgp_uids_del AFTER DELETE ON pgp_uids BEGIN UPDATE pgp_generation SET gen = gen + 1; END;"
    "CREATE TRIGGER pgp_secrets_ins AFTER INSERT ON pgp_secrets BEGIN UPDATE pgp_generation SET gen = gen + 1; END;"
    "CREATE TRIGGER pgp_secrets_upd AFTER UPDATE ON pgp_secrets BEGIN UPDATE pgp_generation SET gen = gen + 1; END;"
    "CREATE TRIGGER pgp_secrets_del AFTER DELETE ON pgp_secrets BEGIN UPDATE pgp_generation SET gen = gen + 1; END;",
    /* 7: one generation per kind of data (sg_store_generation), bumped by triggers on every
     * change by any process, for the engines' caches and the policy alike. It replaces the
     * keystore's own pgp_generation (6), whose count it continues. x509_learned bumps only when
     * what selection reads changes (a new pair, new capabilities), not on every last_seen. */
    "CREATE TABLE store_generation (kind TEXT PRIMARY KEY, gen INTEGER NOT NULL);"
    "INSERT INTO store_generation SELECT 'pgp', gen FROM pgp_generation;"
    "INSERT INTO store_generation VALUES ('x509', 0), ('policy', 0);"
    "DROP TRIGGER pgp_keys_ins; DROP TRIGGER pgp_keys_upd; DROP TRIGGER pgp_keys_del;"
    "DROP TRIGGER pgp_uids_ins; DROP TRIGGER pgp_uids_upd; DROP TRIGGER pgp_uids_del;"
    "DROP TRIGGER pgp_secrets_ins; DROP TRIGGER pgp_secrets_upd; DROP TRIGGER pgp_secrets_del;"
    "DROP TABLE pgp_generation;"
    "CREATE TRIGGER pgp_keys_ins_gen AFTER INSERT ON pgp_keys BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'pgp'; END;"
    "CREATE TRIGGER pgp_keys_upd_gen AFTER UPDATE ON pgp_keys BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'pgp'; END;"
    "CREATE TRIGGER pgp_keys_del_gen AFTER DELETE ON pgp_keys BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'pgp'; END;"
    "CREATE TRIGGER pgp_uids_ins_gen AFTER INSERT ON pgp_uids BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'pgp'; END;"
    "CREATE TRIGGER pgp_uids_upd_gen AFTER UPDATE ON pgp_uids BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'pgp'; END;"
    "CREATE TRIGGER pgp_uids_del_gen AFTER DELETE ON pgp_uids BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'pgp'; END;"
    "CREATE TRIGGER pgp_secrets_ins_gen AFTER INSERT ON pgp_secrets BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'pgp'; END;"
    "CREATE TRIGGER pgp_secrets_upd_gen AFTER UPDATE ON pgp_secrets BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'pgp'; END;"
    "CREATE TRIGGER pgp_secrets_del_gen AFTER DELETE ON pgp_secrets BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'pgp'; END;"
    "CREATE TRIGGER x509_certs_ins_gen AFTER INSERT ON x509_certs BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'x509'; END;"
    "CREATE TRIGGER x509_certs_upd_gen AFTER UPDATE ON x509_certs BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'x509'; END;"
    "CREATE TRIGGER x509_certs_del_gen AFTER DELETE ON x509_certs BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'x509'; END;"
    "CREATE TRIGGER x509_addrs_ins_gen AFTER INSERT ON x509_addrs BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'x509'; END;"
    "CREATE TRIGGER x509_addrs_upd_gen AFTER UPDATE ON x509_addrs BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'x509'; END;"
    "CREATE TRIGGER x509_addrs_del_gen AFTER DELETE ON x509_addrs BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'x509'; END;"
    "CREATE TRIGGER x509_keys_ins_gen AFTER INSERT ON x509_keys BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'x509'; END;"
    "CREATE TRIGGER x509_keys_upd_gen AFTER UPDATE ON x509_keys BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'x509'; END;"
    "CREATE TRIGGER x509_keys_del_gen AFTER DELETE ON x509_keys BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'x509'; END;"
    "CREATE TRIGGER x509_crls_ins_gen AFTER INSERT ON x509_crls BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'x509'; END;"
    "CREATE TRIGGER x509_crls_upd_gen AFTER UPDATE ON x509_crls BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'x509'; END;"
    "CREATE TRIGGER x509_crls_del_gen AFTER DELETE ON x509_crls BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'x509'; END;"
    "CREATE TRIGGER x509_ocsp_ins_gen AFTER INSERT ON x509_ocsp BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'x509'; END;"
    "CREATE TRIGGER x509_ocsp_upd_gen AFTER UPDATE ON x509_ocsp BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'x509'; END;"
    "CREATE TRIGGER x509_ocsp_del_gen AFTER DELETE ON x509_ocsp BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'x509'; END;"
    "CREATE TRIGGER policy_ins_gen AFTER INSERT ON policy BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'policy'; END;"
    "CREATE TRIGGER policy_upd_gen AFTER UPDATE ON policy BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'policy'; END;"
    "CREATE TRIGGER policy_del_gen AFTER DELETE ON policy BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'policy'; END;"
    "CREATE TRIGGER x509_learned_ins_gen AFTER INSERT ON x509_learned BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'x509'; END;"
    "CREATE TRIGGER x509_learned_del_gen AFTER DELETE ON x509_learned BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'x509'; END;"
    "CREATE TRIGGER x509_learned_upd_gen AFTER UPDATE OF caps, cap_flags ON x509_learned BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'x509'; END;",
    /* 8: administration (src/admin, store/admin_rows.h). admin_accounts.hash is the argon2id
     * encoded hash (parameters inside), roles the SG_ROLE_* bits, failed the consecutive failed
     * logins, locked_until/last_login Unix seconds (0 none). admin_tokens.secret_hash and
     * admin_sessions.id_hash are SHA-256 in hex: neither secret is stored. audit_events is only
     * ever added to (issue 14 chains it). The admin generation counts changes of accounts and
     * tokens (a front end caching them notices a revocation); sessions and events change on
     * every request and do not bump it. */
    "CREATE TABLE admin_accounts (name TEXT PRIMARY KEY, hash TEXT NOT NULL, roles INTEGER NOT NULL,"
    " created INTEGER NOT NULL, failed INTEGER NOT NULL DEFAULT 0,"
    " locked_until INTEGER NOT NULL DEFAULT 0, last_login INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE admin_tokens (id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, roles INTEGER NOT NULL,"
    " owner TEXT NOT NULL, label TEXT NOT NULL, created INTEGER NOT NULL,"
    " revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX admin_tokens_owner ON admin_tokens (owner);"
    "CREATE TABLE admin_sessions (id_hash TEXT PRIMARY KEY, account TEXT NOT NULL,"
    " created INTEGER NOT NULL, last_seen INTEGER NOT NULL, csrf TEXT NOT NULL, client TEXT NOT NULL);"
    "CREATE INDEX admin_sessions_account ON admin_sessions (account);"
    "CREATE TABLE audit_events (id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
    " actor TEXT NOT NULL, roles INTEGER NOT NULL, op TEXT NOT NULL, target TEXT NOT NULL,"
    " result TEXT NOT NULL, client TEXT NOT NULL, detail TEXT NOT NULL);"
    "CREATE INDEX audit_events_time ON audit_events (time);"
    "CREATE INDEX audit_events_actor ON audit_events (actor, id);"
    "CREATE INDEX audit_events_op ON audit_events (op, id);"
    "INSERT INTO store_generation VALUES ('admin', 0);"
    "CREATE TRIGGER admin_accounts_ins_gen AFTER INSERT ON admin_accounts BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'admin'; END;"
    "CREATE TRIGGER admin_accounts_del_gen AFTER DELETE ON admin_accounts BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'admin'; END;"
    "CREATE TRIGGER admin_accounts_upd_gen AFTER UPDATE OF roles, hash ON admin_accounts BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'admin'; END;"
    "CREATE TRIGGER admin_tokens_ins_gen AFTER INSERT ON admin_tokens BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'admin'; END;"
    "CREATE TRIGGER admin_tokens_upd_gen AFTER UPDATE ON admin_tokens BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'admin'; END;"
    "CREATE TRIGGER admin_tokens_del_gen AFTER DELETE ON admin_tokens BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'admin'; END;",
    /* 9: key discovery (src/keys/discover.c, store/discovery_rows.h). discovery_cache: one
     * lookup result per address (lower case) or per "@domain" (no WKD there), used until
     * expires. pgp_provenance: trust level (enum sg_trust), source, URL and time of keys that
     * did not come from an operator; a key without a row is verified. */
    "CREATE TABLE discovery_cache (key TEXT PRIMARY KEY, result INTEGER NOT NULL, fpr TEXT NOT NULL,"
    " source TEXT NOT NULL, url TEXT NOT NULL, fetched INTEGER NOT NULL, expires INTEGER NOT NULL);"
    "CREATE TABLE pgp_provenance (fpr TEXT PRIMARY KEY, trust INTEGER NOT NULL, source TEXT NOT NULL,"
    " url TEXT NOT NULL, time INTEGER NOT NULL);",
    /* 10: the figures sealgate keeps (store/metrics_rows.h, docs/web.md "Metrics"): one row per
     * minute of counters, added to by cryptd in batches, rows older than a day deleted. */
    "CREATE TABLE metrics_minute (minute INTEGER PRIMARY KEY, msgs_in INTEGER NOT NULL,"
    " msgs_out INTEGER NOT NULL, encrypted INTEGER NOT NULL, signed INTEGER NOT NULL,"
    " decrypted INTEGER NOT NULL, verified INTEGER NOT NULL, held INTEGER NOT NULL,"
    " bounced INTEGER NOT NULL, deferred INTEGER NOT NULL, latency_ms_sum INTEGER NOT NULL,"
    " latency_count INTEGER NOT NULL);",
    /* 11: the tamper-evident log (src/audit, store/notary_rows.h, docs/audit.md). audit_log:
     * one Merkle leaf per row, idx from 0 without gaps, entry the canonical bytes, frontier the
     * tree's compact state after it; audit_checkpoints: signed notes by tree size. */
    "CREATE TABLE audit_log (idx INTEGER PRIMARY KEY, queue_id TEXT NOT NULL, entry BLOB NOT NULL,"
    " frontier BLOB NOT NULL);"
    "CREATE INDEX audit_log_queue ON audit_log (queue_id);"
    "CREATE TABLE audit_checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);",
    /* 12: accounts (issue 18, store/admin_rows.h): must_change (a generated or bootstrap
     * password must be replaced first), the TOTP second factor's base32 secret, state (0 none,
     * 1 enrolled, 2 active) and last accepted time step (a code is taken once). */
    "ALTER TABLE admin_accounts ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE admin_accounts ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE admin_accounts ADD COLUMN totp_state INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE admin_accounts ADD COLUMN totp_step INTEGER NOT NULL DEFAULT 0;",
    /* 13: long operations and their progress (store/job_rows.h, docs/api.md "Jobs"). */
    "CREATE TABLE jobs (id TEXT PRIMARY KEY, op TEXT NOT NULL, actor TEXT NOT NULL, state TEXT NOT NULL,"
    " done INTEGER NOT NULL, total INTEGER NOT NULL, started INTEGER NOT NULL, updated INTEGER NOT NULL,"
    " finished INTEGER NOT NULL, cancel INTEGER NOT NULL, result TEXT NOT NULL);"
    "CREATE INDEX jobs_started ON jobs (started, id);",
    /* 14: the lists' order (newest first) from an index, so a page of 100,000 keys or
     * certificates reads its rows only (bench/web). */
    "CREATE INDEX pgp_keys_created ON pgp_keys (created DESC, fpr);"
    "CREATE INDEX x509_certs_not_before ON x509_certs (not_before DESC, fpr);",
    /* 15: the pdf method's passwords (issue 12, store/pdfpass_rows.h): one per (internal sender,
     * external recipient), wrapped by the KEK, with the reply portal's argon2id verifier. */
    "CREATE TABLE pdf_passwords (sender TEXT NOT NULL, rcpt TEXT NOT NULL, wrapped BLOB NOT NULL,"
    " verifier TEXT NOT NULL, created INTEGER NOT NULL, PRIMARY KEY (sender, rcpt));",
    /* 16: several nodes on one store (store/cluster_rows.h, docs/cluster.md): each node's
     * heartbeat for `sealgate cluster status`, and values the cluster shares (the KEK check). */
    "CREATE TABLE cluster_nodes (name TEXT PRIMARY KEY, version TEXT NOT NULL, started INTEGER NOT NULL,"
    " heartbeat INTEGER NOT NULL, queue INTEGER NOT NULL, schema INTEGER NOT NULL);"
    "CREATE TABLE cluster_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    /* 17: internal users, their aliases and groups (store/users_rows.h, src/admin/ops_users.c,
     * the policy's group conditions). Addresses as the caller normalised them; an alias names
     * one user; members are users' own addresses. Deleting a user or a group takes its aliases
     * and memberships with it (triggers, so no caller can leave one behind). Every change bumps
     * the users generation, which the policy's membership cache follows. */
    "CREATE TABLE users (addr TEXT PRIMARY KEY, name TEXT NOT NULL, state INTEGER NOT NULL,"
    " created INTEGER NOT NULL);"
    "CREATE TABLE user_aliases (alias TEXT PRIMARY KEY, addr TEXT NOT NULL);"
    "CREATE INDEX user_aliases_addr ON user_aliases (addr);"
    "CREATE TABLE user_groups (name TEXT PRIMARY KEY, description TEXT NOT NULL, created INTEGER NOT NULL);"
    "CREATE TABLE group_members (grp TEXT NOT NULL, addr TEXT NOT NULL, PRIMARY KEY (grp, addr));"
    "CREATE INDEX group_members_addr ON group_members (addr);"
    "CREATE TRIGGER users_del_cascade AFTER DELETE ON users BEGIN"
    " DELETE FROM user_aliases WHERE addr = old.addr; DELETE FROM group_members WHERE addr = old.addr; END;"
    "CREATE TRIGGER user_groups_del_cascade AFTER DELETE ON user_groups BEGIN"
    " DELETE FROM group_members WHERE grp = old.name; END;"
    "INSERT INTO store_generation VALUES ('users', 0);"
    "CREATE TRIGGER users_ins_gen AFTER INSERT ON users BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'users'; END;"
    "CREATE TRIGGER users_upd_gen AFTER UPDATE ON users BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'users'; END;"
    "CREATE TRIGGER users_del_gen AFTER DELETE ON users BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'users'; END;"
    "CREATE TRIGGER user_aliases_ins_gen AFTER INSERT ON user_aliases BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'users'; END;"
    "CREATE TRIGGER user_aliases_upd_gen AFTER UPDATE ON user_aliases BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'users'; END;"
    "CREATE TRIGGER user_aliases_del_gen AFTER DELETE ON user_aliases BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'users'; END;"
    "CREATE TRIGGER user_groups_ins_gen AFTER INSERT ON user_groups BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'users'; END;"
    "CREATE TRIGGER user_groups_upd_gen AFTER UPDATE ON user_groups BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'users'; END;"
    "CREATE TRIGGER user_groups_del_gen AFTER DELETE ON user_groups BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'users'; END;"
    "CREATE TRIGGER group_members_ins_gen AFTER INSERT ON group_members BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'users'; END;"
    "CREATE TRIGGER group_members_upd_gen AFTER UPDATE ON group_members BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'users'; END;"
    "CREATE TRIGGER group_members_del_gen AFTER DELETE ON group_members BEGIN UPDATE store_generation SET gen = gen + 1 WHERE kind = 'users'; END;",
};

/* `make deb-check` only: its rebuild with a higher version is compiled with this defined
 * (scripts/deb-build, DEB_UPGRADE_MIGRATION=1), so that the package upgrade it tests runs one
 * migration more than the installed version had, as a real upgrade does. Kept outside the list
 * above so that it stays the last whatever is appended there. Never defined in a shipped build. */
#ifdef SG_UPGRADE_CHECK_MIGRATION
static const char upgrade_check_migration[] = "CREATE TABLE deb_check_upgrade (migrated INTEGER NOT NULL);";
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]) + 1)
#else
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))
#endif

const char *sq_migration(int i)
{
#ifdef SG_UPGRADE_CHECK_MIGRATION
    if (i == N_MIGRATIONS - 1)
        return upgrade_check_migration;
#endif
    return migrations[i];
}

static int user_version(sqlite3 *db)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void sq_close(void *impl);

static void *sq_open(const char *path, const char *password_file, char *err, size_t errlen)
{
    (void)password_file; /* a file needs none */
    sq_store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    /* The store has a directory of its own (see src/master/prepare.c); the admin CLI may be
     * the first to open it, before any start created that directory. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (sg_mkdirs(dir, 0700) < 0) {
            snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
            sq_close(s);
            return NULL;
        }
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
        sq_close(s);
        return NULL;
    }
    sqlite3_busy_timeout(s->db, 5000);
    sqlite3_exec(s->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
    int v = user_version(s->db);
    int n = N_MIGRATIONS;
    if (v > n) {
        snprintf(err, errlen, "%s: schema version %d is newer than this sealgate (%d)", path, v, n);
        sq_close(s);
        return NULL;
    }
    while (v < n) {
        char *msg = NULL, pragma[64];
        /* Two processes may open a new store at once (cryptd and the admin CLI): the version
         * is read again under the write lock, so each migration runs exactly once. */
        if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
            (v = user_version(s->db)) < 0) {
            snprintf(err, errlen, "%s: cannot lock the store for migration: %s", path, msg ? msg : "?");
            sqlite3_free(msg);
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            sq_close(s);
            return NULL;
        }
        if (v >= n) {
            sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
            break;
        }
        snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d;", v + 1);
        if (sqlite3_exec(s->db, sq_migration(v), NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(s->db, pragma, NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(s->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, errlen, "%s: migration %d failed: %s", path, v + 1, msg ? msg : "?");
            sqlite3_free(msg);
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            sq_close(s);
            return NULL;
        }
    }
    return s;
}

static int sq_schema_version(void *impl)
{
    return user_version(((sq_store *)impl)->db);
}

static void sq_close(void *impl)
{
    sq_store *s = impl;
    if (!s)
        return;
    for (size_t i = 0; i < SQ_CACHED_MAX && s->cached[i].sql; i++)
        sqlite3_finalize(s->cached[i].st);
    sqlite3_close(s->db);
    free(s);
}

int sq_fail(sg_store *s, const char *what)
{
    return sg_store_fail(s, "store: %s: %s", what, sqlite3_errmsg(sq_of(s)->db));
}

sqlite3_stmt *sq_stmt(sg_store *s, const char *sql)
{
    sq_store *q = sq_of(s);
    size_t i = 0;
    for (; i < SQ_CACHED_MAX && q->cached[i].sql; i++)
        if (q->cached[i].sql == sql)
            return q->cached[i].st;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK) {
        sq_fail(s, "preparing a query");
        sqlite3_finalize(st);
        return NULL;
    }
    if (i < SQ_CACHED_MAX) { /* else used once and finalized by sq_done */
        q->cached[i].sql = sql;
        q->cached[i].st = st;
    }
    return st;
}

void sq_done(sg_store *s, sqlite3_stmt *st)
{
    sq_store *q = sq_of(s);
    if (!st)
        return;
    for (size_t i = 0; i < SQ_CACHED_MAX && q->cached[i].sql; i++)
        if (q->cached[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return;
        }
    sqlite3_finalize(st);
}

int sq_col_bytes(sg_store *s, sqlite3_stmt *st, int i, const char *fpr, uint8_t **out, size_t *len)
{
    const void *b = sqlite3_column_blob(st, i);
    int n = sqlite3_column_bytes(st, i);
    if (n <= 0 || !b || !(*out = malloc((size_t)n)))
        return sg_store_fail(s, "store: empty or unreadable data for %s", fpr);
    memcpy(*out, b, (size_t)n);
    *len = (size_t)n;
    return 0;
}

void sq_col_text(sqlite3_stmt *st, int i, char *out, size_t outlen)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, outlen, "%s", t ? (const char *)t : "");
}

int sq_exec(sg_store *s, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(sq_of(s)->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    sg_store_fail(s, "store: %s", msg ? msg : sqlite3_errmsg(sq_of(s)->db));
    sqlite3_free(msg);
    return -1;
}

/* IMMEDIATE: the write lock is taken at BEGIN, so a transaction never fails half-way on a
 * concurrent writer (busy_timeout waits for it instead). */
static int sq_begin(sg_store *s)
{
    return sq_exec(s, "BEGIN IMMEDIATE");
}

static int sq_commit(sg_store *s)
{
    return sq_exec(s, "COMMIT");
}

static void sq_rollback(sg_store *s)
{
    sqlite3_exec(sq_of(s)->db, "ROLLBACK", NULL, NULL, NULL);
}

static int sq_generation(sg_store *s, sg_store_gen which, int64_t *gen)
{
    static const char *const kind[] = {[SG_GEN_PGP] = "pgp", [SG_GEN_X509] = "x509", [SG_GEN_POLICY] = "policy",
                                       [SG_GEN_ADMIN] = "admin", [SG_GEN_USERS] = "users"};
    if ((unsigned)which >= sizeof kind / sizeof kind[0])
        return sg_store_fail(s, "store: no such generation %d", (int)which);
    sqlite3_stmt *st = sq_stmt(s, "SELECT gen FROM store_generation WHERE kind = ?");
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, kind[which], -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *gen = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE)
        sg_store_fail(s, "store: no %s generation", kind[which]);
    else
        sq_fail(s, "reading a generation");
    sq_done(s, st);
    return rc == SQLITE_ROW ? 0 : -1;
}

const sg_store_backend sg_store_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .schema_version = sq_schema_version,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .generation = sq_generation,
    .pgp = &sg_sqlite_pgp_ops,
    .x509 = &sg_sqlite_x509_ops,
    .revocation = &sg_sqlite_revocation_ops,
    .policy = &sg_sqlite_policy_ops,
    .backup = &sg_sqlite_backup_ops,
    .admin = &sg_sqlite_admin_ops,
    .discovery = &sg_sqlite_discovery_ops,
    .metrics = &sg_sqlite_metrics_ops,
    .pdfpass = &sg_sqlite_pdfpass_ops,
    .notary = &sg_sqlite_notary_ops,
    .jobs = &sg_sqlite_job_ops,
    .cluster = &sg_sqlite_cluster_ops,
    .users = &sg_sqlite_users_ops,
};
