/* cli_print.c - how the CLI prints the answers of the operations it serves (cli_ops.h). Owner:
 * src/cli. The queue printers keep the output `sealgate queue` had before it went through the
 * table, word for word, so scripts and tests that read it keep working. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_ops.h"

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long long num(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* "2026-12-07 19:30" in UTC, or "-" for 0/null. */
static const char *when(long long t, char buf[32])
{
    if (t <= 0)
        return "-";
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

static const char *roles_text(const json_t *a, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < json_array_size(a); i++) {
        int w = snprintf(buf + used, used < len ? len - used : 0, "%s%s", i ? "," : "",
                         json_string_value(json_array_get(a, i)));
        if (w > 0)
            used += (size_t)w;
    }
    return buf[0] ? buf : "-";
}

/* The footer of a page that is not the whole list. */
static void more(const json_t *r)
{
    long long total = num(r, "total"), off = num(r, "offset");
    size_t got = json_array_size(json_object_get(r, "items"));
    if (off + (long long)got < total)
        printf("(%zu of %lld shown; --offset %lld for more)\n", got, total, off + (long long)got);
}

int sg_cli_print_json(const sg_op *op, const json_t *result)
{
    (void)op;
    json_dumpf(result, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    putchar('\n');
    return 0;
}

static void print_age(long long secs)
{
    if (secs < 120)
        printf("%5llds", secs);
    else if (secs < 7200)
        printf("%5lldm", secs / 60);
    else if (secs < 2 * 86400)
        printf("%5lldh", secs / 3600);
    else
        printf("%5lldd", secs / 86400);
}

int sg_cli_print_queue_list(const sg_op *op, const json_t *r)
{
    (void)op;
    json_t *items = json_object_get(r, "items");
    printf("%-22s %-9s %9s %6s  %s\n", "ID", "STATE", "SIZE", "AGE", "ENVELOPE");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *m = json_array_get(items, i);
        printf("%-22s %-9s ", str(m, "id"), str(m, "state"));
        if (json_object_get(m, "unreadable")) {
            printf("(unreadable: %s)\n", str(m, "unreadable"));
            continue;
        }
        printf("%9lld ", num(m, "size"));
        print_age(num(m, "age"));
        printf("  <%s> ->", str(m, "from"));
        json_t *rc = json_object_get(m, "rcpt");
        for (size_t k = 0; k < json_array_size(rc) && k < 3; k++)
            printf(" <%s>", json_string_value(json_array_get(rc, k)));
        if (json_array_size(rc) > 3)
            printf(" (+%zu more)", json_array_size(rc) - 3);
        if (json_object_get(m, "last_error"))
            printf("\n%40s attempts=%lld last error: %s", "", num(m, "attempts"), str(m, "last_error"));
        printf("\n");
    }
    more(r);
    json_t *hidden = json_object_get(r, "unreadable_states");
    for (size_t i = 0; i < json_array_size(hidden); i++)
        fprintf(stderr, "sealgate queue: %s/ is not readable by this user: its messages are not listed\n",
                json_string_value(json_array_get(hidden, i)));
    long long total = num(r, "total");
    printf("%lld message%s\n", total, total == 1 ? "" : "s");
    return 0;
}

int sg_cli_print_queue_show(const sg_op *op, const json_t *r)
{
    (void)op;
    char created[64];
    time_t t = (time_t)num(r, "created");
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    printf("id:          %s\nstate:       %s\ncreated:     %s\nclient:      %s\nhelo:        %s\n",
           str(r, "id"), str(r, "state"), created, str(r, "client"), str(r, "helo"));
    printf("from:        <%s>\n", str(r, "from"));
    printf("body:        %s\nsmtputf8:    %s\n", str(r, "body"),
           json_is_true(json_object_get(r, "smtputf8")) ? "yes" : "no");
    json_t *dsn = json_object_get(r, "dsn");
    if (dsn)
        printf("dsn:         ret=%s envid=%s\n", str(dsn, "ret"), str(dsn, "envid"));
    printf("attempts:    %lld\n", num(r, "attempts"));
    if (json_object_get(r, "last_error"))
        printf("last error:  %s\n", str(r, "last_error"));
    json_t *rc = json_object_get(r, "rcpt");
    for (size_t i = 0; i < json_array_size(rc); i++) {
        json_t *x = json_array_get(rc, i);
        printf("rcpt:        <%s>%s%s%s%s\n", str(x, "addr"), json_object_get(x, "notify") ? " NOTIFY=" : "",
               str(x, "notify"), json_object_get(x, "orcpt") ? " ORCPT=" : "", str(x, "orcpt"));
    }
    printf("size:        %lld\n\n", num(r, "size"));
    fputs(str(r, "headers"), stdout);
    return 0;
}

int sg_cli_print_queue_moved(const sg_op *op, const json_t *r)
{
    (void)op;
    json_t *moved = json_object_get(r, "moved"), *failed = json_object_get(r, "failed");
    for (size_t i = 0; i < json_array_size(moved); i++) {
        json_t *m = json_array_get(moved, i);
        if (strcmp(str(m, "to"), "deleted") == 0)
            printf("%s: deleted from %s\n", str(m, "id"), str(m, "from"));
        else
            printf("%s: %s -> %s\n", str(m, "id"), str(m, "from"), str(m, "to"));
    }
    for (size_t i = 0; i < json_array_size(failed); i++)
        fprintf(stderr, "sealgate queue retry: %s\n", str(json_array_get(failed, i), "error"));
    return json_array_size(failed) ? 1 : 0;
}

int sg_cli_print_account(const sg_op *op, const json_t *r)
{
    char roles[256];
    if (json_object_get(r, "roles"))
        printf("%s: %s\n", str(r, "name"), roles_text(json_object_get(r, "roles"), roles, sizeof roles));
    else
        printf("%s: password changed, sessions ended\n", str(r, "name"));
    if (json_object_get(r, "password"))
        printf("one-time password: %s\n(shown once; the account changes it with 'sealgate admin passwd %s' "
               "or in the "
               "portal)\n",
               str(r, "password"), str(r, "name"));
    (void)op;
    return 0;
}

int sg_cli_print_accounts(const sg_op *op, const json_t *r)
{
    (void)op;
    json_t *items = json_object_get(r, "items");
    printf("%-24s %-40s %-19s %s\n", "NAME", "ROLES", "LAST LOGIN", "LOCKED UNTIL");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *a = json_array_get(items, i);
        char roles[256], t1[32], t2[32];
        printf("%-24s %-40s %-19s %s\n", str(a, "name"),
               roles_text(json_object_get(a, "roles"), roles, sizeof roles), when(num(a, "last_login"), t1),
               when(num(a, "locked_until"), t2));
    }
    more(r);
    return 0;
}

int sg_cli_print_token(const sg_op *op, const json_t *r)
{
    (void)op;
    char roles[256];
    printf("token %s for %s (%s)%s%s\nsecret: %s\n(shown once: store it now; revoke with 'sealgate token "
           "revoke %s')\n",
           str(r, "id"), str(r, "owner"), roles_text(json_object_get(r, "roles"), roles, sizeof roles),
           *str(r, "label") ? " " : "", str(r, "label"), str(r, "secret"), str(r, "id"));
    return 0;
}

int sg_cli_print_tokens(const sg_op *op, const json_t *r)
{
    (void)op;
    json_t *items = json_object_get(r, "items");
    printf("%-16s %-20s %-36s %-19s %-19s %s\n", "ID", "OWNER", "ROLES", "CREATED", "REVOKED", "LABEL");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *x = json_array_get(items, i);
        char roles[256], t1[32], t2[32];
        printf("%-16s %-20s %-36s %-19s %-19s %s\n", str(x, "id"), str(x, "owner"),
               roles_text(json_object_get(x, "roles"), roles, sizeof roles), when(num(x, "created"), t1),
               when(num(x, "revoked"), t2), str(x, "label"));
    }
    more(r);
    return 0;
}

int sg_cli_print_sessions(const sg_op *op, const json_t *r)
{
    (void)op;
    json_t *items = json_object_get(r, "items");
    printf("%-64s %-20s %-19s %-19s %s\n", "ID", "ACCOUNT", "CREATED", "LAST SEEN", "CLIENT");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *x = json_array_get(items, i);
        char t1[32], t2[32];
        printf("%-64s %-20s %-19s %-19s %s\n", str(x, "id"), str(x, "account"), when(num(x, "created"), t1),
               when(num(x, "last_seen"), t2), str(x, "client"));
    }
    more(r);
    return 0;
}

int sg_cli_print_events(const sg_op *op, const json_t *r)
{
    (void)op;
    json_t *items = json_object_get(r, "items");
    printf("%-8s %-19s %-16s %-18s %-24s %-16s %s\n", "ID", "TIME (UTC)", "ACTOR", "OPERATION", "TARGET",
           "RESULT", "CLIENT");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *e = json_array_get(items, i);
        char t[32];
        printf("%-8lld %-19s %-16s %-18s %-24s %-16s %s\n", num(e, "id"), when(num(e, "time"), t),
               str(e, "actor"), str(e, "operation"), *str(e, "target") ? str(e, "target") : "-",
               str(e, "result"), str(e, "client"));
    }
    more(r);
    return 0;
}

int sg_cli_print_done(const sg_op *op, const json_t *r)
{
    (void)r;
    printf("%s: done\n", op->name);
    return 0;
}

/* The totals since the store was made and how many minutes of the last day have figures
 * (--json gives every minute). */
int sg_cli_print_metrics(const sg_op *op, const json_t *r)
{
    (void)op;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(r, "totals"), k, v)
        printf("%-15s %lld\n", k, (long long)json_integer_value(v));
    printf("minutes with figures in the last day: %zu\n", json_array_size(json_object_get(r, "minutes")));
    return 0;
}

/* One line per node of the cluster (docs/cluster.md). */
int sg_cli_print_cluster(const sg_op *op, const json_t *r)
{
    (void)op;
    printf("store schema version %lld\n", num(r, "schema_version"));
    printf("%-30s %-6s %-10s %-9s %-6s %s\n", "node", "state", "heartbeat", "version", "schema", "queue");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(r, "nodes"), i, v)
    {
        char ago[24];
        snprintf(ago, sizeof ago, "%llds ago", num(v, "heartbeat_age"));
        printf("%-30s %-6s %-10s %-9s %-6lld %lld\n", str(v, "name"), str(v, "state"), ago, str(v, "version"),
               num(v, "schema_version"), num(v, "queue"));
    }
    return 0;
}

int sg_cli_print_status(const sg_op *op, const json_t *r)
{
    (void)op;
    printf("sealgate %s: %s", str(r, "version"),
           json_is_true(json_object_get(r, "running")) ? "running" : "not running");
    if (json_is_integer(json_object_get(r, "master_pid")))
        printf(" (master pid %lld)", num(r, "master_pid"));
    putchar('\n');
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(r, "roles"), k, v)
        printf("  role %-8s pid %lld\n", k, (long long)json_integer_value(v));
    printf("store: schema version %lld\n", num(json_object_get(r, "store"), "schema_version"));
    json_t *q = json_object_get(r, "queue");
    if (json_object_get(q, "error")) {
        printf("queue: cannot open the spool: %s\n", str(q, "error"));
        return 0;
    }
    printf("queue:\n");
    json_object_foreach(q, k, v)
    {
        if (json_is_null(v))
            printf("  %-9s (not readable by this user)\n", k);
        else
            printf("  %-9s %6lld  oldest %llds\n", k, num(v, "count"), num(v, "oldest_age"));
    }
    return 0;
}

/* Dates as `sealgate key` has always printed them: the day, "never" for 0 or no end. */
static void print_day(const json_t *v)
{
    char d[32] = "never";
    long long t = json_is_integer(v) ? (long long)json_integer_value(v) : 0;
    if (t > 0) {
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(d, sizeof d, "%Y-%m-%d", &tm);
    }
    fputs(d, stdout);
}

static bool flag(const json_t *o, const char *k)
{
    return json_is_true(json_object_get(o, k));
}

static void print_key(const json_t *k, bool details)
{
    printf("%s  %s/%lld  created ", str(k, "fpr"), str(k, "algorithm"), num(k, "bits"));
    print_day(json_object_get(k, "created"));
    fputs("  expires ", stdout);
    print_day(json_object_get(k, "expires"));
    json_t *exp = json_object_get(k, "expires");
    if (flag(k, "secret"))
        fputs(" [S]", stdout);
    if (flag(k, "revoked"))
        fputs(" [revoked]", stdout);
    if (json_is_integer(exp) && json_integer_value(exp) <= (json_int_t)time(NULL))
        fputs(" [expired]", stdout);
    if (!flag(k, "encryption_subkey"))
        fputs(" [no-encryption-subkey]", stdout);
    if (strcmp(str(k, "trust"), "verified") != 0)
        printf(" [%s]", str(k, "trust"));
    putchar('\n');
    if (details) {
        printf("  keyid        %s\n  usage        %s%s%s\n  encryption   ", str(k, "keyid"),
               flag(k, "can_sign") ? "sign " : "", flag(k, "can_certify") ? "certify " : "",
               flag(k, "can_encrypt") ? "encrypt" : "");
        if (flag(k, "encryption_subkey")) {
            fputs("subkey valid until ", stdout);
            print_day(json_object_get(k, "encryption_until"));
            putchar('\n');
        } else {
            fputs("none\n", stdout);
        }
        printf("  secret       %s\n", flag(k, "secret") ? "held (wrapped by the KEK)" : "no");
        if (flag(k, "revoked"))
            printf("  revoked      %s\n", str(k, "revoke_reason"));
        printf("  trust        %s", str(k, "trust"));
        if (json_object_get(k, "source")) {
            printf(" (%s %s, ", str(k, "source"), str(k, "source_url"));
            print_day(json_object_get(k, "source_time"));
            putchar(')');
        }
        putchar('\n');
    }
    json_t *uids = json_object_get(k, "uids");
    for (size_t i = 0; i < json_array_size(uids); i++) {
        json_t *u = json_array_get(uids, i);
        printf("  uid  %s%s\n", str(u, "uid"),
               flag(u, "valid") ? "" : "  (not bound by a valid self-signature)");
    }
    json_t *subs = json_object_get(k, "subkeys"); /* key.show only */
    for (size_t i = 0; i < json_array_size(subs); i++) {
        json_t *s = json_array_get(subs, i), *usage = json_object_get(s, "usage");
        printf("  sub  %s  %s/%lld ", str(s, "fpr"), str(s, "algorithm"), num(s, "bits"));
        for (size_t u = 0; u < json_array_size(usage); u++)
            printf("%s%s", u ? "," : "", json_string_value(json_array_get(usage, u)));
        fputs("  expires ", stdout);
        print_day(json_object_get(s, "expires"));
        puts(flag(s, "revoked") ? " [revoked]" : "");
    }
}

int sg_cli_print_keys(const sg_op *op, const json_t *r)
{
    (void)op;
    json_t *items = json_object_get(r, "items");
    for (size_t i = 0; i < json_array_size(items); i++)
        print_key(json_array_get(items, i), false);
    more(r);
    return 0;
}

int sg_cli_print_key(const sg_op *op, const json_t *r)
{
    (void)op;
    print_key(r, true);
    return 0;
}

/* As `sealgate ca revoke` has always answered. */
int sg_cli_print_ca_revoked(const sg_op *op, const json_t *r)
{
    (void)op;
    printf("revoked %s (run 'sealgate ca crl' to publish)\n", str(r, "fpr"));
    return 0;
}

int sg_cli_print_deleted(const sg_op *op, const json_t *r)
{
    (void)op;
    printf("deleted %s\n", str(r, "fpr"));
    return 0;
}

/* Times as `sealgate cert` has always printed them. */
static void cert_date(const json_t *o, const char *k, char out[32])
{
    time_t tt = (time_t)num(o, k);
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static void cert_flags(const json_t *c)
{
    if (flag(c, "local_ca"))
        fputs(" [local-CA]", stdout);
    else if (flag(c, "ca"))
        fputs(" [CA]", stdout);
    if (flag(c, "trusted"))
        fputs(" [trusted]", stdout);
    if (flag(c, "private_key"))
        fputs(" [K]", stdout);
    if (flag(c, "revoked"))
        fputs(" [revoked]", stdout);
    if (num(c, "not_after") < (long long)time(NULL))
        fputs(" [expired]", stdout);
    if (flag(c, "learned"))
        fputs(" [learned]", stdout);
}

int sg_cli_print_certs(const sg_op *op, const json_t *r)
{
    (void)op;
    json_t *items = json_object_get(r, "items");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *c = json_array_get(items, i);
        char nb[32], na[32];
        cert_date(c, "not_before", nb);
        cert_date(c, "not_after", na);
        printf("%s  %.10s..%.10s  %s", str(c, "fpr"), nb, na, str(c, "subject"));
        cert_flags(c);
        putchar('\n');
    }
    more(r);
    return 0;
}

int sg_cli_print_cert(const sg_op *op, const json_t *c)
{
    (void)op;
    static const struct {
        long long bit;
        const char *name;
    } ku[] = {{0x80, "digitalSignature"}, {0x40, "nonRepudiation"}, {0x20, "keyEncipherment"},
              {0x10, "dataEncipherment"}, {0x08, "keyAgreement"},   {0x04, "keyCertSign"},
              {0x02, "cRLSign"}};
    char nb[32], na[32];
    cert_date(c, "not_before", nb);
    cert_date(c, "not_after", na);
    printf("%s", str(c, "fpr"));
    cert_flags(c);
    printf("\n  subject      %s\n  issuer       %s\n  serial       %s\n  valid        %s .. %s\n",
           str(c, "subject"), str(c, "issuer"), str(c, "serial"), nb, na);
    json_t *addrs = json_object_get(c, "addresses");
    for (size_t i = 0; i < json_array_size(addrs); i++)
        printf("  address      %s\n", json_string_value(json_array_get(addrs, i)));
    fputs("  key usage    ", stdout);
    json_t *usage = json_object_get(c, "key_usage");
    if (!usage)
        fputs("(no extension: any)", stdout);
    for (size_t i = 0; usage && i < sizeof ku / sizeof ku[0]; i++)
        if (json_integer_value(usage) & ku[i].bit)
            printf("%s ", ku[i].name);
    printf("\n  ext. usage   %s\n", flag(c, "email_protection") ? "emailProtection" : "(no emailProtection)");
    printf("  CA           %s\n  trust anchor %s\n  private key  %s\n", flag(c, "ca") ? "yes" : "no",
           flag(c, "trusted") ? "yes" : "no", flag(c, "private_key") ? "held (wrapped by the KEK)" : "no");
    if (flag(c, "revoked")) {
        cert_date(c, "revoked_at", na);
        printf("  revoked      %s (by the local CA)\n", na);
    }
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(c, "validation"), k, v)
        printf("  for %-8s %s (revocation %s): %s\n", k, str(v, "verdict"), str(v, "revocation"),
               str(v, "reason"));
    size_t i;
    json_array_foreach(json_object_get(c, "chain"), i, v)
        printf("  chain %zu      %s %s\n", i, str(v, "fpr"), str(v, "subject"));
    return 0;
}

int sg_cli_print_revisions(const sg_op *op, const json_t *r)
{
    (void)op;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(r, "items"), i, x)
    {
        char when[32] = "-";
        time_t t = (time_t)num(x, "loaded");
        struct tm tm;
        if (t > 0 && gmtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        printf("%6lld  %-19s  %7lld B  %s\n", num(x, "rev"), when, num(x, "size"), str(x, "source"));
    }
    more(r);
    return 0;
}

int sg_cli_print_loaded(const sg_op *op, const json_t *r)
{
    (void)op;
    printf("policy: revision %lld in force (%lld rules, from revision %lld)\n", num(r, "rev"), num(r, "rules"),
           num(r, "from_rev"));
    return 0;
}

int sg_cli_print_pem(const sg_op *op, const json_t *r)
{
    (void)op;
    fputs(str(r, "pem"), stdout);
    return 0;
}

int sg_cli_print_policy(const sg_op *op, const json_t *r)
{
    (void)op;
    if (json_object_get(r, "broken_rev"))
        fprintf(stderr, "sealgate: revision %lld is not in force: %s\n", num(r, "broken_rev"),
                str(r, "broken_error"));
    if (num(r, "rev") == 0) {
        fputs("# revision 0: the embedded default policy (nothing loaded)\n", stdout);
    } else {
        char when[32];
        time_t t = (time_t)num(r, "loaded");
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
        printf("# revision %lld, loaded %s from %s\n", num(r, "rev"), when, str(r, "source"));
    }
    fputs(str(r, "text"), stdout);
    return 0;
}

/* Jobs (issue 18: long operations, admin/jobs.h). */
int sg_cli_print_jobs(const sg_op *op, const json_t *r)
{
    (void)op;
    json_t *items = json_object_get(r, "items");
    printf("%-16s %-16s %-10s %-19s %-16s %s\n", "ID", "OPERATION", "STATE", "STARTED (UTC)", "DONE/TOTAL",
           "ACTOR");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *x = json_array_get(items, i);
        char t[32], counts[40];
        snprintf(counts, sizeof counts, "%lld/%lld", num(x, "done"), num(x, "total"));
        printf("%-16s %-16s %-10s %-19s %-16s %s\n", str(x, "id"), str(x, "operation"), str(x, "state"),
               when(num(x, "started"), t), counts, str(x, "actor"));
    }
    more(r);
    return 0;
}

int sg_cli_print_job(const sg_op *op, const json_t *x)
{
    char t[32];
    printf("id:        %s\noperation: %s\nstate:     %s%s\nprogress:  %lld of %lld (%lld%%)\nstarted:   %s\n",
           str(x, "id"), str(x, "operation"), str(x, "state"),
           json_is_true(json_object_get(x, "cancel_requested")) && !strcmp(op->name, "job.cancel")
               ? " (stops at its next safe point)"
               : "",
           num(x, "done"), num(x, "total"), num(x, "percent"), when(num(x, "started"), t));
    if (json_is_integer(json_object_get(x, "estimate_seconds")))
        printf("left:      about %lld s\n", num(x, "estimate_seconds"));
    if (*str(x, "result"))
        printf("result:    %s\n", str(x, "result"));
    return 0;
}

/* audit.search: one line per log entry (docs/audit.md); mail shows its envelope as logged
 * (addresses or their HMACs), admin events their actor and operation. */
int sg_cli_print_log_entries(const sg_op *op, const json_t *r)
{
    (void)op;
    json_t *items = json_object_get(r, "items");
    printf("%-8s %-19s %-7s %-18s %-16s %s\n", "INDEX", "TIME (UTC)", "KIND", "QUEUE/ACTOR", "OUTCOME/OP",
           "FROM -> RCPT / TARGET");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *e = json_array_get(items, i);
        char t[32];
        bool mail = strcmp(str(e, "kind"), "mail") == 0;
        printf("%-8lld %-19s %-7s %-18s %-16s %s%s%s\n", num(e, "index"), when(atoll(str(e, "time")), t),
               str(e, "kind"), mail ? str(e, "queue") : str(e, "actor"), mail ? str(e, "outcome") : str(e, "op"),
               mail ? str(e, "from") : str(e, "target"), mail ? " -> " : "", mail ? str(e, "rcpt") : "");
    }
    more(r);
    return 0;
}

/* audit.show: every field of the entry, then its proof in the checkpoint. */
int sg_cli_print_log_entry(const sg_op *op, const json_t *r)
{
    (void)op;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)r, k, v) {
        if (json_is_string(v))
            printf("%-18s %s\n", k, json_string_value(v));
        else if (json_is_integer(v))
            printf("%-18s %lld\n", k, (long long)json_integer_value(v));
    }
    const json_t *cp = json_object_get(r, "checkpoint");
    if (!cp) {
        printf("checkpoint         none covers this entry yet\n");
        return 0;
    }
    printf("checkpoint size    %lld\ncheckpoint root    %s\nsignature          %s\nproof              %s\n",
           num(cp, "size"), str(cp, "root"), json_is_true(json_object_get(cp, "signature_ok")) ? "ok" : "BAD",
           json_is_true(json_object_get(r, "proof_ok")) ? "ok" : "BAD");
    const json_t *p = json_object_get(r, "proof");
    for (size_t i = 0; i < json_array_size(p); i++)
        printf("path               %s\n", json_string_value(json_array_get(p, i)));
    printf("\n%s", str(cp, "note"));
    return json_is_true(json_object_get(r, "proof_ok")) && json_is_true(json_object_get(cp, "signature_ok")) ? 0 : 1;
}

/* Internal users and groups (ops_users.c). */
static void print_list_line(const char *label, const json_t *list)
{
    printf("%s:", label);
    for (size_t i = 0; i < json_array_size(list); i++)
        printf("%s%s", i ? ", " : " ", json_string_value(json_array_get(list, i)));
    printf("%s\n", json_array_size(list) ? "" : " -");
}

int sg_cli_print_users(const sg_op *op, const json_t *r)
{
    (void)op;
    json_t *items = json_object_get(r, "items");
    printf("%-40s %-9s %s\n", "ADDRESS", "STATE", "NAME");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *u = json_array_get(items, i);
        printf("%-40s %-9s %s\n", str(u, "address"), str(u, "state"), str(u, "name"));
    }
    more(r);
    return 0;
}

int sg_cli_print_user(const sg_op *op, const json_t *r)
{
    (void)op;
    printf("%s (%s) %s\n", str(r, "address"), str(r, "state"), str(r, "name"));
    print_list_line("aliases", json_object_get(r, "aliases"));
    print_list_line("groups", json_object_get(r, "groups"));
    return 0;
}

int sg_cli_print_groups(const sg_op *op, const json_t *r)
{
    (void)op;
    json_t *items = json_object_get(r, "items");
    printf("%-24s %7s %s\n", "NAME", "MEMBERS", "DESCRIPTION");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *g = json_array_get(items, i);
        printf("%-24s %7lld %s\n", str(g, "name"), (long long)num(g, "members"), str(g, "description"));
    }
    more(r);
    return 0;
}

int sg_cli_print_group(const sg_op *op, const json_t *r)
{
    (void)op;
    printf("%s: %s\n", str(r, "name"), str(r, "description"));
    print_list_line("members", json_object_get(r, "member_list"));
    return 0;
}
