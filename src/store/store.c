/* store.c - the backend-neutral half of the store: picks the backend for a `store` setting and
 * dispatches the calls every backend has. Owner: src/store. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

int sg_store_is_remote(const char *spec)
{
    return strncmp(spec, "postgresql://", 13) == 0 || strncmp(spec, "postgres://", 11) == 0;
}

const sg_store_backend *sg_store_backend_for(const char *spec)
{
    return sg_store_is_remote(spec) ? &sg_store_pg : &sg_store_sqlite;
}

void sg_store_describe(const char *spec, char *out, size_t outlen)
{
    if (sg_store_is_remote(spec))
        sg_pg_redact(spec, out, outlen);
    else
        snprintf(out, outlen, "%s", spec);
}

sg_store *sg_store_open(const char *spec, char *err, size_t errlen)
{
    return sg_store_open_auth(spec, NULL, err, errlen);
}

sg_store *sg_store_open_auth(const char *spec, const char *password_file, char *err, size_t errlen)
{
    const sg_store_backend *be = sg_store_backend_for(spec);
    sg_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    static atomic_uint_least64_t next_id = 1;
    s->be = be;
    s->id = atomic_fetch_add(&next_id, 1);
    if (!(s->impl = be->open(spec, password_file, err, errlen))) {
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

int sg_store_poll_changes(sg_store *s, unsigned *kinds)
{
    *kinds = 0;
    return s->be->poll_changes ? s->be->poll_changes(s, kinds) : 0;
}

void sg_store_trust_announcements(sg_store *s)
{
    if (s && s->be->trust_announcements)
        s->be->trust_announcements(s);
}

int sg_store_notify_fd(sg_store *s)
{
    return s->be->notify_fd ? s->be->notify_fd(s) : -1;
}
