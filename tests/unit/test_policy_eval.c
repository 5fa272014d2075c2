/* test_policy_eval.c - per-recipient decisions and grouping, table-driven, with fake engines
 * whose key material is given by the address ("-pgp", "-smime", "-both" in the local part).
 * Owner: src/policy. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "policy/content.h"
#include "engine/engine.h"
#include "policy/eval.h"
#include "policy/policy.h"

static const char *const internal[] = {"demo.test"};

static int fake_enc(void *ctx, const char *addr, int method)
{
    (void)ctx;
    if (strstr(addr, "lookup-error"))
        return -1;
    if (strstr(addr, "-both"))
        return 1;
    return (strstr(addr, "-pgp") && method == SG_METHOD_PGP) ||
           (strstr(addr, "-smime") && method == SG_METHOD_SMIME);
}

static int fake_sign(void *ctx, const char *addr, int method)
{
    return fake_enc(ctx, addr, method);
}

static bool only_pgp;
static bool have_engine(void *ctx, int method)
{
    (void)ctx;
    return !only_pgp || method == SG_METHOD_PGP;
}

static const sg_pkeys keys = {
    .can_encrypt_to = fake_enc, .can_sign_as = fake_sign, .have_engine = have_engine};

/* A compact picture of one decision: outcome letter, method, e(ncrypt)/s(ign), rule name.
 * D=deliver H=hold R=return X=delete; method p/s/-; e.g. "D p es outgoing". */
static void picture(const sg_policy *p, const sg_pdecision *d, char *out, size_t n)
{
    static const char oc[] = "DHRX";
    snprintf(out, n, "%c %c%s%s%s %s", oc[d->outcome],
             d->method == SG_METHOD_PGP     ? 'p'
             : d->method == SG_METHOD_SMIME ? 's'
                                            : '-',
             d->encrypt || d->sign ? " " : "", d->encrypt ? "e" : "", d->sign ? "s" : "",
             d->rule >= 0 ? p->rules[d->rule].name : "(none)");
}

typedef struct ecase {
    const char *what;
    const char *policy; /* NULL: the default policy */
    const char *from, *subject;
    bool encrypted;
    const char *rcpts[5];
    const char *want[5]; /* picture of each recipient's decision */
    const char *groups;  /* group number of each recipient, e.g. "0010" */
} ecase;

static const char liberal[] =
    "rules = ( { name = \"must\"; if = { direction = \"outgoing\"; }; then = ( \"encrypt\", \"deliver\" );\n"
    "            mixed = \"liberal\"; } );\n";
static const char returning[] =
    "rules = ( { name = \"must\"; if = { direction = \"outgoing\"; }; then = ( \"encrypt\", \"sign\" );\n"
    "            fallback = \"return\"; } );\n";
static const char sender_based[] =
    "groups = ( { name = \"board\"; members = [\"ceo@demo.test\", \"cfo@demo.test\"]; } );\n"
    "rules = (\n"
    "  { name = \"archive\"; if = { from_group = \"board\"; }; then = ( { archive = \"vault@demo.test\"; } "
    ");\n"
    "    continue = true; },\n"
    "  { name = \"board\"; if = { from_group = \"board\"; direction = \"outgoing\"; };\n"
    "    then = ( { encrypt = [\"pgp\"]; }, { sign = \"domain\"; } ); },\n"
    "  { name = \"rest\"; then = \"deliver\"; }\n"
    ");\n";
static const char admin_hold[] =
    "rules = ( { name = \"exe\"; if = { subject = \"invoice\"; }; then = ( \"alert_admin\", { hold = \"looks "
    "like "
    "fraud\"; } ); },\n"
    "          { name = \"del\"; if = { subject = \"spam\"; }; then = ( { delete = \"not wanted\"; } ); },\n"
    "          { name = \"rest\"; then = \"deliver\"; } );\n";

static const ecase cases[] = {
    {"default: keys decide the method, S/MIME preferred, keyless get it signed",
     NULL,
     "alice@demo.test",
     "hello",
     false,
     {"a-pgp@x.example", "b-smime@x.example", "c-both@x.example", "d@x.example", "e-pgp@x.example"},
     {"D p es outgoing", "D s es outgoing", "D s es outgoing", "D s s outgoing", "D p es outgoing"},
     "01120"},
    {"default: [encrypt] holds the keyless recipient and delivers to the others",
     NULL,
     "alice@demo.test",
     "Offer [encrypt]",
     false,
     {"a-pgp@x.example", "d@x.example", "f@y.example"},
     {"D p es encrypt-keyword", "H - encrypt-keyword", "H - encrypt-keyword"},
     "011"},
    {"default: incoming mail is decrypted, internal and relayed mail unchanged",
     NULL,
     "peer@x.example",
     "hi",
     false,
     {"alice@demo.test", "other@x.example"},
     {"D - incoming", "D - other"},
     "01"},
    {"default: internal to internal goes through decryption like incoming mail",
     NULL,
     "alice@demo.test",
     "hi",
     false,
     {"bob@demo.test"},
     {"D - incoming"},
     "0"},
    {"default: already encrypted outgoing mail is not encrypted again, still signed",
     NULL,
     "alice@demo.test",
     "hi",
     true,
     {"a-pgp@x.example", "d@x.example"},
     {"D s s outgoing", "D s s outgoing"},
     "00"},
    {"liberal: the keyless get it unprotected when another recipient gets it encrypted",
     liberal,
     "alice@demo.test",
     "",
     false,
     {"a-pgp@x.example", "d@x.example"},
     {"D p e must", "D - must"},
     "01"},
    {"liberal: with nobody able to receive it protected, the fallback (hold) decides",
     liberal,
     "alice@demo.test",
     "",
     false,
     {"d@x.example", "f@x.example"},
     {"H - must", "H - must"},
     "00"},
    {"fallback return",
     returning,
     "alice@demo.test",
     "",
     false,
     {"a-smime@x.example", "d@x.example"},
     {"D s es must", "R - must"},
     "01"},
    {"sender-based: the board's mail is archived, then PGP-encrypted and domain-signed",
     sender_based,
     "ceo@demo.test",
     "",
     false,
     {"a-both@x.example", "b-smime@x.example", "colleague@demo.test"},
     {"D p es board", "H - board", "D - rest"},
     "012"},
    {"sender-based: others' mail is plain",
     sender_based,
     "alice@demo.test",
     "",
     false,
     {"a-both@x.example"},
     {"D - rest"},
     "0"},
    {"hold and delete with reasons; equal reasons share a group",
     admin_hold,
     "x@x.example",
     "spam invoice",
     false,
     {"alice@demo.test", "bob@demo.test"},
     {"H - exe", "H - exe"},
     "00"},
};

static void run_case(const ecase *c)
{
    char err[512] = "";
    sg_policy *p =
        sg_policy_parse(c->policy ? c->policy : sg_policy_default_text, "t", internal, 1, err, sizeof err);
    CHECK(p != NULL, "%s: policy parses %s", c->what, err);
    if (!p)
        return;
    size_t n = 0;
    while (n < 5 && c->rcpts[n])
        n++;
    sg_pfacts f = {.env_from = c->from, .from = c->from, .subject = c->subject, .encrypted = c->encrypted};
    sg_pdecision dec[5];
    size_t group[5];
    int rc = sg_policy_eval(p, &f, &keys, c->rcpts, n, dec);
    CHECK(rc == 0, "%s: evaluated", c->what);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char pic[128];
        picture(p, &dec[i], pic, sizeof pic);
        CHECK(strcmp(pic, c->want[i]) == 0, "%s: %s -> \"%s\" (got \"%s\", %s)", c->what, c->rcpts[i],
              c->want[i], pic, dec[i].reason);
    }
    if (rc == 0) {
        sg_policy_group(dec, n, group);
        char g[6] = "";
        for (size_t i = 0; i < n; i++)
            g[i] = (char)('0' + group[i]);
        CHECK(strcmp(g, c->groups) == 0, "%s: groups %s (got %s)", c->what, c->groups, g);
    }
    sg_policy_free(p);
}

/* The details the pictures leave out: notification, reasons, the chain a group runs. */
static void test_details(void)
{
    char err[512];
    sg_policy *p = sg_policy_parse(sg_policy_default_text, "t", internal, 1, err, sizeof err);
    const char *r[] = {"d@x.example", "a-pgp@x.example"};
    sg_pfacts f = {.env_from = "alice@demo.test", .subject = "[encrypt] offer"};
    sg_pdecision d[2];
    sg_policy_eval(p, &f, &keys, r, 2, d);
    CHECK(d[0].notify && strstr(d[0].reason, "no usable key or certificate for d@x.example"),
          "a held recipient is reported to the sender with the reason (%s)", d[0].reason);
    CHECK(d[1].nchain == 4 && d[1].chain[0]->kind == SG_ACT_STRIP_KEYWORD &&
              d[1].chain[3]->kind == SG_ACT_DELIVER,
          "the delivered group runs strip_keyword, encrypt, sign, deliver");
    CHECK(d[1].create_key, "an internal sender's key may be created on first need");
    f.subject = "offer";
    sg_policy_eval(p, &f, &keys, r, 1, d);
    CHECK(strstr(d[0].reason, "delivered signed, not encrypted (fallback plain)") != NULL,
          "opportunistic fallback says what was left out (%s)", d[0].reason);
    f.env_from = "";
    f.from = "mailer-daemon@x.example";
    sg_policy_eval(p, &f, &keys, r, 1, d);
    CHECK(d[0].direction == SG_PDIR_EXTERNAL && !d[0].create_key,
          "the null sender is external; no key is made");
    sg_policy_free(p);

    /* Only the PGP engine built in: S/MIME preference is skipped, never an error. */
    only_pgp = true;
    p = sg_policy_parse(sg_policy_default_text, "t", internal, 1, err, sizeof err);
    const char *r2[] = {"c-both@x.example", "b-smime@x.example"};
    f = (sg_pfacts){.env_from = "alice@demo.test", .subject = "x"};
    sg_policy_eval(p, &f, &keys, r2, 2, d);
    CHECK(d[0].method == SG_METHOD_PGP && d[0].encrypt, "without an S/MIME engine, PGP is used");
    CHECK(d[1].method == SG_METHOD_PGP && !d[1].encrypt && d[1].sign,
          "an S/MIME-only recipient gets it PGP-signed");
    only_pgp = false;
    sg_policy_free(p);
}

/* A key lookup error is not "no key": no fallback (not even "plain") applies; the whole
 * evaluation fails and cryptd keeps the message. */
/* No rule decides (none matches, or only continue = true rules do): the chain still ends in
 * deliver, so the message is sent rather than accepted and dropped (docs/policy.md). */
static void test_no_rule_decides(void)
{
    static const char *const texts[] = {
        "rules = ( { name = \"fin\"; if = { from = \"nobody@demo.test\"; }; then = ( { add_header = \"X-A: b\"; } ); } );",
        "rules = ( { name = \"tag\"; if = { from = \"bob@demo.test\"; }; then = ( { add_header = \"X-A: b\"; } );"
        " continue = true; } );",
    };
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        char err[512];
        sg_policy *p = sg_policy_parse(texts[t], "t", internal, 1, err, sizeof err);
        CHECK(p != NULL, "policy %zu parses: %s", t, p ? "" : err);
        if (!p)
            continue;
        const char *r[] = {"x@x.example"};
        sg_pfacts f = {.env_from = "bob@demo.test", .from = "bob@demo.test", .subject = "s"};
        sg_pdecision d[1];
        int rc = sg_policy_eval(p, &f, &keys, r, 1, d);
        CHECK(rc == 0 && d[0].outcome == SG_OUT_DELIVER && d[0].nchain >= 1 &&
                  d[0].chain[d[0].nchain - 1]->kind == SG_ACT_DELIVER && d[0].nchain == (t == 0 ? 1u : 2u),
              "%s: the chain ends in deliver (%zu actions)",
              t == 0 ? "no rule matches" : "only a continue rule matches", rc == 0 ? d[0].nchain : 0);
        sg_policy_free(p);
    }
}

static void test_lookup_error(void)
{
    char err[512];
    sg_policy *p = sg_policy_parse(sg_policy_default_text, "t", internal, 1, err, sizeof err);
    static const struct {
        const char *what, *from, *subject, *rcpt;
    } t[] = {
        {"[encrypt] (fallback hold)", "alice@demo.test", "[encrypt] x", "lookup-error@x.example"},
        {"opportunistic (fallback plain)", "alice@demo.test", "x", "lookup-error@x.example"},
        {"the recipient with a key beside one whose lookup failed", "alice@demo.test", "x", "a-pgp@x.example"},
        {"the sender's signing key", "lookup-error@demo.test", "x", "d@x.example"},
    };
    for (size_t i = 0; p && i < sizeof t / sizeof t[0]; i++) {
        const char *r[] = {t[i].rcpt, "lookup-error@y.example"};
        sg_pfacts f = {.env_from = t[i].from, .from = t[i].from, .subject = t[i].subject};
        sg_pdecision d[2];
        CHECK(sg_policy_eval(p, &f, &keys, r, i == 2 ? 2 : 1, d) == -1, "lookup error, %s: no decision",
              t[i].what);
    }
    sg_policy_free(p);
}

/* The scanning stage's verdict as conditions (docs/scanning.md): they never hold before the
 * scan, then each tests its part of the verdict. */
static void test_scan_conditions(void)
{
    char err[512];
    sg_policy *p = sg_policy_parse("rules = (\n"
                                   "  { name = \"virus\"; if = { virus = true; }; then = \"hold\"; },\n"
                                   "  { name = \"spam\"; if = { spam_score = 7.5; }; then = \"hold\"; },\n"
                                   "  { name = \"unscanned\"; if = { scan = \"unscanned\"; }; then = \"hold\"; },\n"
                                   "  { name = \"rest\"; then = \"deliver\"; } );\n",
                                   "t", internal, 1, err, sizeof err);
    CHECK(p != NULL, "a policy with scan conditions parses (%s)", err);
    if (!p)
        return;
    static const struct {
        const char *what;
        sg_pscan s;
        bool scanned;
        const char *rule;
    } t[] = {
        {"before the scanning stage no scan condition holds", {0}, false, "rest"},
        {"infected", {.av = SG_AV_INFECTED}, true, "virus"},
        {"spam at the score", {.av = SG_AV_CLEAN, .have_score = true, .score = 7.5}, true, "spam"},
        {"below the score", {.av = SG_AV_CLEAN, .have_score = true, .score = 7.4}, true, "rest"},
        {"no score (rspamd not configured)", {.av = SG_AV_CLEAN}, true, "rest"},
        {"unscanned", {.av = SG_AV_UNSCANNED}, true, "unscanned"},
        {"no clamd: neither virus nor a verdict", {.av = SG_AV_NONE}, true, "rest"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const char *r[] = {"alice@demo.test"};
        sg_pfacts f = {.env_from = "x@x.example", .subject = "x", .scan = t[i].scanned ? &t[i].s : NULL};
        sg_pdecision d[1];
        int rc = sg_policy_eval(p, &f, &keys, r, 1, d);
        const char *got = rc == 0 && d[0].rule >= 0 ? p->rules[d[0].rule].name : "(none)";
        CHECK(strcmp(got, t[i].rule) == 0, "scan conditions, %s: rule %s (got %s)", t[i].what, t[i].rule, got);
    }
    sg_policy_free(p);
    p = sg_policy_parse("rules = ( { if = { scan = \"dirty\"; }; then = \"hold\"; } );\n", "t", internal, 1, err,
                        sizeof err);
    CHECK(p == NULL && strstr(err, "clean, infected, unscanned"), "an unknown verdict name is an error (%s)", err);
    sg_policy_free(p);
    p = sg_policy_parse("rules = ( { if = { spam_score = \"high\"; }; then = \"hold\"; } );\n", "t", internal, 1,
                        err, sizeof err);
    CHECK(p == NULL && strstr(err, "spam_score"), "spam_score must be a number (%s)", err);
    sg_policy_free(p);
}

/* Content rules (policy/content.h): PCRE2 text patterns, libmagic types, a name that lies about
 * its type, archive member names; decided at the scanning stage like the verdict. */
static void test_content_conditions(void)
{
    char err[512];
    sg_policy *p = sg_policy_parse(
        "rules = (\n"
        "  { name = \"secret\"; if = { text = [\"project\\\\s+blue(bird)?\", \"^never$\"]; }; then = \"hold\"; },\n"
        "  { name = \"member\"; if = { archive_member = \"*.exe\"; }; then = \"hold\"; },\n"
        "  { name = \"liar\"; if = { type_mismatch = true; }; then = \"hold\"; },\n"
        "  { name = \"pdf\"; if = { attachment_magic = \"application/pdf\"; }; then = \"hold\"; },\n"
        "  { name = \"rest\"; then = \"deliver\"; } );\n",
        "t", internal, 1, err, sizeof err);
    CHECK(p != NULL, "a policy with content rules parses (%s)", err);
    if (!p)
        return;
    void *magic = sg_pcontent_magic_open();
    CHECK(magic != NULL, "libmagic loads its database");
    static const unsigned char pdf[] = "%PDF-1.4\n1 0 obj\n<< >>\nendobj\ntrailer\n<< >>\n%%EOF\n";
    static const struct {
        const char *what, *text, *name, *member;
        const unsigned char *att;
        size_t attlen;
        const char *rule;
    } t[] = {
        {"a pattern over the decoded text, caseless, across spaces", "about PROJECT   Bluebird", NULL, NULL, NULL, 0,
         "secret"},
        {"text that no pattern matches", "about project red", NULL, NULL, NULL, 0, "rest"},
        {"a member name of an archive", "hi", NULL, "tools/setup.EXE", NULL, 0, "member"},
        {"a PDF named .txt: the name lies", "hi", "notes.txt", NULL, pdf, sizeof pdf - 1, "liar"},
        {"a PDF named .pdf: the type by its bytes", "hi", "paper.pdf", NULL, pdf, sizeof pdf - 1, "pdf"},
        {"a PDF with a name the table does not judge", "hi", "paper.xyz", NULL, pdf, sizeof pdf - 1, "pdf"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        sg_pcontent c = {0};
        sg_pcontent_add_leaf(&c, magic, NULL, "text/plain", (const unsigned char *)t[i].text, strlen(t[i].text));
        if (t[i].att)
            sg_pcontent_add_leaf(&c, magic, t[i].name, "application/octet-stream", t[i].att, t[i].attlen);
        char *m = t[i].member ? strdup(t[i].member) : NULL;
        if (m) {
            c.members = malloc(sizeof *c.members);
            c.members[0] = m;
            c.nmembers = 1;
        }
        sg_pscan s = {.av = SG_AV_CLEAN, .content = &c};
        const char *r[] = {"alice@demo.test"};
        sg_pfacts f = {.env_from = "x@x.example", .subject = "x", .scan = &s};
        sg_pdecision d[1];
        int rc = sg_policy_eval(p, &f, &keys, r, 1, d);
        const char *got = rc == 0 && d[0].rule >= 0 ? p->rules[d[0].rule].name : "(none)";
        CHECK(strcmp(got, t[i].rule) == 0, "content, %s: rule %s (got %s; types %s)", t[i].what, t[i].rule, got,
              c.ntypes ? c.types[0] : "-");
        sg_pcontent_free(&c);
    }
    sg_pcontent_magic_close(magic);
    sg_policy_free(p);
    p = sg_policy_parse("rules = ( { if = { text = \"(unclosed\"; }; then = \"hold\"; } );\n", "t", internal, 1,
                        err, sizeof err);
    CHECK(p == NULL && strstr(err, "text"), "a bad PCRE2 pattern is an error with its place (%s)", err);
    sg_policy_free(p);
}

int main(void)
{
    test_no_rule_decides();
    test_lookup_error();
    test_scan_conditions();
    test_content_conditions();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_case(&cases[i]);
    test_details();
    return CHECK_DONE();
}
