/* ca.h - the gateway's local certificate authority for S/MIME: a self-signed CA whose key is
 * wrapped by the KEK in the certificate store, issuing e-mail certificates and CRLs.
 * Owner: src/keys.
 * SECURITY: sg_ca_init, sg_ca_issue(_urls) and sg_ca_crl unwrap or create private keys (cryptd
 * and the admin CLI only); sg_ca_fpr and sg_ca_revoke (a mark in the store, after checking the
 * certificate's signature against the CA's public key) need no KEK, so the web role runs
 * ca.revoke itself. */
#ifndef SG_CA_H
#define SG_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys/certstore.h"

#define SG_CA_USAGE_SIGN 1
#define SG_CA_USAGE_ENCRYPT 2

/* The local CA's fingerprint: 0, 1 when there is none, -1 on error. */
int sg_ca_fpr(sg_certstore *cs, char fpr[SG_CERT_FPR_LEN + 1]);
/* New CA (EC P-256, or RSA-3072 when rsa): subject like "CN=x, O=y" or "/CN=x/O=y", valid for
 * days; stored with its key and trusted. 0, 1 when a local CA exists already, -1 on error. */
int sg_ca_init(sg_certstore *cs, const char *subject, int days, bool rsa, char fpr[SG_CERT_FPR_LEN + 1]);
/* New key pair and certificate for address (usage SG_CA_USAGE_* bits), valid for days (capped
 * at the CA's own end). 0, 1 when there is no local CA, -1 on error (e.g. bad address). */
int sg_ca_issue(sg_certstore *cs, const char *address, int usage, int days, bool rsa,
                char fpr[SG_CERT_FPR_LEN + 1]);
/* sg_ca_issue with revocation pointers: crl_url (a CRL distribution point) and ocsp_url (AIA
 * OCSP), each NULL for none; http:// or https:// only, at most 512 bytes. */
int sg_ca_issue_urls(sg_certstore *cs, const char *address, int usage, int days, bool rsa, const char *crl_url,
                     const char *ocsp_url, char fpr[SG_CERT_FPR_LEN + 1]);
/* Marks fpr revoked now: 0, 1 absent, 2 not issued by the local CA, 3 revoked already, -1. */
int sg_ca_revoke(sg_certstore *cs, const char *fpr);
/* A new CRL (v2, CRL number, next update in days) of everything the CA revoked; stored in the
 * store and returned as PEM (free()). 0, 1 when there is no local CA, -1 on error. */
int sg_ca_crl(sg_certstore *cs, int days, uint8_t **pem, size_t *len);

#endif
