/* tls.c - server TLS context and self-signed certificate generation (OpenSSL 3 API).
 * Owner: src/smtp. The generated key is written with mode 0600 through O_EXCL so that it is
 * never readable by anyone else, not even for a moment. */
#include "smtp/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"

static void ssl_err(char *err, size_t errlen, const char *what)
{
    char e[160];
    ERR_error_string_n(ERR_get_error(), e, sizeof e);
    snprintf(err, errlen, "%s: %s", what, e);
}

static int mkparent(const char *path, mode_t mode)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    return sg_mkdirs(dirname(tmp), mode);
}

/* Writes a PEM object beside path, then renames it into place, so that a reader sees either
 * no file or a whole one. */
static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert)
{
    if (mkparent(path, 0750) < 0)
        return -1;
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    unlink(tmp); /* a leftover from an earlier crash of a process with our pid */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return -1;
    }
    int ok = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, cert);
    if (fflush(f) != 0 || fsync(fileno(f)) < 0)
        ok = 0;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) < 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int generate(const char *cert_path, const char *key_path, const char *hostname, char *err,
                    size_t errlen)
{
    int rc = -1;
    X509 *x = NULL;
    X509_EXTENSION *ext = NULL;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (!key) {
        ssl_err(err, errlen, "EC key generation");
        return -1;
    }
    x = X509_new();
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    if (!x || RAND_bytes(serial, sizeof serial) != 1)
        goto out;
    serial[0] &= 0x7f; /* positive */
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
        goto out;
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 825L * 24 * 3600);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)hostname, -1, -1, 0))
        goto out;
    X509_set_issuer_name(x, name);
    char san[300];
    snprintf(san, sizeof san, "DNS:%s", hostname);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
    if (!ext || !X509_add_ext(x, ext, -1))
        goto out;
    if (!X509_sign(x, key, EVP_sha256()))
        goto out;
    if (write_pem(key_path, 0600, key, NULL) < 0 || write_pem(cert_path, 0644, NULL, x) < 0) {
        snprintf(err, errlen, "writing %s / %s: %s", key_path, cert_path, strerror(errno));
        BN_free(bn);
        X509_EXTENSION_free(ext);
        X509_free(x);
        EVP_PKEY_free(key);
        return -1;
    }
    rc = 0;
out:
    if (rc < 0)
        ssl_err(err, errlen, "self-signed certificate");
    BN_free(bn);
    X509_EXTENSION_free(ext);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

SSL_CTX *sg_tls_server_ctx(const char *cert_path, const char *key_path, bool autogenerate,
                           const char *hostname, char *err, size_t errlen)
{
    bool have = access(cert_path, R_OK) == 0 && access(key_path, R_OK) == 0;
    if (!have) {
        if (!autogenerate) {
            snprintf(err, errlen, "%s or %s missing and tls_autogenerate is off", cert_path, key_path);
            return NULL;
        }
        /* smtpd and the sink start at the same time and share the files: one generates, the
         * other waits on the lock and then finds both files. */
        char lockp[PATH_MAX];
        snprintf(lockp, sizeof lockp, "%s.lock", key_path);
        int lk = mkparent(lockp, 0750) == 0 ? open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600) : -1;
        if (lk < 0 || flock(lk, LOCK_EX) < 0) {
            snprintf(err, errlen, "%s: %s", lockp, strerror(errno));
            if (lk >= 0)
                close(lk);
            return NULL;
        }
        int rc = 0;
        if (access(cert_path, R_OK) != 0 || access(key_path, R_OK) != 0)
            rc = generate(cert_path, key_path, hostname, err, errlen);
        close(lk); /* releases the lock */
        if (rc < 0)
            return NULL;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        ssl_err(err, errlen, "SSL_CTX_new");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
        ssl_err(err, errlen, cert_path);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ssl_err(err, errlen, key_path);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}
