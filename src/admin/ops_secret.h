/* ops_secret.h - the handlers of the operations that wrap or unwrap a private key (key
 * generation, the local CA's issue and CRL, certificate import with PKCS#12 keys). The table
 * marks them SG_RUN_CRYPTD: a front end that is not cryptd hands them over the control socket
 * (admin/control_forward.h), and the CLI runs them itself only when the gateway does not run.
 * Owner: src/cryptd (issue 18); included by ops_table.c and ops_secret.c only. */
#ifndef SG_ADMIN_OPS_SECRET_H
#define SG_ADMIN_OPS_SECRET_H

#include "admin/ops_handlers.h"

SG_OP_HANDLER(sg_op_key_generate);
SG_OP_HANDLER(sg_op_ca_issue);
SG_OP_HANDLER(sg_op_ca_crl);
SG_OP_HANDLER(sg_op_cert_import);
SG_OP_HANDLER(sg_op_key_export_secret); /* SG_RUN_LOCAL: the CLI on the gateway only */

#define SG_OP_IMPORT_MAX (512 * 1024) /* decoded bytes: the base64 fits one control frame */

#endif
