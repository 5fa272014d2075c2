/* status.h - facts about the running gateway that the status and check-config operations
 * report and the CLI prints. Owner: src/admin. */
#ifndef SG_ADMIN_STATUS_H
#define SG_ADMIN_STATUS_H

#include <jansson.h>

#include "lib/config.h"

/* What loading the configuration cannot check (users and group for the privilege drop when
 * root, TLS files): one string per problem appended to problems. Returns how many. */
int sg_admin_config_problems(const sg_config *cfg, json_t *problems);

#endif
