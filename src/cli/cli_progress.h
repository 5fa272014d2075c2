/* cli_progress.h - the CLI's progress line for long operations (issue 18, admin/jobs.h): counts,
 * percentage and an estimate, redrawn in place, only when standard output is a terminal (no
 * progress noise in pipes and logs). Ctrl-C asks the running job to stop at its next safe point.
 * Owner: src/cli. */
#ifndef SG_CLI_PROGRESS_H
#define SG_CLI_PROGRESS_H

#include <stdbool.h>

#include "admin/jobs.h"

/* Whether standard output is a terminal (the progress line is drawn). */
bool sg_cli_progress_tty(void);
/* Sets up j for the CLI: the progress line when on a terminal (unit names the items, "keys"),
 * and SIGINT as a request to stop (restored by sg_cli_progress_done). */
void sg_cli_progress_attach(sg_job *j, const char *unit);
void sg_cli_progress_done(void);
/* The Unix user running the CLI, the actor of its jobs. */
const char *sg_cli_actor(void);

#endif
