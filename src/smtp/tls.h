/* tls.h - server-side TLS context for STARTTLS (smtpd, sink). Owner: src/smtp. */
#ifndef SG_SMTP_TLS_H
#define SG_SMTP_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

/* Loads cert_path/key_path into a TLS 1.2+ server context. When either file is missing and
 * autogenerate is set, first creates a self-signed certificate for hostname (EC P-256 key,
 * CN and SAN = hostname, key file 0600). Returns NULL with a reason in err. */
SSL_CTX *sg_tls_server_ctx(const char *cert_path, const char *key_path, bool autogenerate,
                           const char *hostname, char *err, size_t errlen);

#endif
