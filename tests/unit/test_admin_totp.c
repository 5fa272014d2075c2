/* test_admin_totp.c - the TOTP second factor (admin/totp.h, auth_totp.c): RFC 6238's test
 * vectors (appendix B, SHA-1, SHA-256 and SHA-512, 8 digits), RFC 4648's base32 vectors, the
 * otpauth:// URI, the window of one step either side, and on a store: a code is taken once
 * (replay refused), wrong codes count towards the account's lockout even with the right
 * password between them, and a locked account answers "locked" to the right code.
 * Owner: src/admin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/auth.h"
#include "admin/ops.h"
#include "admin/roles.h"
#include "admin/totp.h"
#include "check.h"
#include "lib/zbase32.h"

#define PW "correct horse battery"

static void vectors(void)
{
    /* RFC 6238 appendix B: the seeds are ASCII "1234567890" repeated to the hash's size. */
    static const char seed20[] = "12345678901234567890";
    static const char seed32[] = "12345678901234567890123456789012";
    static const char seed64[] = "1234567890123456789012345678901234567890123456789012345678901234";
    static const struct {
        int64_t t;
        uint32_t sha1, sha256, sha512;
    } v[] = {
        {59, 94287082, 46119246, 90693936},
        {1111111109, 7081804, 68084774, 25091201},
        {1111111111, 14050471, 67062674, 99943326},
        {1234567890, 89005924, 91819424, 93441116},
        {2000000000, 69279037, 90698825, 38618901},
        {20000000000, 65353130, 77737706, 47863826},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint32_t a = 0, b = 0, c = 0;
        uint64_t step = (uint64_t)sg_totp_step(v[i].t);
        CHECK(sg_hotp((const uint8_t *)seed20, 20, step, 8, SG_TOTP_SHA1, &a) == 0 && a == v[i].sha1,
              "RFC 6238 SHA-1 at %lld: %08u", (long long)v[i].t, a);
        CHECK(sg_hotp((const uint8_t *)seed32, 32, step, 8, SG_TOTP_SHA256, &b) == 0 && b == v[i].sha256,
              "RFC 6238 SHA-256 at %lld: %08u", (long long)v[i].t, b);
        CHECK(sg_hotp((const uint8_t *)seed64, 64, step, 8, SG_TOTP_SHA512, &c) == 0 && c == v[i].sha512,
              "RFC 6238 SHA-512 at %lld: %08u", (long long)v[i].t, c);
    }
    /* RFC 4226 appendix D: HOTP, 6 digits, counters 0 and 9. */
    uint32_t h0 = 0, h9 = 0;
    CHECK(sg_hotp((const uint8_t *)seed20, 20, 0, 6, SG_TOTP_SHA1, &h0) == 0 && h0 == 755224 &&
              sg_hotp((const uint8_t *)seed20, 20, 9, 6, SG_TOTP_SHA1, &h9) == 0 && h9 == 520489,
          "RFC 4226 HOTP vectors (%06u, %06u)", h0, h9);
}

static void base32(void)
{
    /* RFC 4648 section 10, without padding. */
    static const char *const in[] = {"f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const out[] = {"MY", "MZXQ", "MZXW6", "MZXW6YQ", "MZXW6YTB", "MZXW6YTBOI"};
    for (int i = 0; i < 6; i++) {
        char enc[32];
        uint8_t dec[32];
        sg_base32_encode((const uint8_t *)in[i], strlen(in[i]), enc, sizeof enc);
        int n = sg_base32_decode(out[i], dec, sizeof dec);
        CHECK(strcmp(enc, out[i]) == 0 && n == (int)strlen(in[i]) && memcmp(dec, in[i], (size_t)n) == 0,
              "base32 of \"%s\" is %s and back", in[i], enc);
    }
    uint8_t d[8];
    CHECK(sg_base32_decode("MZXW6===", d, sizeof d) == 3 && sg_base32_decode("mzxw6", d, sizeof d) == 3,
          "base32: padding ignored, lower case read");
    CHECK(sg_base32_decode("MZ1W6", d, sizeof d) == -1 && sg_base32_decode("MZXW6YTBOI", d, 2) == -1,
          "base32: a character outside the alphabet, or too long for the buffer, is an error");
    char s1[SG_TOTP_SECRET_B32 + 1], s2[SG_TOTP_SECRET_B32 + 1];
    CHECK(sg_totp_new_secret(s1) == 0 && sg_totp_new_secret(s2) == 0 && strlen(s1) == 32 && strcmp(s1, s2) != 0 &&
              sg_base32_decode(s1, d, sizeof d) == -1,
          "new secrets: 32 base32 characters (160 bits), different");
    char uri[300];
    CHECK(sg_totp_uri("sealgate mx.example.org", "alice", "JBSWY3DPEHPK3PXP", uri, sizeof uri) == 0 &&
              strcmp(uri, "otpauth://totp/sealgate%20mx.example.org%3Aalice?secret=JBSWY3DPEHPK3PXP&issuer=sealgate"
                          "%20mx.example.org&algorithm=SHA1&digits=6&period=30") == 0,
          "otpauth URI: label and issuer percent-encoded (%s)", uri);
    CHECK(sg_totp_uri("x", "alice", "JBSWY3DPEHPK3PXP", uri, 20) == -1, "otpauth URI: too small a buffer");
}

/* The 6-digit code of secret at t. */
static void code_at(const char *secret, int64_t t, char out[8])
{
    uint8_t k[64];
    int n = sg_base32_decode(secret, k, sizeof k);
    uint32_t v = 0;
    if (n <= 0 || sg_hotp(k, (size_t)n, (uint64_t)sg_totp_step(t), 6, SG_TOTP_SHA1, &v) < 0)
        v = 999999999;
    snprintf(out, 8, "%06u", v);
}

static void window(void)
{
    const char *sec = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; /* base32 of seed20 */
    char c[8];
    int64_t step = 0, t = 1111111111;
    code_at(sec, t, c);
    CHECK(strcmp(c, "050471") == 0, "the 6-digit code of RFC 6238's secret at 1111111111 (%s)", c);
    CHECK(sg_totp_verify(sec, c, t, &step) == 0 && step == t / 30, "verify: the current code");
    CHECK(sg_totp_verify(sec, c, t + 30, &step) == 0 && step == t / 30, "verify: the previous step's code");
    CHECK(sg_totp_verify(sec, c, t - 30, &step) == 0, "verify: the next step's code (clock drift)");
    CHECK(sg_totp_verify(sec, c, t + 60, &step) == 1, "verify: two steps old is refused");
    CHECK(sg_totp_verify(sec, "05047", t, &step) == 1 && sg_totp_verify(sec, "0504711", t, &step) == 1 &&
              sg_totp_verify(sec, "05047a", t, &step) == 1 && sg_totp_verify(sec, NULL, t, &step) == 1,
          "verify: anything but 6 digits is refused");
    CHECK(sg_totp_verify("not base32!", c, t, &step) == -1, "verify: a damaged secret is an error");
}

static void on_store(sg_store *st)
{
    const char *sec = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    sg_store_account a = {.roles = 1, .created = 1};
    sg_op_error err;
    snprintf(a.name, sizeof a.name, "carol");
    CHECK(sg_auth_hash(PW, a.hash, sizeof a.hash, &err) == 0 && sg_store_admin_account_add(st, &a) == 0 &&
              sg_store_admin_account_set_totp(st, "carol", sec, SG_TOTP_ACTIVE) == 0,
          "an account with an active second factor");
    int64_t t = 1700000000, retry;
    char c[8];
    code_at(sec, t, c);
    sg_store_account got;
    CHECK(sg_auth_login(st, "carol", PW, NULL, t, &got, &retry, &err) == 0 && got.totp_state == SG_TOTP_ACTIVE,
          "the password step says a code is needed");
    CHECK(sg_auth_totp_login(st, "carol", c, NULL, t, &got, &retry, &err) == 0 && got.last_login == t,
          "the right code completes the login");
    CHECK(sg_auth_totp_login(st, "carol", c, NULL, t + 1, &got, &retry, &err) == -1 &&
              err.code == SG_OP_UNAUTHENTICATED,
          "the same code again is refused (replay within its step)");
    /* Wrong codes with the right password between them: the count is not reset by the password. */
    for (int i = 0; i < SG_AUTH_FREE_FAILURES; i++) {
        (void)sg_auth_login(st, "carol", PW, NULL, t + 2, &got, &retry, &err);
        (void)sg_auth_totp_login(st, "carol", "000000", NULL, t + 2, &got, &retry, &err);
    }
    CHECK(sg_store_admin_account_get(st, "carol", &got) == 0 && got.failed == SG_AUTH_FREE_FAILURES &&
              got.locked_until > t,
          "wrong codes count towards the lockout, the right password between them does not reset it (%d)",
          got.failed);
    char next[8];
    code_at(sec, t + 30, next);
    CHECK(sg_auth_totp_login(st, "carol", next, NULL, t + 30, &got, &retry, &err) == -1 &&
              err.code == SG_OP_LOCKED && retry > 0,
          "while locked even the right code is refused");
    CHECK(sg_store_admin_account_totp_use(st, "carol", t / 30) == 1 &&
              sg_store_admin_account_totp_use(st, "carol", t / 30 + 5) == 0,
          "store: a step at or before the last taken is refused, a later one taken");
    sg_store_admin_account_set_totp(st, "carol", "", SG_TOTP_NONE);
    CHECK(sg_auth_totp_login(st, "carol", next, NULL, t + 2000, &got, &retry, &err) == -1 &&
              err.code == SG_OP_UNAUTHENTICATED,
          "no second factor: the code step refuses (a ticket cannot skip the password)");
}

/* The operations (account.totp-*) as the portal calls them. */
static void operations(sg_store *st)
{
    sg_store_account a = {.roles = SG_ROLE_AUDITOR, .created = 1};
    sg_op_error err;
    snprintf(a.name, sizeof a.name, "dave");
    CHECK(sg_auth_hash(PW, a.hash, sizeof a.hash, &err) == 0 && sg_store_admin_account_add(st, &a) == 0,
          "an Auditor account");
    sg_op_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.store = st;
    ctx.actor = "dave";
    ctx.roles = SG_ROLE_AUDITOR;
    ctx.client = "192.0.2.8";
    ctx.via = SG_VIA_API;
    ctx.now = 1700001000;
    json_t *args = json_pack("{s:s}", "current_password", PW), *res = NULL;
    CHECK(sg_admin_call(&ctx, "account.totp-enrol", args, &res, &err) == 0 &&
              json_string_length(json_object_get(res, "secret")) == 32,
          "account.totp-enrol: an Auditor may (it is one's own account), the secret once (%s)", err.message);
    char secret[64] = "", c[8];
    snprintf(secret, sizeof secret, "%s", json_string_value(json_object_get(res, "secret")));
    json_decref(res);
    json_decref(args);
    sg_store_account got;
    CHECK(sg_store_admin_account_get(st, "dave", &got) == 0 && got.totp_state == SG_TOTP_PENDING,
          "enrolled: pending, sign-in unchanged until confirmed");
    code_at(secret, ctx.now, c);
    args = json_pack("{s:s}", "code", c);
    CHECK(sg_admin_call(&ctx, "account.totp-confirm", args, &res, &err) == 0 &&
              sg_store_admin_account_get(st, "dave", &got) == 0 && got.totp_state == SG_TOTP_ACTIVE,
          "account.totp-confirm with a code of the secret: active");
    json_decref(res);
    json_decref(args);
    for (int i = 0; i < SG_AUTH_FREE_FAILURES; i++) {
        sg_auth_throttle_reset();
        args = json_pack("{s:s, s:s}", "current_password", PW, "code", "000000");
        (void)sg_admin_call(&ctx, "account.totp-disable", args, &res, &err);
        json_decref(args);
    }
    CHECK(sg_store_admin_account_get(st, "dave", &got) == 0 && got.totp_state == SG_TOTP_ACTIVE &&
              got.locked_until > ctx.now,
          "account.totp-disable: wrong codes count towards the lockout (%d failures)", got.failed);
    code_at(secret, ctx.now + 30, c);
    args = json_pack("{s:s, s:s}", "current_password", PW, "code", c);
    CHECK(sg_admin_call(&ctx, "account.totp-disable", args, &res, &err) == -1 && err.code == SG_OP_LOCKED,
          "... and while locked the right password and code do not disable it");
    json_decref(args);
}

int main(void)
{
    vectors();
    base32();
    window();
    char dir[] = "/tmp/sg-test-admin-totp-XXXXXX", path[300], err[512] = "";
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/sealgate.db", dir);
    sg_argon2_params cheap = {1, 64, 1};
    sg_auth_set_params(&cheap);
    sg_store *st = sg_store_open(path, err, sizeof err);
    CHECK(st != NULL, "store opened (%s)", err);
    if (st) {
        on_store(st);
        operations(st);
        sg_store_close(st);
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
