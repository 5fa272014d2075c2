/* auth_totp.c - the second step of a login with a TOTP second factor, and code checks for
 * enrolment (auth.h, admin/totp.h). Owner: src/admin.
 * SECURITY: a wrong or replayed code counts as a failed login of the account (the same lockout
 * and back-off as a wrong password, auth.c) and of the client address; a locked account
 * answers "locked" without looking at the code. A code is taken at most once: the step it
 * matched is recorded with a compare-and-set in the store, so the same code (or an older one)
 * is refused afterwards, also when two requests race. */
#include <stdio.h>
#include <string.h>

#include "admin/auth.h"
#include "admin/auth_int.h"
#include "admin/totp.h"
#include "lib/log.h"

static int wrong(sg_store *s, const sg_store_account *a, const char *client, int64_t now, sg_op_error *err)
{
    int failed = a->failed + 1;
    int64_t lock = sg_auth_lock_for(failed, SG_AUTH_FREE_FAILURES);
    if (sg_store_admin_account_set_login(s, a->name, failed, lock ? now + lock : 0, a->last_login) < 0)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", sg_store_error(s));
    if (client)
        sg_auth_client_failure(client, now);
    return sg_op_fail(err, SG_OP_UNAUTHENTICATED, "code", "wrong or used one-time code");
}

int sg_auth_totp_check(sg_store *s, const sg_store_account *acct, const char *code, int64_t now, sg_op_error *err)
{
    int64_t step;
    if (acct->totp_state == SG_TOTP_NONE || !acct->totp_secret[0])
        return sg_op_fail(err, SG_OP_CONFLICT, "code", "the account has no second factor enrolled");
    int v = sg_totp_verify(acct->totp_secret, code, now, &step);
    if (v < 0) {
        sg_error(NULL, "account %s: stored TOTP secret is not base32", SG_LOG_TOK(acct->name));
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "the stored second factor is damaged");
    }
    if (v > 0 || step <= acct->totp_step)
        return sg_op_fail(err, SG_OP_UNAUTHENTICATED, "code", "wrong or used one-time code");
    int rc = sg_store_admin_account_totp_use(s, acct->name, step);
    if (rc < 0)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", sg_store_error(s));
    return rc == 1 ? sg_op_fail(err, SG_OP_UNAUTHENTICATED, "code", "wrong or used one-time code") : 0;
}

int sg_auth_totp_login(sg_store *s, const char *name, const char *code, const char *client, int64_t now,
                       sg_store_account *acct, int64_t *retry_after, sg_op_error *err)
{
    if (retry_after)
        *retry_after = 0;
    if (client && sg_auth_client_check(client, now, retry_after, err) < 0)
        return -1;
    int rc = sg_store_admin_account_get(s, name ? name : "", acct);
    if (rc < 0)
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "%s", sg_store_error(s));
    if (rc == 1 || acct->totp_state != SG_TOTP_ACTIVE)
        return sg_op_fail(err, SG_OP_UNAUTHENTICATED, NULL, "sign in again");
    if (acct->locked_until > now) {
        if (retry_after)
            *retry_after = acct->locked_until - now;
        return sg_op_fail(err, SG_OP_LOCKED, NULL, "too many failed attempts: try again in %lld seconds",
                          (long long)(acct->locked_until - now));
    }
    if (sg_auth_totp_check(s, acct, code, now, err) < 0)
        return err->code == SG_OP_UNAUTHENTICATED ? wrong(s, acct, client, now, err) : -1;
    return sg_auth_login_ok(s, acct, client, now, err);
}
