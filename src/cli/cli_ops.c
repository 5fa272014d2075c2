/* cli_ops.c - the CLI verbs served through the operation table (cli_ops.h): words and options
 * to arguments, the call, the answer printed, the exit status. Owner: src/cli.
 * Options: --NAME VALUE or --NAME=VALUE for any argument of the operation ('-' in NAME stands
 * for '_'); a bool argument also as a bare --NAME; --NAME-stdin reads the argument from the
 * first line of standard input (passwords); --role R (repeatable) adds to a "roles" argument;
 * --json prints the answer as JSON. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/roles.h"
#include "cli/cli_ops.h"
#include "cli/cli_store.h"
#include "store/admin_rows.h"

const sg_cli_verb sg_cli_verbs[] = {
    {"admin.add", {"name"}, sg_cli_print_account},
    {"admin.list", {NULL}, sg_cli_print_accounts},
    {"admin.delete", {"name"}, sg_cli_print_done},
    {"admin.set-roles", {"name"}, sg_cli_print_account},
    {"admin.passwd", {"name"}, sg_cli_print_account},
    {"admin.totp-reset", {"name"}, sg_cli_print_done},
    {"token.create", {NULL}, sg_cli_print_token},
    {"token.list", {NULL}, sg_cli_print_tokens},
    {"token.revoke", {"id"}, sg_cli_print_done},
    {"session.list", {NULL}, sg_cli_print_sessions},
    {"session.end", {"id"}, sg_cli_print_done},
    {"audit.list", {NULL}, sg_cli_print_events},
    {"audit.search", {NULL}, sg_cli_print_log_entries},
    {"audit.show", {"entry"}, sg_cli_print_log_entry},
    {"status", {NULL}, sg_cli_print_status},
    {"metrics", {NULL}, sg_cli_print_metrics},
    {"cluster.status", {NULL}, sg_cli_print_cluster},
    {"key.list", {NULL}, sg_cli_print_keys},
    {"key.show", {"fpr"}, sg_cli_print_key},
    {"key.delete", {"fpr"}, sg_cli_print_deleted},
    {"cert.list", {NULL}, sg_cli_print_certs},
    {"cert.show", {"fpr"}, sg_cli_print_cert},
    {"cert.delete", {"fpr"}, sg_cli_print_deleted},
    {"ca.export", {NULL}, sg_cli_print_pem},
    {"ca.revoke", {"fpr"}, sg_cli_print_ca_revoked},
    {"policy.show", {NULL}, sg_cli_print_policy},
    {"policy.revisions", {NULL}, sg_cli_print_revisions},
    {"policy.rollback", {"rev"}, sg_cli_print_loaded},
    {"queue.list", {"state"}, sg_cli_print_queue_list},
    {"queue.show", {"id"}, sg_cli_print_queue_show},
    {"queue.hold", {"id"}, sg_cli_print_queue_moved},
    {"queue.release", {"id"}, sg_cli_print_queue_moved},
    {"queue.retry", {"id"}, sg_cli_print_queue_moved},
    {"queue.delete", {"id"}, sg_cli_print_queue_moved},
    {"job.list", {NULL}, sg_cli_print_jobs},
    {"job.show", {"id"}, sg_cli_print_job},
    {"job.cancel", {"id"}, sg_cli_print_job},
    {"pdf.reset", {"sender", "rcpt"}, sg_cli_print_done},
    {"user.list", {NULL}, sg_cli_print_users},
    {"user.show", {"address"}, sg_cli_print_user},
    {"user.create", {"address"}, sg_cli_print_user},
    {"user.update", {"address"}, sg_cli_print_user},
    {"user.delete", {"address"}, sg_cli_print_done},
    {"group.list", {NULL}, sg_cli_print_groups},
    {"group.show", {"name"}, sg_cli_print_group},
    {"group.create", {"name"}, sg_cli_print_group},
    {"group.update", {"name"}, sg_cli_print_group},
    {"group.delete", {"name"}, sg_cli_print_done},
    {"group.member-add", {"name", "address"}, sg_cli_print_group},
    {"group.member-remove", {"name", "address"}, sg_cli_print_group},
};
const size_t sg_cli_verbs_count = sizeof sg_cli_verbs / sizeof sg_cli_verbs[0];

static const sg_cli_verb *verb_of(const sg_op *op)
{
    for (size_t i = 0; op && i < sg_cli_verbs_count; i++)
        if (strcmp(sg_cli_verbs[i].op, op->name) == 0)
            return &sg_cli_verbs[i];
    return NULL;
}

bool sg_cli_serves(int argc, char **argv)
{
    if (argc < 1)
        return false;
    if (verb_of(sg_op_find_cli((const char *const *)argv, (size_t)argc, NULL)))
        return true;
    /* Not one of our verbs: the areas that still have verbs of the CLI's own code (src/cli/cli_key.c
     * ...) answer it themselves, with their usage; the others are ours to answer. */
    static const char *const own_code[] = {"key",          "cert",    "ca",     "policy",
                                           "check-config", "version", "account"};
    for (size_t i = 0; i < sizeof own_code / sizeof own_code[0]; i++)
        if (strcmp(argv[0], own_code[i]) == 0)
            return false;
    for (size_t i = 0; i < sg_cli_verbs_count; i++) {
        const sg_op *op = sg_op_find(sg_cli_verbs[i].op);
        if (op && strcmp(op->cli[0], argv[0]) == 0)
            return true;
    }
    return false;
}

void sg_cli_op_ctx(const sg_config *cfg, sg_store *st, sg_op_ctx *ctx)
{
    static char actor[SG_ADMIN_NAME_MAX + 1];
    struct passwd *pw = getpwuid(geteuid());
    if (pw)
        snprintf(actor, sizeof actor, "%s", pw->pw_name);
    else
        snprintf(actor, sizeof actor, "uid:%ld", (long)geteuid());
    memset(ctx, 0, sizeof *ctx);
    ctx->cfg = cfg;
    ctx->store = st;
    ctx->actor = actor;
    ctx->roles = SG_ROLE_ADMIN;
    ctx->client = "local";
    ctx->via = SG_VIA_CLI;
    /* forward stays NULL: the CLI runs every operation here, cryptd's too, as it always has;
     * the control socket (issue 18) sets it when a running cryptd answers. */
}

static const sg_op_arg *arg_named(const sg_op *op, const char *name);

/* One argument's name as typed: "ID" for a positional word, "--min-age" for an option. */
static void arg_word(const char *name, bool positional, FILE *f)
{
    if (!positional)
        fputs("--", f);
    for (const char *c = name; *c; c++)
        fputc(positional ? (*c >= 'a' && *c <= 'z' ? *c - 32 : *c) : *c == '_' ? '-' : *c, f);
}

static void usage_of(const sg_op *op, const sg_cli_verb *v, FILE *f)
{
    fputs("usage: sealgate", f);
    for (int i = 0; i < 4 && op->cli[i]; i++)
        fprintf(f, " %s", op->cli[i]);
    for (int i = 0; i < 3 && v->positional[i]; i++) {
        const sg_op_arg *a = arg_named(op, v->positional[i]);
        fputs(a && a->required ? " " : " [", f);
        arg_word(v->positional[i], true, f);
        fputs(a && a->required ? "" : "]", f);
    }
    for (const sg_op_arg *a = op->args; a->name; a++) {
        bool pos = false;
        for (int i = 0; i < 3 && v->positional[i]; i++)
            pos |= strcmp(v->positional[i], a->name) == 0;
        if (pos)
            continue;
        fputs(a->required ? " " : " [", f);
        arg_word(a->name, false, f);
        fputs(a->type == SG_ARG_BOOL ? "" : " V", f);
        fputs(a->required ? "" : "]", f);
    }
    fprintf(f, " [--json]\n  %s\n", op->summary);
    for (const sg_op_arg *a = op->args; a->name; a++)
        fprintf(f, "  %-18s %s%s\n", a->name, a->help, a->required ? " (required)" : "");
}

static const sg_op_arg *arg_named(const sg_op *op, const char *name)
{
    for (const sg_op_arg *a = op->args; a->name; a++)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

/* The first line of standard input (without its newline) into a malloc'd string. */
static char *stdin_line(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

#define MAX_ARGS 32

typedef struct parsed {
    const char *names[MAX_ARGS];
    char *values[MAX_ARGS];
    size_t n;
    bool json;
} parsed;

static int set(parsed *p, const char *name, const char *value, bool append)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->names[i], name) == 0) {
            if (!append)
                return -1; /* given twice */
            char *joined;
            if (asprintf(&joined, "%s,%s", p->values[i], value) < 0)
                return -1;
            free(p->values[i]);
            p->values[i] = joined;
            return 0;
        }
    if (p->n == MAX_ARGS || !(p->values[p->n] = strdup(value)))
        return -1;
    p->names[p->n++] = name;
    return 0;
}

/* argv after the verb words into p: 0, or -1 after printing why. */
static int parse(const sg_op *op, const sg_cli_verb *v, int argc, char **argv, parsed *p)
{
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (strncmp(w, "--", 2) != 0 || !w[2]) {
            const char *name = npos < 3 ? v->positional[npos] : NULL;
            const sg_op_arg *a = name ? arg_named(op, name) : NULL;
            if (!a || set(p, a->name, w, false) < 0) {
                fprintf(stderr, "sealgate: unexpected word '%s'\n", w);
                return -1;
            }
            npos++;
            continue;
        }
        if (strcmp(w, "--json") == 0) {
            p->json = true;
            continue;
        }
        char key[64];
        const char *eq = strchr(w + 2, '=');
        snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - w - 2) : (int)strlen(w + 2), w + 2);
        for (char *c = key; *c; c++)
            if (*c == '-')
                *c = '_';
        bool from_stdin = false, append = false;
        size_t kl = strlen(key);
        if (kl > 6 && strcmp(key + kl - 6, "_stdin") == 0) {
            key[kl - 6] = '\0';
            from_stdin = true;
        }
        const sg_op_arg *a = arg_named(op, key);
        if (!a && kl < sizeof key - 1) { /* --role R: one more of "roles" */
            strcat(key, "s");
            a = arg_named(op, key);
            append = a != NULL;
        }
        if (!a) {
            fprintf(stderr, "sealgate: %s takes no option %s\n", op->name, w);
            return -1;
        }
        char *value = NULL;
        const char *val = eq ? eq + 1 : NULL;
        if (from_stdin) {
            if (!(value = stdin_line())) {
                fprintf(stderr, "sealgate: %s: nothing on standard input\n", w);
                return -1;
            }
            val = value;
        } else if (!val && a->type == SG_ARG_BOOL) {
            val = "true";
        } else if (!val) {
            if (i + 1 >= argc) {
                fprintf(stderr, "sealgate: %s needs a value\n", w);
                return -1;
            }
            val = argv[++i];
        }
        int rc = set(p, a->name, val, append);
        if (value) {
            memset(value, 0, strlen(value));
            free(value);
        }
        if (rc < 0) {
            fprintf(stderr, "sealgate: %s given twice\n", w);
            return -1;
        }
    }
    return 0;
}

static void parsed_free(parsed *p)
{
    for (size_t i = 0; i < p->n; i++) {
        memset(p->values[i], 0, strlen(p->values[i])); /* may be a password */
        free(p->values[i]);
    }
}

static int print_table(bool markdown)
{
    if (markdown) {
        sg_ops_markdown(stdout);
        return 0;
    }
    json_t *a = json_array();
    for (size_t i = 0; a && i < sg_ops_count; i++) {
        const sg_op *op = &sg_ops[i];
        char roles[160];
        json_t *words = json_array();
        for (int k = 0; words && k < 4 && op->cli[k]; k++)
            json_array_append_new(words, json_string(op->cli[k]));
        json_array_append_new(a, json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:o, s:b}", "name", op->name,
                                           "roles", sg_roles_format(op->roles, roles, sizeof roles),
                                           "read_only", op->read_only, "method", op->method, "path", op->path,
                                           "summary", op->summary, "where",
                                           op->where == SG_RUN_ANY      ? "any"
                                           : op->where == SG_RUN_CRYPTD ? "cryptd"
                                           : op->where == SG_RUN_SPOOL  ? "spool"
                                                                        : "local",
                                           "cli", words, "cli_served", verb_of(op) != NULL));
    }
    json_dumpf(a, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(a);
    return 0;
}

int sg_cli_run(const sg_config *cfg, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[0], "admin") == 0 && strcmp(argv[1], "ops") == 0)
        return print_table(argc > 2 && strcmp(argv[2], "--markdown") == 0);
    size_t used = 0;
    const sg_op *op = sg_op_find_cli((const char *const *)argv, (size_t)argc, &used);
    const sg_cli_verb *v = verb_of(op);
    if (!v) {
        fprintf(stderr, "sealgate %s: unknown command; these are:\n", argv[0]);
        for (size_t i = 0; i < sg_cli_verbs_count; i++) {
            const sg_op *o = sg_op_find(sg_cli_verbs[i].op);
            if (o && strcmp(o->cli[0], argv[0]) == 0)
                usage_of(o, &sg_cli_verbs[i], stderr);
        }
        return 2;
    }
    for (int i = (int)used; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage_of(op, v, stdout);
            return 0;
        }
    parsed p = {0};
    json_t *args = NULL, *result = NULL;
    sg_op_error err = {0};
    int rc = 2;
    if (parse(op, v, argc - (int)used, argv + used, &p) < 0) {
        usage_of(op, v, stderr);
        goto out;
    }
    /* A terminal wants the whole list: the largest page unless a page was asked for. */
    if (arg_named(op, "limit")) {
        char max[16];
        snprintf(max, sizeof max, "%d", SG_OP_PAGE_MAX);
        (void)set(&p, "limit", max, false); /* -1 when given already: that one stays */
    }
    if (sg_op_args_from_strings(op, p.names, (const char *const *)p.values, p.n, &args, &err) < 0) {
        fprintf(stderr, "sealgate: %s\n", err.message);
        goto out;
    }
    sg_store *st = sg_cli_store_open(cfg);
    if (!st) {
        rc = 1;
        goto out;
    }
    sg_op_ctx ctx;
    sg_cli_op_ctx(cfg, st, &ctx);
    if (sg_admin_call(&ctx, op->name, args, &result, &err) < 0) {
        fprintf(stderr, "sealgate %s: %s\n", op->cli[0], err.message);
        rc = err.code == SG_OP_INVALID_ARGUMENT ? 2 : 1;
    } else {
        rc = p.json || !v->print ? sg_cli_print_json(op, result) : v->print(op, result);
    }
    sg_store_close(st);
out:
    parsed_free(&p);
    json_decref(args);
    json_decref(result);
    return rc;
}
