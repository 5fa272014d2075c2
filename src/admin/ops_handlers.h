/* ops_handlers.h - the handlers the operation table (ops_table.c) points at, one block per
 * file that holds them. Owner: src/admin; included by ops_table.c and the ops_*.c files only.
 * Each has the sg_op_handler contract (ops.h). */
#ifndef SG_ADMIN_OPS_HANDLERS_H
#define SG_ADMIN_OPS_HANDLERS_H

#include "admin/ops.h"

#define SG_OP_HANDLER(fn) int fn(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)

/* ops_admin.c: accounts */
SG_OP_HANDLER(sg_op_admin_add);
SG_OP_HANDLER(sg_op_admin_list);
SG_OP_HANDLER(sg_op_admin_delete);
SG_OP_HANDLER(sg_op_admin_set_roles);
SG_OP_HANDLER(sg_op_admin_passwd);
SG_OP_HANDLER(sg_op_account_password);
/* ops_totp.c: the TOTP second factor */
SG_OP_HANDLER(sg_op_account_totp_enrol);
SG_OP_HANDLER(sg_op_account_totp_confirm);
SG_OP_HANDLER(sg_op_account_totp_disable);
SG_OP_HANDLER(sg_op_admin_totp_reset);
/* ops_access.c: API tokens and sessions */
SG_OP_HANDLER(sg_op_token_create);
SG_OP_HANDLER(sg_op_token_list);
SG_OP_HANDLER(sg_op_token_revoke);
SG_OP_HANDLER(sg_op_session_list);
SG_OP_HANDLER(sg_op_session_end);
/* ops_audit.c */
SG_OP_HANDLER(sg_op_audit_list);
/* ops_notary.c: the tamper-evident log */
SG_OP_HANDLER(sg_op_notary_search);
SG_OP_HANDLER(sg_op_notary_show);
/* ops_system.c: status, version, check-config */
SG_OP_HANDLER(sg_op_status);
SG_OP_HANDLER(sg_op_version);
SG_OP_HANDLER(sg_op_check_config);
/* ops_metrics.c */
SG_OP_HANDLER(sg_op_metrics);
SG_OP_HANDLER(sg_op_cluster_status);
/* ops_queue.c */
SG_OP_HANDLER(sg_op_queue_list);
SG_OP_HANDLER(sg_op_queue_show);
SG_OP_HANDLER(sg_op_queue_hold);
SG_OP_HANDLER(sg_op_queue_release);
SG_OP_HANDLER(sg_op_queue_retry);
SG_OP_HANDLER(sg_op_queue_delete);
/* ops_keys.c: OpenPGP keys */
SG_OP_HANDLER(sg_op_key_list);
SG_OP_HANDLER(sg_op_key_show);
SG_OP_HANDLER(sg_op_key_export);
SG_OP_HANDLER(sg_op_key_delete);
SG_OP_HANDLER(sg_op_key_import);
/* ops_jobs.c: long operations (issue 18) */
SG_OP_HANDLER(sg_op_key_import_bulk);
SG_OP_HANDLER(sg_op_job_list);
SG_OP_HANDLER(sg_op_job_show);
SG_OP_HANDLER(sg_op_job_cancel);
/* ops_certs.c: certificates and the local CA's public side */
SG_OP_HANDLER(sg_op_cert_list);
SG_OP_HANDLER(sg_op_cert_show);
SG_OP_HANDLER(sg_op_cert_export);
SG_OP_HANDLER(sg_op_cert_delete);
SG_OP_HANDLER(sg_op_cert_trust);
SG_OP_HANDLER(sg_op_cert_untrust);
SG_OP_HANDLER(sg_op_ca_export);
SG_OP_HANDLER(sg_op_ca_revoke);
/* ops_policy.c */
SG_OP_HANDLER(sg_op_policy_show);
SG_OP_HANDLER(sg_op_policy_check);
SG_OP_HANDLER(sg_op_policy_load);
SG_OP_HANDLER(sg_op_policy_explain);
SG_OP_HANDLER(sg_op_policy_revisions);
SG_OP_HANDLER(sg_op_policy_rollback);
/* ops_pdf.c */
SG_OP_HANDLER(sg_op_pdf_reset);
/* ops_users.c: internal users, aliases, groups */
SG_OP_HANDLER(sg_op_user_list);
SG_OP_HANDLER(sg_op_user_show);
SG_OP_HANDLER(sg_op_user_create);
SG_OP_HANDLER(sg_op_user_update);
SG_OP_HANDLER(sg_op_user_delete);
SG_OP_HANDLER(sg_op_group_list);
SG_OP_HANDLER(sg_op_group_show);
SG_OP_HANDLER(sg_op_group_create);
SG_OP_HANDLER(sg_op_group_update);
SG_OP_HANDLER(sg_op_group_delete);
SG_OP_HANDLER(sg_op_group_member_add);
SG_OP_HANDLER(sg_op_group_member_remove);

#endif
