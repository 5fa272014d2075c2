/* placeholder: replaced by the smtpd implementation */
#include "roles.h"
#include <stdio.h>
int sg_smtpd_main(const sg_config *cfg, int listen_fd) { (void)cfg; (void)listen_fd; fprintf(stderr, "smtpd: not built yet\n"); return 1; }
