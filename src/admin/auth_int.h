/* auth_int.h - shared by auth.c, auth_throttle.c and auth_session.c only. Owner: src/admin. */
#ifndef SG_ADMIN_AUTH_INT_H
#define SG_ADMIN_AUTH_INT_H

#include <stddef.h>
#include <stdint.h>

/* SHA-256 of s as 64 lower-case hex digits. */
void sg_auth_sha256_hex(const char *s, char out[65]);
/* Whether s is exactly n lower-case hex digits. */
int sg_auth_is_hex(const char *s, size_t n);

/* The end of a successful login of acct at now (auth.c, auth_totp.c): the failure count and
 * lock cleared and the login recorded in the store and in *acct, the client's back-off
 * forgotten. 0, or -1 with internal. */
struct sg_store;
struct sg_store_account;
struct sg_op_error;
int sg_auth_login_ok(struct sg_store *s, struct sg_store_account *acct, const char *client, int64_t now,
                     struct sg_op_error *err);

/* In-memory failure counting under a key ("c:" address, "u:" unknown account name), bounded:
 * the least recently seen key makes room. */
int64_t sg_auth_throttle_locked(const char *key, int64_t now); /* seconds left, 0 free */
void sg_auth_throttle_fail(const char *key, int64_t now, int free_failures);
void sg_auth_throttle_forget(const char *key);

#endif
