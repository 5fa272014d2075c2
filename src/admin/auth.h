/* auth.h - authentication primitives of the operation layer: password hashing and login with
 * lockout, sessions with CSRF tokens, API tokens. Owner: src/admin. Callers: the web role
 * (login, cookies, bearer tokens), the admin/token operations (ops_admin.c), the CLI.
 *
 * Passwords: argon2id (libargon2) with the parameters inside the encoded hash, so a change of
 * SG_ARGON2_* applies to new hashes and an old hash is re-made at its next successful login
 * (sg_auth_needs_rehash). At least SG_PASSWORD_MIN bytes, at most SG_PASSWORD_MAX.
 *
 * Lockout (per account, in the store, shared by every process): after SG_AUTH_FREE_FAILURES
 * consecutive failures an account is locked for SG_AUTH_LOCK_FIRST seconds, doubled by each
 * further failure up to SG_AUTH_LOCK_MAX; while locked every attempt answers "locked" without
 * looking at the password; a success resets the count. Per client address (in this process's
 * memory): the same back-off after SG_AUTH_CLIENT_FREE_FAILURES failures from one address.
 * Unknown accounts: the password is verified against a dummy hash of the same parameters
 * (comparable work) and the failures are counted in memory under the name, so an unknown name
 * answers exactly like a known one with a wrong password, lockout included.
 *
 * Sessions: a 128-bit id from the CSPRNG (OpenSSL RAND_bytes) is the cookie value; the store
 * keeps only its SHA-256. A login always makes a new id (no fixation). A session ends after
 * idle seconds without a request or absolute seconds after login (sg_session_limits; the
 * defaults below), and on logout. Each session has a CSRF token (256-bit, hex) that every
 * state-changing request must echo (sg_auth_csrf_ok, constant time).
 *
 * API tokens: "sgt_" + 16 hex id + "_" + 64 hex secret, shown once at creation; the store keeps
 * the SHA-256 of the secret. A token acts with its roles AND its owner's current roles, so
 * taking a role from an account (or deleting it) takes it from its tokens too.
 *
 * Every call returns 0, or -1 with err: unauthenticated (wrong/unknown/expired/revoked),
 * locked (err->message says when to retry), invalid_argument, not_found, internal.
 * SECURITY: secrets (passwords, ids, token secrets) are compared in constant time, wiped from
 * the stack after use, never logged and never put in an error message. */
#ifndef SG_ADMIN_AUTH_H
#define SG_ADMIN_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admin/ops.h"
#include "store/admin_rows.h"
#include "store/store.h"

#define SG_PASSWORD_MIN 12
#define SG_PASSWORD_MAX 256
/* argon2id for new hashes: RFC 9106's second recommended option (64 MiB, 3 passes), with one
 * lane: logins are rare, and the machine runs mail besides. */
#define SG_ARGON2_T_COST 3
#define SG_ARGON2_M_COST_KIB 65536
#define SG_ARGON2_PARALLELISM 1

#define SG_AUTH_FREE_FAILURES 5
#define SG_AUTH_CLIENT_FREE_FAILURES 20
#define SG_AUTH_LOCK_FIRST 30
#define SG_AUTH_LOCK_MAX 900

#define SG_SESSION_IDLE_DEFAULT 1800      /* 30 minutes without a request */
#define SG_SESSION_ABSOLUTE_DEFAULT 28800 /* 8 hours after login */
#define SG_SESSION_ID_HEX 32              /* the cookie value: 128 bits in hex */
#define SG_TOKEN_SECRET_LEN 85            /* "sgt_" 16 "_" 64 */

typedef struct sg_argon2_params {
    uint32_t t_cost, m_cost_kib, parallelism;
} sg_argon2_params;
/* The parameters new hashes get (default SG_ARGON2_*); tests lower them to run fast and to
 * exercise re-hashing. Not thread-safe: set before any login. */
void sg_auth_set_params(const sg_argon2_params *p);

typedef struct sg_session_limits {
    int64_t idle, absolute; /* seconds; 0: the defaults above */
} sg_session_limits;

/* n random bytes from the CSPRNG as 2n lower-case hex digits (out holds 2n+1): 0 or -1. Also
 * the pdf reply portal's session ids and CSRF tokens (web/pages_reply.c). */
int sg_auth_random_hex(char *out, size_t n);
/* Whether pw is an acceptable new password (length): 0, or -1 with invalid_argument on field. */
int sg_auth_password_policy(const char *pw, const char *field, sg_op_error *err);
/* The argon2id encoded hash of pw (after the policy) into encoded: 0 or -1. */
int sg_auth_hash(const char *pw, char *encoded, size_t len, sg_op_error *err);
/* 0 when pw matches encoded, 1 when not, -1 when encoded is not a valid argon2id hash. */
int sg_auth_verify_hash(const char *encoded, const char *pw);
/* Whether encoded was made with other parameters than the current ones. */
bool sg_auth_needs_rehash(const char *encoded);
/* A random password for a new account (shown once): 24 characters of an unambiguous alphabet,
 * about 120 bits. out must hold 25 bytes. 0 or -1. */
int sg_auth_generate_password(char *out, size_t len);

/* A login by name and password from client (NULL: no per-address accounting, e.g. the CLI) at
 * now. 0 with the account in *acct (its hash re-made when the parameters changed; the failure
 * count reset; last login set), or -1: unauthenticated (unknown or wrong; the same answer),
 * locked (account or address; *retry_after, when not NULL, the seconds to wait), internal. */
int sg_auth_login(sg_store *s, const char *name, const char *pw, const char *client, int64_t now,
                  sg_store_account *acct, int64_t *retry_after, sg_op_error *err);
/* For an account with an active second factor (acct->totp_state == SG_TOTP_ACTIVE) a 0 of
 * sg_auth_login means only "the password is right": the failure count is not reset and no
 * login is recorded until sg_auth_totp_login accepts the code. */

/* The second step of a login of name (whose password was right just before): code, a TOTP
 * code (admin/totp.h). 0 with the account in *acct (failure count reset, last login set), or
 * -1: unauthenticated (wrong code, a code taken already, no second factor, unknown account; a
 * failure counts towards the account's lockout like a wrong password), locked, internal. */
int sg_auth_totp_login(sg_store *s, const char *name, const char *code, const char *client, int64_t now,
                       sg_store_account *acct, int64_t *retry_after, sg_op_error *err);
/* Checks code against acct's secret (pending or active) and takes its step (no replay): 0, or
 * -1 unauthenticated / internal. Counts nothing: for enrolment and re-authentication, where
 * the caller holds a session already. */
int sg_auth_totp_check(sg_store *s, const sg_store_account *acct, const char *code, int64_t now, sg_op_error *err);

/* Per client address back-off, for the web role to call before it even reads a login form:
 * 0 when client may try now, else -1 with locked (*retry_after seconds). record_failure after
 * a failed login (or a bad token) from client; record_success forgets the address. */
int sg_auth_client_check(const char *client, int64_t now, int64_t *retry_after, sg_op_error *err);
void sg_auth_client_failure(const char *client, int64_t now);
void sg_auth_client_success(const char *client);
/* The lock in seconds after `failures` consecutive failures of which free_failures are free:
 * 0, then SG_AUTH_LOCK_FIRST doubling up to SG_AUTH_LOCK_MAX. */
int64_t sg_auth_lock_for(int failures, int free_failures);
/* Forgets all in-memory back-off state (tests). */
void sg_auth_throttle_reset(void);

/* A new session for account from client: its id (the cookie value, SG_SESSION_ID_HEX + 1
 * bytes) into id, the row (with its CSRF token) into *x. Also removes expired sessions. */
int sg_auth_session_create(sg_store *s, const char *account, const char *client, int64_t now,
                           const sg_session_limits *lim, char id[SG_SESSION_ID_HEX + 1], sg_store_session *x,
                           sg_op_error *err);
/* The live session of id at now, touched, into *x, and its account (current roles) into
 * *acct: 0, or -1 unauthenticated (unknown, expired: then removed, account gone), internal. */
int sg_auth_session_lookup(sg_store *s, const char *id, int64_t now, const sg_session_limits *lim,
                           sg_store_session *x, sg_store_account *acct, sg_op_error *err);
/* Ends the session of id (logout): 0, or -1 not_found / internal. */
int sg_auth_session_end(sg_store *s, const char *id, sg_op_error *err);
/* The SHA-256 hex of a session id, the handle sessions are listed and ended by. */
void sg_auth_session_handle(const char *id, char out[SG_ADMIN_HEX256_LEN + 1]);
/* Whether token is the session's CSRF token (constant time; NULL is never). */
bool sg_auth_csrf_ok(const sg_store_session *x, const char *token);

/* A new API token of owner with roles (which must be within the owner's: else forbidden) and a
 * label: the secret (shown once, SG_TOKEN_SECRET_LEN + 1 bytes) into secret, the row into *t. */
int sg_auth_token_create(sg_store *s, const char *owner, uint32_t roles, const char *label, int64_t now,
                         char secret[SG_TOKEN_SECRET_LEN + 1], sg_store_token *t, sg_op_error *err);
/* A bearer token: 0 with its row in *t and the roles it acts with (its own AND its owner's) in
 * *roles, or -1 unauthenticated (malformed, unknown, wrong secret, revoked, owner gone) or
 * internal. */
int sg_auth_token_verify(sg_store *s, const char *bearer, sg_store_token *t, uint32_t *roles,
                         sg_op_error *err);
/* Revokes token id: 0, or -1 not_found (unknown or revoked already) / internal. */
int sg_auth_token_revoke(sg_store *s, const char *id, int64_t now, sg_op_error *err);

#endif
