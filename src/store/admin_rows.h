/* admin_rows.h - the store's typed calls for administration (tables admin_accounts,
 * admin_tokens, admin_sessions, audit_events; migration 8). Owner: src/store. Callers: the
 * operation layer (src/admin: auth.c, audit.c and the ops_*.c handlers); every rule (hashing,
 * lockout, expiry, permissions) lives there, the store only keeps rows.
 * Returns: 0 done / found, 1 no such row (for adds: the row exists already), -1 error with
 * sg_store_error (never "not found").
 * SECURITY: no secret is stored in the clear: passwords as argon2id encoded hashes, API token
 * secrets and session ids as their SHA-256. A session's CSRF token is stored as issued: it is
 * useless without the session id, which is not. Audit events are only ever added (issue 14
 * chains them; nothing here updates or deletes one). */
#ifndef SG_STORE_ADMIN_ROWS_H
#define SG_STORE_ADMIN_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define SG_ADMIN_NAME_MAX 64     /* account names, token owners, actors */
#define SG_ADMIN_HASH_MAX 255    /* an argon2id encoded hash */
#define SG_ADMIN_HEX256_LEN 64   /* a SHA-256 in lower-case hex */
#define SG_ADMIN_TOKEN_ID_LEN 16 /* a token's public id: 8 random bytes in hex */
#define SG_ADMIN_CLIENT_MAX 63
#define SG_ADMIN_TOTP_SECRET_MAX 64 /* base32 of a TOTP secret (20 bytes: 32 characters) */   /* a client address ("192.0.2.1", "2001:db8::1", "local") */

typedef struct sg_store_account {
    char name[SG_ADMIN_NAME_MAX + 1];
    char hash[SG_ADMIN_HASH_MAX + 1]; /* argon2id encoded, parameters inside */
    uint32_t roles;                   /* SG_ROLE_* bits (admin/roles.h) */
    int64_t created;
    int failed;           /* consecutive failed logins */
    int64_t locked_until; /* Unix seconds; 0 not locked */
    int64_t last_login;   /* 0 never */
    /* Migration 12 (issue 18, accounts): the password must be changed before anything else
     * (a generated or bootstrap password); the TOTP second factor (admin/totp.h): its secret in
     * base32 ("" none), its state and the last time step a code was accepted for (replay). */
    bool must_change;
    char totp_secret[SG_ADMIN_TOTP_SECRET_MAX + 1];
    int totp_state;    /* SG_TOTP_NONE, SG_TOTP_PENDING (enrolled, not confirmed), SG_TOTP_ACTIVE */
    int64_t totp_step; /* the last step accepted; codes of this step or older are refused */
} sg_store_account;
enum { SG_TOTP_NONE = 0, SG_TOTP_PENDING = 1, SG_TOTP_ACTIVE = 2 };

typedef struct sg_store_token {
    char id[SG_ADMIN_TOKEN_ID_LEN + 1];
    char secret_hash[SG_ADMIN_HEX256_LEN + 1]; /* SHA-256 of the secret, hex */
    uint32_t roles;
    char owner[SG_ADMIN_NAME_MAX + 1];
    char label[SG_ADMIN_NAME_MAX + 1];
    int64_t created;
    int64_t revoked; /* when; 0 not revoked */
} sg_store_token;

typedef struct sg_store_session {
    char id_hash[SG_ADMIN_HEX256_LEN + 1]; /* SHA-256 of the 128-bit id, hex; also its handle */
    char account[SG_ADMIN_NAME_MAX + 1];
    int64_t created, last_seen;
    char csrf[SG_ADMIN_HEX256_LEN + 1];
    char client[SG_ADMIN_CLIENT_MAX + 1];
} sg_store_session;

typedef struct sg_store_audit {
    int64_t id; /* ascending in the order events were added */
    int64_t time;
    char actor[SG_ADMIN_NAME_MAX + 1];
    uint32_t roles;
    char op[64];
    char target[256];
    char result[32]; /* "ok" or an error code name (admin/ops.h) */
    char client[SG_ADMIN_CLIENT_MAX + 1];
    char detail[512];
} sg_store_audit;

/* Which events audit_list returns: fields left 0 / NULL do not filter. Newest first; with
 * before_id (a cursor: the id of the last event of the previous page) only older ones. actor
 * and op match exactly, result too ("ok" or an error code name); target matches when it
 * contains the text, ignoring ASCII case (a fingerprint's part, an address's domain). */
typedef struct sg_store_audit_filter {
    const char *actor, *op;
    const char *target, *result;
    int64_t since, until; /* time >= since, time < until */
    int64_t before_id;
    size_t limit, offset; /* limit 0: SG_STORE_AUDIT_PAGE */
} sg_store_audit_filter;
#define SG_STORE_AUDIT_PAGE 100

/* Accounts. add: 0, 1 when the name exists, -1. The other writes: 0, 1 no such account, -1. */
int sg_store_admin_account_add(sg_store *s, const sg_store_account *a);
int sg_store_admin_account_get(sg_store *s, const char *name, sg_store_account *a);
/* Every account, by name: malloc'd array (free()). 0 or -1. */
int sg_store_admin_account_list(sg_store *s, sg_store_account **a, size_t *n);
/* Removes the account with its sessions and tokens. */
int sg_store_admin_account_delete(sg_store *s, const char *name);
int sg_store_admin_account_set_roles(sg_store *s, const char *name, uint32_t roles);
int sg_store_admin_account_set_hash(sg_store *s, const char *name, const char *hash);
/* Records a login attempt's outcome: the failure count, lock and last login as given. */
int sg_store_admin_account_set_login(sg_store *s, const char *name, int failed, int64_t locked_until,
                                     int64_t last_login);
/* Migration 12: must_change as given; the TOTP secret and state (the step is kept); and a
 * code's step taken (0), or 1 when a code of that step or a later one was taken already (a
 * replay) or there is no such account, in one statement, so two concurrent uses of one code
 * cannot both pass. */
int sg_store_admin_account_set_must_change(sg_store *s, const char *name, bool must_change);
int sg_store_admin_account_set_totp(sg_store *s, const char *name, const char *secret, int state);
int sg_store_admin_account_totp_use(sg_store *s, const char *name, int64_t step);

/* API tokens. add: 0, 1 when the id exists, -1. get by id: 0, 1, -1. revoke: 0, 1 when there is
 * no such token or it was revoked already, -1. list: owner NULL for all, newest first. */
int sg_store_admin_token_add(sg_store *s, const sg_store_token *t);
int sg_store_admin_token_get(sg_store *s, const char *id, sg_store_token *t);
int sg_store_admin_token_list(sg_store *s, const char *owner, sg_store_token **t, size_t *n);
int sg_store_admin_token_revoke(sg_store *s, const char *id, int64_t when);

/* Sessions, keyed by the hash of their id. add: 0, 1 exists, -1. get/touch/delete: 0, 1, -1.
 * list: account NULL for all, newest first. delete_account ends all of an account's sessions
 * (0, -1); expire removes those idle since before idle_before or created before
 * created_before (0, -1). */
int sg_store_admin_session_add(sg_store *s, const sg_store_session *x);
int sg_store_admin_session_get(sg_store *s, const char *id_hash, sg_store_session *x);
int sg_store_admin_session_touch(sg_store *s, const char *id_hash, int64_t now);
int sg_store_admin_session_delete(sg_store *s, const char *id_hash);
int sg_store_admin_session_list(sg_store *s, const char *account, sg_store_session **x, size_t *n);
int sg_store_admin_session_delete_account(sg_store *s, const char *account);
int sg_store_admin_session_expire(sg_store *s, int64_t idle_before, int64_t created_before);

/* Audit events: add (0 with *id, -1), list per filter (0 or -1; malloc'd array, free()), and
 * the number of events that match the filter without before_id/limit/offset (0 or -1). */
int sg_store_audit_add(sg_store *s, const sg_store_audit *e, int64_t *id);
int sg_store_audit_list(sg_store *s, const sg_store_audit_filter *f, sg_store_audit **e, size_t *n);
int sg_store_audit_count(sg_store *s, const sg_store_audit_filter *f, int64_t *count);

/* What a backend provides for admin data (store_int.h): the calls above, same contracts. */
struct sg_store_admin_ops {
    int (*account_add)(sg_store *s, const sg_store_account *a);
    int (*account_get)(sg_store *s, const char *name, sg_store_account *a);
    int (*account_list)(sg_store *s, sg_store_account **a, size_t *n);
    int (*account_delete)(sg_store *s, const char *name);
    int (*account_set_roles)(sg_store *s, const char *name, uint32_t roles);
    int (*account_set_hash)(sg_store *s, const char *name, const char *hash);
    int (*account_set_login)(sg_store *s, const char *name, int failed, int64_t locked_until,
                             int64_t last_login);
    int (*account_set_must_change)(sg_store *s, const char *name, bool must_change);
    int (*account_set_totp)(sg_store *s, const char *name, const char *secret, int state);
    int (*account_totp_use)(sg_store *s, const char *name, int64_t step);
    int (*token_add)(sg_store *s, const sg_store_token *t);
    int (*token_get)(sg_store *s, const char *id, sg_store_token *t);
    int (*token_list)(sg_store *s, const char *owner, sg_store_token **t, size_t *n);
    int (*token_revoke)(sg_store *s, const char *id, int64_t when);
    int (*session_add)(sg_store *s, const sg_store_session *x);
    int (*session_get)(sg_store *s, const char *id_hash, sg_store_session *x);
    int (*session_touch)(sg_store *s, const char *id_hash, int64_t now);
    int (*session_delete)(sg_store *s, const char *id_hash);
    int (*session_list)(sg_store *s, const char *account, sg_store_session **x, size_t *n);
    int (*session_delete_account)(sg_store *s, const char *account);
    int (*session_expire)(sg_store *s, int64_t idle_before, int64_t created_before);
    int (*audit_add)(sg_store *s, const sg_store_audit *e, int64_t *id);
    int (*audit_list)(sg_store *s, const sg_store_audit_filter *f, sg_store_audit **e, size_t *n);
    int (*audit_count)(sg_store *s, const sg_store_audit_filter *f, int64_t *count);
};

#endif
