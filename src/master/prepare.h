/* prepare.h - what `sealgate start` sets up before any role runs: directories with their owners
 * and modes, the store, the pid file. Owner: src/master. */
#ifndef SG_PREPARE_H
#define SG_PREPARE_H

#include <stddef.h>

#include "lib/config.h"

int sg_master_prepare(const sg_config *cfg, char *err, size_t errlen);
/* As root: every role user can reach the spool (else a clear error instead of a restart loop). */
int sg_master_check_roles(const sg_config *cfg, char *err, size_t errlen);
/* Refuses to start when the pid file names a live process; else writes ours. */
int sg_master_pidfile(const sg_config *cfg, char *err, size_t errlen);

#endif
