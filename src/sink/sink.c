/* placeholder: replaced by the sink implementation */
#include "roles.h"
#include <stdio.h>
int sg_sink_main(const sg_config *cfg, int listen_fd) { (void)cfg; (void)listen_fd; fprintf(stderr, "sink: not built yet\n"); return 1; }
