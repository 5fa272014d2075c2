/* cli_cert.c - `sealgate cert import|export|trust|untrust|check` (list, show and delete go
 * through the operation table: src/cli/cli_ops.c, src/admin/ops_certs.c). Owner: src/keys.
 * SECURITY: the admin's tool; import of private keys (PEM keys, PKCS#12) and `export --key`
 * load the KEK, creating it when absent (run as root or as the KEK's owner; others fail on the
 * file mode). `export --key` prints an unencrypted private key: it is for moving a key to a
 * mail client, like `key export --secret`. */
#include "cli/cli_cert.h"

#include <errno.h>
#include <getopt.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/kek.h"
#include "net/fetch_helper.h"
#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/privdrop.h"
#include "cli/cli_store.h"
#include "roles.h"

#define CERT_FILE_MAX (16u << 20)

static const char usage_text[] =
    "usage: sealgate cert import FILE... [--password P] [--trust]   (- reads standard input;\n"
    "                                     a certificate and its key may be in two files)\n"
    "       sealgate cert list [--address ADDR]\n"
    "       sealgate cert show FPR\n"
    "       sealgate cert export FPR [--der | --key]\n"
    "       sealgate cert delete FPR\n"
    "       sealgate cert trust FPR|FILE | untrust FPR|FILE\n"
    "       sealgate cert check FPR|FILE [--address A] [--purpose sign|encrypt]\n";

static int usage(void)
{
    fputs(usage_text, stderr);
    return 2;
}

int sg_cli_certstore_open(const sg_config *cfg, sg_store **st, sg_certstore **cs)
{
    char kek[4096];
    *cs = NULL;
    if (!(*st = sg_cli_store_open(cfg)))
        return 1;
    sg_kek_ensure(cfg->base_dir, cfg->users.cryptd, cfg->users.group);
    sg_kek_path(cfg->base_dir, kek, sizeof kek);
    if (!(*cs = sg_certstore_open(*st, kek, SG_CS_CREATE_KEK))) {
        sg_store_close(*st);
        *st = NULL;
        fprintf(stderr, "sealgate: out of memory\n");
        return 1;
    }
    /* The admin's CLI validates like cryptd does: same revocation policy, same fetches. */
    sg_certstore_set_revocation(*cs, &cfg->revocation);
    return 0;
}

void sg_cli_certstore_close(sg_store *st, sg_certstore *cs)
{
    sg_certstore_close(cs);
    sg_store_close(st);
}

/* Standard input may be a pipe (fstat gives no size): read to EOF with the same cap. */
static int read_stdin(char **out, size_t *len)
{
    sg_buf b;
    sg_buf_init(&b, CERT_FILE_MAX);
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

int sg_cli_read_input(const char *path, char **data, size_t *len)
{
    if (strcmp(path, "-") == 0)
        return read_stdin(data, len);
    return sg_read_file(path, CERT_FILE_MAX, data, len);
}

/* What the import printed that makes its exit status non-zero. */
typedef struct import_outcome {
    int refused;   /* inputs refused as a whole (nothing of the call was stored) */
    int untrusted; /* --trust asked for a certificate that cannot be an anchor */
} import_outcome;

static void print_import(void *ctx, const sg_cert_import_result *r)
{
    import_outcome *o = ctx;
    printf("%s %s %s", sg_cert_import_status_name(r->status), r->fpr ? r->fpr : "-",
           r->subject ? r->subject : "-");
    if (r->key)
        fputs(" key", stdout);
    if (r->trust > 0)
        fputs(" trusted", stdout);
    if (r->reason && r->input)
        printf(" (%s: %s)", r->input, r->reason);
    else if (r->reason)
        printf(" (%s)", r->reason);
    putchar('\n');
    o->refused += !r->fpr;
    o->untrusted += r->trust < 0;
}

static int cmd_import(sg_certstore *cs, int argc, char **argv)
{
    const char *password = NULL;
    unsigned flags = 0;
    static const struct option opts[] = {
        {"password", required_argument, NULL, 'p'}, {"trust", no_argument, NULL, 't'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 0; /* re-initialise getopt after main's "+" scan */
    while ((c = getopt_long(argc, argv, "p:t", opts, NULL)) != -1) {
        if (c == 'p')
            password = optarg;
        else if (c == 't')
            flags |= SG_CS_IMPORT_TRUST;
        else
            return usage();
    }
    if (optind >= argc)
        return usage();
    /* All files first: they are imported together (a key may belong to a certificate in
     * another file), so one that cannot be read stops the whole call. */
    size_t n = (size_t)(argc - optind);
    sg_cert_input *in = calloc(n, sizeof *in);
    int rc = in ? 0 : 1;
    for (size_t i = 0; in && i < n; i++) {
        char *data = NULL;
        const char *path = argv[optind + (int)i];
        if (sg_cli_read_input(path, &data, &in[i].len) < 0) {
            fprintf(stderr, "sealgate: %s: %s (nothing imported)\n", path,
                    errno == EFBIG ? "file too large" : strerror(errno));
            rc = 1;
            break;
        }
        in[i].data = (const uint8_t *)data;
        in[i].name = path;
    }
    import_outcome o = {0, 0};
    if (rc == 0 && sg_certstore_import_set(cs, in, n, password, flags, print_import, &o) < 0) {
        fprintf(stderr, "sealgate: %s\n", sg_certstore_error(cs));
        rc = 1;
    }
    for (size_t i = 0; in && i < n; i++)
        free((void *)in[i].data);
    free(in);
    return rc || o.refused || o.untrusted ? 1 : 0;
}

static int cmd_export(sg_certstore *cs, int argc, char **argv)
{
    bool der = false, key = false;
    const char *fpr = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--der") == 0)
            der = true;
        else if (strcmp(argv[i], "--key") == 0)
            key = true;
        else if (!fpr && argv[i][0] != '-')
            fpr = argv[i];
        else
            return usage();
    }
    if (!fpr || (der && key))
        return usage();
    uint8_t *out = NULL;
    size_t len = 0;
    int rc =
        key ? sg_certstore_export_key(cs, fpr, &out, &len) : sg_certstore_export(cs, fpr, der, &out, &len);
    if (rc != 0) {
        fprintf(stderr, "sealgate: %s\n", sg_certstore_error(cs));
        return 1;
    }
    rc = sg_write_all(STDOUT_FILENO, out, len) < 0 ? 1 : 0;
    if (key)
        sg_kek_free_plain(out, len);
    else
        free(out);
    return rc;
}

/* The certificate of a PEM or DER file; *count: how many certificates the file holds. */
static X509 *cert_from_file(const char *path, int *count)
{
    char *data;
    size_t len;
    *count = 0;
    if (sg_cli_read_input(path, &data, &len) < 0) {
        fprintf(stderr, "sealgate: %s: neither a known fingerprint nor a readable file (%s)\n", path,
                errno == EFBIG ? "file too large" : strerror(errno));
        return NULL;
    }
    BIO *b = BIO_new_mem_buf(data, (int)len);
    X509 *x = NULL, *more;
    while (b && (more = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
        if (x)
            X509_free(more);
        else
            x = more;
        ++*count;
    }
    ERR_clear_error();
    if (!x) {
        const unsigned char *p = (const unsigned char *)data;
        *count = (x = d2i_X509(NULL, &p, (long)len)) != NULL;
    }
    BIO_free(b);
    free(data);
    if (!x)
        fprintf(stderr, "sealgate: %s: no certificate (PEM or DER)\n", path);
    return x;
}

/* FPR, or a file with the one certificate (it must be in the store: `import --trust` does both). */
static int cmd_trust(sg_certstore *cs, int argc, char **argv, bool trusted)
{
    if (argc != 2)
        return usage();
    char fpr[SG_CERT_FPR_LEN + 1];
    bool file = sg_cert_fpr_norm(argv[1], fpr) < 0;
    if (file) {
        int count;
        X509 *x = cert_from_file(argv[1], &count);
        int ok = x && count == 1 && sg_cert_fpr(x, fpr) == 0;
        X509_free(x);
        if (x && count != 1)
            fprintf(stderr, "sealgate: %s holds %d certificates: name one by its fingerprint\n", argv[1], count);
        if (!ok)
            return 1;
    }
    int rc = sg_certstore_set_trust(cs, fpr, trusted);
    if (rc == 1 && file)
        fprintf(stderr, "sealgate: %s: certificate %s is not in the store (import%s it: sealgate cert import%s %s)\n",
                argv[1], fpr, trusted ? " and trust" : "", trusted ? " --trust" : "", argv[1]);
    else if (rc != 0)
        fprintf(stderr, "sealgate: %s\n", sg_certstore_error(cs));
    if (rc != 0)
        return 1;
    printf("%s %s\n", trusted ? "trusted" : "untrusted", fpr);
    return 0;
}

/* The certificate named by a fingerprint in the store, else read from a file (PEM or DER). */
static X509 *check_subject(sg_certstore *cs, const char *arg)
{
    sg_cert_info ci;
    if (sg_certstore_get(cs, arg, &ci) == 0) {
        X509 *x = sg_certstore_load_cert(cs, ci.fpr);
        sg_cert_info_clear(&ci);
        return x;
    }
    int count;
    return cert_from_file(arg, &count);
}

static int cmd_check(sg_certstore *cs, const sg_config *cfg, int argc, char **argv)
{
    const char *address = NULL;
    int purpose = SG_CERT_SIGN, c;
    static const struct option opts[] = {{"address", required_argument, NULL, 'a'},
                                         {"purpose", required_argument, NULL, 'p'},
                                         {NULL, 0, NULL, 0}};
    optind = 0;
    while ((c = getopt_long(argc, argv, "a:p:", opts, NULL)) != -1) {
        if (c == 'a')
            address = optarg;
        else if (c == 'p' && strcmp(optarg, "sign") == 0)
            purpose = SG_CERT_SIGN;
        else if (c == 'p' && strcmp(optarg, "encrypt") == 0)
            purpose = SG_CERT_ENCRYPT;
        else
            return usage();
    }
    if (optind != argc - 1)
        return usage();
    X509 *x = check_subject(cs, argv[optind]);
    if (!x)
        return 1;
    char fpr[SG_CERT_FPR_LEN + 1] = "?";
    sg_cert_fpr(x, fpr);
    sg_cert_result r;
    int v = sg_cert_validate_ex(cs, x, address, purpose, time(NULL), &r);
    X509_free(x);
    const sg_revocation_cfg *rc = &cfg->revocation;
    printf("certificate  %s\npurpose      %s\naddress      %s\nverdict      %s\nreason       %s\n", fpr,
           purpose == SG_CERT_SIGN ? "sign" : "encrypt", address ? address : "(not checked)", sg_cert_verdict_name(v),
           r.reason);
    printf("revocation   %s%s\ndetail       %s\npolicy       methods", sg_rev_status_name(r.revocation),
           r.soft_fail ? " (accepted: soft-fail)" : "", r.revocation_detail);
    for (int i = 0; i < rc->nmethods; i++)
        printf("%s%s", i ? "," : " ", rc->methods[i] == SG_REV_METHOD_OCSP ? "ocsp" : "crl");
    printf("%s, unreachable %s, fetch %s\n", rc->nmethods ? "" : " (none)",
           rc->unreachable == SG_REV_HARD_FAIL ? "hard-fail" : "soft-fail", rc->fetch ? "on" : "off");
    if (sg_fetch_helper_pid())
        printf("fetches      by helper process %ld%s\n", (long)sg_fetch_helper_pid(),
               geteuid() == 0 ? " (dropped to revocation.helper_user)" : "");
    return v == SG_CERT_VALID ? 0 : 1;
}

int sg_cli_cert(const sg_config *cfg, int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *sub = argv[1];
    /* list, show and delete go through the operation table (src/cli/cli_ops.c). */
    static const char *const known[] = {"import", "export", "trust", "untrust", "check"};
    bool ok = false;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        ok = ok || strcmp(sub, known[i]) == 0;
    if (!ok)
        return usage();
    /* `check` may fetch: the fetches run in a helper forked now, before the store and the KEK
     * are opened, and dropped to revocation.helper_user when we are root. */
    char herr[256];
    if (strcmp(sub, "check") == 0 && cfg->revocation.fetch &&
        sg_fetch_helper_start(cfg->revocation.helper_user, cfg->revocation.helper_group, herr, sizeof herr) < 0) {
        fprintf(stderr, "sealgate: cannot start the fetch helper: %s\n", herr);
        return 1;
    }
    sg_store *st;
    sg_certstore *cs;
    if (sg_cli_certstore_open(cfg, &st, &cs) != 0) {
        sg_fetch_helper_stop();
        return 1;
    }
    int rc;
    argc--, argv++;
    if (strcmp(sub, "import") == 0)
        rc = cmd_import(cs, argc, argv);
    else if (strcmp(sub, "export") == 0)
        rc = cmd_export(cs, argc, argv);
    else if (strcmp(sub, "check") == 0)
        rc = cmd_check(cs, cfg, argc, argv);
    else
        rc = cmd_trust(cs, argc, argv, strcmp(sub, "trust") == 0);
    sg_cli_certstore_close(st, cs);
    sg_fetch_helper_stop();
    return rc;
}
