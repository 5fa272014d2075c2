/* test_admin_ops.c - the operation table and sg_admin_call (admin/ops.h): the table is
 * consistent (names, routes, CLI words, path arguments, handlers); the whole role x operation
 * matrix over the table (every denied cell answers "forbidden" and changes nothing in the
 * store or the spool, every allowed cell is admitted and runs); invalid arguments are refused
 * naming the field, before anything runs and after permission; exactly one audit event per
 * call, denied, invalid and unknown ones included; the CLI serves every table verb it claims
 * and claims every one it serves. Owner: src/admin. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "admin/audit.h"
#include "admin/auth.h"
#include "admin/jobs.h"
#include "admin/ops.h"
#include "admin/ops_handlers.h"
#include "admin/roles.h"
#include "check.h"
#include "cli/cli_ops.h"
#include "lib/config.h"
#include "policy/policy.h"
#include "queue/queue.h"
#include "store/admin_rows.h"
#include "store/pgp_rows.h"
#include "store_side.h"

#define Z16 "0000000000000000"
#define F40 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define F64 F40 "AAAAAAAAAAAAAAAAAAAAAAAA"
#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Table verbs the CLI still serves with its own code (src/cli/cli_key.c ...), not through
 * the table: each is to move to sg_cli_verbs, and then out of this list. */
static const char *const cli_not_converted[] = {
    "account.password",                 /* the portal's own-password change; the CLI has admin passwd */
    "account.totp-enrol", "account.totp-confirm", "account.totp-disable", /* one's own factor: portal, API */
    "key.export",                       /* `key export --secret` is the CLI's alone (the KEK) */
    "key.import",                       /* the CLI's `key import` takes files and secret keys (cli_key.c) */
    "key.import-bulk",                  /* the CLI's `key import` runs the same job on files (cli_key.c) */
    "cert.export",                      /* `cert export --key` is the CLI's alone (the KEK) */
    "cert.trust",       "cert.untrust", /* they also take a certificate file */
    "policy.check",     "policy.load",  "policy.explain", "check-config", "version",
    /* the secret operations: served by cli_key.c, cli_ca.c and cli_cert.c, over the control
     * socket when the gateway runs (cli_control.c) */
    "key.generate", "cert.import", "ca.issue", "ca.crl", "key.export-secret", NULL};

static sg_store *st;
static char store_path[300], spool[300];
static sg_config cfg;

/* Arguments for an allowed call of op by an account holding role (whose name is role_name):
 * valid, and aimed at objects that do not exist where the operation would change one, so an
 * allowed cell answers ok or not_found. NULL: the test has no fixture for op (a failure). */
static json_t *args_for(const sg_op *op, const char *role_name, int n)
{
    char name[32];
    snprintf(name, sizeof name, "m-%d", n);
    static const struct {
        const char *op, *json;
    } fixed[] = {
        {"admin.list", "{}"},
        {"admin.delete", "{\"name\": \"nobody\"}"},
        {"admin.set-roles", "{\"name\": \"nobody\", \"roles\": \"auditor\"}"},
        {"admin.passwd", "{\"name\": \"nobody\", \"password\": \"a long enough password\"}"},
        {"token.list", "{}"},
        {"token.revoke", "{\"id\": \"" Z16 "\"}"},
        {"session.list", "{}"},
        {"session.end", "{\"id\": \"" H64 "\"}"},
        /* the test accounts' hashes match nothing and none has a factor: unauthenticated, conflict */
        {"account.totp-enrol", "{\"current_password\": \"not the password\"}"},
        {"account.totp-confirm", "{\"code\": \"123456\"}"},
        {"account.totp-disable", "{\"current_password\": \"not the password\"}"},
        {"admin.totp-reset", "{\"name\": \"nobody\"}"},
        {"audit.list", "{\"limit\": 5}"},
        {"audit.search", "{\"limit\": 5, \"outcome\": \"held\"}"},
        {"audit.show", "{\"entry\": \"999999\"}"},
        {"status", "{}"},
        {"metrics", "{}"},
        {"cluster.status", "{}"},
        {"version", "{}"},
        {"check-config", "{}"},
        {"queue.list", "{\"state\": \"hold\", \"sort\": \"-size\"}"},
        {"queue.show", "{\"id\": \"" Z16 "\"}"},
        {"queue.hold", "{\"id\": \"" Z16 "\"}"},
        {"queue.release", "{\"id\": \"" Z16 "\"}"},
        {"queue.retry", "{\"id\": \"" Z16 "\"}"},
        {"queue.delete", "{\"id\": \"" Z16 "\"}"},
        {"key.list", "{}"},
        {"key.show", "{\"fpr\": \"" F40 "\"}"},
        {"key.export", "{\"fpr\": \"" F40 "\"}"},
        {"key.delete", "{\"fpr\": \"" F40 "\"}"},
        {"key.import", "{\"data\": \"aGVsbG8=\"}"},
        {"key.import-bulk", "{\"data\": \"aGVsbG8=\"}"},
        {"job.list", "{\"limit\": 5}"},
        {"job.show", "{\"id\": \"" Z16 "\"}"},
        {"job.cancel", "{\"id\": \"" Z16 "\"}"},
        {"cert.list", "{}"},
        {"cert.show", "{\"fpr\": \"" F64 "\"}"},
        {"cert.export", "{\"fpr\": \"" F64 "\"}"},
        {"cert.delete", "{\"fpr\": \"" F64 "\"}"},
        {"cert.trust", "{\"fpr\": \"" F64 "\"}"},
        {"cert.untrust", "{\"fpr\": \"" F64 "\"}"},
        {"ca.export", "{}"},
        {"ca.revoke", "{\"fpr\": \"" F64 "\"}"},
        {"policy.show", "{}"},
        {"policy.check", "{}"},
        {"policy.revisions", "{\"limit\": 5}"},
        {"policy.rollback", "{\"rev\": \"999\"}"},
        {"policy.explain", "{\"from\": \"a@example.org\", \"to\": \"b@example.com\", \"subject\": \"hi\"}"},
        {"pdf.reset", "{\"sender\": \"a@example.org\", \"rcpt\": \"b@example.com\"}"},
        /* the secret operations (ops_secret.c): no local CA here, so issue and crl are not_found;
         * an import of bytes that are no certificate is answered with them rejected */
        {"cert.import", "{\"data\": \"aGVsbG8=\", \"name\": \"hello.txt\"}"},
        {"ca.issue", "{\"address\": \"c@example.org\", \"days\": 1}"},
        {"ca.crl", "{\"days\": 1}"},
        {"key.export-secret", "{\"fpr\": \"" F40 "\"}"},
        /* users and groups (ops_users.c): lists, and the others on rows that do not exist */
        {"user.list", "{\"match\": \"example\", \"sort\": \"-created\"}"},
        {"user.show", "{\"address\": \"nobody@example.org\"}"},
        {"user.update", "{\"address\": \"nobody@example.org\", \"name\": \"N\"}"},
        {"user.delete", "{\"address\": \"nobody@example.org\"}"},
        {"group.list", "{\"sort\": \"name\"}"},
        {"group.show", "{\"name\": \"nogroup\"}"},
        {"group.update", "{\"name\": \"nogroup\", \"description\": \"d\"}"},
        {"group.delete", "{\"name\": \"nogroup\"}"},
        {"group.member-add", "{\"name\": \"nogroup\", \"address\": \"nobody@example.org\"}"},
        {"group.member-remove", "{\"name\": \"nogroup\", \"address\": \"nobody@example.org\"}"},
    };
    if (strcmp(op->name, "key.generate") == 0) {
        char addr[64];
        snprintf(addr, sizeof addr, "%s@example.org", name);
        return json_pack("{s:s}", "address", addr);
    }
    if (strcmp(op->name, "admin.add") == 0)
        return json_pack("{s:s, s:s, s:s}", "name", name, "roles", "auditor", "password",
                         "a long enough password");
    if (strcmp(op->name, "account.password") == 0) /* the test accounts' hashes match nothing */
        return json_pack("{s:s, s:s}", "current_password", "not the password", "password",
                         "a long enough password");
    if (strcmp(op->name, "token.create") == 0)
        return json_pack("{s:s, s:s}", "roles", role_name, "label", name);
    if (strcmp(op->name, "user.create") == 0 || strcmp(op->name, "group.create") == 0) {
        char v[64];
        snprintf(v, sizeof v, strcmp(op->name, "user.create") == 0 ? "%s@example.org" : "%s", name);
        return json_pack("{s:s}", op->name[0] == 'u' ? "address" : "name", v);
    }
    if (strcmp(op->name, "policy.load") == 0)
        return json_pack("{s:s, s:s}", "text", sg_policy_default_text, "source", "test");
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcmp(fixed[i].op, op->name) == 0)
            return json_loads(fixed[i].json, 0, NULL);
    return NULL;
}

/* Everything a call could change, as text: every table but the audit log, and the spool. */
static void walk(const char *dir, FILE *out)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        fprintf(out, "%s\n", p);
        if (de->d_type == DT_DIR)
            walk(p, out);
    }
    if (d)
        closedir(d);
}

static char *snapshot(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    sqlite3_stmt *t = NULL, *rows = NULL;
    sqlite3_prepare_v2(side_db,
                       /* audit_log: every audit event is also a leaf of the tamper-evident log */
                       "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN"
                       " ('audit_events', 'audit_log', 'sqlite_sequence') ORDER BY name",
                       -1, &t, NULL);
    while (t && sqlite3_step(t) == SQLITE_ROW) {
        char sql[200];
        snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" ORDER BY 1", sqlite3_column_text(t, 0));
        fprintf(out, "[%s]\n", sqlite3_column_text(t, 0));
        if (sqlite3_prepare_v2(side_db, sql, -1, &rows, NULL) != SQLITE_OK)
            fprintf(out, "unreadable\n");
        while (rows && sqlite3_step(rows) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(rows); c++)
                fprintf(out, "%s|",
                        sqlite3_column_text(rows, c) ? (const char *)sqlite3_column_text(rows, c) : "NULL");
            fputc('\n', out);
        }
        sqlite3_finalize(rows);
        rows = NULL;
    }
    sqlite3_finalize(t);
    walk(spool, out);
    fclose(out);
    return buf;
}

static int64_t audit_count(void)
{
    int64_t n = -1;
    sg_store_audit_filter f = {0};
    sg_store_audit_count(st, &f, &n);
    return n;
}

static sg_store_audit last_event(void)
{
    sg_store_audit e, *list = NULL;
    size_t n = 0;
    sg_store_audit_filter f = {.limit = 1};
    memset(&e, 0, sizeof e);
    if (sg_store_audit_list(st, &f, &list, &n) == 0 && n == 1)
        e = list[0];
    free(list);
    return e;
}

static void ctx_for(sg_op_ctx *ctx, const char *actor, uint32_t roles)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->cfg = &cfg;
    ctx->store = st;
    ctx->actor = actor;
    ctx->roles = roles;
    ctx->client = "192.0.2.7";
    ctx->via = SG_VIA_API;
}

static void table(void)
{
    int dup = 0, route = 0, paths = 0, complete = 0, ro = 0, found = 0;
    for (size_t i = 0; i < sg_ops_count; i++) {
        const sg_op *a = &sg_ops[i];
        for (size_t j = i + 1; j < sg_ops_count; j++) {
            const sg_op *b = &sg_ops[j];
            dup += strcmp(a->name, b->name) == 0;
            route += strcmp(a->method, b->method) == 0 && strcmp(a->path, b->path) == 0;
            int same = a->cli[0] && b->cli[0];
            for (int k = 0; same && k < 4 && (a->cli[k] || b->cli[k]); k++)
                same = a->cli[k] && b->cli[k] && strcmp(a->cli[k], b->cli[k]) == 0;
            if (same) {
                dup++;
                printf("# CLI words of %s and %s are the same\n", a->name, b->name);
            }
        }
        /* {x} in the path <=> a path argument x */
        int in_path = 0, path_args = 0;
        for (const sg_op_arg *g = a->args; g->name; g++) {
            char brace[80];
            snprintf(brace, sizeof brace, "{%s}", g->name);
            if (g->from == SG_FROM_PATH) {
                path_args++;
                in_path += strstr(a->path, brace) != NULL && g->required;
            }
        }
        int braces = 0;
        for (const char *c = a->path; *c; c++)
            braces += *c == '{';
        if (in_path != path_args || braces != path_args) {
            paths++;
            printf("# %s: path %s and its path arguments differ\n", a->name, a->path);
        }
        if (!a->handler || !a->summary || !a->audit || !a->args || !a->cli[0] ||
            strncmp(a->path, "/api/v1/", 8) != 0) {
            complete++;
            printf("# %s: incomplete entry\n", a->name);
        }
        if ((strcmp(a->method, "GET") == 0) != a->read_only && strcmp(a->name, "policy.check") != 0 &&
            strcmp(a->name, "policy.explain") != 0) {
            ro++;
            printf("# %s: %s but read_only=%d\n", a->name, a->method, a->read_only);
        }
        /* The route of an example path finds the entry, with its path arguments. */
        char path[300] = "";
        for (const char *c = a->path; *c;) {
            if (*c == '{') {
                strcat(path, "x1");
                c = strchr(c, '}') + 1;
            } else {
                strncat(path, c++, 1);
            }
        }
        json_t *pa = json_object();
        bool known = false;
        const sg_op *hit = sg_op_find_route(a->method, path, pa, NULL);
        found += hit == a && json_object_size(pa) == (size_t)path_args &&
                 !sg_op_find_route("PATCH", path, NULL, &known) && known;
        json_decref(pa);
    }
    CHECK(dup == 0 && route == 0, "table: operation names, REST routes and CLI words are unique");
    CHECK(paths == 0, "table: every {x} in a path is a required path argument and the reverse");
    CHECK(complete == 0,
          "table: every entry has a handler, summary, audit name, CLI words and an /api/v1 path");
    CHECK(ro == 0,
          "table: GET exactly for read-only operations (but policy check/explain, which take bodies)");
    CHECK(found == (int)sg_ops_count,
          "routes: every path template finds its entry (%d of %zu), another method 405", found, sg_ops_count);
    CHECK(!sg_op_find_route("GET", "/api/v1/queue/a/b/c", NULL, NULL) &&
              !sg_op_find_route("GET", "/api/v1", NULL, NULL),
          "routes: unknown paths find nothing");
    /* audit.list's result filter offers exactly the result names events are written with. */
    const sg_op_arg *res = sg_op_find("audit.list")->args;
    while (res->name && strcmp(res->name, "result") != 0)
        res++;
    int codes = 0;
    for (int c = 0; res->choices && res->choices[c]; c++)
        codes += sg_op_code_parse(res->choices[c]) == c;
    CHECK(res->choices && codes == SG_OP_CODE_COUNT && !res->choices[SG_OP_CODE_COUNT],
          "audit.list: its result choices are the error code names, in order");

    /* The CLI, both ways. */
    int missing = 0, stray = 0;
    for (size_t i = 0; i < sg_ops_count; i++) {
        bool served = false, listed = false;
        for (size_t k = 0; k < sg_cli_verbs_count; k++)
            served |= strcmp(sg_cli_verbs[k].op, sg_ops[i].name) == 0;
        for (int k = 0; cli_not_converted[k]; k++)
            listed |= strcmp(cli_not_converted[k], sg_ops[i].name) == 0;
        if (served == listed) {
            missing++;
            printf("# %s: %s\n", sg_ops[i].name,
                   served ? "served by the CLI and still listed as not converted" : "no CLI handler");
        }
    }
    for (size_t k = 0; k < sg_cli_verbs_count; k++) {
        const sg_op *op = sg_op_find(sg_cli_verbs[k].op);
        size_t used = 0;
        for (int j = 0; op && j < 3 && sg_cli_verbs[k].positional[j]; j++) {
            const sg_op_arg *g = op->args;
            while (g->name && strcmp(g->name, sg_cli_verbs[k].positional[j]) != 0)
                g++;
            if (!g->name) {
                stray++;
                printf("# CLI verb %s: positional word %s is no argument of the operation\n", op->name,
                       sg_cli_verbs[k].positional[j]);
            }
        }
        if (!op || sg_op_find_cli(op->cli, 4, &used) != op ||
            !sg_cli_serves(2, (char *[]){(char *)op->cli[0], (char *)(op->cli[1] ? op->cli[1] : "")})) {
            stray++;
            printf("# CLI verb %s is not (or not reachable) in the table\n", sg_cli_verbs[k].op);
        }
    }
    CHECK(missing == 0, "CLI: every table verb has a CLI handler or is listed as not converted (%d wrong)",
          missing);
    CHECK(stray == 0,
          "CLI: every verb the CLI serves through the table is in the table, reachable by its words, "
          "its positional words arguments of the operation");
}

/* The queue operations on real spool files: filters, sort, pages, show without the body,
 * moves. */
static void queue_ops(void)
{
    sg_queue q;
    char ids[3][SG_QID_MAX];
    static const char *const bodies[] = {"Subject: a\r\n\r\nsmall\r\n",
                                         "Subject: b\r\n\r\na larger body here\r\n",
                                         "Subject: c\r\n\r\nmiddle body\r\n"};
    int made = sg_queue_open(&q, spool, "test", false) == 0;
    for (int i = 0; made && i < 3; i++) {
        sg_envelope e;
        sg_env_init(&e);
        sg_queue_new_id(ids[i]);
        e.created = 1000 + i;
        sg_env_set(&e.from, i == 1 ? "boss@example.org" : "s@example.org");
        sg_env_add_rcpt(&e, i == 2 ? "x@other.example" : "u@demo.test", NULL, NULL);
        made &= sg_queue_write(&q, SG_Q_HOLD, ids[i], &e, bodies[i], strlen(bodies[i])) == 0;
        sg_env_free(&e);
    }
    if (made)
        sg_queue_close(&q);
    CHECK(made, "queue: three held messages written");
    sg_op_ctx ctx;
    sg_op_error err;
    json_t *res = NULL, *a;
    ctx_for(&ctx, "system-operator", SG_ROLE_SYSTEM);
    ctx.now = 2000;
    a = json_pack("{s:s, s:s}", "state", "hold", "sort", "size");
    json_t *items =
        sg_admin_call(&ctx, "queue.list", a, &res, &err) == 0 ? json_object_get(res, "items") : NULL;
    CHECK(json_array_size(items) == 3 &&
              strcmp(json_string_value(json_object_get(json_array_get(items, 0), "id")), ids[0]) == 0 &&
              strcmp(json_string_value(json_object_get(json_array_get(items, 2), "id")), ids[1]) == 0 &&
              json_integer_value(json_object_get(json_array_get(items, 0), "age")) == 1000,
          "queue.list sort=size: smallest first, with ages");
    json_decref(res);
    json_decref(a);
    a = json_pack("{s:s, s:i, s:i}", "sort", "-size", "limit", 1, "offset", 1);
    items = sg_admin_call(&ctx, "queue.list", a, &res, &err) == 0 ? json_object_get(res, "items") : NULL;
    CHECK(json_array_size(items) == 1 && json_integer_value(json_object_get(res, "total")) == 3 &&
              strcmp(json_string_value(json_object_get(json_array_get(items, 0), "id")), ids[2]) == 0,
          "queue.list sort=-size limit=1 offset=1: the middle one, total 3");
    json_decref(res);
    json_decref(a);
    a = json_pack("{s:s, s:s}", "recipient", "other.example", "sort", "age");
    items = sg_admin_call(&ctx, "queue.list", a, &res, &err) == 0 ? json_object_get(res, "items") : NULL;
    CHECK(json_array_size(items) == 1 && json_integer_value(json_object_get(res, "total")) == 1,
          "queue.list filters by recipient");
    json_decref(res);
    json_decref(a);
    a = json_pack("{s:s, s:i}", "sender", "boss@", "min_age", 999);
    items = sg_admin_call(&ctx, "queue.list", a, &res, &err) == 0 ? json_object_get(res, "items") : NULL;
    CHECK(json_array_size(items) == 1, "queue.list filters by sender and age");
    json_decref(res);
    json_decref(a);
    a = json_pack("{s:s}", "id", ids[1]);
    char *dump = sg_admin_call(&ctx, "queue.show", a, &res, &err) == 0 ? json_dumps(res, 0) : NULL;
    CHECK(dump && strcmp(json_string_value(json_object_get(res, "headers")), "Subject: b\r\n") == 0 &&
              !strstr(dump, "larger body"),
          "queue.show: the header section, not the body");
    free(dump);
    json_decref(res);
    CHECK(sg_admin_call(&ctx, "queue.release", a, &res, &err) == 0 &&
              sg_queue_open(&q, spool, "test", false) == 0 && sg_queue_find(&q, ids[1]) == SG_Q_INCOMING,
          "queue.release: hold -> incoming");
    sg_queue_close(&q);
    json_decref(res);
    CHECK(sg_admin_call(&ctx, "queue.release", a, &res, &err) == -1 && err.code == SG_OP_CONFLICT,
          "queue.release of a message not held: conflict (%s)", err.message);
    json_decref(a);
    for (int i = 0; i < 3; i++) {
        a = json_pack("{s:s}", "id", ids[i]);
        sg_admin_call(&ctx, "queue.delete", a, &res, &err);
        json_decref(res);
        json_decref(a);
    }

    /* A state this process may not read is named in the answer, never a silent gap: in a
     * child that is not root (as root, dropped to nobody), with deferred/ closed to it. */
    char deferred[400], path[400];
    for (int s = SG_Q_INCOMING; s < SG_Q_NSTATES; s++) {
        snprintf(path, sizeof path, "%s/%s", spool, sg_qstate_name(s));
        chmod(path, 0755);
    }
    snprintf(deferred, sizeof deferred, "%s/deferred", spool);
    chmod(deferred, 0700);
    for (const char *p = spool; p; p = NULL) /* the way down to the spool open to the child */
        for (snprintf(path, sizeof path, "%s", p); strlen(path) > 5; *strrchr(path, '/') = '\0')
            chmod(path, 0755);
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(3);
        ctx_for(&ctx, "system-operator", SG_ROLE_SYSTEM);
        a = json_object();
        int ok = sg_op_queue_list(&ctx, a, &res, &err) == 0 &&
                 json_array_size(json_object_get(res, "unreadable_states")) == 1 &&
                 strcmp(json_string_value(json_array_get(json_object_get(res, "unreadable_states"), 0)),
                        "deferred") == 0;
        if (!ok) {
            char *d = res ? json_dumps(json_object_get(res, "unreadable_states"), 0) : NULL;
            printf("# the child saw unreadable_states %s (%s)\n", d ? d : "-", res ? "" : err.message);
            free(d);
            fflush(stdout);
        }
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    chmod(deferred, 0770);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "queue.list names a state the caller cannot read (unreadable_states), status %d", status);
}

static void matrix(void)
{
    /* One account per role, so handlers that act on "one's own" find the caller. */
    for (int r = 0; r < SG_ROLE_COUNT; r++) {
        sg_store_account a = {.roles = sg_role_bit(r), .created = 1};
        snprintf(a.name, sizeof a.name, "%s", sg_role_name(sg_role_bit(r)));
        snprintf(a.hash, sizeof a.hash, "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA");
        sg_store_admin_account_add(st, &a);
    }
    int cells = 0, denied = 0, denied_bad = 0, allowed_bad = 0, events_bad = 0, nofixture = 0, n = 0;
    for (int r = -1; r < SG_ROLE_COUNT; r++) {
        uint32_t role = r < 0 ? 0 : sg_role_bit(r);
        const char *rname = r < 0 ? "none" : sg_role_name(role);
        for (size_t i = 0; i < sg_ops_count; i++) {
            const sg_op *op = &sg_ops[i];
            json_t *args = args_for(op, rname, n++), *res = NULL;
            if (!args) {
                nofixture++;
                printf("# no arguments for %s in this test\n", op->name);
                continue;
            }
            /* SG_RUN_LOCAL (secret-key export) is the CLI's alone: through this front end (the
             * API) every role is refused. */
            bool expect = op->where != SG_RUN_LOCAL && (role == SG_ROLE_ADMIN ||
                                                        (role == SG_ROLE_AUDITOR && op->read_only) ||
                                                        (op->roles & role));
            sg_op_ctx ctx;
            ctx_for(&ctx, rname, role);
            char *before = expect ? NULL : snapshot();
            int64_t events = audit_count();
            sg_op_error err;
            /* The operations that ask for the password again count wrong ones per client address
             * (auth.h): every cell starts with a clean slate. */
            sg_auth_throttle_reset();
            int rc = sg_admin_call(&ctx, op->name, args, &res, &err);
            /* A bulk import runs on a thread of its own: the next cell's snapshot waits for it. */
            for (int w = 0; w < 1000 && sg_jobs_running() > 0; w++)
                usleep(10000);
            sg_store_audit e = last_event();
            cells++;
            if (!expect) {
                denied++;
                char *after = snapshot();
                if (rc != -1 || err.code != SG_OP_FORBIDDEN || res || strcmp(before, after) != 0) {
                    denied_bad++;
                    printf("# %s as %s: rc %d code %s, %s\n", op->name, rname, rc, sg_op_code_name(err.code),
                           strcmp(before, after) ? "the store or spool changed" : "nothing changed");
                }
                free(after);
            } else if (!(rc == 0 && res) && !(rc == -1 && err.code == SG_OP_NOT_FOUND) &&
                       !(rc == -1 && err.code == SG_OP_UNAUTHENTICATED &&
                         (strcmp(op->name, "account.password") == 0 ||
                          strcmp(op->name, "account.totp-enrol") == 0 ||
                          strcmp(op->name, "account.totp-disable") == 0)) &&
                       !(rc == -1 && err.code == SG_OP_CONFLICT && strcmp(op->name, "account.totp-confirm") == 0)) {
                allowed_bad++;
                printf("# %s as %s: rc %d code %s: %s\n", op->name, rname, rc, sg_op_code_name(err.code),
                       err.message);
            }
            const char *want = rc == 0 ? "ok" : sg_op_code_name(err.code);
            if (audit_count() != events + 1 || strcmp(e.op, op->audit) != 0 || strcmp(e.actor, rname) != 0 ||
                strcmp(e.result, want) != 0 || e.roles != role || strcmp(e.client, "192.0.2.7") != 0) {
                events_bad++;
                printf("# %s as %s: audit events %lld -> %lld, last %s/%s/%s\n", op->name, rname,
                       (long long)events, (long long)audit_count(), e.op, e.actor, e.result);
            }
            free(before);
            json_decref(args);
            json_decref(res);
        }
    }
    CHECK(nofixture == 0, "matrix: the test has arguments for every operation of the table");
    CHECK(denied > 0 && denied_bad == 0,
          "matrix: all %d denied cells (of %d) answer forbidden and change nothing in the store or the spool",
          denied, cells);
    CHECK(allowed_bad == 0,
          "matrix: all %d allowed cells are admitted and run (ok, not_found for an absent object, "
          "unauthenticated "
          "for a wrong current password)",
          cells - denied);
    CHECK(events_bad == 0, "matrix: every one of the %d calls wrote exactly one audit event with its outcome",
          cells);

    /* A few cells said in words, independent of the formula above. */
    sg_op_ctx ctx;
    json_t *res = NULL;
    sg_op_error err;
    json_t *a = json_pack("{s:s}", "id", Z16);
    ctx_for(&ctx, "auditor", SG_ROLE_AUDITOR);
    CHECK(sg_admin_call(&ctx, "queue.release", a, &res, &err) == -1 && err.code == SG_OP_FORBIDDEN,
          "an Auditor cannot release a message");
    ctx_for(&ctx, "policy-operator", SG_ROLE_POLICY);
    CHECK(sg_admin_call(&ctx, "queue.release", a, &res, &err) == -1 && err.code == SG_OP_FORBIDDEN,
          "a Policy Operator cannot release a message");
    ctx_for(&ctx, "system-operator", SG_ROLE_SYSTEM);
    CHECK(sg_admin_call(&ctx, "queue.release", a, &res, &err) == -1 && err.code == SG_OP_NOT_FOUND,
          "a System Operator can (here: no such message)");
    json_decref(a);
    ctx_for(&ctx, "system-operator", SG_ROLE_SYSTEM | 0x80000000u);
    CHECK(sg_admin_call(&ctx, "admin.list", NULL, &res, &err) == -1 && err.code == SG_OP_FORBIDDEN,
          "an unknown role bit grants nothing");
}

static void arguments(void)
{
    sg_op_ctx ctx;
    json_t *res = NULL;
    sg_op_error err;
    ctx_for(&ctx, "administrator", SG_ROLE_ADMIN);
    static const struct {
        const char *op, *json, *field;
    } bad[] = {
        {"admin.add", "{\"roles\": \"auditor\"}", "name"},
        {"admin.add", "{\"name\": 5, \"roles\": \"auditor\"}", "name"},
        {"admin.add", "{\"name\": \"\", \"roles\": \"auditor\"}", "name"},
        {"admin.add", "{\"name\": \"x\", \"roles\": \"auditor\", \"bogus\": 1}", "bogus"},
        {"admin.add", "{\"name\": \"x\", \"roles\": \"wizard\"}", "roles"},
        {"admin.add", "{\"name\": \"x y\", \"roles\": \"auditor\"}", "name"},
        {"admin.add", "{\"name\": \"x\", \"roles\": \"auditor\", \"password\": \"short\"}", "password"},
        {"audit.list", "{\"limit\": 0}", "limit"},
        {"audit.list", "{\"limit\": 1001}", "limit"},
        {"audit.list", "{\"limit\": \"5\"}", "limit"},
        {"audit.list", "{\"since\": -1}", "since"},
        {"queue.list", "{\"state\": \"nowhere\"}", "state"},
        {"queue.show", "{\"id\": \"../../etc/passwd\"}", "id"},
        {"key.export", "{\"fpr\": \"" F40 "\", \"binary\": \"yes\"}", "binary"},
        {"policy.explain", "{\"from\": \"a@b\", \"to\": \"c@d\", \"message\": \"not base64!\"}", "message"},
        {"policy.load", "{\"text\": \"this is not a policy {\"}", "text"},
        {"key.show", "{\"fpr\": \"" F64 F64 "\"}", "fpr"},
        {"ca.revoke", "{\"fpr\": \"not-a-fingerprint\"}", "fpr"},
    };
    int wrong = 0;
    char *before = snapshot();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *a = json_loads(bad[i].json, 0, NULL);
        int64_t events = audit_count();
        int rc = sg_admin_call(&ctx, bad[i].op, a, &res, &err);
        sg_store_audit e = last_event();
        if (rc != -1 || err.code != SG_OP_INVALID_ARGUMENT || strcmp(err.field, bad[i].field) != 0 || res ||
            audit_count() != events + 1 || strcmp(e.result, "invalid_argument") != 0) {
            wrong++;
            printf("# %s %s: rc %d code %s field '%s' (%s)\n", bad[i].op, bad[i].json, rc,
                   sg_op_code_name(err.code), err.field, err.message);
        }
        json_decref(a);
    }
    char *after = snapshot();
    CHECK(wrong == 0,
          "invalid arguments: %zu kinds refused as invalid_argument naming the field, one event each",
          sizeof bad / sizeof bad[0]);
    CHECK(strcmp(before, after) == 0, "invalid arguments changed nothing");
    free(before);
    free(after);
    json_t *notobj = json_pack("[i]", 1);
    CHECK(sg_admin_call(&ctx, "admin.list", notobj, &res, &err) == -1 && err.code == SG_OP_INVALID_ARGUMENT,
          "arguments that are not an object are refused");
    json_decref(notobj);
    json_t *a = json_loads("{\"bogus\": 1}", 0, NULL);
    ctx_for(&ctx, "auditor", SG_ROLE_AUDITOR);
    CHECK(sg_admin_call(&ctx, "queue.delete", a, &res, &err) == -1 && err.code == SG_OP_FORBIDDEN,
          "permission comes first: a denied call with bad arguments is forbidden, not invalid");
    json_decref(a);
    int64_t events = audit_count();
    CHECK(sg_admin_call(&ctx, "no.such.op", NULL, &res, &err) == -1 && err.code == SG_OP_NOT_FOUND &&
              audit_count() == events + 1 && strcmp(last_event().op, "no.such.op") == 0,
          "an unknown operation is not_found, and recorded too");

    /* From strings, as the query string and the CLI give them. */
    const sg_op *op = sg_op_find("audit.list");
    const char *names[] = {"limit", "since"}, *vals[] = {"5", "12"}, *badv[] = {"5x", "1"};
    json_t *got = NULL;
    CHECK(sg_op_args_from_strings(op, names, vals, 2, &got, &err) == 0 &&
              json_integer_value(json_object_get(got, "limit")) == 5 && sg_op_validate(op, got, &err) == 0,
          "from strings: typed by the table");
    json_decref(got);
    CHECK(sg_op_args_from_strings(op, names, badv, 2, &got, &err) == -1 && strcmp(err.field, "limit") == 0,
          "from strings: a bad integer names its field");
    const char *bn[] = {"fpr", "binary"}, *bv[] = {F40, "on"};
    CHECK(sg_op_args_from_strings(sg_op_find("key.export"), bn, bv, 2, &got, &err) == 0 &&
              json_is_true(json_object_get(got, "binary")),
          "from strings: a bool");
    json_decref(got);
    json_t *b = json_object();
    uint8_t *out = NULL;
    size_t len = 0;
    CHECK(sg_op_args_set_bytes(b, "message", (const uint8_t *)"a\0b", 3) == 0 &&
              sg_op_arg_bytes(b, "message", &out, &len) == 0 && len == 3 && memcmp(out, "a\0b", 3) == 0,
          "bytes: base64 both ways, NUL and all");
    free(out);
    json_decref(b);
}

static void own_objects(void)
{
    sg_op_ctx ctx;
    json_t *res = NULL, *a;
    sg_op_error err;
    ctx_for(&ctx, "system-operator", SG_ROLE_SYSTEM);
    a = json_pack("{s:s}", "roles", "system-operator");
    CHECK(sg_admin_call(&ctx, "token.create", a, &res, &err) == 0,
          "an operator creates a token of their own");
    char id[32];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(res, "id")));
    json_decref(res);
    json_decref(a);
    a = json_pack("{s:s, s:s}", "roles", "system-operator", "owner", "ca-operator");
    CHECK(sg_admin_call(&ctx, "token.create", a, &res, &err) == -1 && err.code == SG_OP_FORBIDDEN,
          "... but not for another account");
    json_decref(a);
    a = json_pack("{s:s}", "roles", "administrator");
    CHECK(sg_admin_call(&ctx, "token.create", a, &res, &err) == -1 && err.code == SG_OP_FORBIDDEN,
          "... nor with roles the operator does not hold");
    json_decref(a);
    a = json_pack("{s:s}", "owner", "administrator");
    CHECK(sg_admin_call(&ctx, "token.list", a, &res, &err) == -1 && err.code == SG_OP_FORBIDDEN,
          "an operator cannot list another account's tokens");
    json_decref(a);
    ctx_for(&ctx, "ca-operator", SG_ROLE_CA);
    a = json_pack("{s:s}", "id", id);
    CHECK(sg_admin_call(&ctx, "token.revoke", a, &res, &err) == -1 && err.code == SG_OP_NOT_FOUND,
          "another operator's token is not_found to them");
    ctx_for(&ctx, "auditor", SG_ROLE_AUDITOR);
    json_t *all = NULL;
    CHECK(sg_admin_call(&ctx, "token.list", NULL, &all, &err) == 0 &&
              json_integer_value(json_object_get(all, "total")) >= 1,
          "an Auditor sees everyone's tokens");
    json_decref(all);
    ctx_for(&ctx, "administrator", SG_ROLE_ADMIN);
    CHECK(sg_admin_call(&ctx, "token.revoke", a, &res, &err) == 0, "an Administrator revokes anyone's token");
    json_decref(res);
    json_decref(a);

    /* Lists sort and page. */
    ctx_for(&ctx, "administrator", SG_ROLE_ADMIN);
    json_t *asc = NULL, *desc = NULL, *page = NULL;
    json_t *q1 = json_pack("{s:s}", "sort", "name"), *q2 = json_pack("{s:s}", "sort", "-name"),
           *q3 = json_pack("{s:s, s:i, s:i}", "sort", "name", "limit", 2, "offset", 1);
    int sorted = sg_admin_call(&ctx, "admin.list", q1, &asc, &err) == 0 &&
                 sg_admin_call(&ctx, "admin.list", q2, &desc, &err) == 0 &&
                 sg_admin_call(&ctx, "admin.list", q3, &page, &err) == 0;
    json_t *ia = json_object_get(asc, "items"), *idesc = json_object_get(desc, "items"),
           *ip = json_object_get(page, "items");
    size_t na = json_array_size(ia);
    for (size_t i = 0; sorted && i + 1 < na; i++)
        sorted = strcmp(json_string_value(json_object_get(json_array_get(ia, i), "name")),
                        json_string_value(json_object_get(json_array_get(ia, i + 1), "name"))) < 0 &&
                 json_equal(json_array_get(ia, i), json_array_get(idesc, na - 1 - i));
    CHECK(sorted && na > 3 && json_array_size(ip) == 2 &&
              json_equal(json_array_get(ip, 0), json_array_get(ia, 1)) &&
              json_integer_value(json_object_get(page, "total")) == (json_int_t)na,
          "admin.list: sort=name ascending, -name the reverse, a page of the sorted list with the total");
    json_decref(asc);
    json_decref(desc);
    json_decref(page);
    json_decref(q1);
    json_decref(q2);
    json_decref(q3);

    /* The last Administrator stays. */
    sg_store_account *list;
    size_t n;
    sg_store_admin_account_list(st, &list, &n);
    for (size_t i = 0; i < n; i++)
        if ((list[i].roles & SG_ROLE_ADMIN) && strcmp(list[i].name, "administrator") != 0)
            sg_store_admin_account_delete(st, list[i].name);
    free(list);
    a = json_pack("{s:s}", "name", "administrator");
    CHECK(sg_admin_call(&ctx, "admin.delete", a, &res, &err) == -1 && err.code == SG_OP_CONFLICT,
          "the last Administrator cannot be deleted (%s)", err.message);
    json_decref(a);
    a = json_pack("{s:s, s:s}", "name", "administrator", "roles", "auditor");
    CHECK(sg_admin_call(&ctx, "admin.set-roles", a, &res, &err) == -1 && err.code == SG_OP_CONFLICT,
          "... nor lose the role");
    json_decref(a);
    a = json_pack("{s:s, s:s}", "name", "auditor", "roles", "administrator,auditor");
    CHECK(sg_admin_call(&ctx, "admin.set-roles", a, &res, &err) == 0, "with a second Administrator ...");
    json_decref(res);
    json_decref(a);
    a = json_pack("{s:s}", "name", "administrator");
    CHECK(sg_admin_call(&ctx, "admin.delete", a, &res, &err) == 0, "... the first can go");
    json_decref(res);
    json_decref(a);

    /* One's own password: the current one is asked, sessions end. */
    sg_store_account me = {.roles = SG_ROLE_AUDITOR, .created = 1};
    snprintf(me.name, sizeof me.name, "selfie");
    char sid[SG_SESSION_ID_HEX + 1];
    sg_store_session sx;
    CHECK(sg_auth_hash("the first password", me.hash, sizeof me.hash, &err) == 0 &&
              sg_store_admin_account_add(st, &me) == 0 &&
              sg_auth_session_create(st, "selfie", "192.0.2.7", 100, NULL, sid, &sx, &err) == 0,
          "an Auditor account with a session");
    ctx_for(&ctx, "selfie", SG_ROLE_AUDITOR);
    a = json_pack("{s:s, s:s}", "current_password", "not the first one", "password", "the second password");
    CHECK(sg_admin_call(&ctx, "account.password", a, &res, &err) == -1 && err.code == SG_OP_UNAUTHENTICATED,
          "account.password: a wrong current password is refused");
    json_decref(a);
    /* A one-time password: nothing but account.password runs, and the same password again is no
     * change. */
    sg_store_admin_account_set_must_change(st, "selfie", true);
    ctx.must_change = true;
    CHECK(sg_admin_call(&ctx, "version", NULL, &res, &err) == -1 && err.code == SG_OP_PASSWORD_CHANGE &&
              sg_op_code_http(err.code) == 403 && strcmp(sg_op_code_name(err.code), "password_change_required") == 0,
          "must_change: any other operation answers password_change_required (403)");
    a = json_pack("{s:s, s:s}", "current_password", "the first password", "password", "the first password");
    CHECK(sg_admin_call(&ctx, "account.password", a, &res, &err) == -1 && err.code == SG_OP_INVALID_ARGUMENT &&
              strcmp(err.field, "password") == 0,
          "account.password: the same password again is refused");
    json_decref(a);
    a = json_pack("{s:s, s:s}", "current_password", "the first password", "password", "the second password");
    CHECK(sg_admin_call(&ctx, "account.password", a, &res, &err) == 0 &&
              sg_store_admin_account_get(st, "selfie", &me) == 0 && !me.must_change &&
              sg_store_admin_account_get(st, "selfie", &me) == 0 &&
              sg_auth_verify_hash(me.hash, "the second password") == 0 &&
              sg_store_admin_session_get(st, sx.id_hash, &sx) == 1,
          "account.password: with the right one it changes, and the account's sessions end");
    json_decref(res);
    json_decref(a);

    /* A failed audit write is logged, and the call's answer stands. */
    sqlite3_exec(side_db, "DROP TABLE audit_events", NULL, NULL, NULL);
    ctx_for(&ctx, "auditor", SG_ROLE_AUDITOR);
    CHECK(sg_admin_call(&ctx, "version", NULL, &res, &err) == 0 &&
              sg_audit_event(st, "x", 0, "version", "", "ok", "local", "") == -1,
          "without an audit table the event is refused (and logged); the read still answers");
    json_decref(res);
}

/* A key's provenance that cannot be read fails key.show and key.list: a store error is never
 * shown as a trust level. The key is a row whose bytes are no key: key.list reads no key
 * material, key.show (its subkeys) does and fails on them. */
static void key_provenance(void)
{
    sg_store_pgp_key k = {.fpr = "B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0", .keyid = "B0B0B0B0B0B0B0B0",
                          .alg = "EDDSA", .bits = 255, .created = 1, .valid_until = INT64_MAX, .can_sign = true};
    static const uint8_t pub[] = {0x99};
    CHECK(sg_store_begin(st) == 0 && sg_store_pgp_put_key(st, &k, pub, sizeof pub, 1) == 0 && sg_store_commit(st) == 0,
          "provenance: a key row");
    sg_op_ctx ctx;
    ctx_for(&ctx, "admin", SG_ROLE_ADMIN);
    json_t *a = json_pack("{s:s}", "fpr", k.fpr), *res = NULL;
    sg_op_error err = {0};
    CHECK(sg_admin_call(&ctx, "key.list", NULL, &res, &err) == 0 &&
              strcmp(json_string_value(json_object_get(json_array_get(json_object_get(res, "items"), 0), "trust")),
                     "verified") == 0,
          "provenance: no row, an imported key: verified");
    json_decref(res);
    res = NULL;
    CHECK(sg_admin_call(&ctx, "key.show", a, &res, &err) == -1 && err.code == SG_OP_INTERNAL && !res &&
              strstr(err.message, "does not parse"),
          "key.show: a stored key whose bytes do not parse fails, no subkeys made up (%s)", err.message);
    CHECK(sqlite3_exec(side_db, "ALTER TABLE pgp_provenance RENAME TO pgp_provenance_away", NULL, NULL, NULL) ==
              SQLITE_OK,
          "provenance: its table taken away");
    CHECK(sg_admin_call(&ctx, "key.show", a, &res, &err) == -1 && err.code == SG_OP_INTERNAL && !res &&
              strstr(err.message, "provenance"),
          "provenance: key.show fails on the store error, it shows no trust level (%s)", err.message);
    CHECK(sg_admin_call(&ctx, "key.list", NULL, &res, &err) == -1 && err.code == SG_OP_INTERNAL && !res,
          "provenance: key.list fails too (%s)", err.message);
    sqlite3_exec(side_db, "ALTER TABLE pgp_provenance_away RENAME TO pgp_provenance", NULL, NULL, NULL);
    CHECK(sg_admin_call(&ctx, "key.delete", a, &res, &err) == 0, "provenance: the table back, the key deleted");
    json_decref(res);
    json_decref(a);
}

int main(void)
{
    char dir[] = "/tmp/sg-test-admin-ops-XXXXXX", conf[300], err[600] = "";
    if (!mkdtemp(dir))
        return 1;
    snprintf(conf, sizeof conf, "%s/sealgate.conf", dir);
    FILE *f = fopen(conf, "w");
    if (f) {
        fprintf(f, "base_dir = \"%s/run\";\n", dir);
        fclose(f);
    }
    sg_auth_set_params(&(sg_argon2_params){1, 64, 1}); /* cheap: the cost is not tested here */
    CHECK(sg_config_load(&cfg, conf, err, sizeof err) == 0, "configuration loaded (%s)", err);
    snprintf(store_path, sizeof store_path, "%s", cfg.store_path);
    snprintf(spool, sizeof spool, "%s", cfg.spool_dir);
    sg_queue q;
    CHECK(sg_queue_open(&q, spool, "test", true) == 0, "spool made");
    sg_queue_close(&q);
    st = sg_store_open(store_path, err, sizeof err);
    CHECK(st && side_open(store_path), "store opened (%s)", err);
    if (!st || !side_db)
        return CHECK_DONE();
    table();
    queue_ops();
    matrix();
    arguments();
    key_provenance();
    own_objects();
    side_close();
    sg_store_close(st);
    sg_config_free(&cfg);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
