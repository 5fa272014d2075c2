/* cli_key.c - `sealgate key import|export|generate|revoke` (list, show and delete go through
 * the operation table: src/cli/cli_ops.c, src/admin/ops_keys.c). Owner: src/keys.
 * SECURITY: this is the admin's tool and one of the two callers allowed to unwrap private keys
 * (the other is cryptd): `export --secret`, `generate` and `revoke` load the KEK, creating it
 * when absent (the admin runs this as root or as the KEK's owner; others fail on the file
 * mode). The store is opened, created and migrated like `sealgate start` does. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/kek.h"
#include "keys/keystore.h"
#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/privdrop.h"
#include "cli/cli_control.h"
#include "cli/cli_progress.h"
#include "cli/cli_store.h"
#include "roles.h"

#define KEY_FILE_MAX (16u << 20) /* a keyring export of a whole organisation still fits */

static const char usage_text[] =
    "usage: sealgate key import FILE...   (- reads standard input; a job: progress on a terminal,\n"
    "                                      Ctrl-C or `sealgate job cancel ID` stop it between keys)\n"
    "       sealgate key list [--address ADDR]\n"
    "       sealgate key show FPR\n"
    "       sealgate key export FPR [--secret]\n"
    "       sealgate key delete FPR\n"
    "       sealgate key generate ADDRESS [--algo ed25519|rsa3072|rsa4096] [--expires DAYS]\n"
    "       sealgate key revoke FPR [REASON]\n";

static int usage(void)
{
    fputs(usage_text, stderr);
    return 2;
}

static void print_import(void *ctx, const sg_import_result *r)
{
    (void)ctx;
    printf("%s %s", sg_import_status_name(r->status), r->fpr ? r->fpr : "-");
    if (r->uid)
        printf(" %s", r->uid);
    if (r->reason)
        printf(" (%s)", r->reason);
    putchar('\n');
}

/* Standard input may be a pipe: read to EOF with the same cap as files. */
static int read_stdin(char **out, size_t *len)
{
    sg_buf b;
    sg_buf_init(&b, KEY_FILE_MAX);
    char chunk[65536];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (n > 0 && sg_buf_append(&b, chunk, (size_t)n) < 0)) {
            if (n > 0)
                errno = EFBIG;
            sg_buf_free(&b);
            return -1;
        }
        if (n == 0)
            break;
    }
    *len = b.len;
    *out = b.data ? b.data : strdup("");
    return *out ? 0 : -1;
}

/* On a terminal the keys are not listed one by one (a keyring may hold 20,000): the progress
 * line and the rejected ones are. */
static void print_import_tty(void *ctx, const sg_import_result *r)
{
    if (r->status == SG_IMPORT_REJECTED) {
        fputs("\r\033[K", stdout);
        print_import(ctx, r);
    }
}

/* One file's keys as a job (admin/jobs.h): its row in the store shows the progress to the API
 * and the portal, and job.cancel there stops it as Ctrl-C here does. 0 done, 1 cancelled, -1. */
static int import_job(sg_store *st, sg_keystore *ks, const char *name, const uint8_t *data, size_t len)
{
    sg_job j;
    if (sg_job_begin(&j, st, "key.import", sg_cli_actor()) < 0) {
        fprintf(stderr, "sealgate: %s: cannot start the job: %s\n", name, sg_store_error(st));
        return -1;
    }
    sg_cli_progress_attach(&j, "keys");
    j.item = sg_cli_progress_tty() ? print_import_tty : print_import;
    int rc = sg_job_key_import(&j, ks, data, len);
    sg_cli_progress_done();
    if (!sg_cli_progress_tty() && rc != 0) /* the terminal has the result line already */
        fprintf(stderr, "sealgate: %s: %s: %s\n", name, j.row.state, j.row.result);
    return rc;
}

static int cmd_import(sg_store *st, sg_keystore *ks, int argc, char **argv)
{
    if (argc < 2)
        return usage();
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        char *data = NULL;
        size_t len = 0;
        bool from_stdin = strcmp(argv[i], "-") == 0; /* gpg --export ... | sealgate key import - */
        if ((from_stdin ? read_stdin(&data, &len) : sg_read_file(argv[i], KEY_FILE_MAX, &data, &len)) < 0) {
            fprintf(stderr, "sealgate: %s: %s\n", argv[i],
                    errno == EFBIG ? "file too large" : strerror(errno));
            rc = 1;
            continue;
        }
        int r = import_job(st, ks, argv[i], (const uint8_t *)data, len);
        free(data);
        if (r != 0) {
            rc = 1;
            if (r == 1) /* cancelled: the files after it are not started */
                break;
        }
    }
    return rc;
}

static int cmd_export(sg_keystore *ks, int argc, char **argv)
{
    bool secret = false;
    const char *fpr = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--secret") == 0)
            secret = true;
        else if (!fpr && argv[i][0] != '-')
            fpr = argv[i];
        else
            return usage();
    }
    if (!fpr)
        return usage();
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = sg_keystore_export(ks, fpr, secret, true, &out, &len);
    if (rc != 0) {
        fprintf(stderr, "sealgate: %s\n", sg_keystore_error(ks));
        return 1;
    }
    rc = sg_write_all(STDOUT_FILENO, out, len) < 0 ? 1 : 0;
    if (secret)
        sg_pgp_free_secret(out, len);
    else
        free(out);
    return rc;
}

static int cmd_generate(const sg_config *cfg, sg_keystore *ks, int argc, char **argv)
{
    const char *algo = "ed25519";
    long days = 0;
    static const struct option opts[] = {{"algo", required_argument, NULL, 'a'},
                                         {"expires", required_argument, NULL, 'e'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 0; /* 0, not 1: fully re-initialise getopt after main's "+" (no permutation) scan */
    while ((c = getopt_long(argc, argv, "a:e:", opts, NULL)) != -1) {
        if (c == 'a') {
            algo = optarg;
        } else if (c == 'e') {
            char *end;
            days = strtol(optarg, &end, 10);
            if (*end || days < 0 || days > 36500)
                return usage();
        } else {
            return usage();
        }
    }
    if (optind != argc - 1 || (strcmp(algo, "ed25519") && strcmp(algo, "rsa3072") && strcmp(algo, "rsa4096")))
        return usage();
    /* The gateway runs: cryptd generates it (issue 18, docs/control.md). */
    int r = sg_cli_remote_fpr(cfg, "key.generate",
                              json_pack("{s:s, s:s, s:I}", "address", argv[optind], "algo", algo, "expires",
                                        (json_int_t)days));
    if (r != SG_CLI_LOCAL)
        return r;
    char domain[320], fpr[SG_PGP_FPR_LEN + 1];
    sg_keystore_domain_address(cfg->internal_domains.n ? cfg->internal_domains.v[0] : NULL, cfg->hostname,
                               domain, sizeof domain);
    if (sg_keystore_generate(ks, argv[optind], algo, (uint32_t)(days * 86400), domain, fpr) < 0) {
        fprintf(stderr, "sealgate: %s\n", sg_keystore_error(ks));
        return 1;
    }
    printf("%s\n", fpr);
    return 0;
}

static int cmd_revoke(sg_keystore *ks, int argc, char **argv)
{
    if (argc != 2 && argc != 3)
        return usage();
    int rc = sg_keystore_revoke(ks, argv[1], argc == 3 ? argv[2] : "revoked by the administrator");
    if (rc != 0) {
        fprintf(stderr, "sealgate: %s\n", sg_keystore_error(ks));
        return 1;
    }
    printf("revoked %s\n", argv[1]);
    return 0;
}

int sg_cli_key(const sg_config *cfg, int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *sub = argv[1];
    /* list, show and delete go through the operation table (src/cli/cli_ops.c). */
    static const char *const known[] = {"import", "import-bulk", "export", "generate", "revoke"};
    bool ok = false;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        ok = ok || strcmp(sub, known[i]) == 0;
    if (!ok)
        return usage();
    char kek[4096];
    sg_store *st = sg_cli_store_open(cfg);
    if (!st)
        return 1;
    /* Failure is not fatal here: commands that need the KEK report why they cannot load it. */
    sg_kek_ensure(cfg->base_dir, cfg->users.cryptd, cfg->users.group);
    sg_kek_path(cfg->base_dir, kek, sizeof kek);
    sg_keystore *ks = sg_keystore_open(st, kek, SG_KS_CREATE_KEK);
    if (!ks) {
        sg_store_close(st);
        fprintf(stderr, "sealgate: out of memory\n");
        return 1;
    }
    int rc;
    argc--, argv++;
    if (strcmp(sub, "import") == 0 || strcmp(sub, "import-bulk") == 0) /* every import is a job */
        rc = cmd_import(st, ks, argc, argv);
    else if (strcmp(sub, "export") == 0)
        rc = cmd_export(ks, argc, argv);
    else if (strcmp(sub, "generate") == 0)
        rc = cmd_generate(cfg, ks, argc, argv);
    else
        rc = cmd_revoke(ks, argc, argv);
    sg_keystore_close(ks);
    sg_store_close(st);
    return rc;
}
