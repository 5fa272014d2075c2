/* test_store_admin.c - the store's typed calls for administration (store/admin_rows.h):
 * accounts, tokens, sessions and audit events round trip; "no such row" is 1, not an error;
 * adds of an existing key are 1; lists filter and page; and tables dropped by another
 * connection are errors at every call, never "not found" or an empty list. Owner: src/store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "store/admin_rows.h"
#include "store_side.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static sg_store_account account(const char *name, uint32_t roles)
{
    sg_store_account a = {.roles = roles, .created = 100};
    snprintf(a.name, sizeof a.name, "%s", name);
    snprintf(a.hash, sizeof a.hash, "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA");
    return a;
}

static void accounts(sg_store *st)
{
    sg_store_account a = account("alice", 3), r, *list;
    size_t n;
    CHECK(sg_store_admin_account_get(st, "alice", &r) == 1, "account: unknown name is 1");
    CHECK(sg_store_admin_account_add(st, &a) == 0, "account: added (%s)", sg_store_error(st));
    CHECK(sg_store_admin_account_add(st, &a) == 1, "account: adding the same name again is 1 (exists)");
    CHECK(sg_store_admin_account_get(st, "alice", &r) == 0 && strcmp(r.hash, a.hash) == 0 && r.roles == 3 &&
              r.created == 100 && r.failed == 0 && r.locked_until == 0 && r.last_login == 0,
          "account: reads back as written");
    CHECK(sg_store_admin_account_get(st, "ALICE", &r) == 1, "account: names are exact (case matters)");
    CHECK(sg_store_admin_account_set_roles(st, "alice", 64) == 0 &&
              sg_store_admin_account_set_hash(st, "alice", "$x") == 0 &&
              sg_store_admin_account_set_login(st, "alice", 4, 500, 90) == 0 &&
              sg_store_admin_account_get(st, "alice", &r) == 0 && r.roles == 64 &&
              strcmp(r.hash, "$x") == 0 && r.failed == 4 && r.locked_until == 500 && r.last_login == 90,
          "account: roles, hash and login counters change");
    CHECK(sg_store_admin_account_set_roles(st, "bob", 1) == 1 &&
              sg_store_admin_account_set_hash(st, "bob", "h") == 1 &&
              sg_store_admin_account_set_login(st, "bob", 0, 0, 0) == 1,
          "account: changes of an unknown account are 1");
    /* migration 12: one-time password mark and the TOTP second factor */
    sg_store_account c = account("carol", 1);
    c.must_change = true;
    CHECK(sg_store_admin_account_add(st, &c) == 0 && sg_store_admin_account_get(st, "carol", &r) == 0 &&
              r.must_change && r.totp_state == SG_TOTP_NONE && r.totp_secret[0] == '\0' && r.totp_step == 0,
          "account: must_change as added, no second factor");
    CHECK(sg_store_admin_account_set_must_change(st, "carol", false) == 0 &&
              sg_store_admin_account_set_totp(st, "carol", "JBSWY3DPEHPK3PXP", SG_TOTP_ACTIVE) == 0 &&
              sg_store_admin_account_get(st, "carol", &r) == 0 && !r.must_change &&
              strcmp(r.totp_secret, "JBSWY3DPEHPK3PXP") == 0 && r.totp_state == SG_TOTP_ACTIVE,
          "account: must_change cleared, a second factor set");
    CHECK(sg_store_admin_account_totp_use(st, "carol", 57000000) == 0 &&
              sg_store_admin_account_totp_use(st, "carol", 57000000) == 1 &&
              sg_store_admin_account_totp_use(st, "carol", 56999999) == 1 &&
              sg_store_admin_account_totp_use(st, "carol", 57000001) == 0 &&
              sg_store_admin_account_get(st, "carol", &r) == 0 && r.totp_step == 57000001,
          "account: a TOTP step is taken once, an older one never, a later one once");
    CHECK(sg_store_admin_account_set_must_change(st, "nobody", true) == 1 &&
              sg_store_admin_account_set_totp(st, "nobody", "", 0) == 1 &&
              sg_store_admin_account_totp_use(st, "nobody", 1) == 1,
          "account: those changes of an unknown account are 1");
    CHECK(sg_store_admin_account_delete(st, "carol") == 0, "account: carol removed again");
    sg_store_account b = account("bob", 1);
    CHECK(sg_store_admin_account_add(st, &b) == 0 && sg_store_admin_account_list(st, &list, &n) == 0 &&
              n == 2 && strcmp(list[0].name, "alice") == 0 && strcmp(list[1].name, "bob") == 0,
          "account: list by name");
    free(list);
}

static void tokens(sg_store *st)
{
    sg_store_token t = {.roles = 1, .created = 200}, r, *list;
    size_t n;
    snprintf(t.id, sizeof t.id, "00112233aabbccdd");
    snprintf(t.secret_hash, sizeof t.secret_hash, H64);
    snprintf(t.owner, sizeof t.owner, "bob");
    snprintf(t.label, sizeof t.label, "ci");
    CHECK(sg_store_admin_token_get(st, t.id, &r) == 1, "token: unknown id is 1");
    CHECK(sg_store_admin_token_add(st, &t) == 0 && sg_store_admin_token_add(st, &t) == 1,
          "token: added; the same id again is 1");
    CHECK(sg_store_admin_token_get(st, t.id, &r) == 0 && strcmp(r.secret_hash, H64) == 0 &&
              strcmp(r.owner, "bob") == 0 && strcmp(r.label, "ci") == 0 && r.roles == 1 && r.created == 200 &&
              r.revoked == 0,
          "token: reads back as written");
    sg_store_token u = t;
    snprintf(u.id, sizeof u.id, "ffffffffffffffff");
    snprintf(u.owner, sizeof u.owner, "alice");
    u.created = 300;
    CHECK(sg_store_admin_token_add(st, &u) == 0, "token: a second one");
    CHECK(sg_store_admin_token_list(st, NULL, &list, &n) == 0 && n == 2 && strcmp(list[0].id, u.id) == 0,
          "token: list of all, newest first");
    free(list);
    CHECK(sg_store_admin_token_list(st, "bob", &list, &n) == 0 && n == 1 && strcmp(list[0].id, t.id) == 0,
          "token: list by owner");
    free(list);
    CHECK(sg_store_admin_token_revoke(st, t.id, 400) == 0 && sg_store_admin_token_get(st, t.id, &r) == 0 &&
              r.revoked == 400,
          "token: revoked with its time");
    CHECK(sg_store_admin_token_revoke(st, t.id, 500) == 1 && sg_store_admin_token_get(st, t.id, &r) == 0 &&
              r.revoked == 400,
          "token: revoking again is 1 and keeps the first time");
    CHECK(sg_store_admin_token_revoke(st, "0000000000000000", 1) == 1, "token: revoking an unknown id is 1");
}

static void sessions(sg_store *st)
{
    sg_store_session x = {.created = 10, .last_seen = 20}, r, *list;
    size_t n;
    snprintf(x.id_hash, sizeof x.id_hash, H64);
    snprintf(x.account, sizeof x.account, "alice");
    snprintf(x.csrf, sizeof x.csrf, "csrf");
    snprintf(x.client, sizeof x.client, "2001:db8::1");
    CHECK(sg_store_admin_session_get(st, H64, &r) == 1, "session: unknown is 1");
    CHECK(sg_store_admin_session_add(st, &x) == 0 && sg_store_admin_session_add(st, &x) == 1,
          "session: added; the same id again is 1");
    CHECK(sg_store_admin_session_get(st, H64, &r) == 0 && strcmp(r.account, "alice") == 0 &&
              strcmp(r.csrf, "csrf") == 0 && strcmp(r.client, "2001:db8::1") == 0 && r.created == 10 &&
              r.last_seen == 20,
          "session: reads back as written");
    CHECK(sg_store_admin_session_touch(st, H64, 30) == 0 && sg_store_admin_session_get(st, H64, &r) == 0 &&
              r.last_seen == 30,
          "session: touched");
    CHECK(sg_store_admin_session_touch(st, "nope", 30) == 1 && sg_store_admin_session_delete(st, "nope") == 1,
          "session: touch and delete of an unknown one are 1");
    sg_store_session y = x;
    y.id_hash[0] = 'f';
    y.created = 1000;
    y.last_seen = 1000;
    snprintf(y.account, sizeof y.account, "bob");
    CHECK(sg_store_admin_session_add(st, &y) == 0 && sg_store_admin_session_list(st, NULL, &list, &n) == 0 &&
              n == 2 && strcmp(list[0].account, "bob") == 0,
          "session: list of all, newest first");
    free(list);
    CHECK(sg_store_admin_session_list(st, "alice", &list, &n) == 0 && n == 1, "session: list by account");
    free(list);
    CHECK(sg_store_admin_session_expire(st, 31, 0) == 0 && sg_store_admin_session_get(st, H64, &r) == 1 &&
              sg_store_admin_session_get(st, y.id_hash, &r) == 0,
          "session: expire removes the idle one only");
    CHECK(sg_store_admin_session_expire(st, 0, 1001) == 0 &&
              sg_store_admin_session_get(st, y.id_hash, &r) == 1,
          "session: expire removes one past its absolute time");
    CHECK(sg_store_admin_session_add(st, &x) == 0 &&
              sg_store_admin_session_delete_account(st, "alice") == 0 &&
              sg_store_admin_session_get(st, H64, &r) == 1,
          "session: delete_account ends an account's sessions");
    /* Deleting an account takes its sessions and tokens with it. */
    CHECK(sg_store_admin_session_add(st, &x) == 0 && sg_store_admin_account_delete(st, "alice") == 0 &&
              sg_store_admin_session_get(st, H64, &r) == 1 &&
              sg_store_admin_token_get(st, "ffffffffffffffff", (sg_store_token[1]){0}) == 1,
          "account delete: its sessions and tokens are gone");
    CHECK(sg_store_admin_account_delete(st, "alice") == 1, "account delete: of an unknown account is 1");
}

static void audit(sg_store *st)
{
    static const char *const actors[] = {"alice", "bob", "alice", "root", "alice"};
    static const char *const ops[] = {"queue.list", "key.delete", "key.delete", "admin.add", "queue.list"};
    int64_t ids[5];
    for (int i = 0; i < 5; i++) {
        sg_store_audit e = {.time = 1000 + i * 10, .roles = 1};
        snprintf(e.actor, sizeof e.actor, "%s", actors[i]);
        snprintf(e.op, sizeof e.op, "%s", ops[i]);
        snprintf(e.target, sizeof e.target, "t%d", i);
        snprintf(e.result, sizeof e.result, i == 1 ? "forbidden" : "ok");
        snprintf(e.client, sizeof e.client, "local");
        snprintf(e.detail, sizeof e.detail, "d%d", i);
        CHECK(sg_store_audit_add(st, &e, &ids[i]) == 0 && (i == 0 || ids[i] > ids[i - 1]),
              "audit: event %d added", i);
    }
    sg_store_audit *e;
    size_t n;
    int64_t count;
    sg_store_audit_filter all = {0};
    CHECK(sg_store_audit_list(st, &all, &e, &n) == 0 && n == 5 && e[0].id == ids[4] &&
              strcmp(e[4].actor, "alice") == 0 && strcmp(e[3].result, "forbidden") == 0 &&
              strcmp(e[0].detail, "d4") == 0 && e[0].time == 1040,
          "audit: all, newest first, fields as written");
    free(e);
    sg_store_audit_filter f = {.actor = "alice"};
    CHECK(sg_store_audit_list(st, &f, &e, &n) == 0 && n == 3 && sg_store_audit_count(st, &f, &count) == 0 &&
              count == 3,
          "audit: by actor");
    free(e);
    f = (sg_store_audit_filter){.actor = "alice", .op = "key.delete"};
    CHECK(sg_store_audit_list(st, &f, &e, &n) == 0 && n == 1 && strcmp(e[0].target, "t2") == 0,
          "audit: by actor and operation");
    free(e);
    f = (sg_store_audit_filter){.since = 1010, .until = 1030};
    CHECK(sg_store_audit_list(st, &f, &e, &n) == 0 && n == 2 && e[0].time == 1020 && e[1].time == 1010,
          "audit: by time (since inclusive, until exclusive)");
    free(e);
    f = (sg_store_audit_filter){.target = "T3"};
    CHECK(sg_store_audit_list(st, &f, &e, &n) == 0 && n == 1 && strcmp(e[0].target, "t3") == 0 &&
              sg_store_audit_count(st, &f, &count) == 0 && count == 1,
          "audit: by target, contained and ASCII case ignored");
    free(e);
    f = (sg_store_audit_filter){.target = "t", .result = "forbidden"};
    CHECK(sg_store_audit_list(st, &f, &e, &n) == 0 && n == 1 && e[0].id == ids[1] &&
              sg_store_audit_count(st, &f, &count) == 0 && count == 1,
          "audit: by result (exact) with a target");
    free(e);
    f = (sg_store_audit_filter){.target = "%", .result = "ok"};
    CHECK(sg_store_audit_list(st, &f, &e, &n) == 0 && n == 0, "audit: a target's %% is text, not a pattern");
    free(e);
    f = (sg_store_audit_filter){.limit = 2};
    CHECK(sg_store_audit_list(st, &f, &e, &n) == 0 && n == 2 && e[1].id == ids[3], "audit: a page of 2");
    f.before_id = e[1].id;
    free(e);
    CHECK(sg_store_audit_list(st, &f, &e, &n) == 0 && n == 2 && e[0].id == ids[2] && e[1].id == ids[1] &&
              sg_store_audit_count(st, &f, &count) == 0 && count == 5,
          "audit: the next page by cursor; the count ignores the page");
    free(e);
    f = (sg_store_audit_filter){.limit = 2, .offset = 4};
    CHECK(sg_store_audit_list(st, &f, &e, &n) == 0 && n == 1 && e[0].id == ids[0], "audit: a page by offset");
    free(e);
}

static void broken(sg_store *st, const char *path)
{
    int ok = side_once(path, "DROP TABLE admin_accounts; DROP TABLE admin_tokens;"
                             " DROP TABLE admin_sessions; DROP TABLE audit_events;") == 0;
    CHECK(ok, "another connection drops the admin tables");
    sg_store_account a = account("carol", 1), *al = NULL;
    sg_store_token t, *tl = NULL;
    sg_store_session x, *xl = NULL;
    sg_store_audit e = {0}, *el = NULL;
    size_t n = 7;
    int64_t id, count;
    sg_store_audit_filter f = {0};
    CHECK(sg_store_admin_account_get(st, "bob", &a) == -1 && strstr(sg_store_error(st), SIDE_NO_TABLE),
          "account get: an error, not 'no such account' (%s)", sg_store_error(st));
    CHECK(sg_store_admin_account_add(st, &a) == -1, "account add: an error, not 'exists'");
    CHECK(sg_store_admin_account_list(st, &al, &n) == -1 && !al && n == 0,
          "account list: an error, not an empty list");
    CHECK(sg_store_admin_account_delete(st, "bob") == -1 &&
              sg_store_admin_account_set_roles(st, "bob", 1) == -1 &&
              sg_store_admin_account_set_login(st, "bob", 1, 1, 1) == -1,
          "account writes: errors, not 'no such account'");
    CHECK(sg_store_admin_token_get(st, "00112233aabbccdd", &t) == -1 &&
              sg_store_admin_token_revoke(st, "x", 1) == -1 &&
              sg_store_admin_token_list(st, NULL, &tl, &n) == -1 && !tl,
          "tokens: errors, not 'no such token'");
    CHECK(sg_store_admin_session_get(st, H64, &x) == -1 && sg_store_admin_session_touch(st, H64, 1) == -1 &&
              sg_store_admin_session_list(st, NULL, &xl, &n) == -1 && !xl &&
              sg_store_admin_session_expire(st, 1, 1) == -1,
          "sessions: errors, not 'no such session'");
    CHECK(sg_store_audit_add(st, &e, &id) == -1 && sg_store_audit_list(st, &f, &el, &n) == -1 && !el &&
              sg_store_audit_count(st, &f, &count) == -1,
          "audit: errors, not an empty log");
}

int main(void)
{
    char dir[] = "/tmp/sg-test-store-admin-XXXXXX", path[300], err[512] = "";
    if (!mkdtemp(dir))
        return 1;
    if (side_store(dir, "admin", path, sizeof path) < 0)
        return 1;
    sg_store *st = sg_store_open(path, err, sizeof err);
    CHECK(st != NULL, "store opened (%s)", err);
    if (!st)
        return CHECK_DONE();
    accounts(st);
    tokens(st);
    sessions(st);
    audit(st);
    broken(st, path);
    sg_store_close(st);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
