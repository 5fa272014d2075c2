/* cli_policy.c - `sealgate policy check|load|explain` (`policy show` goes through the operation
 * table: src/cli/cli_ops.c). Owner: src/policy.
 * check and explain change nothing; load adds a revision to the store, which cryptd picks up
 * within a second (src/policy/transform_policy.c), no restart. explain sends nothing: it opens
 * the store, the keystore and the certificate store without the KEK (public lookups only), so
 * it answers "is there a key?" exactly like cryptd would, and can never touch a secret. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "keys/certstore.h"
#include "keys/keystore.h"
#include "lib/fsutil.h"
#include "lib/privdrop.h"
#include "mime/mime.h"
#include "policy/engkeys.h"
#include "policy/explain.h"
#include "policy/explain_run.h"
#include "policy/facts.h"
#include "policy/pstore.h"
#include "cli/cli_store.h"
#include "roles.h"

#define MAX_RCPTS 1000

static const char usage_text[] =
    "usage: sealgate policy check [FILE]     validate FILE (default: the policy in force)\n"
    "       sealgate policy load FILE        check FILE and make it the policy in force\n"
    "       sealgate policy show             print the policy in force\n"
    "       sealgate policy explain --from ADDR --to ADDR [--to ADDR...] [--subject S]\n"
    "                               [--policy FILE] [MESSAGE.eml]\n";

static int usage(void)
{
    fputs(usage_text, stderr);
    return 2;
}

static const char *const *internal(const sg_config *cfg)
{
    return (const char *const *)cfg->internal_domains.v;
}

static char *read_policy_file(const char *path)
{
    char *text = NULL;
    size_t len;
    if (sg_read_file(path, SG_POLICY_MAX_TEXT, &text, &len) < 0) {
        fprintf(stderr, "sealgate: %s: %s\n", path, errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
        return NULL;
    }
    if (strlen(text) != len) {
        fprintf(stderr, "sealgate: %s: contains a NUL byte\n", path);
        free(text);
        return NULL;
    }
    return text;
}

/* The policy in force from the store (reporting broken newer revisions), or FILE's. */
static sg_policy *open_policy(const sg_config *cfg, sg_store *st, const char *file, long long *rev)
{
    char err[600];
    if (file) {
        char *text = read_policy_file(file);
        sg_policy *p =
            text ? sg_policy_parse(text, file, internal(cfg), cfg->internal_domains.n, err, sizeof err)
                 : NULL;
        if (text && !p)
            fprintf(stderr, "%s\n", err);
        free(text);
        *rev = -1;
        return p;
    }
    long long broken = 0;
    sg_policy *p =
        sg_pstore_active(st, internal(cfg), cfg->internal_domains.n, rev, &broken, err, sizeof err);
    if (broken)
        fprintf(stderr, "sealgate: revision %lld is not in force: %s\n", broken, err);
    else if (!p)
        fprintf(stderr, "sealgate: %s\n", err);
    return p;
}

static int cmd_check(const sg_config *cfg, sg_store *st, int argc, char **argv)
{
    if (argc > 2)
        return usage();
    long long rev;
    sg_policy *p = open_policy(cfg, st, argc == 2 ? argv[1] : NULL, &rev);
    if (!p)
        return 1;
    if (rev >= 0)
        printf("revision %lld%s: ok, %zu rules\n", rev, rev ? "" : " (the default policy)", p->nrules);
    else
        printf("%s: ok, %zu rules\n", argv[1], p->nrules);
    sg_policy_free(p);
    return 0;
}

static int cmd_load(const sg_config *cfg, sg_store *st, int argc, char **argv)
{
    if (argc != 2)
        return usage();
    char *text = read_policy_file(argv[1]), err[600];
    if (!text)
        return 1;
    sg_policy *p = sg_policy_parse(text, argv[1], internal(cfg), cfg->internal_domains.n, err, sizeof err);
    if (!p) {
        fprintf(stderr, "%s\nsealgate: not loaded; the policy in force stays\n", err);
        free(text);
        return 1;
    }
    char source[PATH_MAX + 64];
    char *abs = realpath(argv[1], NULL);
    snprintf(source, sizeof source, "%s", abs ? abs : argv[1]);
    free(abs);
    long long rev;
    int rc = sg_pstore_save(st, text, source, &rev, err, sizeof err);
    if (rc == 0)
        printf("loaded %s as revision %lld (%zu rules); cryptd applies it within a second\n", argv[1], rev,
               p->nrules);
    else
        fprintf(stderr, "sealgate: %s\n", err);
    sg_policy_free(p);
    free(text);
    return rc == 0 ? 0 : 1;
}

typedef struct explain_args {
    const char *from, *subject, *policy, *message;
    const char *to[MAX_RCPTS];
    size_t nto;
} explain_args;

static int explain_options(int argc, char **argv, explain_args *a)
{
    static const struct option opts[] = {{"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"subject", required_argument, NULL, 's'},
                                         {"policy", required_argument, NULL, 'p'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 0; /* 0, not 1: fully re-initialise getopt after main's "+" (no permutation) scan */
    while ((c = getopt_long(argc, argv, "f:t:s:p:", opts, NULL)) != -1) {
        if (c == 'f')
            a->from = optarg;
        else if (c == 't' && a->nto < MAX_RCPTS)
            a->to[a->nto++] = optarg;
        else if (c == 's')
            a->subject = optarg;
        else if (c == 'p')
            a->policy = optarg;
        else
            return -1;
    }
    if (optind + 1 == argc)
        a->message = argv[optind];
    else if (optind != argc)
        return -1;
    return a->from && a->nto ? 0 : -1;
}

static int cmd_explain(const sg_config *cfg, sg_store *st, int argc, char **argv)
{
    explain_args a = {0};
    if (explain_options(argc, argv, &a) < 0)
        return usage();
    long long rev;
    sg_policy *p = open_policy(cfg, st, a.policy, &rev);
    if (!p)
        return 1;
    char *msg = NULL, *text = NULL, err[256];
    size_t len = 0, tlen = 0;
    if (a.message && sg_read_file(a.message, cfg->smtpd.max_message_size, &msg, &len) < 0) {
        fprintf(stderr, "sealgate: %s: %s\n", a.message, strerror(errno));
        sg_policy_free(p);
        return 1;
    }
    /* The explanation is gathered first: a failed look-up prints no half explanation. */
    FILE *out = open_memstream(&text, &tlen);
    int rc = out ? sg_policy_explain_run(cfg, st, p, a.from, a.to, a.nto, a.subject, msg, len, out, err, sizeof err)
                 : -1;
    if (out)
        fclose(out);
    if (rc == 0) {
        printf("policy      %s\n", rev > 0    ? "the store's revision"
                                   : rev == 0 ? "the default policy"
                                              : a.policy);
        if (rev > 0)
            printf("revision    %lld\n", rev);
        fwrite(text, 1, tlen, stdout);
    } else {
        fprintf(stderr, "sealgate: %s\n", out ? err : strerror(errno));
    }
    free(text);
    free(msg);
    sg_policy_free(p);
    return rc == 0 ? 0 : 1;
}

int sg_cli_policy(const sg_config *cfg, int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *sub = argv[1];
    /* show goes through the operation table (src/cli/cli_ops.c). */
    if (strcmp(sub, "check") != 0 && strcmp(sub, "load") != 0 &&
        strcmp(sub, "explain") != 0)
        return usage();
    /* A file given to check needs no store: an administrator can validate anywhere. */
    if (strcmp(sub, "check") == 0 && argc == 3)
        return cmd_check(cfg, NULL, argc - 1, argv + 1);
    sg_store *st = sg_cli_store_open(cfg);
    if (!st)
        return 1;
    int rc;
    if (strcmp(sub, "check") == 0)
        rc = cmd_check(cfg, st, argc - 1, argv + 1);
    else if (strcmp(sub, "load") == 0)
        rc = cmd_load(cfg, st, argc - 1, argv + 1);
    else
        rc = cmd_explain(cfg, st, argc - 1, argv + 1);
    sg_store_close(st);
    return rc;
}
