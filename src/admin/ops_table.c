/* ops_table.c - the table of operations (ops.h): the one place that says what each operation
 * is called, who may call it, its arguments, its REST route and CLI words, where it runs and
 * which handler does it. Owner: src/admin.
 * Permission: the roles field names the roles allowed besides Administrator (always) and
 * Auditor (every read-only operation); SG_ROLES_OPERATORS is every role that may change
 * something, for operations on one's own tokens and sessions (the handler limits them to the
 * caller's own unless the caller is an Administrator). account.password names every role,
 * Auditor included: changing one's own password changes nothing of the gateway.
 * SECURITY: an entry's roles and read_only decide who may do what from every front end:
 * review a change here like a change of a firewall rule. tests/unit/test_admin_ops.c walks the
 * whole role x operation matrix of this table. */
#include <stddef.h>

#include "admin/ops.h"
#include "admin/ops_handlers.h"
#include "admin/ops_secret.h"
#include "admin/roles.h"

#define SG_ROLES_OPERATORS                                                                                   \
    (SG_ROLE_NETWORK | SG_ROLE_USER | SG_ROLE_CA | SG_ROLE_POLICY | SG_ROLE_SYSTEM)

/* The table is laid out by hand, one entry a few lines, for reading it as a table. */
// clang-format off

/* Argument shorthands: path, query and body arguments by type. */
#define PATH(n, max, h) {n, SG_ARG_STRING, true, max, 0, 0, SG_FROM_PATH, NULL, h}
#define QSTR(n, max, h) {n, SG_ARG_STRING, false, max, 0, 0, SG_FROM_QUERY, NULL, h}
#define QBOOL(n, h) {n, SG_ARG_BOOL, false, 0, 0, 0, SG_FROM_QUERY, NULL, h}
#define BSTR(n, req, max, h) {n, SG_ARG_STRING, req, max, 0, 0, SG_FROM_BODY, NULL, h}
#define END {NULL, 0, false, 0, 0, 0, 0, NULL, NULL}

#define NAME_MAX_ 64 /* SG_ADMIN_NAME_MAX */
#define FPR_MAX 64   /* fingerprints: 40 (OpenPGP) or 64 (X.509 SHA-256) hex digits */
#define ADDR_MAX 320 /* RFC 5321 path */
#define POLICY_MAX (1024 * 1024)
#define MESSAGE_MAX (10 * 1024 * 1024)

static const char *const queue_states[] = {"incoming", "active", "outgoing", "deferred",
                                           "hold",     "corrupt", "dsn",     NULL};
static const char *const queue_sorts[] = {"age", "-age", "size", "-size", "id", NULL};

static const char *const admin_sorts[] = {"name", "-name", "created", "-created", "last_login", "-last_login", NULL};
static const char *const token_sorts[] = {"created", "-created", "owner", "-owner", "id", "-id", NULL};
static const char *const session_sorts[] = {"created", "-created", "last_seen", "-last_seen", "account", "-account",
                                            NULL};

static const sg_op_arg no_args[] = {END};
static const sg_op_arg admin_list_args[] = {
    {"sort", SG_ARG_STRING, false, 16, 0, 0, SG_FROM_QUERY, admin_sorts, "name (default), created, last_login; -x descending"},
    SG_OP_ARGS_PAGE, END};

static const sg_op_arg admin_add_args[] = {
    BSTR("name", true, NAME_MAX_, "account name (letters, digits, . _ @ -)"),
    BSTR("roles", true, 256, "comma-separated roles (administrator, network-operator, ...)"),
    BSTR("password", false, 256, "the password; absent: a one-time password is generated and returned once"),
    {"must_change", SG_ARG_BOOL, false, 0, 0, 0, SG_FROM_BODY, NULL,
     "the password must be changed at the first sign-in (default: only when it is generated)"},
    END};
static const sg_op_arg admin_name_args[] = {PATH("name", NAME_MAX_, "account name"), END};
static const sg_op_arg admin_roles_args[] = {PATH("name", NAME_MAX_, "account name"),
                                             BSTR("roles", true, 256, "comma-separated roles"), END};
static const sg_op_arg admin_passwd_args[] = {
    PATH("name", NAME_MAX_, "account name"),
    BSTR("password", false, 256, "the new password; absent: a one-time password is generated"),
    {"must_change", SG_ARG_BOOL, false, 0, 0, 0, SG_FROM_BODY, NULL,
     "the password must be changed at the next sign-in (default: only when it is generated)"},
    END};
static const sg_op_arg totp_enrol_args[] = {BSTR("current_password", true, 256, "the password in use now"), END};
static const sg_op_arg totp_confirm_args[] = {BSTR("code", true, 8, "a code of the authenticator (6 digits)"), END};
static const sg_op_arg totp_disable_args[] = {BSTR("current_password", true, 256, "the password in use now"),
    BSTR("code", false, 8, "a code of the authenticator (needed when the factor is active)"), END};

static const sg_op_arg account_password_args[] = {
    BSTR("current_password", true, 256, "the password in use now"),
    BSTR("password", true, 256, "the new password (at least 12 characters)"), END};
static const sg_op_arg token_create_args[] = {
    BSTR("roles", true, 256, "comma-separated roles, within the owner's"),
    BSTR("label", false, NAME_MAX_, "what the token is for"),
    BSTR("owner", false, NAME_MAX_, "the account the token acts for (default: the caller; others: Administrator)"),
    END};
static const sg_op_arg token_list_args[] = {QSTR("owner", NAME_MAX_, "only this account's tokens"),
    {"sort", SG_ARG_STRING, false, 16, 0, 0, SG_FROM_QUERY, token_sorts, "created, owner, id; -x descending (default: newest first)"},
    SG_OP_ARGS_PAGE, END};
static const sg_op_arg token_id_args[] = {PATH("id", 16, "token id"), END};
static const sg_op_arg session_list_args[] = {QSTR("account", NAME_MAX_, "only this account's sessions"),
    {"sort", SG_ARG_STRING, false, 16, 0, 0, SG_FROM_QUERY, session_sorts, "created, last_seen, account; -x descending (default: newest first)"},
    SG_OP_ARGS_PAGE, END};
static const sg_op_arg session_id_args[] = {PATH("id", 64, "session handle (as listed)"), END};

static const char *const audit_results[] = {"ok", "forbidden", "not_found", "invalid_argument", "conflict",
                                           "unavailable", "internal", "unauthenticated", "locked",
                                           "password_change_required", NULL};
static const sg_op_arg audit_list_args[] = {
    QSTR("actor", NAME_MAX_, "only events of this actor"),
    QSTR("operation", 64, "only events of this operation"),
    QSTR("target", 256, "only events whose target contains this (ASCII case ignored)"),
    {"result", SG_ARG_STRING, false, 32, 0, 0, SG_FROM_QUERY, audit_results, "only events with this result"},
    {"since", SG_ARG_INT, false, 0, 0, INT64_MAX, SG_FROM_QUERY, NULL, "only events at or after (Unix seconds)"},
    {"until", SG_ARG_INT, false, 0, 0, INT64_MAX, SG_FROM_QUERY, NULL, "only events before (Unix seconds)"},
    {"before", SG_ARG_INT, false, 0, 1, INT64_MAX, SG_FROM_QUERY, NULL,
     "cursor: only events older than this id (the last id of the previous page)"},
    SG_OP_ARGS_PAGE,
    END};

static const char *const notary_outcomes[] = {"delivered", "held", "bounced", "deleted", NULL};
static const char *const notary_kinds[] = {"mail", "admin", "receipt", NULL};
static const sg_op_arg notary_search_args[] = {
    QSTR("queue", 64, "only entries of this queue id"),
    QSTR("address", ADDR_MAX, "only entries with this envelope address (matched by its HMAC when addresses are hashed)"),
    {"outcome", SG_ARG_STRING, false, 16, 0, 0, SG_FROM_QUERY, notary_outcomes, "only mail with this outcome"},
    {"kind", SG_ARG_STRING, false, 16, 0, 0, SG_FROM_QUERY, notary_kinds, "only entries of this kind"},
    {"since", SG_ARG_INT, false, 0, 0, INT64_MAX, SG_FROM_QUERY, NULL, "only entries at or after (Unix seconds)"},
    {"until", SG_ARG_INT, false, 0, 0, INT64_MAX, SG_FROM_QUERY, NULL, "only entries before (Unix seconds)"},
    SG_OP_ARGS_PAGE,
    END};
static const sg_op_arg notary_show_args[] = {PATH("entry", 64, "log index, or a queue id (its first entry)"), END};

static const sg_op_arg queue_list_args[] = {
    {"state", SG_ARG_STRING, false, 16, 0, 0, SG_FROM_QUERY, queue_states, "only this state"},
    QSTR("sender", ADDR_MAX, "only messages whose sender contains this"),
    QSTR("recipient", ADDR_MAX, "only messages with a recipient containing this"),
    {"min_age", SG_ARG_INT, false, 0, 0, INT64_MAX, SG_FROM_QUERY, NULL, "only messages at least this many seconds old"},
    QSTR("reason", 256, "only messages whose last error contains this"),
    {"sort", SG_ARG_STRING, false, 8, 0, 0, SG_FROM_QUERY, queue_sorts, "age (oldest first), -age, size, -size, id"},
    SG_OP_ARGS_PAGE,
    END};
static const sg_op_arg queue_id_args[] = {PATH("id", 64, "queue id"), END};
static const sg_op_arg queue_retry_args[] = {PATH("id", 64, "queue id, or all"), END};

static const sg_op_arg key_list_args[] = {QSTR("address", ADDR_MAX, "only keys with a user ID of this address"),
                                          SG_OP_ARGS_PAGE, END};
static const sg_op_arg key_fpr_args[] = {PATH("fpr", FPR_MAX, "fingerprint (hex)"), END};
static const sg_op_arg pdf_reset_args[] = {BSTR("sender", true, ADDR_MAX, "the internal sender's address"),
                                           BSTR("rcpt", true, ADDR_MAX, "the external recipient's address"),
                                           END};
static const sg_op_arg key_export_args[] = {PATH("fpr", FPR_MAX, "fingerprint (hex)"),
                                            QBOOL("binary", "binary instead of ASCII armor"), END};
static const sg_op_arg key_import_args[] = {
    {"data", SG_ARG_BYTES, true, 512 * 1024, 0, 0, SG_FROM_BODY, NULL, "the public key(s), armored or binary (base64)"},
    END};
static const sg_op_arg cert_list_args[] = {QSTR("address", ADDR_MAX, "only certificates for this address"),
                                           SG_OP_ARGS_PAGE, END};
static const sg_op_arg cert_export_args[] = {PATH("fpr", FPR_MAX, "SHA-256 fingerprint (hex)"),
                                             QBOOL("der", "DER instead of PEM"), END};

static const sg_op_arg policy_show_args[] = {
    {"rev", SG_ARG_INT, false, 0, 0, INT64_MAX, SG_FROM_QUERY, NULL, "this revision (default: the one in force)"},
    END};
static const sg_op_arg policy_check_args[] = {
    BSTR("text", false, POLICY_MAX, "rules to check (default: the policy in force)"), END};
static const sg_op_arg policy_load_args[] = {BSTR("text", true, POLICY_MAX, "the rules"),
                                             BSTR("source", false, 1024, "where they came from"), END};
static const sg_op_arg policy_explain_args[] = {
    BSTR("from", true, ADDR_MAX, "envelope sender"),
    BSTR("to", true, 64 * 1024, "recipients, comma-separated"),
    BSTR("subject", false, 998, "Subject"),
    {"message", SG_ARG_BYTES, false, MESSAGE_MAX, 0, 0, SG_FROM_BODY, NULL, "a message (.eml) to explain instead"},
    END};
static const sg_op_arg policy_revisions_args[] = {SG_OP_ARGS_PAGE, END};
static const sg_op_arg policy_rollback_args[] = {
    PATH("rev", 19, "the revision whose rules come back (a number)"), END};

#define RO true
#define RW false

/* Internal users, aliases and groups (ops_users.c). */
#define GROUP_MAX 64 /* SG_GROUP_NAME_MAX */
static const char *const user_states[] = {"active", "disabled", NULL};
static const char *const user_sorts[] = {"address", "-address", "name", "-name", "created", "-created", NULL};
static const char *const group_sorts[] = {"name", "-name", "description", "-description", "created", "-created",
                                          NULL};
static const sg_op_arg user_list_args[] = {
    QSTR("match", 254, "only users whose address, name or an alias contains this (any case)"),
    {"state", SG_ARG_STRING, false, 16, 0, 0, SG_FROM_QUERY, user_states, "only users in this state"},
    {"sort", SG_ARG_STRING, false, 16, 0, 0, SG_FROM_QUERY, user_sorts, "address (default), name, created; -x descending"},
    SG_OP_ARGS_PAGE, END};
static const sg_op_arg user_addr_args[] = {PATH("address", 254, "the user's address"), END};
static const sg_op_arg user_create_args[] = {
    BSTR("address", true, 254, "the user's address"),
    BSTR("name", false, 128, "display name"),
    {"state", SG_ARG_STRING, false, 16, 0, 0, SG_FROM_BODY, user_states, "active (default) or disabled"},
    BSTR("aliases", false, 4096, "other addresses of the user, comma-separated"), END};
static const sg_op_arg user_update_args[] = {
    PATH("address", 254, "the user's address"),
    BSTR("name", false, 128, "display name"),
    {"state", SG_ARG_STRING, false, 16, 0, 0, SG_FROM_BODY, user_states, "active or disabled"},
    BSTR("aliases", false, 4096, "replaces the aliases: comma-separated (empty: none)"), END};
static const sg_op_arg group_list_args[] = {
    QSTR("match", 256, "only groups whose name or description contains this (any case)"),
    {"sort", SG_ARG_STRING, false, 16, 0, 0, SG_FROM_QUERY, group_sorts, "name (default), description, created; -x descending"},
    SG_OP_ARGS_PAGE, END};
static const sg_op_arg group_name_args[] = {PATH("name", GROUP_MAX, "group name"), END};
static const sg_op_arg group_create_args[] = {
    BSTR("name", true, GROUP_MAX, "group name (letters, digits, . _ -)"),
    BSTR("description", false, 256, "what the group is for"), END};
static const sg_op_arg group_update_args[] = {PATH("name", GROUP_MAX, "group name"),
                                              BSTR("description", true, 256, "what the group is for"), END};
static const sg_op_arg group_member_add_args[] = {PATH("name", GROUP_MAX, "group name"),
                                                  BSTR("address", true, 254, "a user's address or alias"), END};
static const sg_op_arg group_member_args[] = {PATH("name", GROUP_MAX, "group name"),
                                              PATH("address", 254, "a member's address or alias"), END};

/* The secret operations' arguments (ops_secret.c). */
static const char *const key_algos[] = {"ed25519", "rsa3072", "rsa4096", NULL};
static const char *const ca_usages[] = {"sign", "encrypt", "both", NULL};
static const sg_op_arg key_generate_args[] = {
    BSTR("address", true, ADDR_MAX, "the address (or \"Name <address>\") of the user ID"),
    {"algo", SG_ARG_STRING, false, 16, 0, 0, SG_FROM_BODY, key_algos, "ed25519 (default), rsa3072 or rsa4096"},
    {"expires", SG_ARG_INT, false, 0, 0, 36500, SG_FROM_BODY, NULL, "days until it expires (0: never)"}, END};
static const sg_op_arg cert_import_args[] = {
    {"data", SG_ARG_BYTES, true, SG_OP_IMPORT_MAX, 0, 0, SG_FROM_BODY, NULL, "the file's bytes (base64)"},
    BSTR("name", false, 255, "the file's name, for messages"),
    BSTR("password", false, 1024, "the PKCS#12 or key password"),
    {"trust", SG_ARG_BOOL, false, 0, 0, 0, SG_FROM_BODY, NULL, "make its CA certificates trust anchors"}, END};
static const sg_op_arg ca_issue_args[] = {
    BSTR("address", true, ADDR_MAX, "the address the certificate is for"),
    {"usage", SG_ARG_STRING, false, 16, 0, 0, SG_FROM_BODY, ca_usages, "sign, encrypt or both (default)"},
    {"days", SG_ARG_INT, false, 0, 1, 36500, SG_FROM_BODY, NULL, "validity in days (default 730)"},
    {"rsa", SG_ARG_BOOL, false, 0, 0, 0, SG_FROM_BODY, NULL, "an RSA key instead of the default kind"},
    BSTR("crl_url", false, 1024, "CRL distribution point to name in the certificate"),
    BSTR("ocsp_url", false, 1024, "OCSP responder to name in the certificate"), END};
static const sg_op_arg ca_crl_args[] = {
    {"days", SG_ARG_INT, false, 0, 1, 36500, SG_FROM_BODY, NULL, "until the next update (default 30)"}, END};

/* The jobs (ops_jobs.c, issue 18). */
static const sg_op_arg job_list_args[] = {SG_OP_ARGS_PAGE, END};
static const sg_op_arg job_id_args[] = {PATH("id", 32, "the job's id"), END};
static const sg_op_arg key_import_bulk_args[] = {
    {"data", SG_ARG_BYTES, true, 64u << 20, 0, 0, SG_FROM_BODY, NULL, "a keyring of public keys, armored or binary (base64)"},
    END};

const sg_op sg_ops[] = {
    /* accounts, tokens, sessions, audit (ops_admin.c, ops_access.c, ops_audit.c) */
    {"admin.add", 0, RW, "POST", "/api/v1/admins", {"admin", "add"}, admin_add_args,
     "Add an administration account with roles", "admin.add", SG_RUN_ANY, "name", sg_op_admin_add},
    {"admin.list", 0, RO, "GET", "/api/v1/admins", {"admin", "list"}, admin_list_args,
     "List the accounts, their roles and last logins", "admin.list", SG_RUN_ANY, NULL, sg_op_admin_list},
    {"admin.delete", 0, RW, "DELETE", "/api/v1/admins/{name}", {"admin", "delete"}, admin_name_args,
     "Delete an account with its sessions and tokens", "admin.delete", SG_RUN_ANY, "name", sg_op_admin_delete},
    {"admin.set-roles", 0, RW, "PUT", "/api/v1/admins/{name}/roles", {"admin", "roles"}, admin_roles_args,
     "Replace an account's roles", "admin.set-roles", SG_RUN_ANY, "name", sg_op_admin_set_roles},
    {"admin.passwd", 0, RW, "PUT", "/api/v1/admins/{name}/password", {"admin", "passwd"}, admin_passwd_args,
     "Set an account's password (ends its sessions, unlocks it)", "admin.passwd", SG_RUN_ANY, "name",
     sg_op_admin_passwd},
    {"account.password", SG_ROLES_ALL, RW, "PUT", "/api/v1/account/password", {"account", "passwd"},
     account_password_args, "Change one's own password (the current one is asked again)", "account.password",
     SG_RUN_ANY, NULL, sg_op_account_password},
    {"account.totp-enrol", SG_ROLES_ALL, RW, "POST", "/api/v1/account/totp", {"account", "totp", "enrol"},
     totp_enrol_args, "Start a TOTP second factor: a new secret, shown once, active after confirm",
     "account.totp-enrol", SG_RUN_ANY, NULL, sg_op_account_totp_enrol},
    {"account.totp-confirm", SG_ROLES_ALL, RW, "POST", "/api/v1/account/totp/confirm", {"account", "totp", "confirm"},
     totp_confirm_args, "Make the enrolled second factor active by a code from it", "account.totp-confirm",
     SG_RUN_ANY, NULL, sg_op_account_totp_confirm},
    {"account.totp-disable", SG_ROLES_ALL, RW, "DELETE", "/api/v1/account/totp", {"account", "totp", "disable"},
     totp_disable_args, "Remove one's second factor (password, and a code when active)", "account.totp-disable",
     SG_RUN_ANY, NULL, sg_op_account_totp_disable},
    {"admin.totp-reset", 0, RW, "DELETE", "/api/v1/admins/{name}/totp", {"admin", "totp-reset"}, admin_name_args,
     "Remove an account's second factor (a lost authenticator)", "admin.totp-reset", SG_RUN_ANY, "name",
     sg_op_admin_totp_reset},
    {"token.create", SG_ROLES_OPERATORS, RW, "POST", "/api/v1/tokens", {"token", "create"}, token_create_args,
     "Create an API token; the secret is shown once", "token.create", SG_RUN_ANY, NULL, sg_op_token_create},
    {"token.list", SG_ROLES_OPERATORS, RO, "GET", "/api/v1/tokens", {"token", "list"}, token_list_args,
     "List API tokens (one's own; all for Administrators and Auditors)", "token.list", SG_RUN_ANY, NULL,
     sg_op_token_list},
    {"token.revoke", SG_ROLES_OPERATORS, RW, "DELETE", "/api/v1/tokens/{id}", {"token", "revoke"}, token_id_args,
     "Revoke an API token (one's own; any for Administrators)", "token.revoke", SG_RUN_ANY, "id",
     sg_op_token_revoke},
    {"session.list", SG_ROLES_OPERATORS, RO, "GET", "/api/v1/sessions", {"session", "list"}, session_list_args,
     "List portal sessions (one's own; all for Administrators and Auditors)", "session.list", SG_RUN_ANY, NULL,
     sg_op_session_list},
    {"session.end", SG_ROLES_OPERATORS, RW, "DELETE", "/api/v1/sessions/{id}", {"session", "end"},
     session_id_args, "End a portal session (one's own; any for Administrators)", "session.end", SG_RUN_ANY, "id",
     sg_op_session_end},
    {"audit.list", 0, RO, "GET", "/api/v1/events", {"audit", "list"}, audit_list_args,
     "List audit events, newest first, by actor, operation, target, result and time", "audit.list", SG_RUN_ANY, NULL,
     sg_op_audit_list},
    {"audit.search", 0, RO, "GET", "/api/v1/audit/log", {"audit", "search"}, notary_search_args,
     "Search the tamper-evident log by queue id, address, outcome and time, newest first", "audit.search",
     SG_RUN_ANY, NULL, sg_op_notary_search},
    {"audit.show", 0, RO, "GET", "/api/v1/audit/log/{entry}", {"audit", "show"}, notary_show_args,
     "One log entry with its inclusion proof in the latest signed checkpoint", "audit.show", SG_RUN_ANY, "entry",
     sg_op_notary_show},

    /* internal users and groups (ops_users.c): users are the User Operator's, groups the Policy
     * Operator's (rules name them) */
    {"user.list", SG_ROLE_USER, RO, "GET", "/api/v1/users", {"user", "list"}, user_list_args,
     "List internal users with filters", "user.list", SG_RUN_ANY, NULL, sg_op_user_list},
    {"user.show", SG_ROLE_USER, RO, "GET", "/api/v1/users/{address}", {"user", "show"}, user_addr_args,
     "An internal user with aliases and groups", "user.show", SG_RUN_ANY, "address", sg_op_user_show},
    {"user.create", SG_ROLE_USER, RW, "POST", "/api/v1/users", {"user", "create"}, user_create_args,
     "Add an internal user (with aliases)", "user.create", SG_RUN_ANY, "address", sg_op_user_create},
    {"user.update", SG_ROLE_USER, RW, "PUT", "/api/v1/users/{address}", {"user", "update"}, user_update_args,
     "Change a user's name, state or aliases", "user.update", SG_RUN_ANY, "address", sg_op_user_update},
    {"user.delete", SG_ROLE_USER, RW, "DELETE", "/api/v1/users/{address}", {"user", "delete"}, user_addr_args,
     "Delete an internal user with its aliases and memberships", "user.delete", SG_RUN_ANY, "address",
     sg_op_user_delete},
    {"group.list", SG_ROLE_POLICY, RO, "GET", "/api/v1/groups", {"group", "list"}, group_list_args,
     "List groups with their member counts", "group.list", SG_RUN_ANY, NULL, sg_op_group_list},
    {"group.show", SG_ROLE_POLICY, RO, "GET", "/api/v1/groups/{name}", {"group", "show"}, group_name_args,
     "A group with its members", "group.show", SG_RUN_ANY, "name", sg_op_group_show},
    {"group.create", SG_ROLE_POLICY, RW, "POST", "/api/v1/groups", {"group", "create"}, group_create_args,
     "Add a group (rules test it with from_group / to_group)", "group.create", SG_RUN_ANY, "name",
     sg_op_group_create},
    {"group.update", SG_ROLE_POLICY, RW, "PUT", "/api/v1/groups/{name}", {"group", "update"}, group_update_args,
     "Change a group's description", "group.update", SG_RUN_ANY, "name", sg_op_group_update},
    {"group.delete", SG_ROLE_POLICY, RW, "DELETE", "/api/v1/groups/{name}", {"group", "delete"}, group_name_args,
     "Delete a group and its memberships", "group.delete", SG_RUN_ANY, "name", sg_op_group_delete},
    {"group.member-add", SG_ROLE_POLICY, RW, "POST", "/api/v1/groups/{name}/members", {"group", "add-member"},
     group_member_add_args, "Add an internal user (by address or alias) to a group", "group.member-add",
     SG_RUN_ANY, "name", sg_op_group_member_add},
    {"group.member-remove", SG_ROLE_POLICY, RW, "DELETE", "/api/v1/groups/{name}/members/{address}",
     {"group", "remove-member"}, group_member_args, "Remove a member from a group", "group.member-remove",
     SG_RUN_ANY, "name", sg_op_group_member_remove},

    /* the gateway (ops_system.c) */
    {"status", SG_ROLES_ALL, RO, "GET", "/api/v1/status", {"status"}, no_args,
     "Health of the roles and queue sizes per state", "status", SG_RUN_SPOOL, NULL, sg_op_status},
    {"version", SG_ROLES_ALL, RO, "GET", "/api/v1/version", {"version"}, no_args, "The sealgate version",
     "version", SG_RUN_ANY, NULL, sg_op_version},
    {"check-config", SG_ROLE_NETWORK | SG_ROLE_SYSTEM, RO, "GET", "/api/v1/config/check", {"check-config"},
     no_args, "Validate the configuration and show the effective values", "check-config", SG_RUN_ANY, NULL,
     sg_op_check_config},
    {"metrics", SG_ROLE_SYSTEM, RO, "GET", "/api/v1/metrics", {"metrics"}, no_args,
     "Message counts per minute of the last day and totals (for /metrics and the dashboard)", "metrics",
     SG_RUN_ANY, NULL, sg_op_metrics},
    {"cluster.status", SG_ROLE_SYSTEM, RO, "GET", "/api/v1/cluster", {"cluster", "status"}, no_args,
     "The nodes sharing the store: last heartbeat, version, schema version, queue size", "cluster.status",
     SG_RUN_ANY, NULL, sg_op_cluster_status},

    /* the queue (ops_queue.c): moves of states cryptd and the relay own run in cryptd */
    {"queue.list", SG_ROLE_SYSTEM, RO, "GET", "/api/v1/queue", {"queue", "list"}, queue_list_args,
     "List queued messages with filters", "queue.list", SG_RUN_SPOOL, NULL, sg_op_queue_list},
    {"queue.show", SG_ROLE_SYSTEM, RO, "GET", "/api/v1/queue/{id}", {"queue", "show"}, queue_id_args,
     "Envelope, headers and last error of a queued message", "queue.show", SG_RUN_SPOOL, "id", sg_op_queue_show},
    {"queue.hold", SG_ROLE_SYSTEM, RW, "POST", "/api/v1/queue/{id}/hold", {"queue", "hold"}, queue_id_args,
     "Move a message to hold", "queue.hold", SG_RUN_CRYPTD, "id", sg_op_queue_hold},
    {"queue.release", SG_ROLE_SYSTEM, RW, "POST", "/api/v1/queue/{id}/release", {"queue", "release"},
     queue_id_args, "Move a held message back into processing", "queue.release", SG_RUN_CRYPTD, "id",
     sg_op_queue_release},
    {"queue.retry", SG_ROLE_SYSTEM, RW, "POST", "/api/v1/queue/{id}/retry", {"queue", "retry"},
     queue_retry_args, "Deliver a deferred message (or all) now", "queue.retry", SG_RUN_CRYPTD, "id",
     sg_op_queue_retry},
    {"queue.delete", SG_ROLE_SYSTEM, RW, "DELETE", "/api/v1/queue/{id}", {"queue", "delete"}, queue_id_args,
     "Delete a queued message", "queue.delete", SG_RUN_CRYPTD, "id", sg_op_queue_delete},

    /* OpenPGP keys (ops_keys.c); import, generate and revoke need the KEK: issue 18's
     * control socket adds them as SG_RUN_CRYPTD entries */
    {"key.list", SG_ROLE_USER, RO, "GET", "/api/v1/keys", {"key", "list"}, key_list_args,
     "List OpenPGP keys, newest first", "key.list", SG_RUN_ANY, NULL, sg_op_key_list},
    {"key.show", SG_ROLE_USER, RO, "GET", "/api/v1/keys/{fpr}", {"key", "show"}, key_fpr_args,
     "An OpenPGP key's user IDs, subkeys, algorithm, validity, capabilities, trust and provenance", "key.show", SG_RUN_ANY, "fpr",
     sg_op_key_show},
    {"key.export", SG_ROLE_USER, RO, "GET", "/api/v1/keys/{fpr}/export", {"key", "export"}, key_export_args,
     "Export an OpenPGP public key", "key.export", SG_RUN_ANY, "fpr", sg_op_key_export},
    {"key.delete", SG_ROLE_USER, RW, "DELETE", "/api/v1/keys/{fpr}", {"key", "delete"}, key_fpr_args,
     "Delete an OpenPGP key (and its secret part)", "key.delete", SG_RUN_ANY, "fpr", sg_op_key_delete},
    {"key.import", SG_ROLE_USER, RW, "POST", "/api/v1/keys/import", {"key", "import"}, key_import_args,
     "Import OpenPGP public keys from bytes (a secret part is not taken)", "key.import", SG_RUN_ANY, NULL,
     sg_op_key_import},

    /* certificates and the local CA's public side (ops_certs.c) */
    {"cert.list", SG_ROLE_USER, RO, "GET", "/api/v1/certs", {"cert", "list"}, cert_list_args,
     "List X.509 certificates", "cert.list", SG_RUN_ANY, NULL, sg_op_cert_list},
    {"cert.show", SG_ROLE_USER, RO, "GET", "/api/v1/certs/{fpr}", {"cert", "show"}, key_fpr_args,
     "A certificate's subject, issuer, validity, usage, addresses, validation and chain", "cert.show", SG_RUN_ANY, "fpr",
     sg_op_cert_show},
    {"cert.export", SG_ROLE_USER, RO, "GET", "/api/v1/certs/{fpr}/export", {"cert", "export"}, cert_export_args,
     "Export a certificate (PEM or DER)", "cert.export", SG_RUN_ANY, "fpr", sg_op_cert_export},
    {"cert.delete", SG_ROLE_USER, RW, "DELETE", "/api/v1/certs/{fpr}", {"cert", "delete"}, key_fpr_args,
     "Delete a certificate (and its private key)", "cert.delete", SG_RUN_ANY, "fpr", sg_op_cert_delete},
    {"cert.trust", SG_ROLE_USER, RW, "POST", "/api/v1/certs/{fpr}/trust", {"cert", "trust"}, key_fpr_args,
     "Make a CA certificate a trust anchor", "cert.trust", SG_RUN_ANY, "fpr", sg_op_cert_trust},
    {"cert.untrust", SG_ROLE_USER, RW, "POST", "/api/v1/certs/{fpr}/untrust", {"cert", "untrust"},
     key_fpr_args, "Stop trusting a CA certificate as anchor", "cert.untrust", SG_RUN_ANY, "fpr",
     sg_op_cert_untrust},
    {"ca.export", SG_ROLE_CA | SG_ROLE_USER, RO, "GET", "/api/v1/ca", {"ca", "export"}, no_args,
     "The local CA's certificate (PEM)", "ca.export", SG_RUN_ANY, NULL, sg_op_ca_export},
    {"ca.revoke", SG_ROLE_CA, RW, "POST", "/api/v1/ca/certs/{fpr}/revoke", {"ca", "revoke"}, key_fpr_args,
     "Revoke a certificate the local CA issued (the next CRL lists it)", "ca.revoke", SG_RUN_ANY, "fpr",
     sg_op_ca_revoke},

    /* policy (ops_policy.c) */
    {"policy.show", SG_ROLE_POLICY, RO, "GET", "/api/v1/policy", {"policy", "show"}, policy_show_args,
     "The rules in force (or of a revision)", "policy.show", SG_RUN_ANY, "rev", sg_op_policy_show},
    {"policy.check", SG_ROLE_POLICY, RO, "POST", "/api/v1/policy/check", {"policy", "check"}, policy_check_args,
     "Check rules without loading them; errors name their line", "policy.check", SG_RUN_ANY, NULL,
     sg_op_policy_check},
    {"policy.load", SG_ROLE_POLICY, RW, "POST", "/api/v1/policy", {"policy", "load"}, policy_load_args,
     "Check rules and make them the policy in force (a new revision)", "policy.load", SG_RUN_ANY, NULL,
     sg_op_policy_load},
    {"policy.explain", SG_ROLE_POLICY, RO, "POST", "/api/v1/policy/explain", {"policy", "explain"},
     policy_explain_args, "What the policy would do with a message, per recipient", "policy.explain",
     SG_RUN_ANY, NULL, sg_op_policy_explain},
    {"policy.revisions", SG_ROLE_POLICY, RO, "GET", "/api/v1/policy/revisions", {"policy", "revisions"},
     policy_revisions_args, "The policy's revisions, newest first (number, source, time, size)",
     "policy.revisions", SG_RUN_ANY, NULL, sg_op_policy_revisions},
    {"policy.rollback", SG_ROLE_POLICY, RW, "POST", "/api/v1/policy/revisions/{rev}/rollback",
     {"policy", "rollback"}, policy_rollback_args,
     "Make a revision's rules the policy in force again (as a new revision)", "policy.rollback", SG_RUN_ANY,
     "rev", sg_op_policy_rollback},

    /* the pdf method's passwords (ops_pdf.c, issue 12) */
    {"pdf.reset", SG_ROLE_USER | SG_ROLE_POLICY, RW, "POST", "/api/v1/pdf/reset", {"pdf", "reset"}, pdf_reset_args,
     "Forget a (sender, recipient) pair's PDF password: the next message makes a new one and tells the sender",
     "pdf.reset", SG_RUN_ANY, "rcpt", sg_op_pdf_reset},

    /* Operations that wrap or unwrap private keys: they run in cryptd, over the control socket
     * when the gateway runs (ops_secret.c; issue 18's control socket, owner src/cryptd). */
    {"key.generate", SG_ROLE_USER, RW, "POST", "/api/v1/keys/generate", {"key", "generate"}, key_generate_args,
     "Generate an OpenPGP key for an address (certified by the domain key)", "key.generate", SG_RUN_CRYPTD,
     "address", sg_op_key_generate},
    {"cert.import", SG_ROLE_USER, RW, "POST", "/api/v1/certs/import", {"cert", "import"}, cert_import_args,
     "Import certificates and their private keys (PEM, DER, PKCS#7, PKCS#12)", "cert.import", SG_RUN_CRYPTD,
     "name", sg_op_cert_import},
    {"ca.issue", SG_ROLE_CA, RW, "POST", "/api/v1/ca/issue", {"ca", "issue"}, ca_issue_args,
     "Issue a key pair and certificate for an address from the local CA", "ca.issue", SG_RUN_CRYPTD, "address",
     sg_op_ca_issue},
    {"ca.crl", SG_ROLE_CA, RW, "POST", "/api/v1/ca/crl", {"ca", "crl"}, ca_crl_args,
     "Sign a new CRL of the local CA (answered as PEM)", "ca.crl", SG_RUN_CRYPTD, NULL, sg_op_ca_crl},
    /* Long operations with progress (ops_jobs.c, admin/jobs.h): a job row in the store, written by
     * the process that runs it. */
    {"key.import-bulk", SG_ROLE_USER, RW, "POST", "/api/v1/keys/import-bulk", {"key", "import-bulk"},
     key_import_bulk_args, "Import a keyring of OpenPGP public keys as a job (answers the job at once)",
     "key.import-bulk", SG_RUN_ANY, NULL, sg_op_key_import_bulk},
    {"job.list", SG_ROLES_OPERATORS, RO, "GET", "/api/v1/jobs", {"job", "list"}, job_list_args,
     "List long operations with their progress, newest first", "job.list", SG_RUN_ANY, NULL, sg_op_job_list},
    {"job.show", SG_ROLES_OPERATORS, RO, "GET", "/api/v1/jobs/{id}", {"job", "show"}, job_id_args,
     "A job's state, counts, estimate and result", "job.show", SG_RUN_ANY, "id", sg_op_job_show},
    {"job.cancel", SG_ROLE_USER | SG_ROLE_SYSTEM, RW, "POST", "/api/v1/jobs/{id}/cancel", {"job", "cancel"},
     job_id_args, "Stop a job at its next safe point (its result says what it finished)", "job.cancel",
     SG_RUN_ANY, "id", sg_op_job_cancel},
    /* Local only: refused over the socket and the web (sg_admin_call), run by the CLI as root. */
    {"key.export-secret", 0, RW, "POST", "/api/v1/keys/{fpr}/export-secret", {"key", "export-secret"},
     key_fpr_args, "Export an OpenPGP secret key unprotected (CLI on the gateway only)", "key.export-secret",
     SG_RUN_LOCAL, "fpr", sg_op_key_export_secret},
};
const size_t sg_ops_count = sizeof sg_ops / sizeof sg_ops[0];
// clang-format on
