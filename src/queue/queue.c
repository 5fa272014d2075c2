/* queue.c - spool directories, atomic moves, streaming writer. Owner: src/queue. */
#include "queue/queue.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/fsutil.h"

static const char *const state_names[SG_Q_NSTATES] = {"tmp",      "incoming", "active",  "outgoing",
                                                      "deferred", "hold",     "corrupt", "dsn"};

const char *sg_qstate_name(int s)
{
    return s >= 0 && s < SG_Q_NSTATES ? state_names[s] : "?";
}

int sg_qstate_parse(const char *name)
{
    for (int i = 0; i < SG_Q_NSTATES; i++)
        if (strcmp(name, state_names[i]) == 0)
            return i;
    return -1;
}

/* A state's handle: readable when we may read it; else O_PATH, through which only what the
 * directory's mode allows (e.g. renaming into corrupt/) works; -1 when even that is denied. */
static int open_state(sg_queue *q, int i, const char *p)
{
    q->dirfd[i] = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (q->dirfd[i] >= 0 || errno != EACCES)
        return q->dirfd[i] >= 0 ? 0 : -1;
    q->pathonly[i] = true;
    q->dirfd[i] = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return 0;
}

int sg_queue_open(sg_queue *q, const char *root, const char *role, bool create)
{
    memset(q, 0, sizeof *q);
    for (int i = 0; i < SG_Q_NSTATES; i++)
        q->dirfd[i] = -1;
    snprintf(q->root, sizeof q->root, "%s", root);
    snprintf(q->role, sizeof q->role, "%s", role);
    if (create && sg_mkdirs(root, 02770) < 0)
        return -1;
    for (int i = 0; i < SG_Q_NSTATES; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", root, state_names[i]);
        if (create && mkdir(p, 02770) < 0 && errno != EEXIST)
            goto fail;
        if (i == SG_Q_TMP) {
            /* The role's private tmp/ROLE/ when the master made one: files being written
             * (cryptd's are decrypted or not yet encrypted) are nobody else's business. */
            char own[PATH_MAX + 20];
            snprintf(own, sizeof own, "%s/%s", p, role);
            q->dirfd[i] = open(own, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (q->dirfd[i] >= 0)
                continue;
        }
        if (open_state(q, i, p) < 0)
            goto fail;
    }
    return 0;
fail : {
    int saved = errno;
    sg_queue_close(q);
    errno = saved;
    return -1;
}
}

void sg_queue_close(sg_queue *q)
{
    for (int i = 0; i < SG_Q_NSTATES; i++)
        if (q->dirfd[i] >= 0) {
            close(q->dirfd[i]);
            q->dirfd[i] = -1;
        }
}

void sg_queue_new_id(char out[SG_QID_MAX])
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    unsigned long long us = (unsigned long long)tv.tv_sec * 1000000ull + (unsigned long long)tv.tv_usec;
    unsigned int rnd = 0;
    if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
        rnd = (unsigned int)getpid() ^ (unsigned int)us;
    snprintf(out, SG_QID_MAX, "%011llx%05x", us & 0xfffffffffffull, rnd & 0xfffff);
}

bool sg_queue_name_valid(const char *n)
{
    size_t i = 0;
    for (; i < 16; i++)
        if (!isxdigit((unsigned char)n[i]) || isupper((unsigned char)n[i]))
            return false;
    if (n[i] == '\0')
        return true;
    if (n[i] != '.')
        return false;
    size_t d = 0;
    for (i++; n[i]; i++, d++)
        if (!isdigit((unsigned char)n[i]) || d >= 4)
            return false;
    return d > 0;
}

void sg_queue_path(const sg_queue *q, int state, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s/%s", q->root, sg_qstate_name(state), name);
}

/* ---- streaming writer ---- */

static int qw_fail(sg_qwriter *w)
{
    if (!w->error)
        w->error = errno ? errno : EIO;
    errno = w->error;
    return -1;
}

static int qw_flush(sg_qwriter *w)
{
    if (w->buflen && sg_write_all(w->fd, w->buf, w->buflen) < 0)
        return qw_fail(w);
    w->buflen = 0;
    return 0;
}

static int qw_raw(sg_qwriter *w, const void *data, size_t len)
{
    if (w->error)
        return qw_fail(w);
    if (len > sizeof w->buf - w->buflen) {
        if (qw_flush(w) < 0)
            return -1;
        if (len >= sizeof w->buf)
            return sg_write_all(w->fd, data, len) < 0 ? qw_fail(w) : 0;
    }
    memcpy(w->buf + w->buflen, data, len);
    w->buflen += len;
    return 0;
}

int sg_qw_open(sg_queue *q, sg_qwriter *w, const sg_envelope *e)
{
    memset(w, 0, sizeof *w);
    w->fd = -1;
    snprintf(w->name, sizeof w->name, "%s", e->id);
    snprintf(w->tmpname, sizeof w->tmpname, "%s.%ld.%s", q->role, (long)getpid(), e->id);
    w->fd = openat(q->dirfd[SG_Q_TMP], w->tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    /* 0640 is how the next role reads the file (by group): set it whatever the umask (the
     * systemd unit runs the gateway with UMask=0077). */
    if (w->fd < 0 || fchmod(w->fd, 0640) < 0)
        return qw_fail(w);
    sg_buf hdr;
    sg_buf_init(&hdr, 1u << 24);
    int rc = sg_env_serialize(e, &hdr);
    if (rc == 0)
        rc = qw_raw(w, hdr.data, hdr.len);
    else
        errno = ENOMEM, qw_fail(w);
    sg_buf_free(&hdr);
    return rc;
}

int sg_qw_write(sg_qwriter *w, const void *data, size_t len)
{
    if (qw_raw(w, data, len) < 0)
        return -1;
    w->datalen += len;
    return 0;
}

int sg_qw_finish(sg_qwriter *w)
{
    char tr[SG_ENV_TRAILER_LEN + 1];
    sg_env_trailer(w->datalen, tr);
    if (qw_raw(w, tr, SG_ENV_TRAILER_LEN) < 0 || qw_flush(w) < 0)
        return -1;
    return 0;
}

/* Makes the data of every finished writer durable. One file: fdatasync. A batch: one syncfs,
 * which writes back the whole spool filesystem in a single journal commit instead of one
 * commit per file (measured about twice the rate for batches of 20 on ext4). syncfs reports
 * writeback errors since Linux 5.8; on an error every writer of the batch fails, because we
 * cannot tell whose data was lost. */
static int qw_sync_batch(sg_qwriter **ws, size_t n)
{
    size_t live = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (!ws[i]->error && ws[i]->fd >= 0 && live++ == 0)
            first = i;
    if (live == 0)
        return 0;
    int rc = live == 1 ? fdatasync(ws[first]->fd) : syncfs(ws[first]->fd);
    if (rc < 0) {
        int e = errno ? errno : EIO;
        for (size_t i = 0; i < n; i++)
            if (!ws[i]->error)
                ws[i]->error = e;
        return -1;
    }
    return 0;
}

int sg_qw_publish(sg_queue *q, sg_qwriter **ws, size_t n, int state)
{
    int rc = 0, renamed = 0;
    qw_sync_batch(ws, n); /* data first, then the names that point at it */
    for (size_t i = 0; i < n; i++) {
        sg_qwriter *w = ws[i];
        if (w->fd >= 0) {
            close(w->fd);
            w->fd = -1;
        }
        if (w->error) {
            unlinkat(q->dirfd[SG_Q_TMP], w->tmpname, 0);
            rc = -1;
            continue;
        }
        if (renameat(q->dirfd[SG_Q_TMP], w->tmpname, q->dirfd[state], w->name) < 0) {
            w->error = errno;
            unlinkat(q->dirfd[SG_Q_TMP], w->tmpname, 0);
            rc = -1;
            continue;
        }
        w->state = state;
        renamed++;
    }
    /* A state this role may only write into (smtpd's incoming/, relay's dsn/, cryptd's
     * outgoing/ under the master) has no handle to fsync: one syncfs of the spool filesystem,
     * through our own tmp/, makes the renames durable instead (it commits the journal with
     * every directory change in it, and reports writeback errors since Linux 5.8). */
    if (renamed && (q->pathonly[state] ? syncfs(q->dirfd[SG_Q_TMP]) : fsync(q->dirfd[state])) < 0) {
        /* The renames may not survive a crash: nobody may be told the messages are safe. */
        for (size_t i = 0; i < n; i++)
            if (!ws[i]->error)
                ws[i]->error = errno ? errno : EIO;
        return -1;
    }
    return rc;
}

void sg_qw_abort(sg_queue *q, sg_qwriter *w)
{
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    if (w->tmpname[0])
        unlinkat(q->dirfd[SG_Q_TMP], w->tmpname, 0);
    w->tmpname[0] = '\0';
}

/* ---- whole-message operations ---- */

int sg_queue_write_with(sg_queue *q, int state, const char *name, const sg_envelope *e,
                        int (*fill)(sg_qwriter *w, void *ctx), void *ctx)
{
    sg_envelope copy = *e; /* the file's id line names the file */
    snprintf(copy.id, sizeof copy.id, "%s", name);
    sg_qwriter *w = malloc(sizeof *w);
    if (!w)
        return -1;
    int rc = -1;
    if (sg_qw_open(q, w, &copy) == 0 && fill(w, ctx) == 0 && sg_qw_finish(w) == 0)
        rc = sg_qw_publish(q, &w, 1, state);
    else
        sg_qw_abort(q, w);
    int saved = w->error;
    free(w);
    if (rc < 0)
        errno = saved ? saved : EIO;
    return rc;
}

typedef struct mem_data {
    const char *data;
    size_t len;
} mem_data;

static int fill_mem(sg_qwriter *w, void *ctx)
{
    const mem_data *m = ctx;
    return sg_qw_write(w, m->data, m->len);
}

int sg_queue_write(sg_queue *q, int state, const char *name, const sg_envelope *e, const char *data,
                   size_t datalen)
{
    mem_data m = {data, datalen};
    return sg_queue_write_with(q, state, name, e, fill_mem, &m);
}

int sg_queue_read(sg_queue *q, int state, const char *name, sg_envelope *e, char **file, const char **data,
                  size_t *datalen, char *err, size_t errlen)
{
    *file = NULL;
    int fd = openat(q->dirfd[state], name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char *buf;
    size_t got;
    int rc = sg_read_fd(fd, (size_t)1 << 40, &buf, &got);
    int saved = errno;
    close(fd);
    if (rc < 0) {
        errno = saved;
        return -1;
    }
    if (sg_qfile_parse(buf, got, e, data, datalen, err, errlen) < 0) {
        free(buf);
        return -2;
    }
    /* The file name is the message's id: a file moved under a new name (cryptd passes an
     * unchanged message on by rename) keeps the id line it was written with. */
    snprintf(e->id, sizeof e->id, "%s", name);
    *file = buf;
    return 0;
}

int sg_queue_move(sg_queue *q, const char *name, int from, int to)
{
    if (renameat(q->dirfd[from], name, q->dirfd[to], name) < 0)
        return -1;
    if ((!q->pathonly[to] && fsync(q->dirfd[to]) < 0) || fsync(q->dirfd[from]) < 0)
        return -1;
    return 0;
}

int sg_queue_remove(sg_queue *q, int state, const char *name)
{
    if (unlinkat(q->dirfd[state], name, 0) < 0)
        return -1;
    return fsync(q->dirfd[state]);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int sg_queue_list(sg_queue *q, int state, char ***names, size_t *n)
{
    *names = NULL;
    *n = 0;
    /* A state this process may only write into (an O_PATH handle) cannot be listed: that is an
     * error, never an empty state (readdir on such a handle fails with EBADF, which the loop
     * below would otherwise take for the end of the directory). */
    if (q->pathonly[state]) {
        errno = EACCES;
        return -1;
    }
    int fd = dup(q->dirfd[state]);
    if (fd < 0)
        return -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    rewinddir(d);
    size_t cap = 0;
    struct dirent *de;
    int failed = 0;
    for (errno = 0; (de = readdir(d)); errno = 0) {
        if (de->d_name[0] == '.')
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nv = realloc(*names, cap * sizeof *nv);
            if (!nv)
                break;
            *names = nv;
        }
        if (!((*names)[*n] = strdup(de->d_name)))
            break;
        (*n)++;
    }
    failed = errno; /* readdir's error, or ENOMEM: a partial list is not the state's list */
    closedir(d);
    if (failed) {
        sg_queue_names_free(*names, *n);
        *names = NULL;
        *n = 0;
        errno = failed;
        return -1;
    }
    if (*n)
        qsort(*names, *n, sizeof **names, cmp_names);
    return 0;
}

void sg_queue_names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int sg_queue_find(sg_queue *q, const char *name)
{
    struct stat st;
    for (int s = SG_Q_INCOMING; s < SG_Q_NSTATES; s++)
        if (fstatat(q->dirfd[s], name, &st, 0) == 0)
            return s;
    return -1;
}

int sg_queue_recover_active(sg_queue *q)
{
    char **names;
    size_t n;
    if (sg_queue_list(q, SG_Q_ACTIVE, &names, &n) < 0)
        return -1;
    int moved = 0;
    for (size_t i = 0; i < n; i++)
        if (renameat(q->dirfd[SG_Q_ACTIVE], names[i], q->dirfd[SG_Q_INCOMING], names[i]) == 0)
            moved++;
    if (moved) {
        fsync(q->dirfd[SG_Q_INCOMING]);
        fsync(q->dirfd[SG_Q_ACTIVE]);
    }
    sg_queue_names_free(names, n);
    return moved;
}

/* Removes the tmp files in dirfd (names ROLE.PID.ID) of pid, or all when pid <= 0; recurses
 * once into the per-role directories. */
static int clean_dir(int dirfd, long pid, bool top)
{
    int fd = dup(dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    rewinddir(d);
    int removed = 0;
    char mark[32];
    snprintf(mark, sizeof mark, ".%ld.", pid);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        struct stat st;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            int sub = top ? openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
            if (sub >= 0) {
                removed += clean_dir(sub, pid, false);
                close(sub);
            }
            continue;
        }
        if (pid > 0 && !strstr(de->d_name, mark))
            continue;
        if (unlinkat(dirfd, de->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

int sg_queue_clean_tmp(sg_queue *q, long pid)
{
    if (q->dirfd[SG_Q_TMP] < 0 || q->pathonly[SG_Q_TMP])
        return -1;
    return clean_dir(q->dirfd[SG_Q_TMP], pid, true);
}

int sg_queue_clean_role_tmp(const char *root, const char *role, long pid)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s/%s", root, state_names[SG_Q_TMP], role);
    int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int n = clean_dir(fd, pid, false);
    close(fd);
    return n;
}

int sg_queue_precreate(const char *root, const char *role)
{
    char own[PATH_MAX];
    snprintf(own, sizeof own, "%s/%s/%s", root, state_names[SG_Q_TMP], role);
    if (access(own, F_OK) == 0)
        return 0; /* the master's layout (src/master/prepare.c) */
    sg_queue q;
    if (sg_queue_open(&q, root, role, true) < 0)
        return -1;
    sg_queue_close(&q);
    return 0;
}
