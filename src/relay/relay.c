/* placeholder: replaced by the relay implementation */
#include "roles.h"
#include <stdio.h>
int sg_relay_main(const sg_config *cfg) { (void)cfg; fprintf(stderr, "relay: not built yet\n"); return 1; }
