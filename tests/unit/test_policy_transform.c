/* test_policy_transform.c - cryptd's policy transform on whole messages, with a real store:
 * partial holds with the original bytes, notices to the sender (MAIL FROM <>), archive copies,
 * header and subject edits, return and delete, stamps from outside removed, reload refusing a
 * broken revision, a store error deferring the message. No recipient has a key here, so the results do not depend on which engines
 * are built in. Owner: src/policy. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "store_side.h"
#include "policy/transform_policy.h"
#include "keys/certstore.h"
#include "keys/keystore.h"
#include "lib/config.h"
#include "policy/policy.h"
#include "policy/pstore.h"
#include "store/store.h"

static sg_store *st;

static const char MSG[] = "From: Alice <alice@demo.test>\r\n"
                          "To: bob@x.example, carol@demo.test\r\n"
                          "Subject: Offer [encrypt] today\r\n"
                          "X-Sealgate-Decryption: full\r\n"
                          "X-Drop: me\r\n"
                          "Message-ID: <m1@demo.test>\r\n"
                          "\r\n"
                          "Hello.\r\n";

static void envelope(sg_envelope *e, const char *from, const char *const *rcpts)
{
    sg_env_init(e);
    snprintf(e->id, sizeof e->id, "0123456789abcdef");
    sg_env_set(&e->from, from);
    for (size_t i = 0; rcpts[i]; i++)
        sg_env_add_rcpt(e, rcpts[i], NULL, NULL);
}

static int load(const char *text)
{
    char err[256];
    long long rev;
    if (sg_pstore_save(st, text, "test", &rev, err, sizeof err) < 0)
        return -2;
    return sg_transform_policy_reload();
}

/* The output for rcpt (first recipient), or NULL. */
static const sg_output *find(const sg_transform_result *r, const char *rcpt)
{
    for (size_t i = 0; i < r->nout; i++)
        for (size_t k = 0; k < r->out[i].env.nrcpt; k++)
            if (strcmp(r->out[i].env.rcpt[k].addr, rcpt) == 0)
                return &r->out[i];
    return NULL;
}

static bool has(const sg_output *o, const char *s)
{
    return o && memmem(o->data, o->len, s, strlen(s)) != NULL;
}

static void test_default_hold(void)
{
    sg_envelope e;
    envelope(&e, "alice@demo.test", (const char *const[]){"bob@x.example", "dave@y.example", NULL});
    sg_transform_result r;
    int rc = sg_transform_policy(&e, MSG, sizeof MSG - 1, &r);
    CHECK(rc == 0 && !r.hold, "default [encrypt]: transformed, not held as a whole");
    const sg_output *h = find(&r, "bob@x.example"), *n = find(&r, "alice@demo.test");
    CHECK(h && h->hold && h->env.nrcpt == 2 && find(&r, "dave@y.example") == h,
          "the keyless external recipients are one held output");
    CHECK(h && h->len == sizeof MSG - 1 && memcmp(h->data, MSG, h->len) == 0,
          "the held copy is the original bytes");
    CHECK(h && h->env.last_error && strstr(h->env.last_error, "no usable key"), "the held copy says why (%s)",
          h && h->env.last_error ? h->env.last_error : "");
    CHECK(r.nout == 2, "a held copy and a notice, nothing else (%zu outputs)", r.nout);
    CHECK(n && !n->hold && strcmp(n->env.from, "") == 0 && n->env.nrcpt == 1,
          "a notice to the sender, from <>");
    CHECK(has(n, "Subject: Message held: not delivered securely") &&
              has(n, "<bob@x.example>: no usable key") && has(n, "<dave@y.example>: no usable key") &&
              has(n, "text/rfc822-headers") && !has(n, "Hello."),
          "the notice lists each held recipient with the reason and carries the header only");
    sg_transform_result_free(&r);
    sg_env_free(&e);
}

static const char CHAIN[] =
    "settings = { admin = \"sec@demo.test\"; };\n"
    "rules = (\n"
    "  { name = \"ret\"; if = { to = \"ret@x.example\"; }; then = ( { return = \"not to this partner\"; } ); "
    "},\n"
    "  { name = \"del\"; if = { to = \"del@x.example\"; }; then = ( \"alert_admin\", { delete = \"blocked\"; "
    "} ); },\n"
    "  { name = \"edit\"; if = { direction = \"outgoing\"; };\n"
    "    then = ( { archive = \"vault@demo.test\"; }, \"strip_keyword\", { add_header = \"X-Policy: "
    "edited\"; },\n"
    "             { remove_header = \"x-drop\"; }, { notify_sender = \"we edited it\"; }, \"deliver\" ); },\n"
    "  { name = \"in\"; if = { direction = \"incoming\"; }; then = ( { archive = \"vault@demo.test\"; }, "
    "\"deliver\" ); }\n"
    ");\n";

static void test_chain(void)
{
    CHECK(load(CHAIN) == 1, "a custom policy is put in force");
    sg_envelope e;
    envelope(&e, "alice@demo.test",
             (const char *const[]){"bob@x.example", "ret@x.example", "del@x.example", NULL});
    sg_transform_result r;
    int rc = sg_transform_policy(&e, MSG, sizeof MSG - 1, &r);
    CHECK(rc == 0, "chain: transformed");
    const sg_output *b = find(&r, "bob@x.example"), *v = find(&r, "vault@demo.test"),
                    *s = find(&r, "sec@demo.test");
    CHECK(b && has(b, "Subject: Offer today\r\n") && has(b, "X-Policy: edited\r\n") && !has(b, "X-Drop") &&
              has(b, "Message-ID: <m1@demo.test>\r\nX-Policy: edited\r\n\r\nHello.\r\n"),
          "keyword stripped, header added and removed, the rest byte for byte");
    CHECK(v && v->len == sizeof MSG - 1 && strcmp(v->env.from, "") == 0,
          "the archive copy is the original, from <>");
    CHECK(!find(&r, "ret@x.example") && !find(&r, "del@x.example"),
          "returned and deleted recipients get nothing");
    CHECK(s && has(s, "Subject: Policy alert") && has(s, "Sender: <alice@demo.test>"),
          "the admin is alerted");
    int notices = 0;
    for (size_t i = 0; i < r.nout; i++)
        if (r.out[i].env.nrcpt == 1 && strcmp(r.out[i].env.rcpt[0].addr, "alice@demo.test") == 0) {
            const sg_output *o = &r.out[i];
            notices++;
            if (has(o, "Message returned"))
                CHECK(has(o, "<ret@x.example>: not to this partner") && has(o, "message/rfc822") &&
                          has(o, "Hello."),
                      "the return notice carries the whole original");
            else if (has(o, "Message deleted"))
                CHECK(has(o, "<del@x.example>: blocked") && !has(o, "Hello."),
                      "the delete notice has the header only");
            else
                CHECK(has(o, "we edited it"), "notify_sender says the rule's words");
        }
    CHECK(notices == 3, "three notices to the sender (got %d)", notices);
    sg_transform_result_free(&r);
    sg_env_free(&e);

    /* Returning to the null sender would lose the message: it is held instead. */
    envelope(&e, "", (const char *const[]){"ret@x.example", NULL});
    sg_transform_policy(&e, MSG, sizeof MSG - 1, &r);
    CHECK(r.nout == 1 && r.out[0].hold && r.out[0].env.last_error &&
              strstr(r.out[0].env.last_error, "not returned to the null sender: not to this partner"),
          "return from <>: held with the reason, not dropped");
    sg_transform_result_free(&r);
    sg_env_free(&e);

    /* The null sender is never sent a notice; the admin still is. */
    envelope(&e, "", (const char *const[]){"del@x.example", NULL});
    sg_transform_policy(&e, MSG, sizeof MSG - 1, &r);
    CHECK(r.nout == 1 && find(&r, "sec@demo.test"),
          "deleted mail from <>: only the admin alert, no notice to <>");
    sg_transform_result_free(&r);
    sg_env_free(&e);

    /* Incoming for two internal recipients: one group, one archive copy. */
    envelope(&e, "peer@x.example", (const char *const[]){"carol@demo.test", "erin@demo.test", NULL});
    sg_transform_policy(&e, MSG, sizeof MSG - 1, &r);
    size_t vaults = 0;
    for (size_t i = 0; i < r.nout; i++)
        vaults += find(&r, "vault@demo.test") == &r.out[i];
    CHECK(r.nout == 2 && vaults == 1 && !has(find(&r, "carol@demo.test"), "X-Sealgate-Decryption"),
          "incoming: one delivery without forged stamps, one archive copy");
    sg_transform_result_free(&r);
    sg_env_free(&e);
}

static void test_reload(void)
{
    CHECK(sg_transform_policy_reload() == 0, "no new revision: nothing to do");
    CHECK(load("rules = ( { then = ( \"teleport\" ); } );\n") == -1, "a broken revision is refused");
    sg_envelope e;
    envelope(&e, "alice@demo.test", (const char *const[]){"ret@x.example", NULL});
    sg_transform_result r;
    sg_transform_policy(&e, MSG, sizeof MSG - 1, &r);
    CHECK(r.nout == 1 && has(&r.out[0], "Message returned"),
          "the policy in force stays after a refused revision");
    sg_transform_result_free(&r);
    CHECK(load("rules = ( { then = \"deliver\"; } );\n") == 1, "a good revision after a broken one is taken");
    sg_transform_policy(&e, MSG, sizeof MSG - 1, &r);
    CHECK(r.nout == 1 && r.unchanged && r.out[0].data == MSG,
          "deliver-only outgoing: unchanged, moved by rename");
    sg_transform_result_free(&r);
    sg_env_free(&e);

    /* Two rules, one result: the input unchanged for both is one output. */
    CHECK(load("rules = ( { name = \"a\"; if = { to = \"a@x.example\"; }; then = ( { add_header = \"X-A: "
               "1\"; } ); },\n"
               "          { name = \"b\"; if = { to = \"b@x.example\"; }; then = \"deliver\"; },\n"
               "          { name = \"c\"; if = { to = \"c@x.example\"; }; then = ( { archive = "
               "\"v@demo.test\"; } ); } "
               ");\n") == 1,
          "a three-rule policy is in force");
    envelope(&e, "alice@demo.test", (const char *const[]){"c@x.example", "a@x.example", "b@x.example", NULL});
    sg_transform_policy(&e, MSG, sizeof MSG - 1, &r);
    const sg_output *c = find(&r, "c@x.example"), *a = find(&r, "a@x.example");
    CHECK(r.nout == 3 && c && c == find(&r, "b@x.example") && c->env.nrcpt == 2 && c->len == sizeof MSG - 1 &&
              memcmp(c->data, MSG, c->len) == 0 && !r.unchanged,
          "b and c (different rules, both unchanged) share one output");
    CHECK(a && a != c && has(a, "X-A: 1") && find(&r, "v@demo.test"),
          "a's edited copy and the archive copy stay apart");
    sg_transform_result_free(&r);
    sg_env_free(&e);
}

/* Last, as it breaks the store: a key lookup error defers the whole message (no fallback, not
 * even the default's "plain"), with one admin alert, not one per message. */
static void test_store_error(void)
{
    CHECK(load(sg_policy_default_text) == 1, "the default policy again");
    sqlite3_exec(side_db, "DROP TABLE x509_addrs; DROP TABLE pgp_uids;", NULL, NULL, NULL);
    static const char *const rc_[] = {"bob@x.example", NULL};
    static const char plain[] = "From: Alice <alice@demo.test>\r\nSubject: hi\r\n\r\nHello.\r\n";
    sg_envelope e;
    envelope(&e, "alice@demo.test", rc_);
    sg_transform_result r;
    int rc = sg_transform_policy(&e, plain, sizeof plain - 1, &r);
    const sg_output *a = find(&r, "postmaster@demo.test");
    CHECK(rc == 0 && r.defer && !r.hold && !find(&r, "bob@x.example"), "store error: deferred, nothing for bob");
    CHECK(r.nout == 1 && a && has(a, "Subject: Policy alert") && has(a, "key lookup failed"),
          "store error: the administrator is alerted");
    sg_transform_result_free(&r);
    rc = sg_transform_policy(&e, plain, sizeof plain - 1, &r);
    CHECK(rc == 0 && r.defer && r.nout == 0, "the next store error: deferred, no second alert");
    sg_transform_result_free(&r);
    sg_env_free(&e);
}

/* After the store broke: the reload asks the store's policy generation whether anything
 * changed, whoever changed it, and an unreadable generation is an error, not "unchanged". */
static void test_reload_generation(const char *path)
{
    sqlite3 *other = NULL;
    int ok = sqlite3_open(path, &other) == SQLITE_OK &&
             sqlite3_exec(other,
                          "INSERT INTO policy (text, source, loaded) VALUES"
                          " ('rules = ( { then = \"deliver\"; } );', 'another process', 0)",
                          NULL, NULL, NULL) == SQLITE_OK;
    CHECK(ok && sg_transform_policy_reload() == 1, "a revision added by another process is put in force");
    CHECK(sg_transform_policy_reload() == 0, "nothing changed since: nothing to do");
    ok = sqlite3_exec(other, "DROP TABLE store_generation;", NULL, NULL, NULL) == SQLITE_OK;
    CHECK(ok && sg_transform_policy_reload() == -1, "an unreadable policy generation is an error, not 'unchanged'");
    sqlite3_close(other);
}

int main(void)
{
    char dir[] = "/tmp/sg-ptr-XXXXXX", path[300], err[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/store.db", dir);
    sg_config cfg;
    if (sg_config_load(&cfg, NULL, err, sizeof err) < 0 || !(st = sg_store_open(path, err, sizeof err)))
        return 1;
    side_open(path);
    sg_keystore *ks = sg_keystore_open(st, NULL, 0);
    sg_certstore *cs = sg_certstore_open(st, NULL, 0);
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    sg_engine_env env = {.cfg = &cfg, .st = st, .ks = ks, .cs = cs, .lock = &lock};
    snprintf(env.domain_addr, sizeof env.domain_addr, "gateway@demo.test");
    CHECK(sg_transform_policy_init(&env) == 0, "the transform starts with the default policy");
    test_default_hold();
    test_chain();
    test_reload();
    test_store_error();
    test_reload_generation(path);
    sg_transform_policy_done();
    sg_certstore_close(cs);
    sg_keystore_close(ks);
    sg_store_close(st);
    sg_config_free(&cfg);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return CHECK_DONE();
}
