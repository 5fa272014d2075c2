/* backup.c - the backend-neutral half of backup and restore (store/backup.h): the file's header,
 * its digest, atomic writing and the checks before anything is installed. The snapshot itself
 * comes from the backend. Owner: src/store.
 * SECURITY: files are created 0600 with O_EXCL (a snapshot holds wrapped private keys); a backup
 * is verified in full (length and SHA-256) before its snapshot is opened, so a truncated or
 * damaged file never reaches the database engine or replaces a store. */
#include "store/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "store/store_int.h"

enum { VERSION = 1, KIND_LEN = 16 };

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static void dir_of(const char *path, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(out, outlen, ".");
}

/* Copies in to out (whose offset is where the copy goes) while hashing: 0 with *len, or -1. */
static int copy_hash(int in, int out, uint8_t digest[32], uint64_t max, uint64_t *len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return -1;
    }
    uint8_t buf[65536];
    uint64_t total = 0;
    ssize_t n = 0;
    while (total < max &&
           (n = read(in, buf, max - total < sizeof buf ? (size_t)(max - total) : sizeof buf)) > 0) {
        if (EVP_DigestUpdate(md, buf, (size_t)n) != 1 || sg_write_all(out, buf, (size_t)n) < 0) {
            n = -1;
            break;
        }
        total += (uint64_t)n;
    }
    unsigned int dl = 0;
    int ok = n >= 0 && EVP_DigestFinal_ex(md, digest, &dl) == 1;
    EVP_MD_CTX_free(md);
    *len = total;
    return ok ? 0 : -1;
}

int sg_store_backup(sg_store *s, const char *path)
{
    char snap[PATH_MAX + 32], tmp[PATH_MAX + 32], dir[PATH_MAX];
    snprintf(snap, sizeof snap, "%s.snap.%ld", path, (long)getpid());
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    dir_of(path, dir, sizeof dir);
    unlink(snap);
    /* Created empty and 0600 first, so the snapshot is never readable by others, not even while
     * the backend writes it (VACUUM INTO accepts an existing empty file). */
    int sfd = open(snap, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (sfd < 0)
        return sg_store_fail(s, "cannot create %s: %s", snap, strerror(errno));
    close(sfd);
    if (s->be->backup->snapshot(s, snap) < 0) {
        unlink(snap);
        return -1;
    }
    int rc = -1, in = open(snap, O_RDONLY | O_CLOEXEC), out = -1;
    struct stat st;
    uint8_t h[SG_BACKUP_HEADER_LEN] = {0};
    uint64_t len = 0;
    if (in < 0 || fstat(in, &st) < 0 ||
        (out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
        lseek(out, SG_BACKUP_HEADER_LEN, SEEK_SET) < 0 ||
        copy_hash(in, out, h + 40, (uint64_t)st.st_size, &len) < 0 || len != (uint64_t)st.st_size) {
        sg_store_fail(s, "cannot write the backup %s: %s", tmp, strerror(errno));
        goto out;
    }
    memcpy(h, SG_BACKUP_MAGIC, 8);
    put_be(h + 8, VERSION, 4);
    snprintf((char *)h + 12, KIND_LEN, "%s", s->be->name);
    put_be(h + 28, (uint64_t)s->be->schema_version(s->impl), 4);
    put_be(h + 32, len, 8);
    if (pwrite(out, h, sizeof h, 0) != (ssize_t)sizeof h || fsync(out) < 0 || close(out) < 0) {
        out = -1;
        sg_store_fail(s, "cannot write the backup %s: %s", tmp, strerror(errno));
        goto out;
    }
    out = -1;
    if (rename(tmp, path) < 0) {
        sg_store_fail(s, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        goto out;
    }
    sg_fsync_dir(dir);
    rc = 0;
out:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    unlink(snap);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

/* Reads and checks the header; positions fd at the snapshot. 0 with *len, or -1 with err. */
static int check_header(int fd, const char *path, const sg_store_backend *be, uint64_t *len,
                        uint8_t digest[32], char *err, size_t errlen)
{
    uint8_t h[SG_BACKUP_HEADER_LEN];
    struct stat st;
    ssize_t n = read(fd, h, sizeof h);
    if (n < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    if (n < 8 || memcmp(h, SG_BACKUP_MAGIC, 8) != 0) {
        snprintf(err, errlen, "%s is not a sealgate backup (no SGBACKUP header)%s", path,
                 n < 8 ? "; it is shorter than the header: truncated?" : "");
        return -1;
    }
    if (n < (ssize_t)sizeof h) {
        snprintf(err, errlen, "%s is truncated: %zd bytes, shorter than the %d-byte header", path, n,
                 SG_BACKUP_HEADER_LEN);
        return -1;
    }
    char kind[KIND_LEN + 1];
    memcpy(kind, h + 12, KIND_LEN);
    kind[KIND_LEN] = '\0';
    if (get_be(h + 8, 4) != VERSION) {
        snprintf(err, errlen, "%s: backup format version %u is not one this sealgate reads (%d)", path,
                 (unsigned)get_be(h + 8, 4), VERSION);
        return -1;
    }
    if (strcmp(kind, be->name) != 0) {
        snprintf(err, errlen, "%s is a backup of a %.16s store; this installation's store is %s", path, kind,
                 be->name);
        return -1;
    }
    *len = get_be(h + 32, 8);
    uint64_t have = (uint64_t)st.st_size - SG_BACKUP_HEADER_LEN;
    if (have != *len) {
        snprintf(err, errlen, "%s is %s: the header announces %llu bytes of snapshot, the file has %llu",
                 path, have < *len ? "truncated" : "longer than its header says (trailing bytes)",
                 (unsigned long long)*len, (unsigned long long)have);
        return -1;
    }
    memcpy(digest, h + 40, 32);
    return 0;
}

sg_store *sg_store_backup_stage(const char *path, const char *spec, char *err, size_t errlen)
{
    const sg_store_backend *be = sg_store_backend_for(spec); /* as sg_store_open picks it */
    if (be != &sg_store_sqlite) {
        snprintf(err, errlen, "restore into a %s store is unavailable here: use pg_restore (docs/cluster.md)",
                 be->name);
        return NULL;
    }
    char staged[PATH_MAX + 16], dir[PATH_MAX];
    be->backup->staging_path(spec, staged, sizeof staged);
    dir_of(spec, dir, sizeof dir);
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    uint64_t len = 0, got = 0;
    uint8_t want[32], digest[32];
    if (check_header(in, path, be, &len, want, err, errlen) < 0) {
        close(in);
        return NULL;
    }
    if (sg_mkdirs(dir, 0700) < 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        close(in);
        return NULL;
    }
    unlink(staged);
    int out = open(staged, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int ok = out >= 0 && copy_hash(in, out, digest, len, &got) == 0 && got == len && fsync(out) == 0;
    int saved = errno;
    close(in);
    if (out >= 0)
        close(out);
    if (!ok) {
        snprintf(err, errlen, "cannot stage the snapshot in %s: %s", staged, strerror(saved));
        unlink(staged);
        return NULL;
    }
    if (CRYPTO_memcmp(digest, want, 32) != 0) {
        snprintf(err, errlen, "%s is corrupt: the snapshot's SHA-256 does not match its header", path);
        unlink(staged);
        return NULL;
    }
    sg_store *st = sg_store_open(staged, err, errlen);
    if (!st)
        unlink(staged);
    return st;
}

int sg_store_backup_install(sg_store *staged, const char *spec, char *err, size_t errlen)
{
    const sg_store_backend *be = staged->be;
    char path[PATH_MAX + 16];
    be->backup->staging_path(spec, path, sizeof path);
    sg_store_close(staged);
    return be->backup->install(path, spec, err, errlen);
}

void sg_store_backup_discard(sg_store *staged, const char *spec)
{
    const sg_store_backend *be = staged->be;
    char path[PATH_MAX + 16], side[PATH_MAX + 32];
    be->backup->staging_path(spec, path, sizeof path);
    sg_store_close(staged);
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

int sg_store_has_data(sg_store *s)
{
    return s->be->backup->has_data(s);
}

int sg_store_secrets_each(sg_store *s, sg_store_secret_fn fn, void *ctx)
{
    return s->be->backup->secrets_each(s, fn, ctx);
}
