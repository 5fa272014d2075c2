/* test_policy.c - the policy model and parser: patterns, settings inheritance, locality,
 * line-precise errors, and each condition matched against facts (tables). Owner: src/policy. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/engine.h"
#include "policy/eval.h"
#include "policy/policy.h"
#include "policy/ugroups.h"
#include "store/users_rows.h"
#include <sqlite3.h>
#include <stdio.h>

static const char *const internal[] = {"demo.test"};

static sg_policy *parse(const char *text, char *err, size_t errlen)
{
    return sg_policy_parse(text, "p.conf", internal, 1, err, errlen);
}

static void test_glob(void)
{
    static const struct {
        const char *pattern, *s;
        bool match;
    } t[] = {
        {"*", "", true},
        {"*", "abc", true},
        {"a*c", "abbbc", true},
        {"a*c", "abcd", false},
        {"a?c", "abc", true},
        {"a?c", "ac", false},
        {"ABC", "abc", true},
        {"*.example.org", "a.example.org", true},
        {"*.example.org", "example.org", false},
        {"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        CHECK(sg_policy_glob(t[i].pattern, t[i].s) == t[i].match, "glob '%s' on '%s'", t[i].pattern, t[i].s);
    static const struct {
        const char *pattern, *addr;
        bool match;
    } a[] = {
        {"alice@demo.test", "Alice@Demo.test", true},
        {"alice@demo.test", "bob@demo.test", false},
        {"@demo.test", "x@demo.test", true},
        {"demo.test", "x@demo.test", true},
        {"demo.test", "x@sub.demo.test", false},
        {"*.demo.test", "x@sub.demo.test", true},
        {"*@demo.test", "x@demo.test", true},
        {"ceo-*@demo.test", "ceo-office@demo.test", true},
        {"demo.test", "demo.test@evil.example", false},
    };
    for (size_t i = 0; i < sizeof a / sizeof a[0]; i++)
        CHECK(sg_policy_addr_match(a[i].pattern, a[i].addr) == a[i].match, "address pattern '%s' on '%s'",
              a[i].pattern, a[i].addr);
}

static void test_errors(void)
{
    static const struct {
        const char *text, *want;
    } t[] = {
        {"rules = (\n  { then = ( \"deliver\" ) }\n  { then = ( \"deliver\" ); }\n);\n",
         "p.conf:3: syntax error"},
        {"rules = ();\nfoo = 1;\n", "p.conf:2: unknown section 'foo'"},
        {"settings = {};\n", "p.conf: the policy has no 'rules' list"},
        {"rules = (\n  { name = \"a\";\n    if = { direction = \"outgoing\";\n           subjekt = \"x\"; "
         "};\n"
         "    then = ( \"deliver\" ); }\n);\n",
         "p.conf:4: unknown condition 'subjekt'"},
        {"rules = (\n  { if = { subject = \"(unclosed\"; }; then = ( \"deliver\" ); }\n);\n",
         "p.conf:2: bad regular expression"},
        {"rules = (\n  { then = ( \"deliver\",\n            \"encrypt\" ); }\n);\n",
         "p.conf:2: nothing can follow 'deliver' (line 2)"},
        {"rules = (\n  { then = ( \"encrypt\", \"teleport\" ); }\n);\n",
         "p.conf:2: unknown action 'teleport'"},
        {"rules = (\n  { then = ( { encrypt = [\"smime\", \"rot13\"]; } ); }\n);\n",
         "p.conf:2: unknown method 'rot13'"},
        {"rules = (\n  { if = { to_group = \"finance\"; }; then = ( \"deliver\" ); }\n);\n",
         "p.conf:2: unknown group 'finance'"},
        {"rules = (\n  { name = \"x\"; then = ( \"hold\" ); continue = true; }\n);\n",
         "p.conf:2: a rule with 'continue = true' cannot end"},
        {"rules = (\n  { name = \"x\"; then = \"deliver\"; },\n  { name = \"x\"; then = \"deliver\"; }\n);\n",
         "p.conf:3: rule name 'x' used twice (first on line 2)"},
        {"rules = (\n  { then = ( { add_header = \"no colon\"; } ); }\n);\n", "p.conf:2: add_header must be"},
        {"rules = (\n  { then = ( \"archive\" ); }\n);\n", "p.conf:2: 'archive' needs a value"},
        {"settings = {\n  fallback = \"shrug\";\n};\nrules = ();\n",
         "p.conf:2: 'fallback' must be one of: hold, return, plain"},
        {"domains = (\n  { domain = \"x.example\"; locality = \"inside\"; }\n);\nrules = ();\n",
         "p.conf:2: 'locality' must be one of: external, internal"},
        {"rules = (\n  { if = { direction = \"sideways\"; }; then = \"deliver\"; }\n);\n",
         "p.conf:2: 'direction' must be one of: outgoing, incoming, internal, external (not 'sideways')"},
        {"rules = (\n  { if = { size_min = 10; size_max = 5; }; then = \"deliver\"; }\n);\n",
         "p.conf:2: size_min is larger than size_max"},
        {"rules = (\n  { then = ( \"decrypt\", \"sign\" ); }\n);\n",
         "p.conf:2: one chain cannot both decrypt and protect"},
        {"rules = (\n  { then = ( { decrypt = [\"boss\"]; } ); }\n);\n",
         "p.conf:2: 'decrypt' must be one of: sender, recipient, hold_embedded_ciphertext, "
         "hold_unprotected_headers (not 'boss')"},
        {"rules = (\n  { if = { encrypted = \"yes\"; }; then = \"deliver\"; }\n);\n",
         "p.conf:2: 'encrypted' must be true or false"},
        {"rules = (\n  { if = { recipient_key = \"gpg\"; }; then = \"deliver\"; }\n);\n",
         "p.conf:2: 'recipient_key' must be one of: any, none, smime, pgp (not 'gpg')"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char err[512] = "";
        sg_policy *p = parse(t[i].text, err, sizeof err);
        CHECK(!p && strncmp(err, t[i].want, strlen(t[i].want)) == 0, "refused with \"%s\" (got \"%s\")",
              t[i].want, err);
        sg_policy_free(p);
    }
}

static void test_default(void)
{
    char err[512] = "";
    sg_policy *p = parse(sg_policy_default_text, err, sizeof err);
    CHECK(p != NULL, "the default policy parses (%s)", err);
    if (!p)
        return;
    CHECK(p->nrules == 5 && strcmp(p->rules[0].name, "quarantine-virus") == 0 &&
              strcmp(p->rules[1].name, "encrypt-keyword") == 0,
          "the default has its five rules, the quarantine of infected mail first");
    CHECK(p->rules[0].c.virus == 1 && sg_prule_scans(&p->rules[0]) && !sg_prule_scans(&p->rules[1]) &&
              p->rules[0].act[0].kind == SG_ACT_HOLD,
          "the quarantine rule tests the scanning stage's verdict and holds");
    CHECK(strcmp(p->keywords[SG_KW_ENCRYPT], "[encrypt]") == 0, "the [encrypt] keyword");
    CHECK(p->rules[2].fallback == SG_FB_PLAIN && p->rules[1].fallback == SG_FB_HOLD,
          "opportunistic rule falls back to plain, keyword rule to hold");
    CHECK(p->rules[3].act[0].kind == SG_ACT_DECRYPT && p->rules[3].act[0].notify == 0 &&
              p->rules[3].c.directions == (1u << SG_PDIR_INCOMING | 1u << SG_PDIR_INTERNAL),
          "incoming and internal mail is decrypted; nobody is told when it cannot be (the stamp says it)");
    sg_policy_free(p);
    p = parse("rules = ( { then = ( { decrypt = [\"sender\", \"recipient\"]; } ); } );\n", err, sizeof err);
    CHECK(p && p->rules[0].nact == 2 &&
              p->rules[0].act[0].notify == (SG_PNOTIFY_SENDER | SG_PNOTIFY_RECIPIENT) &&
              p->rules[0].act[1].kind == SG_ACT_DELIVER,
          "decrypt names whom to tell; deliver is implied (%s)", err);
    sg_policy_free(p);
}

static const char inherit_text[] =
    "settings = { methods = [\"pgp\"]; fallback = \"return\"; internal_domains = [\"corp.example\"]; };\n"
    "domains = (\n"
    "  { domain = \"*.partner.example\"; methods = [\"smime\"]; },\n"
    "  { domain = \"eu.partner.example\"; mixed = \"liberal\"; },\n"
    "  { domain = \"lab.demo.test\"; locality = \"external\"; }\n"
    ");\n"
    "users = ( { address = \"ceo@eu.partner.example\"; fallback = \"hold\"; locality = \"internal\"; } );\n"
    "groups = ( { name = \"finance\"; members = [\"alice@demo.test\", \"@fin.demo.test\"]; } );\n"
    "rules = ();\n";

static void test_inheritance(void)
{
    char err[512] = "";
    sg_policy *p = parse(inherit_text, err, sizeof err);
    CHECK(p != NULL, "inheritance policy parses (%s)", err);
    if (!p)
        return;
    static const struct {
        const char *addr;
        int locality, method0, fallback, mixed;
    } t[] = {
        {"x@other.example", SG_LOC_EXTERNAL, SG_METHOD_PGP, SG_FB_RETURN, SG_MIXED_RESTRICTIVE},
        {"x@demo.test", SG_LOC_INTERNAL, SG_METHOD_PGP, SG_FB_RETURN, SG_MIXED_RESTRICTIVE},
        {"x@corp.example", SG_LOC_INTERNAL, SG_METHOD_PGP, SG_FB_RETURN, SG_MIXED_RESTRICTIVE},
        {"x@lab.demo.test", SG_LOC_EXTERNAL, SG_METHOD_PGP, SG_FB_RETURN, SG_MIXED_RESTRICTIVE},
        {"x@us.partner.example", SG_LOC_EXTERNAL, SG_METHOD_SMIME, SG_FB_RETURN, SG_MIXED_RESTRICTIVE},
        /* the exact domain entry wins over the wildcard one, and sets only mixed */
        {"x@eu.partner.example", SG_LOC_EXTERNAL, SG_METHOD_PGP, SG_FB_RETURN, SG_MIXED_LIBERAL},
        {"ceo@eu.partner.example", SG_LOC_INTERNAL, SG_METHOD_PGP, SG_FB_HOLD, SG_MIXED_LIBERAL},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        sg_psettings s;
        sg_policy_settings_for(p, t[i].addr, &s);
        CHECK(s.locality == t[i].locality && s.methods[0] == t[i].method0 && s.fallback == t[i].fallback &&
                  s.mixed == t[i].mixed,
              "settings of %s (locality %d method %d fallback %d mixed %d)", t[i].addr, s.locality,
              s.methods[0], s.fallback, s.mixed);
    }
    CHECK(sg_policy_direction(p, "a@demo.test", "b@other.example") == SG_PDIR_OUTGOING, "direction outgoing");
    CHECK(sg_policy_direction(p, "b@other.example", "a@demo.test") == SG_PDIR_INCOMING, "direction incoming");
    CHECK(sg_policy_direction(p, "a@demo.test", "c@corp.example") == SG_PDIR_INTERNAL, "direction internal");
    CHECK(sg_policy_direction(p, "", "a@demo.test") == SG_PDIR_INCOMING, "the null sender is external");
    CHECK(sg_policy_direction(p, "a@demo.test", "x@lab.demo.test") == SG_PDIR_OUTGOING,
          "a domain entry can make a subdomain external");
    CHECK(sg_policy_in_group(p, "finance", "alice@demo.test") &&
              sg_policy_in_group(p, "FINANCE", "z@fin.demo.test") &&
              !sg_policy_in_group(p, "finance", "bob@demo.test"),
          "group members by address and domain");
    sg_policy_free(p);
}

/* One condition per row, evaluated against one message's facts. */
static int fake_enc(void *ctx, const char *addr, int method)
{
    (void)ctx;
    if (strcmp(addr, "err@other.example") == 0)
        return -1;
    return (strstr(addr, "pgp") && method == SG_METHOD_PGP) ||
           (strstr(addr, "smime") && method == SG_METHOD_SMIME);
}

static void test_conditions(void)
{
    static const sg_pheader hdr[] = {{"Subject", "Quarterly [Encrypt] report"},
                                     {"X-Class", "Company Secret"},
                                     {"X-Priority", "1 (Highest)"},
                                     {"Sensitivity", "Company-Confidential"}};
    static const sg_pattach att[] = {{"report.PDF", "application/pdf"}, {NULL, "image/png"}};
    sg_pfacts f = {.env_from = "bounce@demo.test",
                   .from = "alice@demo.test",
                   .subject = "Quarterly [Encrypt] report",
                   .headers = hdr,
                   .nheaders = 4,
                   .size = 5000,
                   .attach = att,
                   .nattach = 2,
                   .is_signed = true};
    sg_pkeys k = {.can_encrypt_to = fake_enc, .can_sign_as = fake_enc};
    static const struct {
        const char *cond;
        const char *rcpt;
        int want;
    } t[] = {
        {"direction = \"outgoing\";", "bob@other.example", 1},
        {"direction = [\"incoming\", \"internal\"];", "bob@other.example", 0},
        {"from = \"alice@demo.test\";", "bob@other.example", 1},
        {"from = \"bounce@*\";", "bob@other.example", 1}, /* the envelope sender counts too */
        {"from = \"@other.example\";", "bob@other.example", 0},
        {"to = [\"x@y\", \"other.example\"];", "bob@other.example", 1},
        {"from_group = \"g\";", "bob@other.example", 1},
        {"to_group = \"g\";", "bob@other.example", 0},
        {"subject = \"^quarterly\";", "bob@other.example", 1},
        {"subject = \"annual\";", "bob@other.example", 0},
        {"header = { name = \"x-class\"; value = \"secret$\"; };", "bob@other.example", 1},
        {"header = ( { name = \"X-Class\"; value = \"public\"; }, { name = \"X-None\"; value = \"\"; } );",
         "bob@other.example", 0},
        {"keyword = \"encrypt\";", "bob@other.example", 1},
        {"keyword = [\"sign\", \"send_keys\"];", "bob@other.example", 0},
        {"size_min = 4000; size_max = 6000;", "bob@other.example", 1},
        {"size_min = 6000;", "bob@other.example", 0},
        {"attachment_name = \"*.pdf\";", "bob@other.example", 1},
        {"attachment_name = \"*.exe\";", "bob@other.example", 0},
        {"attachment_type = \"image/*\";", "bob@other.example", 1},
        {"attachment_type = \"application/zip\";", "bob@other.example", 0},
        {"priority = \"urgent\";", "bob@other.example", 1},
        {"importance = \"high\";", "bob@other.example", 0},
        {"sensitivity = \"company-confidential\";", "bob@other.example", 1},
        {"encrypted = false; signed = true;", "bob@other.example", 1},
        {"encrypted = true;", "bob@other.example", 0},
        {"recipient_key = \"pgp\";", "bob-pgp@other.example", 1},
        {"recipient_key = \"pgp\";", "bob-smime@other.example", 0},
        {"recipient_key = \"any\";", "bob-smime@other.example", 1},
        {"recipient_key = \"none\";", "bob@other.example", 1},
        {"recipient_key = \"none\";", "err@other.example", -1},
        {"sender_key = \"none\";", "bob@other.example", 1},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char text[1024], err[512] = "";
        snprintf(text, sizeof text,
                 "groups = ( { name = \"g\"; members = [\"alice@demo.test\"]; } );\nrules = ( { if = { %s }; "
                 "then = "
                 "\"deliver\"; } );\n",
                 t[i].cond);
        sg_policy *p = parse(text, err, sizeof err);
        const char *why = NULL;
        int got = p ? sg_policy_rule_matches(p, &p->rules[0], &f, &k, t[i].rcpt,
                                             sg_policy_direction(p, f.env_from, t[i].rcpt), &why)
                    : -2;
        CHECK(got == t[i].want, "%s for %s -> %d (got %d%s%s) %s", t[i].cond, t[i].rcpt, t[i].want, got,
              why ? ", failed at " : "", why ? why : "", err);
        sg_policy_free(p);
    }
}

/* Groups with source = "store": parsed without members, filled from a real store with each
 * member and its aliases, a file group left alone, and a store error an error. */
static void test_store_groups(void)
{
    char err[512] = "";
    sg_policy *bad = parse("groups = ( { name = \"g\"; source = \"store\"; members = [\"a@b.c\"]; } );\n"
                           "rules = ( { then = (\"deliver\"); } );\n", err, sizeof err);
    CHECK(!bad && strstr(err, "p.conf:1:") && strstr(err, "from the store"), "store group with members refused (%s)",
          err);
    sg_policy_free(bad);
    bad = parse("groups = ( { name = \"g\"; source = \"ldap\"; } );\nrules = ( { then = (\"deliver\"); } );\n", err,
                sizeof err);
    CHECK(!bad && strstr(err, "source"), "an unknown source refused (%s)", err);
    sg_policy_free(bad);
    sg_policy *p = parse("groups = ( { name = \"finance\"; source = \"store\"; },\n"
                         "           { name = \"board\"; members = [\"ceo@demo.test\"]; } );\n"
                         "rules = ( { if = { from_group = \"finance\"; }; then = (\"deliver\"); } );\n",
                         err, sizeof err);
    CHECK(p != NULL, "a store group parses (%s)", err);
    if (!p)
        return;
    char dir[] = "/tmp/sg-test-policy-ug-XXXXXX", path[300];
    sg_store *st = mkdtemp(dir) ? (snprintf(path, sizeof path, "%s/s.db", dir), sg_store_open(path, err, sizeof err))
                                : NULL;
    CHECK(st != NULL, "a store for the groups (%s)", err);
    if (!st) {
        sg_policy_free(p);
        return;
    }
    sg_store_user u = {.addr = "alice@demo.test", .created = 1}, b = {.addr = "bob@demo.test", .created = 1};
    sg_store_group g = {.name = "finance", .created = 1};
    CHECK(sg_store_user_add(st, &u) == 0 && sg_store_user_add(st, &b) == 0 &&
              sg_store_user_alias_add(st, "alice@demo.test", "a.l@demo.test") == 0 && sg_store_group_add(st, &g) == 0 &&
              sg_store_group_member_add(st, "finance", "alice@demo.test") == 0,
          "alice (alias a.l) in finance, bob in none");
    CHECK(sg_policy_fill_store_groups(p, st, err, sizeof err) == 0, "the store groups filled (%s)", err);
    CHECK(sg_policy_in_group(p, "finance", "alice@demo.test") && sg_policy_in_group(p, "finance", "A.L@demo.test") &&
              !sg_policy_in_group(p, "finance", "bob@demo.test"),
          "the member and her alias are in finance, bob is not");
    CHECK(sg_policy_in_group(p, "board", "ceo@demo.test") && !sg_policy_in_group(p, "board", "alice@demo.test"),
          "the file's group is left as written");
    sg_policy_free(p);
    p = parse("groups = ( { name = \"finance\"; source = \"store\"; } );\nrules = ( { then = (\"deliver\"); } );\n",
              err, sizeof err);
    sg_store_close(st);
    /* A store that cannot answer: the members table dropped by another connection. */
    sqlite3 *db = NULL;
    int dropped = sqlite3_open(path, &db) == SQLITE_OK &&
                  sqlite3_exec(db, "DROP TABLE group_members", NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_close(db);
    st = dropped ? sg_store_open(path, err, sizeof err) : NULL;
    CHECK(st && p && sg_policy_fill_store_groups(p, st, err, sizeof err) == -1 && strstr(err, "store"),
          "a store error is an error, not 'no members' (%s)", err);
    sg_store_close(st);
    sg_policy_free(p);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

int main(void)
{
    test_store_groups();
    test_glob();
    test_errors();
    test_default();
    test_inheritance();
    test_conditions();
    return CHECK_DONE();
}
