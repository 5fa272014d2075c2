/* auth.c - passwords (argon2id via libargon2) and login with lockout (auth.h). Owner:
 * src/admin.
 * SECURITY: an unknown account costs the same argon2id work as a known one (a dummy hash made
 * once with the current parameters) and gives the same answer, lockout included (counted in
 * memory under the name); a locked account answers "locked" without checking the password,
 * so a guess during the lock tells nothing. Passwords are wiped from our buffers after use. */
#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "admin/auth.h"
#include "admin/auth_int.h"
#include "lib/log.h"

#define SALT_LEN 16
#define HASH_LEN 32

static sg_argon2_params params = {SG_ARGON2_T_COST, SG_ARGON2_M_COST_KIB, SG_ARGON2_PARALLELISM};
static char dummy[SG_ADMIN_HASH_MAX + 1];
static pthread_mutex_t dummy_lock = PTHREAD_MUTEX_INITIALIZER;

void sg_auth_set_params(const sg_argon2_params *p)
{
    params = *p;
    pthread_mutex_lock(&dummy_lock);
    dummy[0] = '\0'; /* made again with the new parameters */
    pthread_mutex_unlock(&dummy_lock);
}

int sg_auth_random_hex(char *out, size_t n)
{
    unsigned char b[64];
    if (n > sizeof b || RAND_bytes(b, (int)n) != 1)
        return -1;
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    OPENSSL_cleanse(b, sizeof b);
    return 0;
}

void sg_auth_sha256_hex(const char *s, char out[65])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), d);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

int sg_auth_is_hex(const char *s, size_t n)
{
    size_t i = 0;
    for (; s[i]; i++)
        if (i >= n || !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return i == n;
}

int sg_auth_password_policy(const char *pw, const char *field, sg_op_error *err)
{
    size_t n = pw ? strlen(pw) : 0;
    if (n < SG_PASSWORD_MIN)
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, field, "a password needs at least %d characters",
                          SG_PASSWORD_MIN);
    if (n > SG_PASSWORD_MAX)
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, field, "a password has at most %d characters",
                          SG_PASSWORD_MAX);
    return 0;
}

static int hash_with(const sg_argon2_params *p, const char *pw, char *encoded, size_t len)
{
    unsigned char salt[SALT_LEN];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return -1;
    int rc = argon2id_hash_encoded(p->t_cost, p->m_cost_kib, p->parallelism, pw, strlen(pw), salt,
                                   sizeof salt, HASH_LEN, encoded, len);
    return rc == ARGON2_OK ? 0 : -1;
}

int sg_auth_hash(const char *pw, char *encoded, size_t len, sg_op_error *err)
{
    if (sg_auth_password_policy(pw, "password", err) < 0)
        return -1;
    if (hash_with(&params, pw, encoded, len) < 0)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "cannot hash the password (argon2id)");
    return 0;
}

int sg_auth_verify_hash(const char *encoded, const char *pw)
{
    if (strncmp(encoded, "$argon2id$", 10) != 0)
        return -1;
    int rc = argon2id_verify(encoded, pw, strlen(pw));
    return rc == ARGON2_OK ? 0 : rc == ARGON2_VERIFY_MISMATCH ? 1 : -1;
}

bool sg_auth_needs_rehash(const char *encoded)
{
    unsigned v, m, t, p;
    if (sscanf(encoded, "$argon2id$v=%u$m=%u,t=%u,p=%u$", &v, &m, &t, &p) != 4)
        return true;
    return v != ARGON2_VERSION_NUMBER || m != params.m_cost_kib || t != params.t_cost ||
           p != params.parallelism;
}

int sg_auth_generate_password(char *out, size_t len)
{
    static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789"; /* 32: no l, o, 0, 1 */
    unsigned char b[24];
    if (len < sizeof b + 1 || RAND_bytes(b, sizeof b) != 1)
        return -1;
    for (size_t i = 0; i < sizeof b; i++)
        out[i] = alphabet[b[i] & 31];
    out[sizeof b] = '\0';
    OPENSSL_cleanse(b, sizeof b);
    return 0;
}

/* The dummy hash unknown accounts are verified against: made with the current parameters on
 * first use, so its work matches a real account's. */
static const char *dummy_hash(void)
{
    pthread_mutex_lock(&dummy_lock);
    if (!dummy[0]) {
        char pw[32];
        if (sg_auth_generate_password(pw, sizeof pw) < 0 || hash_with(&params, pw, dummy, sizeof dummy) < 0)
            dummy[0] = '\0';
        OPENSSL_cleanse(pw, sizeof pw);
    }
    pthread_mutex_unlock(&dummy_lock);
    return dummy;
}

static int locked(int64_t left, int64_t *retry_after, sg_op_error *err)
{
    if (retry_after)
        *retry_after = left;
    return sg_op_fail(err, SG_OP_LOCKED, NULL, "too many failed attempts: try again in %lld seconds",
                      (long long)left);
}

static int bad(const char *client, int64_t now, sg_op_error *err)
{
    if (client)
        sg_auth_client_failure(client, now);
    return sg_op_fail(err, SG_OP_UNAUTHENTICATED, NULL, "wrong name or password");
}

int sg_auth_login(sg_store *s, const char *name, const char *pw, const char *client, int64_t now,
                  sg_store_account *acct, int64_t *retry_after, sg_op_error *err)
{
    if (retry_after)
        *retry_after = 0;
    if (client && sg_auth_client_check(client, now, retry_after, err) < 0)
        return -1;
    if (!name || !pw)
        return bad(client, now, err);
    /* Made on the first login of either kind, so that the first unknown name does not pay for
     * it alone (and stand out by its time). */
    const char *d = dummy_hash();
    int rc = sg_store_admin_account_get(s, name, acct);
    if (rc < 0)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", sg_store_error(s));
    if (rc == 1) {
        char key[SG_ADMIN_NAME_MAX + 8];
        snprintf(key, sizeof key, "u:%.*s", SG_ADMIN_NAME_MAX, name);
        int64_t left = sg_auth_throttle_locked(key, now);
        if (left)
            return locked(left, retry_after, err);
        if (d[0])
            (void)argon2id_verify(d, pw, strlen(pw));
        sg_auth_throttle_fail(key, now, SG_AUTH_FREE_FAILURES);
        return bad(client, now, err);
    }
    if (acct->locked_until > now)
        return locked(acct->locked_until - now, retry_after, err);
    int v = sg_auth_verify_hash(acct->hash, pw);
    if (v != 0) {
        if (v < 0)
            sg_error(NULL, "account %s: stored password hash is not argon2id", SG_LOG_TOK(name));
        int failed = acct->failed + 1;
        int64_t lock = sg_auth_lock_for(failed, SG_AUTH_FREE_FAILURES);
        if (sg_store_admin_account_set_login(s, name, failed, lock ? now + lock : 0, acct->last_login) < 0)
            return sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", sg_store_error(s));
        return bad(client, now, err);
    }
    if (sg_auth_needs_rehash(acct->hash)) {
        char h[SG_ADMIN_HASH_MAX + 1];
        if (hash_with(&params, pw, h, sizeof h) == 0 && sg_store_admin_account_set_hash(s, name, h) == 0)
            memcpy(acct->hash, h, sizeof h);
        else
            sg_warn(NULL, "account %s: cannot re-hash its password with the new parameters",
                    SG_LOG_TOK(name));
    }
    /* With a second factor the password alone is half a login: the failure count stays until
     * the code is right too (sg_auth_totp_login), so guessing codes between right passwords
     * cannot reset the lockout. */
    if (acct->totp_state == SG_TOTP_ACTIVE)
        return 0;
    return sg_auth_login_ok(s, acct, client, now, err);
}

int sg_auth_login_ok(sg_store *s, sg_store_account *acct, const char *client, int64_t now, sg_op_error *err)
{
    if (sg_store_admin_account_set_login(s, acct->name, 0, 0, now) < 0)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", sg_store_error(s));
    acct->failed = 0;
    acct->locked_until = 0;
    acct->last_login = now;
    if (client)
        sg_auth_client_success(client);
    return 0;
}
