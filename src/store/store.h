/* store.h - the database behind keys, certificates, policy and history. Owner: src/store.
 * The store is the only code that speaks SQL. Callers see typed calls, one header per kind
 * of data (store/pgp_rows.h, store/x509_rows.h, store/revocation_rows.h, store/policy_rows.h,
 * store/admin_rows.h, store/users_rows.h),
 * and never a database handle. Behind those calls sits a backend (store_int.h): SQLite
 * (src/store/sqlite/) or PostgreSQL (src/store/pg/, shared by the nodes of a cluster), chosen
 * by the `store` setting, without touching a caller.
 * Threads: one sg_store serves one thread at a time; callers that share it hold their lock
 * around every call (cryptd's engines do). Every call that fails leaves its reason in
 * sg_store_error(); an error is never reported as "not found".
 * Later features add their tables as new migrations of every backend, never by editing an
 * applied one. */
#ifndef SG_STORE_H
#define SG_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sg_store sg_store;

/* Opens (creating when missing) and migrates to the newest schema. spec is the `store`
 * setting: a file path selects SQLite, a libpq URI (postgresql://... or postgres://..., multi-
 * host and target_session_attrs passed through to libpq) PostgreSQL (store/pg/). NULL with err
 * on failure; err never shows a password. */
sg_store *sg_store_open(const char *spec, char *err, size_t errlen);
/* The same, with the PostgreSQL password read from password_file (the `store_password_file`
 * setting; NULL or "": libpq's own PGPASSWORD / PGPASSFILE / ~/.pgpass, or none). */
sg_store *sg_store_open_auth(const char *spec, const char *password_file, char *err, size_t errlen);
/* spec without any password, for messages and the log (a path is returned as it is). */
void sg_store_describe(const char *spec, char *out, size_t outlen);
/* 1 when spec names a PostgreSQL store (a libpq URI), 0 for a SQLite file. */
int sg_store_is_remote(const char *spec);
void sg_store_close(sg_store *s);
int sg_store_schema_version(sg_store *s);
/* Why the last call on s failed. */
const char *sg_store_error(const sg_store *s);

/* A transaction around several calls (not nested): 0, or -1 with sg_store_error. */
int sg_store_begin(sg_store *s);
int sg_store_commit(sg_store *s);
void sg_store_rollback(sg_store *s);

/* The one way to learn that the store changed: each kind of data has a generation, a number
 * that changes whenever any process (cryptd, the CLI, later another node) changes that data.
 * A cache built from the store remembers the generation it was built at and is dropped when
 * the number differs. 0 with *gen, or -1 with sg_store_error (then a caller drops its cache). */
typedef enum {
    SG_GEN_PGP,    /* OpenPGP keys, user IDs, secret keys */
    SG_GEN_X509,   /* certificates, their keys, trust, CRLs, OCSP answers, learned capabilities */
    SG_GEN_POLICY, /* policy revisions */
    SG_GEN_ADMIN,  /* administrator accounts and API tokens (not sessions, not audit events) */
    SG_GEN_USERS,  /* internal users, their aliases, groups and memberships */
} sg_store_gen;
int sg_store_generation(sg_store *s, sg_store_gen which, int64_t *gen);
/* Changes announced by other connections (PostgreSQL: NOTIFY on channel sealgate_store, sent
 * by the generation triggers at commit), without a round trip to the database: *kinds gets a
 * bit (1 << SG_GEN_*) per kind announced since the last poll (all bits after a reconnection,
 * whose gap announced nothing). Cheap enough to call per message; a caller that sees a bit
 * reads sg_store_generation. SQLite announces nothing (*kinds 0): its generation read is
 * itself local and cheap. It only hastens: the generation check stays the safety net.
 * 0, or -1 with sg_store_error (the connection is gone: a poll never connects, as that could
 * block; the next query connects again and the poll after it reports every kind). */
int sg_store_poll_changes(sg_store *s, unsigned *kinds);
/* For a long-running process that reads generations per message (cryptd's engines): from now
 * on sg_store_generation answers from memory while no announcement said the kind changed (for
 * at most a few seconds, the safety net), instead of asking the database each time. Another
 * connection's change is then seen once its announcement arrived (milliseconds on a LAN), not
 * at the very instant of its commit. No effect on SQLite. */
void sg_store_trust_announcements(sg_store *s);
/* A descriptor that becomes readable when an announcement arrives (for poll()), or -1. */
int sg_store_notify_fd(sg_store *s);
/* A number no other store opened by this process has (not even one opened after s closed),
 * for caches shared across stores: a generation means something only together with it. */
uint64_t sg_store_id(const sg_store *s);

#endif
