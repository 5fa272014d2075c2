/* store.c - the web role's store handles: one per thread of the HTTP daemon (http.h), opened on
 * a thread's first request after the privilege drop and closed when the thread ends, so that
 * requests on different threads never share a SQLite or PostgreSQL connection. Owner: src/web.
 * SECURITY: opened with the password file for PostgreSQL (sg_store_open_auth), like every role. */
#include <string.h>

#include "lib/log.h"
#include "web/web_int.h"

static void close_store(void *st)
{
    sg_store_close(st);
}

int sg_web_init(sg_web *w, const sg_config *cfg, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->cfg = cfg;
    /* Opened once here as well, so that a store this user cannot open stops the start. */
    sg_store *st = sg_store_open_auth(cfg->store_path, cfg->store_password_file, err, errlen);
    if (!st)
        return -1;
    sg_store_close(st);
    if (pthread_key_create(&w->store_key, close_store) != 0) {
        snprintf(err, errlen, "pthread_key_create failed");
        return -1;
    }
    w->have_key = true;
    return 0;
}

sg_store *sg_web_store(sg_web *w)
{
    sg_store *st = pthread_getspecific(w->store_key);
    if (st)
        return st;
    char err[256];
    st = sg_store_open_auth(w->cfg->store_path, w->cfg->store_password_file, err, sizeof err);
    if (!st) {
        sg_error(NULL, "event=store-failed error=\"%s\"", SG_LOG_STR(err));
        return NULL;
    }
    if (pthread_setspecific(w->store_key, st) != 0) {
        sg_store_close(st);
        return NULL;
    }
    return st;
}

void sg_web_free(sg_web *w)
{
    /* The daemon's threads have ended (sg_http_stop joins them): their handles are closed. */
    if (w->have_key)
        pthread_key_delete(w->store_key);
    w->have_key = false;
}
