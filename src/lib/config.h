/* config.h - sealgate configuration: embedded defaults, optionally overridden by a libconfig
 * file. Every path is made absolute at load time. Owner: src/lib.
 * The file format and each key are documented in docs/configuration.md. */
#ifndef SG_CONFIG_H
#define SG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/netaddr.h"

/* Defaults of cryptd.pgp_max_plaintext and pgp_max_ratio (docs/configuration.md), also for
 * engine users without a configuration. */
#define SG_PGP_MAX_PLAINTEXT_DEFAULT (32u << 20)
#define SG_PGP_MAX_RATIO_DEFAULT 64

enum sg_bare_newline { SG_BARE_REJECT, SG_BARE_NORMALIZE };
/* relay.tls (docs/configuration.md "Relay TLS"): each level includes what the one before it
 * promises. encrypt and above never send in the clear; verify ("secure", and "must" since
 * issue 9) and fingerprint authenticate the next hop. */
enum sg_tls_mode { SG_TLS_NONE, SG_TLS_MAY, SG_TLS_ENCRYPT, SG_TLS_VERIFY, SG_TLS_FINGERPRINT };
enum sg_smime_rsa_padding { SG_SMIME_RSA_PKCS1, SG_SMIME_RSA_OAEP };
enum sg_smime_rsa_signature { SG_SMIME_SIG_PKCS1, SG_SMIME_SIG_PSS };
enum sg_smime_signing { SG_SMIME_SIGN_CLEAR, SG_SMIME_SIGN_OPAQUE };
enum sg_smime_digest { SG_SMIME_SHA256, SG_SMIME_SHA384, SG_SMIME_SHA512 };

typedef struct sg_strlist {
    char **v;
    size_t n;
} sg_strlist;

/* Certificate revocation checking (docs/configuration.md "revocation", docs/x509.md). */
enum sg_rev_method { SG_REV_METHOD_OCSP, SG_REV_METHOD_CRL };
enum sg_rev_unreachable { SG_REV_SOFT_FAIL, SG_REV_HARD_FAIL };
#define SG_REV_MAX_PORTS 16
typedef struct sg_revocation_cfg {
    int methods[2]; /* enum sg_rev_method, tried in this order */
    int nmethods;   /* 0: only CRLs already in the store count */
    int unreachable; /* enum sg_rev_unreachable: when no method gives an answer */
    bool fetch;      /* false: answers come from the store's cache only, no network */
    int timeout;     /* seconds for one whole fetch (connect included) */
    long crl_max_size, ocsp_max_size; /* bytes of a response body */
    int ocsp_max_age;                 /* seconds an OCSP answer is used after its thisUpdate */
    int ports[SG_REV_MAX_PORTS];      /* the only ports fetches may connect to */
    int nports;
    char tls_ca_file[512]; /* CA certificates for https fetches; "" = the system's trust store */
    int retry_after;       /* seconds a URL that failed is not asked again (per process); 0: always */
    char helper_user[64], helper_group[64]; /* the fetch helper's identity when started as root */
} sg_revocation_cfg;
/* The defaults of a sg_config (for users without a configuration, e.g. tests). */
void sg_revocation_defaults(sg_revocation_cfg *r);

/* Key discovery for outgoing mail (docs/discovery.md, docs/configuration.md "discovery"). */
enum sg_disc_source { SG_DSRC_LOCAL = 1, SG_DSRC_WKD = 2, SG_DSRC_KEYSERVER = 3, SG_DSRC_LDAP = 4 };
#define SG_DISC_MAX_SOURCES 4
/* An LDAP server asked for a domain's recipients (docs/discovery.md "LDAP"). */
typedef struct sg_discovery_ldap {
    char uri[256];           /* ldap://host[:port] (StartTLS) or ldaps://host[:port]; "" = none */
    char base[256];          /* base DN of the subtree search */
    char filter[256];        /* with {address}: replaced by the address, RFC 4515-escaped */
    char bind_dn[256];       /* "" = anonymous */
    char password_file[512]; /* the bind password, first line */
    char cert_attr[64];      /* default userCertificate;binary */
    char pgp_attr[64];       /* default pgpKey */
    int timeout;             /* seconds, within what is left of discovery.timeout */
    int size_limit;          /* entries the server may return */
} sg_discovery_ldap;
#define SG_DISC_MAX_SERVERS 4
#define SG_DISC_MAX_DOMAINS 16
#define SG_DISC_MAX_RESOLVE 8
typedef struct sg_discovery_where {
    char domain[256]; /* the recipient domain this applies to ("" in the defaults) */
    int sources[SG_DISC_MAX_SOURCES]; /* enum sg_disc_source, in order */
    int nsources;
    char keyservers[SG_DISC_MAX_SERVERS][256]; /* https://host (VKS) or hkps://host (HKP) */
    int nkeyservers;
    sg_discovery_ldap ldap;
} sg_discovery_where;
typedef struct sg_discovery_cfg {
    sg_discovery_where all;                          /* the defaults: sources = ["local"] */
    sg_discovery_where domains[SG_DISC_MAX_DOMAINS]; /* per-domain overrides */
    int ndomains;
    int timeout;            /* seconds one message waits for its recipients' lookups, at most */
    long max_size;          /* bytes of one answer */
    int positive_ttl;       /* seconds a found key's lookup is not repeated */
    int negative_ttl;       /* seconds a "not found" (address, or a domain without WKD) is kept */
    bool allow_private;     /* loopback, private and link-local addresses may be asked (tests) */
    char tls_ca_file[512];  /* CA certificates for the servers; "" = the system's trust store */
    char connect_to[SG_DISC_MAX_RESOLVE][300]; /* "host:port:to-host:to-port" (tests): curl CONNECT_TO */
    int nconnect_to;
} sg_discovery_cfg;

/* The pdf method (docs/pdf.md, issue 12): the branding of the first page, the portal's address
 * for the Reply link, and limits. Fixed-size text so the group needs no freeing. */
typedef struct sg_pdf_cfg {
    char org_name[200];    /* the organisation named on the first page */
    char logo[512];        /* a PNG file shown on the first page ("" none) */
    char intro[2000];      /* the first page's text */
    char portal_url[300];  /* https://host[:port] of the web role: the Reply link's base ("" none) */
    char carrier[2000];    /* the carrier mail's text */
    long max_size;         /* bytes of a message the method renders at most; larger: fallback */
    long link_days;        /* days a Reply link stays valid */
    long reply_max_bytes;  /* the reply portal: bytes of an answer's attachments together */
} sg_pdf_cfg;

typedef struct sg_config {
    char *path; /* the file loaded, NULL for embedded defaults */
    char *hostname;
    char *base_dir;
    char *spool_dir;
    char *store_path;          /* a SQLite file, or a libpq URI (postgresql://...): docs/cluster.md */
    char *store_password_file; /* PostgreSQL: the password, first line; NULL: none or libpq's env */
    char *pid_file;
    int log_level;
    sg_strlist internal_domains;
    struct {
        char *smtpd, *cryptd, *relay, *sink, *group; /* sink: its own user and group, not in group */
        char *web;         /* the portal and REST API role (src/web) */
        char *store_group; /* the store's group: the cryptd and web users are its members */
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
        int pgp_compression; /* ZLIB level 1..9 of OpenPGP sign+encrypt; 0 (default): none */
        size_t pgp_max_plaintext; /* bytes one incoming OpenPGP layer may decrypt to, at most */
        int pgp_max_ratio;        /* ... and at most this many times its ciphertext (8 MiB always) */
        sg_strlist pgp_archive_keys;  /* fingerprints every OpenPGP encryption is also made to */
        sg_strlist protected_headers; /* copied into the encrypted entity besides Subject */
        char *outer_subject;          /* the Subject outside an encrypted message */
    } cryptd;
    struct {
        char *next_hop;
        int tls;                     /* enum sg_tls_mode */
        char *tls_ca_file;           /* CAs for verify (absolute); NULL: the system's trust store */
        sg_strlist tls_match;        /* names the certificate must carry; empty: next_hop's host */
        sg_strlist tls_fingerprints; /* SHA-256 of certificate or public key, 64 lower-case hex */
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
    struct { /* the portal and REST API (src/web, docs/web.md) */
        bool enabled;
        char *listen;
        int max_connections;   /* open HTTPS connections at most (others wait in the backlog) */
        int max_per_ip;        /* ... from one client address */
        size_t max_body;       /* bytes of a request body; more is answered 413 */
        int idle_timeout;      /* seconds a silent connection is kept */
        int session_idle;      /* seconds a session lives without a request */
        int session_lifetime;  /* seconds a session lives at most */
        int hsts_max_age;      /* Strict-Transport-Security max-age in seconds */
        bool publish;          /* WKD and HKP for internal users' keys (docs/publishing.md) */
    } web;
    sg_revocation_cfg revocation;
    sg_discovery_cfg discovery;
    sg_pdf_cfg pdf;
    struct {                     /* the tamper-evident log (docs/audit.md, issue 14) */
        long checkpoint_every;   /* cryptd signs a checkpoint after this many new entries */
        long checkpoint_seconds; /* ... or this many seconds after an unsigned entry */
        bool hmac_addresses;     /* mail entries hold HMACs of addresses, not addresses */
        bool publish;            /* the web role serves /.well-known/sealgate-notary/ (peers) */
        bool mail_entries;       /* cryptd logs its mail decisions (default); false only to
                                    measure the log's cost (bench/pgp): no evidence of mail */
    } audit;
    struct {                    /* docs/smime.md */
        int rsa_padding;        /* enum sg_smime_rsa_padding: key transport to RSA recipients */
        int rsa_signature;      /* enum sg_smime_rsa_signature */
        int signing;            /* enum sg_smime_signing: the default; policy may ask opaque */
        int digest;             /* enum sg_smime_digest */
        sg_strlist gcm_for;     /* addresses or domains known to read AES-GCM AuthEnvelopedData */
        bool encrypt_to_sender; /* add the sender's own certificate to every envelope */
    } smime;
    struct {                /* docs/scanning.md; enabled by a `scan` section */
        bool enabled;
        char *clamd;        /* "unix:PATH" or "tcp:HOST:PORT", or NULL */
        char *rspamd;       /* "http://HOST:PORT", or NULL */
        char *spamd;        /* "unix:PATH" or "tcp:HOST:PORT", or NULL (not with rspamd) */
        size_t max_size;    /* bytes sent to a scanner at most; larger is "unscanned (too large)" */
        int on_error;       /* enum sg_scan_on_error */
        int timeout;        /* seconds for one scanner conversation */
    } scan;
} sg_config;

enum sg_scan_on_error { SG_SCAN_DEFER = 0, SG_SCAN_HOLD };

/* Loads embedded defaults, then the file at path (NULL: defaults only). On error returns -1 and
 * writes "file:line: message" into err. */
int sg_config_load(sg_config *cfg, const char *path, char *err, size_t errlen);
/* The config file to use: explicit argument, else $SEALGATE_CONFIG, else NULL (defaults). */
const char *sg_config_default_path(const char *explicit_path);
void sg_config_free(sg_config *cfg);
/* The discovery settings for a recipient domain: its override, else the defaults. */
const sg_discovery_where *sg_discovery_for(const sg_discovery_cfg *d, const char *domain);
/* Some domain's sources include a network source (wkd, keyserver). */
bool sg_discovery_uses_network(const sg_discovery_cfg *d);
bool sg_config_is_internal_domain(const sg_config *cfg, const char *domain);
bool sg_config_client_allowed(const sg_config *cfg, const struct sockaddr *sa);

#endif
