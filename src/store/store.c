/* store.c - the backend-neutral half of the store: picks the backend for a `store` setting and
 * dispatches the calls every backend has. Owner: src/store. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/store_int.h"

sg_store *sg_store_open(const char *spec, char *err, size_t errlen)
{
    /* A libpq URI (postgresql://, postgres://) will select the PostgreSQL backend here. */
    const sg_store_backend *be = &sg_store_sqlite;
    sg_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    static atomic_uint_least64_t next_id = 1;
    s->be = be;
    s->id = atomic_fetch_add(&next_id, 1);
    if (!(s->impl = be->open(spec, err, errlen))) {
        free(s);
        return NULL;
    }
    return s;
}

void sg_store_close(sg_store *s)
{
    if (!s)
        return;
    s->be->close(s->impl);
    free(s);
}

int sg_store_schema_version(sg_store *s)
{
    return s->be->schema_version(s->impl);
}

uint64_t sg_store_id(const sg_store *s)
{
    return s->id;
}

const char *sg_store_error(const sg_store *s)
{
    return s->err[0] ? s->err : "unknown store error";
}

int sg_store_fail(sg_store *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    return -1;
}

int sg_store_begin(sg_store *s)
{
    return s->be->begin(s);
}

int sg_store_commit(sg_store *s)
{
    return s->be->commit(s);
}

void sg_store_rollback(sg_store *s)
{
    s->be->rollback(s);
}

int sg_store_generation(sg_store *s, sg_store_gen which, int64_t *gen)
{
    return s->be->generation(s, which, gen);
}
