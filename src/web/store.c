/* store.c - what the web role opens after its privilege drop. Owner: src/web. */
#include <string.h>

#include "web/web_int.h"

int sg_web_init(sg_web *w, const sg_config *cfg, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->cfg = cfg;
    w->store = sg_store_open_auth(cfg->store_path, cfg->store_password_file, err, errlen);
    return w->store ? 0 : -1;
}

void sg_web_free(sg_web *w)
{
    if (w->store)
        sg_store_close(w->store);
    w->store = NULL;
}
