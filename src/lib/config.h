/* config.h - sealgate configuration: embedded defaults, optionally overridden by a libconfig
 * file. Every path is made absolute at load time. Owner: src/lib.
 * The file format and each key are documented in docs/configuration.md. */
#ifndef SG_CONFIG_H
#define SG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/netaddr.h"

enum sg_bare_newline { SG_BARE_REJECT, SG_BARE_NORMALIZE };
enum sg_tls_mode { SG_TLS_NONE, SG_TLS_MAY, SG_TLS_MUST };

typedef struct sg_strlist {
    char **v;
    size_t n;
} sg_strlist;

typedef struct sg_config {
    char *path; /* the file loaded, NULL for embedded defaults */
    char *hostname;
    char *base_dir;
    char *spool_dir;
    char *store_path;
    char *pid_file;
    int log_level;
    sg_strlist internal_domains;
    struct {
        char *smtpd, *cryptd, *relay, *group;
    } users;
    struct {
        char *listen;
        char *tls_cert, *tls_key;
        bool tls_autogenerate; /* create a self-signed certificate when the files are missing */
        size_t max_message_size;
        int max_recipients;
        int max_line_length;    /* DATA lines, without CRLF (RFC 5321: at least 998) */
        int max_command_length; /* command lines, without CRLF (RFC 5321: at least 510) */
        int max_sessions;
        int max_sessions_per_ip;
        int idle_timeout;    /* seconds without a complete command or data chunk */
        int session_timeout; /* seconds for a whole session */
        int max_errors;      /* error replies before the session is closed with 421 */
        int bare_newline;    /* enum sg_bare_newline */
        int commit_batch;    /* messages made durable together (group commit) */
        sg_strlist client_networks;
        sg_cidr *client_cidrs;
    } smtpd;
    struct {
        int workers;     /* 0: one per core */
        int max_layers;  /* encryption/signature layers peeled from one incoming message at most */
        bool pgp_inline; /* OpenPGP output for a single text/plain part is inline, not PGP/MIME */
        sg_strlist pgp_archive_keys;  /* fingerprints every OpenPGP encryption is also made to */
        sg_strlist protected_headers; /* copied into the encrypted entity besides Subject */
        char *outer_subject;          /* the Subject outside an encrypted message */
    } cryptd;
    struct {
        char *next_hop;
        int tls; /* enum sg_tls_mode */
        int max_connections;
        int connect_timeout, command_timeout;
        int retry_min, retry_max, queue_lifetime;
        char *helo_name;
    } relay;
    struct {
        bool enabled;
        char *listen;
        char *maildir;
    } sink;
} sg_config;

/* Loads embedded defaults, then the file at path (NULL: defaults only). On error returns -1 and
 * writes "file:line: message" into err. */
int sg_config_load(sg_config *cfg, const char *path, char *err, size_t errlen);
/* The config file to use: explicit argument, else $SEALGATE_CONFIG, else NULL (defaults). */
const char *sg_config_default_path(const char *explicit_path);
void sg_config_free(sg_config *cfg);
bool sg_config_is_internal_domain(const sg_config *cfg, const char *domain);
bool sg_config_client_allowed(const sg_config *cfg, const struct sockaddr *sa);

#endif
