/* cli_bootstrap.c - `sealgate admin bootstrap [--file PATH]`: the first administrator of a fresh
 * installation, made without a question (the package's postinst runs it after `sealgate
 * prepare`, debian/sealgate.postinst). When the store holds no account yet it makes account
 * "admin" with the Administrator role and a generated one-time password, through the operation
 * table (admin.add: argon2id hash, audit event), and writes that password to PATH (default:
 * initial-admin-password beside the configuration file, /etc/sealgate/ when packaged). When any
 * account exists it changes nothing: an upgrade or a reinstall never adds an account or resets
 * a password. Owner: src/cli.
 * SECURITY: the password comes from the CSPRNG (sg_auth_generate_password) and goes only to
 * PATH: written atomically (temp file, fsync, rename), mode 0600, owned by the caller (root
 * when packaged). It is never printed: stdout is the apt terminal and may end in a log. The file
 * is written before the account is made, so a kill in between leaves no account and the next
 * run starts again; a failed add removes the file. Two runs at once are serialised by a lock
 * on the file's directory, so neither can overwrite or remove the other's password. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "admin/auth.h"
#include "cli/cli_ops.h"
#include "cli/cli_store.h"
#include "lib/fsutil.h"
#include "roles.h"
#include "store/admin_rows.h"

#define BOOTSTRAP_NAME "admin"

/* The portal's address for people: web.listen, with the configured hostname for a wildcard. */
static void portal_url(const sg_config *cfg, char *out, size_t len)
{
    const char *l = cfg->web.listen ? cfg->web.listen : "";
    const char *port = strrchr(l, ':');
    if (!cfg->web.enabled)
        snprintf(out, len, "the portal (off: web.enabled = false; turn it on to sign in)");
    else if (strncmp(l, "0.0.0.0:", 8) == 0 || strncmp(l, "[::]:", 5) == 0)
        snprintf(out, len, "https://%s%s/", cfg->hostname ? cfg->hostname : "THIS-HOST", port);
    else
        snprintf(out, len, "https://%s/", l);
}

static int default_file(const sg_config *cfg, char *out, size_t len)
{
    if (!cfg->path) {
        fprintf(stderr, "sealgate admin bootstrap: no configuration file: give --file PATH\n");
        return -1;
    }
    char dir[PATH_MAX], abs[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", cfg->path);
    if (!realpath(dirname(dir), abs)) { /* the message names a path the operator can find */
        fprintf(stderr, "sealgate admin bootstrap: %s: %s\n", cfg->path, strerror(errno));
        return -1;
    }
    if ((size_t)snprintf(out, len, "%s/initial-admin-password", abs) >= len) {
        fprintf(stderr, "sealgate admin bootstrap: %s: path too long\n", abs);
        return -1;
    }
    return 0;
}

/* Whether the store has any account: 1, 0, or -1 (printed). */
static int any_account(sg_store *st)
{
    sg_store_account *a;
    size_t n;
    if (sg_store_admin_account_list(st, &a, &n) < 0) {
        fprintf(stderr, "sealgate admin bootstrap: %s\n", sg_store_error(st));
        return -1;
    }
    free(a);
    return n > 0;
}

static int write_password(const char *path, const char *url, const char *pw)
{
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "# sealgate: the first administrator's one-time password (sealgate admin bootstrap).\n"
                     "# Sign in at %s as '%s', change the password at once (the portal's Account page,\n"
                     "# or: sealgate admin passwd %s), then delete this file. docs/operations.md\n"
                     "account: %s\n"
                     "password: %s\n",
                     url, BOOTSTRAP_NAME, BOOTSTRAP_NAME, BOOTSTRAP_NAME, pw);
    int rc = n > 0 && (size_t)n < sizeof text ? sg_write_file_atomic(path, text, (size_t)n, 0600) : -1;
    OPENSSL_cleanse(text, sizeof text);
    return rc;
}

static int bootstrap(const sg_config *cfg, sg_store *st, const char *path, const char *url)
{
    int any = any_account(st);
    if (any != 0) {
        if (any > 0)
            printf("sealgate: an administration account exists already; nothing changed (portal: %s)\n", url);
        return any < 0;
    }
    char pw[32];
    if (sg_auth_generate_password(pw, sizeof pw) < 0) {
        fprintf(stderr, "sealgate admin bootstrap: no random numbers\n");
        return 1;
    }
    if (write_password(path, url, pw) < 0) {
        fprintf(stderr, "sealgate admin bootstrap: cannot write %s: %s\n", path, strerror(errno));
        OPENSSL_cleanse(pw, sizeof pw);
        return 1;
    }
    json_t *args =
        json_pack("{s:s, s:s, s:s, s:b}", "name", BOOTSTRAP_NAME, "roles", "administrator", "password", pw,
                  "must_change", 1);
    OPENSSL_cleanse(pw, sizeof pw);
    sg_op_ctx ctx;
    sg_cli_op_ctx(cfg, st, &ctx);
    json_t *result = NULL;
    sg_op_error err = {0};
    int rc = args ? sg_admin_call(&ctx, "admin.add", args, &result, &err) : -1;
    json_t *pwv = args ? json_object_get(args, "password") : NULL;
    if (pwv) /* the copy jansson holds */
        OPENSSL_cleanse((char *)json_string_value(pwv), json_string_length(pwv));
    json_decref(args);
    json_decref(result);
    if (rc < 0) {
        unlink(path);
        fprintf(stderr, "sealgate admin bootstrap: %s\n", args ? err.message : "out of memory");
        return 1;
    }
    printf("sealgate: made the administrator '%s'; its one-time password is in %s (mode 0600).\n"
           "Sign in at %s and change it at once (docs/operations.md, \"First steps in the portal\").\n",
           BOOTSTRAP_NAME, path, url);
    return 0;
}

int sg_cli_admin_bootstrap(const sg_config *cfg, int argc, char **argv)
{
    char path[PATH_MAX] = "";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
            snprintf(path, sizeof path, "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: sealgate admin bootstrap [--file PATH]\n"
                            "  the first administrator 'admin' with a one-time password in PATH, when there "
                            "is no account\n");
            return 2;
        }
    }
    if (!path[0] && default_file(cfg, path, sizeof path) < 0)
        return 2;
    char url[300];
    portal_url(cfg, url, sizeof url);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    int lock = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lock < 0 || flock(lock, LOCK_EX) < 0) {
        fprintf(stderr, "sealgate admin bootstrap: cannot lock the directory of %s: %s\n", path,
                strerror(errno));
        if (lock >= 0)
            close(lock);
        return 1;
    }
    sg_store *st = sg_cli_store_open(cfg);
    int rc = st ? bootstrap(cfg, st, path, url) : 1;
    if (st)
        sg_store_close(st);
    close(lock);
    return rc;
}
