/* tls_client.h - the relay's side of STARTTLS: the client context (trust anchors), the names
 * and fingerprints a session checks, and the result each delivery logs. Owner: src/relay. */
#ifndef SG_RELAY_TLS_CLIENT_H
#define SG_RELAY_TLS_CLIENT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/config.h"
#include "lib/fpr.h"

/* What a session's TLS proved, weakest first (Postfix's words): none (plain text); anonymous
 * (no certificate); untrusted (certificate not chained to our trust anchors, or fingerprint
 * not listed); trusted (chain fine, name not matched); verified (chain and name, or a listed
 * fingerprint). */
enum sg_tls_result { SG_TLSR_NONE, SG_TLSR_ANONYMOUS, SG_TLSR_UNTRUSTED, SG_TLSR_TRUSTED, SG_TLSR_VERIFIED };

typedef struct sg_tls_info {
    int result;                    /* enum sg_tls_result */
    char proto[16], cipher[64];    /* "" when result is none */
    char peer_fp[SG_FPR_SHA256_HEX]; /* SHA-256 of the peer's certificate, "" without one */
    char why[200];                 /* why the certificate did not verify, "" when it did */
} sg_tls_info;

/* What one session needs to check; set by relay.c from the configuration. */
typedef struct sg_tls_policy {
    int level;                     /* enum sg_tls_mode */
    const sg_strlist *match;       /* names to match; empty or NULL: the next hop's host */
    const sg_strlist *fingerprints; /* for the fingerprint level */
} sg_tls_policy;

/* The shared client context: TLS 1.2+, trust anchors from ca_file (NULL: the system's trust
 * store). Every session verifies and records the result (see tls_client.c); whether a failure
 * stops the session is decided after the handshake by sg_tls_client_check. NULL with the
 * reason in err. */
SSL_CTX *sg_tls_client_ctx(const char *ca_file, char *err, size_t errlen);

/* Prepares ssl for a handshake with next_hop (host:port): SNI and the names (or address) the
 * certificate must carry. Returns 0 or -1. */
int sg_tls_client_prepare(SSL *ssl, const char *next_hop, const sg_tls_policy *p);

/* After a completed handshake: fills *info and returns 0 when the level is satisfied, -1 when
 * the session must not carry mail (info->why says why). */
int sg_tls_client_check(SSL *ssl, const sg_tls_policy *p, sg_tls_info *info);

/* "none", "anonymous", "untrusted", "trusted", "verified". */
const char *sg_tls_result_name(int result);
/* " tls=verified tls_proto=TLSv1.3 tls_cipher=... peer_fp=..." (or " tls=none") for log lines. */
void sg_tls_info_log(const sg_tls_info *info, char *out, size_t len);

#endif
