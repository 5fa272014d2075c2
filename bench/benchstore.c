/* benchstore.c - the C benchmarks' throw-away store and clock (see benchstore.h). Owner: bench. */
#include "benchstore.h"

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int bench_store_open(bench_store *b, const char *name)
{
    char path[PATH_MAX], kek[PATH_MAX], err[256];
    b->st = NULL;
    b->ks = NULL;
    snprintf(b->dir, sizeof b->dir, "/tmp/sg-%s-XXXXXX", name);
    if (!mkdtemp(b->dir)) {
        perror("mkdtemp");
        b->dir[0] = '\0';
        return -1;
    }
    snprintf(path, sizeof path, "%s/store.db", b->dir);
    snprintf(kek, sizeof kek, "%s/keys/kek", b->dir);
    if (!(b->st = sg_store_open(path, err, sizeof err)) ||
        !(b->ks = sg_keystore_open(b->st, kek, SG_KS_CREATE_KEK))) {
        fprintf(stderr, "%s: store: %s\n", name, b->st ? "keystore" : err);
        return -1;
    }
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

void bench_store_close(bench_store *b)
{
    sg_keystore_close(b->ks);
    if (b->st)
        sg_store_close(b->st);
    if (b->dir[0] && nftw(b->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "could not remove %s\n", b->dir);
}
