/* test_admin_auth.c - the authentication primitives (admin/auth.h): argon2id hash and verify
 * with re-hash on a parameter change, the password policy, lockout with back-off per account
 * and per client address, the same answer for unknown accounts, sessions (CSRF, idle and
 * absolute expiry, logout), API tokens (secret shown once, roles within the owner's, revoke).
 * Owner: src/admin. Runs on cheap argon2 parameters: the cost is not what is tested. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/auth.h"
#include "admin/roles.h"
#include "check.h"

#define PW "correct horse battery"
#define T0 1700000000

static const sg_argon2_params cheap = {1, 64, 1}, cheap2 = {2, 64, 1};

static void add(sg_store *st, const char *name, uint32_t roles, const char *pw)
{
    sg_store_account a = {.roles = roles, .created = T0};
    sg_op_error err;
    snprintf(a.name, sizeof a.name, "%s", name);
    CHECK(sg_auth_hash(pw, a.hash, sizeof a.hash, &err) == 0 && sg_store_admin_account_add(st, &a) == 0,
          "account %s added", name);
}

static void hashing(void)
{
    char h[SG_ADMIN_HASH_MAX + 1], h2[SG_ADMIN_HASH_MAX + 1];
    sg_op_error err;
    CHECK(sg_auth_hash(PW, h, sizeof h, &err) == 0 && strncmp(h, "$argon2id$v=19$m=64,t=1,p=1$", 28) == 0,
          "hash: argon2id with its parameters inside (%s)", h);
    CHECK(sg_auth_hash(PW, h2, sizeof h2, &err) == 0 && strcmp(h, h2) != 0,
          "hash: salted (two hashes differ)");
    CHECK(sg_auth_verify_hash(h, PW) == 0 && sg_auth_verify_hash(h, PW "x") == 1 &&
              sg_auth_verify_hash(h, "") == 1,
          "verify: the password matches, others do not");
    CHECK(sg_auth_verify_hash("$2y$10$abcdefghijklmnopqrstuv", PW) == -1 && sg_auth_verify_hash("", PW) == -1,
          "verify: a hash that is not argon2id is an error, not a mismatch");
    CHECK(sg_auth_hash("short", h2, sizeof h2, &err) == -1 && err.code == SG_OP_INVALID_ARGUMENT &&
              strcmp(err.field, "password") == 0 && strstr(err.message, "12"),
          "policy: a short password is refused, naming the minimum (%s)", err.message);
    char longpw[SG_PASSWORD_MAX + 2];
    memset(longpw, 'a', sizeof longpw - 1);
    longpw[sizeof longpw - 1] = '\0';
    CHECK(sg_auth_password_policy(longpw, "password", &err) == -1,
          "policy: an over-long password is refused");
    CHECK(!sg_auth_needs_rehash(h), "rehash: not needed with the current parameters");
    sg_auth_set_params(&cheap2);
    CHECK(sg_auth_needs_rehash(h), "rehash: needed once the parameters change");
    sg_auth_set_params(&cheap);
    char g1[32], g2[32];
    CHECK(sg_auth_generate_password(g1, sizeof g1) == 0 && sg_auth_generate_password(g2, sizeof g2) == 0 &&
              strlen(g1) == 24 && strcmp(g1, g2) != 0 && sg_auth_password_policy(g1, "p", &err) == 0,
          "generated passwords: 24 characters, different, acceptable");
}

static int login(sg_store *st, const char *name, const char *pw, const char *client, int64_t now,
                 sg_op_error *err)
{
    sg_store_account a;
    int64_t retry;
    return sg_auth_login(st, name, pw, client, now, &a, &retry, err);
}

static void lockout(sg_store *st)
{
    sg_op_error err, unknown_err;
    sg_store_account a;
    add(st, "alice", SG_ROLE_ADMIN, PW);
    CHECK(login(st, "alice", PW, NULL, T0, &err) == 0 && sg_store_admin_account_get(st, "alice", &a) == 0 &&
              a.last_login == T0,
          "login: the right password, last login recorded");
    for (int i = 1; i <= SG_AUTH_FREE_FAILURES; i++) {
        int rc = login(st, "alice", "wrong password!", NULL, T0 + i, &err);
        int rc2 = login(st, "nobody", "wrong password!", NULL, T0 + i, &unknown_err);
        CHECK(rc == -1 && err.code == SG_OP_UNAUTHENTICATED && rc2 == -1 &&
                  unknown_err.code == SG_OP_UNAUTHENTICATED && strcmp(err.message, unknown_err.message) == 0,
              "failure %d: a known and an unknown account get the same answer (%s)", i, err.message);
    }
    int64_t t = T0 + SG_AUTH_FREE_FAILURES;
    CHECK(login(st, "alice", PW, NULL, t + 1, &err) == -1 && err.code == SG_OP_LOCKED,
          "after %d failures the account is locked, even for the right password (%s)", SG_AUTH_FREE_FAILURES,
          err.message);
    CHECK(login(st, "nobody", PW, NULL, t + 1, &unknown_err) == -1 && unknown_err.code == SG_OP_LOCKED &&
              strcmp(err.message, unknown_err.message) == 0,
          "an unknown account locks the same way, with the same answer");
    CHECK(sg_store_admin_account_get(st, "alice", &a) == 0 && a.failed == SG_AUTH_FREE_FAILURES &&
              a.locked_until == t + SG_AUTH_LOCK_FIRST,
          "the lock is in the store (for every process): until +%d s", SG_AUTH_LOCK_FIRST);
    t += SG_AUTH_LOCK_FIRST;
    CHECK(login(st, "alice", "wrong password!", NULL, t, &err) == -1 && err.code == SG_OP_UNAUTHENTICATED &&
              sg_store_admin_account_get(st, "alice", &a) == 0 &&
              a.locked_until == t + 2 * SG_AUTH_LOCK_FIRST,
          "after the lock a further failure locks again for twice as long (back-off)");
    t += 2 * SG_AUTH_LOCK_FIRST;
    CHECK(login(st, "alice", PW, NULL, t, &err) == 0 && sg_store_admin_account_get(st, "alice", &a) == 0 &&
              a.failed == 0 && a.locked_until == 0,
          "once the lock ran out the right password works and resets the count");
    CHECK(sg_auth_lock_for(100, SG_AUTH_FREE_FAILURES) == SG_AUTH_LOCK_MAX, "the back-off is capped at %d s",
          SG_AUTH_LOCK_MAX);

    /* Per client address: many names from one address. */
    sg_auth_throttle_reset();
    for (int i = 0; i < SG_AUTH_CLIENT_FREE_FAILURES; i++) {
        char name[32];
        snprintf(name, sizeof name, "guess%d", i);
        login(st, name, "wrong password!", "192.0.2.9", t, &err);
    }
    int64_t retry = 0;
    CHECK(login(st, "alice", PW, "192.0.2.9", t, &err) == -1 && err.code == SG_OP_LOCKED &&
              sg_auth_client_check("192.0.2.9", t, &retry, &err) == -1 && retry == SG_AUTH_LOCK_FIRST,
          "after %d failures from one address it is locked out, for every account",
          SG_AUTH_CLIENT_FREE_FAILURES);
    CHECK(login(st, "alice", PW, "192.0.2.10", t, &err) == 0 &&
              sg_auth_client_check("192.0.2.10", t, &retry, &err) == 0,
          "another address is not");
    CHECK(login(st, "alice", PW, "192.0.2.9", t + SG_AUTH_LOCK_FIRST, &err) == 0 &&
              sg_auth_client_check("192.0.2.9", t + SG_AUTH_LOCK_FIRST, &retry, &err) == 0,
          "the address may try again after its back-off; a success forgets it");

    /* A changed parameter set re-hashes at the next login. */
    sg_auth_set_params(&cheap2);
    CHECK(sg_store_admin_account_get(st, "alice", &a) == 0 && sg_auth_needs_rehash(a.hash) &&
              login(st, "alice", PW, NULL, t + 1000, &err) == 0 &&
              sg_store_admin_account_get(st, "alice", &a) == 0 && strstr(a.hash, "t=2") &&
              !sg_auth_needs_rehash(a.hash) && sg_auth_verify_hash(a.hash, PW) == 0,
          "login re-hashes a hash of old parameters (%s)", a.hash);
    sg_auth_set_params(&cheap);
}

static void sessions(sg_store *st)
{
    sg_op_error err;
    sg_store_session x, y;
    sg_store_account a;
    char id[SG_SESSION_ID_HEX + 1], id2[SG_SESSION_ID_HEX + 1], h[SG_ADMIN_HEX256_LEN + 1];
    sg_session_limits lim = {.idle = 100, .absolute = 1000};
    CHECK(sg_auth_session_create(st, "alice", "198.51.100.1", T0, &lim, id, &x, &err) == 0 &&
              strlen(id) == 32 && strlen(x.csrf) == 64,
          "session: created, a 128-bit id and a CSRF token");
    sg_auth_session_handle(id, h);
    CHECK(strcmp(h, x.id_hash) == 0 && strcmp(x.id_hash, id) != 0 &&
              sg_store_admin_session_get(st, id, &y) == 1,
          "session: the store keeps the id's hash, not the id");
    CHECK(sg_auth_session_create(st, "alice", "198.51.100.1", T0, &lim, id2, &y, &err) == 0 &&
              strcmp(id, id2) != 0 && strcmp(x.csrf, y.csrf) != 0,
          "session: every login gets a new id and CSRF token");
    CHECK(sg_auth_session_lookup(st, id, T0 + 99, &lim, &y, &a, &err) == 0 && y.last_seen == T0 + 99 &&
              strcmp(a.name, "alice") == 0 && (a.roles & SG_ROLE_ADMIN),
          "session: found within the idle time, touched, with the account's roles");
    CHECK(sg_auth_csrf_ok(&y, x.csrf) && !sg_auth_csrf_ok(&y, NULL) && !sg_auth_csrf_ok(&y, "") &&
              !sg_auth_csrf_ok(&y, id),
          "CSRF: only the session's own token passes");
    CHECK(sg_auth_session_lookup(st, id2, T0 + 100, &lim, &y, &a, &err) == -1 &&
              err.code == SG_OP_UNAUTHENTICATED && sg_store_admin_session_get(st, y.id_hash, &y) == 1,
          "session: idle for the idle time, it has expired and is gone (%s)", err.message);
    int64_t t = T0 + 99;
    int alive = 1;
    while (t + 90 < T0 + 1000)
        alive &= sg_auth_session_lookup(st, id, t += 90, &lim, &y, &a, &err) == 0;
    CHECK(alive && sg_auth_session_lookup(st, id, T0 + 1000, &lim, &y, &a, &err) == -1 &&
              err.code == SG_OP_UNAUTHENTICATED,
          "session: kept busy it still ends at the absolute time");
    CHECK(sg_auth_session_create(st, "alice", NULL, T0, NULL, id, &x, &err) == 0 &&
              sg_auth_session_lookup(st, id, T0 + SG_SESSION_IDLE_DEFAULT - 1, NULL, &y, &a, &err) == 0 &&
              sg_auth_session_lookup(st, id, T0 + 2 * SG_SESSION_IDLE_DEFAULT, NULL, &y, &a, &err) == -1,
          "session: the default limits apply when none are given");
    CHECK(sg_auth_session_create(st, "alice", NULL, T0, &lim, id, &x, &err) == 0 &&
              sg_auth_session_end(st, id, &err) == 0 &&
              sg_auth_session_lookup(st, id, T0 + 1, &lim, &y, &a, &err) == -1 &&
              sg_auth_session_end(st, id, &err) == -1 && err.code == SG_OP_NOT_FOUND,
          "logout: the session ends; ending it again is not_found");
    CHECK(sg_auth_session_lookup(st, "../../etc", T0, &lim, &y, &a, &err) == -1 &&
              err.code == SG_OP_UNAUTHENTICATED &&
              sg_auth_session_lookup(st, NULL, T0, &lim, &y, &a, &err) == -1 &&
              sg_auth_session_lookup(st, "0123456789ABCDEF0123456789ABCDEF", T0, &lim, &y, &a, &err) == -1,
          "session: malformed ids are refused before any look-up");
    add(st, "temp", SG_ROLE_SYSTEM, PW);
    CHECK(sg_auth_session_create(st, "temp", NULL, T0, &lim, id, &x, &err) == 0 &&
              sg_store_admin_account_delete(st, "temp") == 0 &&
              sg_auth_session_lookup(st, id, T0 + 1, &lim, &y, &a, &err) == -1 &&
              err.code == SG_OP_UNAUTHENTICATED,
          "session: of a deleted account, no longer valid");
}

static void tokens(sg_store *st)
{
    sg_op_error err;
    sg_store_token t;
    uint32_t roles;
    char secret[SG_TOKEN_SECRET_LEN + 1], other[SG_TOKEN_SECRET_LEN + 1];
    add(st, "ops", SG_ROLE_SYSTEM | SG_ROLE_USER, PW);
    CHECK(sg_auth_token_create(st, "ops", SG_ROLE_SYSTEM | SG_ROLE_CA, "ci", T0, secret, &t, &err) == -1 &&
              err.code == SG_OP_FORBIDDEN,
          "token: roles beyond the owner's are refused");
    CHECK(sg_auth_token_create(st, "ghost", SG_ROLE_SYSTEM, "ci", T0, secret, &t, &err) == -1 &&
              err.code == SG_OP_NOT_FOUND,
          "token: for an unknown owner, not_found");
    CHECK(sg_auth_token_create(st, "ops", SG_ROLE_SYSTEM | SG_ROLE_USER, "ci", T0, secret, &t, &err) == 0 &&
              strncmp(secret, "sgt_", 4) == 0 && strlen(secret) == SG_TOKEN_SECRET_LEN &&
              !strstr(secret, t.secret_hash),
          "token: created; the secret is returned, the store keeps its hash");
    CHECK(sg_auth_token_verify(st, secret, &t, &roles, &err) == 0 &&
              roles == (SG_ROLE_SYSTEM | SG_ROLE_USER) && strcmp(t.owner, "ops") == 0,
          "token: verifies, with its roles");
    snprintf(other, sizeof other, "%s", secret);
    other[SG_TOKEN_SECRET_LEN - 1] = other[SG_TOKEN_SECRET_LEN - 1] == '0' ? '1' : '0';
    CHECK(sg_auth_token_verify(st, other, &t, &roles, &err) == -1 && err.code == SG_OP_UNAUTHENTICATED,
          "token: a wrong secret with a right id is refused");
    CHECK(sg_auth_token_verify(st, "sgt_x", &t, &roles, &err) == -1 &&
              sg_auth_token_verify(st, "", &t, &roles, &err) == -1 &&
              sg_auth_token_verify(st, NULL, &t, &roles, &err) == -1,
          "token: malformed tokens are refused");
    CHECK(sg_store_admin_account_set_roles(st, "ops", SG_ROLE_SYSTEM) == 0 &&
              sg_auth_token_verify(st, secret, &t, &roles, &err) == 0 && roles == SG_ROLE_SYSTEM,
          "token: a role taken from the owner is taken from the token");
    CHECK(sg_auth_token_revoke(st, t.id, T0 + 5, &err) == 0 &&
              sg_auth_token_verify(st, secret, &t, &roles, &err) == -1 && err.code == SG_OP_UNAUTHENTICATED,
          "token: revoked, it stops working");
    CHECK(sg_auth_token_revoke(st, t.id, T0 + 6, &err) == -1 && err.code == SG_OP_NOT_FOUND,
          "token: revoking again is not_found");
}

int main(void)
{
    char dir[] = "/tmp/sg-test-admin-auth-XXXXXX", path[300], err[512] = "";
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/sealgate.db", dir);
    sg_auth_set_params(&cheap);
    sg_store *st = sg_store_open(path, err, sizeof err);
    CHECK(st != NULL, "store opened (%s)", err);
    if (!st)
        return CHECK_DONE();
    hashing();
    lockout(st);
    sessions(st);
    tokens(st);
    sg_store_close(st);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
