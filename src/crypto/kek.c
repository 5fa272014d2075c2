/* kek.c - the key-encryption key: creation, loading, AES-256-GCM wrap/unwrap. Owner: src/crypto.
 * SECURITY: callers are cryptd and the admin CLI only (see kek.h). Plaintext buffers are wiped
 * with OPENSSL_cleanse before they are freed; the KEK file is created 0600 in a 0700 directory
 * with O_EXCL so two starters cannot both write a different key. */
#include "crypto/kek.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/privdrop.h"

void sg_kek_path(const char *base_dir, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/keys/kek", base_dir);
}

int sg_kek_create(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (sg_mkdirs(dir, 0700) < 0)
            return -1;
    }
    uint8_t key[SG_KEK_LEN];
    if (RAND_priv_bytes(key, sizeof key) != 1) {
        errno = EIO;
        return -1;
    }
    /* Write to a temp name, then link() into place: link fails with EEXIST when another process
     * won the race, so the first KEK written is the one everybody uses. */
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        OPENSSL_cleanse(key, sizeof key);
        return -1;
    }
    int rc = sg_write_all(fd, key, sizeof key);
    OPENSSL_cleanse(key, sizeof key);
    if (rc == 0)
        rc = fsync(fd);
    close(fd);
    if (rc == 0 && link(tmp, path) < 0)
        rc = errno == EEXIST ? 1 : -1;
    int saved = errno;
    unlink(tmp);
    errno = saved;
    if (rc < 0)
        return -1;
    if (rc == 1)
        return 0;
    if (slash)
        sg_fsync_dir(dir);
    return 1;
}

int sg_kek_ensure(const char *base_dir, const char *owner, const char *group)
{
    char path[PATH_MAX], dir[PATH_MAX];
    sg_kek_path(base_dir, path, sizeof path);
    snprintf(dir, sizeof dir, "%s/keys", base_dir);
    if (sg_kek_create(path) < 0)
        return -1;
    /* Modes are re-asserted on every start: a KEK made readable by mistake is closed again. */
    if (chmod(dir, 0700) < 0 || chmod(path, 0600) < 0)
        return -1;
    if (geteuid() == 0 && (sg_priv_chown(dir, owner, group) < 0 || sg_priv_chown(path, owner, group) < 0))
        return -1;
    return 0;
}

int sg_kek_load(const char *path, sg_kek *kek)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return -1;
    }
    /* A KEK others can read is a leaked KEK: refuse instead of using it silently. */
    if (st.st_mode & 077) {
        close(fd);
        errno = EPERM;
        return -1;
    }
    if (st.st_size != SG_KEK_LEN) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    ssize_t n = read(fd, kek->key, SG_KEK_LEN);
    close(fd);
    if (n != SG_KEK_LEN) {
        sg_kek_wipe(kek);
        errno = EINVAL;
        return -1;
    }
    return 0;
}

void sg_kek_wipe(sg_kek *kek)
{
    OPENSSL_cleanse(kek->key, sizeof kek->key);
}

void sg_kek_free_plain(uint8_t *p, size_t len)
{
    if (!p)
        return;
    OPENSSL_cleanse(p, len);
    free(p);
}

int sg_kek_wrap(const sg_kek *kek, const char *aad, const uint8_t *pt, size_t len, uint8_t **out,
                size_t *outlen)
{
    if (len > INT_MAX - SG_KEK_OVERHEAD)
        return -1;
    uint8_t *buf = malloc(len + SG_KEK_OVERHEAD);
    if (!buf)
        return -1;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0,
        ok = c && RAND_bytes(buf, SG_KEK_NONCE_LEN) == 1 &&
             EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, kek->key, buf) == 1 &&
             EVP_EncryptUpdate(c, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) == 1 &&
             EVP_EncryptUpdate(c, buf + SG_KEK_NONCE_LEN, &n, pt, (int)len) == 1 &&
             EVP_EncryptFinal_ex(c, buf + SG_KEK_NONCE_LEN + n, &fin) == 1 && (size_t)(n + fin) == len &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SG_KEK_TAG_LEN, buf + SG_KEK_NONCE_LEN + len) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        free(buf);
        return -1;
    }
    *out = buf;
    *outlen = len + SG_KEK_OVERHEAD;
    return 0;
}

int sg_kek_unwrap(const sg_kek *kek, const char *aad, const uint8_t *in, size_t inlen, uint8_t **out,
                  size_t *outlen)
{
    if (inlen < SG_KEK_OVERHEAD || inlen > INT_MAX)
        return -1;
    size_t len = inlen - SG_KEK_OVERHEAD;
    uint8_t *buf = malloc(len + 1);
    if (!buf)
        return -1;
    uint8_t tag[SG_KEK_TAG_LEN];
    memcpy(tag, in + SG_KEK_NONCE_LEN + len, SG_KEK_TAG_LEN);
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0,
        ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, kek->key, in) == 1 &&
             EVP_DecryptUpdate(c, NULL, &n, (const uint8_t *)aad, (int)strlen(aad)) == 1 &&
             EVP_DecryptUpdate(c, buf, &n, in + SG_KEK_NONCE_LEN, (int)len) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SG_KEK_TAG_LEN, tag) == 1 &&
             EVP_DecryptFinal_ex(c, buf + n, &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        /* Never hand out plaintext that failed authentication, not even partially. */
        sg_kek_free_plain(buf, len + 1);
        return -1;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

int sg_kek_write(const char *path, const sg_kek *kek, const char *owner, const char *group)
{
    char tmp[PATH_MAX + 32], dir[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    if (slash && sg_mkdirs(dir, 0700) < 0)
        return -1;
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int rc = sg_write_all(fd, kek->key, SG_KEK_LEN);
    if (rc == 0)
        rc = fsync(fd);
    if (close(fd) < 0)
        rc = -1;
    /* Owned before it gets its name: cryptd never sees a KEK file it cannot read. */
    if (rc == 0 && geteuid() == 0 && owner)
        rc = sg_priv_chown(tmp, owner, group);
    if (rc == 0)
        rc = rename(tmp, path);
    int saved = errno;
    if (rc < 0)
        unlink(tmp);
    else if (slash)
        sg_fsync_dir(dir);
    errno = saved;
    return rc < 0 ? -1 : 0;
}

int sg_kek_unwrap_fresh(sg_kek *kek, const char *path, const char *aad, const uint8_t *in, size_t inlen,
                        uint8_t **out, size_t *outlen)
{
    if (sg_kek_unwrap(kek, aad, in, inlen, out, outlen) == 0)
        return 0;
    char next[PATH_MAX + 8];
    snprintf(next, sizeof next, "%s.new", path);
    const char *const files[] = {path, next};
    for (int i = 0; i < 2; i++) {
        sg_kek k;
        if (sg_kek_load(files[i], &k) < 0)
            continue;
        int same = CRYPTO_memcmp(k.key, kek->key, SG_KEK_LEN) == 0;
        if (!same && sg_kek_unwrap(&k, aad, in, inlen, out, outlen) == 0) {
            memcpy(kek->key, k.key, SG_KEK_LEN);
            sg_kek_wipe(&k);
            return 0;
        }
        sg_kek_wipe(&k);
    }
    return -1;
}
