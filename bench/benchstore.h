/* benchstore.h - what the C benchmarks share: a throw-away store with a keystore and KEK in a
 * temporary directory, and a monotonic clock. Owner: bench. */
#ifndef SG_BENCHSTORE_H
#define SG_BENCHSTORE_H

#include "keys/keystore.h"

typedef struct bench_store {
    char dir[64];
    sg_store *st;
    sg_keystore *ks;
} bench_store;

/* A fresh store and keystore (KEK created) under /tmp/sg-<name>-XXXXXX. 0 or -1 (message
 * printed). */
int bench_store_open(bench_store *b, const char *name);
/* Closes both and removes the directory. */
void bench_store_close(bench_store *b);
/* Seconds on the monotonic clock. */
double bench_now(void);

#endif
