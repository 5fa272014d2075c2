/* cli_store.c - the admin CLI's way into the store (cli_store.h). Owner: src/cli. */
#include "cli/cli_store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fsutil.h"
#include "lib/privdrop.h"

sg_store *sg_cli_store_open(const sg_config *cfg)
{
    char err[512];
    if (sg_mkdirs(cfg->base_dir, 0755) < 0) {
        fprintf(stderr, "sealgate: cannot create %s: %s\n", cfg->base_dir, strerror(errno));
        return NULL;
    }
    sg_store *st = sg_store_open_auth(cfg->store_path, cfg->store_password_file, err, sizeof err);
    if (!st) {
        fprintf(stderr, "sealgate: %s\n", err);
        return NULL;
    }
    if (sg_store_is_remote(cfg->store_path))
        return st;
    /* As root: the cryptd user's with the store group, which the web role is in too
     * (src/master/prepare.c); as anyone else: the caller's alone. */
    if (geteuid() == 0) {
        chmod(cfg->store_path, 0660);
        sg_priv_chown(cfg->store_path, cfg->users.cryptd, cfg->users.store_group);
    } else {
        chmod(cfg->store_path, 0600);
    }
    return st;
}
