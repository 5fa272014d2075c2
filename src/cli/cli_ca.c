/* cli_ca.c - `sealgate ca init|issue|crl`: the local S/MIME CA (`ca export` and `ca revoke` go through
 * the operation table: src/cli/cli_ops.c). Owner: src/keys.
 * SECURITY: init, issue and crl unwrap or create private keys with the KEK (admin only). The
 * CRL is public; it is written to <base_dir>/ca/crl.pem by default for the web role to
 * publish later. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_cert.h"
#include "cli/cli_control.h"
#include "keys/ca.h"
#include "lib/fsutil.h"
#include "roles.h"

static const char usage_text[] =
    "usage: sealgate ca init [--subject \"CN=...\"] [--days N] [--rsa]\n"
    "       sealgate ca issue ADDRESS [--usage sign|encrypt|both] [--days N] [--rsa]\n"
    "                [--crl-url URL] [--ocsp-url URL]\n"
    "       sealgate ca export\n"
    "       sealgate ca revoke FPR\n"
    "       sealgate ca crl [--out FILE] [--days N]\n";

static int usage(void)
{
    fputs(usage_text, stderr);
    return 2;
}

static int parse_days(const char *s, int *days)
{
    char *end;
    long d = strtol(s, &end, 10);
    if (*end || d < 1 || d > 36500)
        return -1;
    *days = (int)d;
    return 0;
}

static int fail(sg_certstore *cs)
{
    fprintf(stderr, "sealgate: %s\n", sg_certstore_error(cs));
    return 1;
}

static const struct option opts[] = {
    {"subject", required_argument, NULL, 's'}, {"days", required_argument, NULL, 'd'},
    {"rsa", no_argument, NULL, 'r'},           {"usage", required_argument, NULL, 'u'},
    {"out", required_argument, NULL, 'o'},     {"crl-url", required_argument, NULL, 'C'},
    {"ocsp-url", required_argument, NULL, 'O'}, {NULL, 0, NULL, 0}};

static int cmd_init(sg_certstore *cs, int argc, char **argv)
{
    const char *subject = "CN=sealgate local CA";
    int days = 3650, c;
    bool rsa = false;
    optind = 0;
    while ((c = getopt_long(argc, argv, "s:d:r", opts, NULL)) != -1) {
        if (c == 's')
            subject = optarg;
        else if (c == 'd' && parse_days(optarg, &days) == 0)
            ;
        else if (c == 'r')
            rsa = true;
        else
            return usage();
    }
    if (optind != argc)
        return usage();
    char fpr[SG_CERT_FPR_LEN + 1];
    if (sg_ca_init(cs, subject, days, rsa, fpr) != 0)
        return fail(cs);
    printf("%s\n", fpr);
    return 0;
}

static int cmd_issue(const sg_config *cfg, sg_certstore *cs, int argc, char **argv)
{
    int days = 730, usage_bits = SG_CA_USAGE_SIGN | SG_CA_USAGE_ENCRYPT, c;
    bool rsa = false;
    const char *crl_url = NULL, *ocsp_url = NULL;
    optind = 0;
    while ((c = getopt_long(argc, argv, "u:d:rC:O:", opts, NULL)) != -1) {
        if (c == 'C')
            crl_url = optarg;
        else if (c == 'O')
            ocsp_url = optarg;
        else if (c == 'u' && !strcmp(optarg, "sign"))
            usage_bits = SG_CA_USAGE_SIGN;
        else if (c == 'u' && !strcmp(optarg, "encrypt"))
            usage_bits = SG_CA_USAGE_ENCRYPT;
        else if (c == 'u' && !strcmp(optarg, "both"))
            usage_bits = SG_CA_USAGE_SIGN | SG_CA_USAGE_ENCRYPT;
        else if (c == 'd' && parse_days(optarg, &days) == 0)
            ;
        else if (c == 'r')
            rsa = true;
        else
            return usage();
    }
    if (optind != argc - 1)
        return usage();
    /* The gateway runs: cryptd issues it (issue 18, docs/control.md). */
    const char *u = usage_bits == SG_CA_USAGE_SIGN ? "sign" : usage_bits == SG_CA_USAGE_ENCRYPT ? "encrypt" : "both";
    int r = sg_cli_remote_fpr(cfg, "ca.issue",
                              json_pack("{s:s, s:s, s:i, s:b, s:s?, s:s?}", "address", argv[optind], "usage", u,
                                        "days", days, "rsa", rsa, "crl_url", crl_url, "ocsp_url", ocsp_url));
    if (r != SG_CLI_LOCAL)
        return r;
    char fpr[SG_CERT_FPR_LEN + 1];
    if (sg_ca_issue_urls(cs, argv[optind], usage_bits, days, rsa, crl_url, ocsp_url, fpr) != 0)
        return fail(cs);
    printf("%s\n", fpr);
    return 0;
}

static int cmd_crl(const sg_config *cfg, sg_certstore *cs, int argc, char **argv)
{
    char def[4096];
    const char *out = NULL;
    int days = 30, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:d:", opts, NULL)) != -1) {
        if (c == 'o')
            out = optarg;
        else if (c == 'd' && parse_days(optarg, &days) == 0)
            ;
        else
            return usage();
    }
    if (optind != argc)
        return usage();
    if (!out) {
        snprintf(def, sizeof def, "%s/ca", cfg->base_dir);
        if (sg_mkdirs(def, 0755) < 0) {
            fprintf(stderr, "sealgate: cannot create %s: %s\n", def, strerror(errno));
            return 1;
        }
        snprintf(def, sizeof def, "%s/ca/crl.pem", cfg->base_dir);
        out = def;
    }
    uint8_t *pem;
    size_t len;
    /* The gateway runs: cryptd signs it and answers the (public) PEM, written here. */
    json_t *res = NULL;
    int r = sg_cli_remote(cfg, "ca.crl", json_pack("{s:i}", "days", days), &res);
    if (r == 1)
        return 1;
    if (r == 0) {
        const char *text = json_string_value(json_object_get(res, "crl"));
        len = json_string_length(json_object_get(res, "crl"));
        pem = text ? malloc(len) : NULL;
        if (pem)
            memcpy(pem, text, len);
        json_decref(res);
        if (!pem) {
            fprintf(stderr, "sealgate: cryptd answered no CRL\n");
            return 1;
        }
    } else if (sg_ca_crl(cs, days, &pem, &len) != 0) {
        return fail(cs);
    }
    int rc = 0;
    if (sg_write_file_atomic(out, pem, len, 0644) < 0) {
        fprintf(stderr, "sealgate: %s: %s\n", out, strerror(errno));
        rc = 1;
    } else {
        printf("%s\n", out);
    }
    free(pem);
    return rc;
}

int sg_cli_ca(const sg_config *cfg, int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *sub = argv[1];
    /* export and revoke go through the operation table (src/cli/cli_ops.c). */
    static const char *const known[] = {"init", "issue", "crl"};
    bool ok = false;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        ok = ok || strcmp(sub, known[i]) == 0;
    if (!ok)
        return usage();
    sg_store *st;
    sg_certstore *cs;
    if (sg_cli_certstore_open(cfg, &st, &cs) != 0)
        return 1;
    int rc;
    argc--, argv++;
    if (strcmp(sub, "init") == 0)
        rc = cmd_init(cs, argc, argv);
    else if (strcmp(sub, "issue") == 0)
        rc = cmd_issue(cfg, cs, argc, argv);
    else
        rc = cmd_crl(cfg, cs, argc, argv);
    sg_cli_certstore_close(st, cs);
    return rc;
}
