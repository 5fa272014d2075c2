/* ldap_search.h - one bounded LDAP search for key discovery (docs/discovery.md "LDAP"), run in
 * the fetch helper child, never in cryptd. Owner: src/net.
 * SECURITY: the server answers from the network: its values are capped in number, size and
 * total size here, and are only handed back as bytes (keys/discover_ldap.c parses and checks
 * them). ldap:// always goes through StartTLS and ldaps:// through TLS, both verifying the
 * server's certificate against tls_ca_file (or the system store); a server that cannot do TLS
 * is an error, never a clear-text search. The bind password travels to the helper in the
 * request and is never logged. */
#ifndef SG_LDAP_SEARCH_H
#define SG_LDAP_SEARCH_H

#include <stddef.h>
#include <stdint.h>

/* The attributes asked for, in this order; the answer tags each value with its index. */
#define SG_LDAP_MAX_ATTRS 2
#define SG_LDAP_MAX_VALUES 32

typedef struct sg_ldap_query {
    const char *uri;      /* ldap://host[:port] (StartTLS) or ldaps://host[:port] */
    const char *base;     /* base DN (subtree search) */
    const char *filter;   /* the filter, already escaped (RFC 4515) */
    const char *bind_dn;  /* "" or NULL: anonymous */
    const char *password; /* for bind_dn */
    const char *attrs[SG_LDAP_MAX_ATTRS];
    int sizelimit;       /* entries the server may return */
    long timeout_ms;     /* the whole search, connect and TLS included */
    size_t max_size;     /* bytes of the answer */
    const char *ca_file; /* "" or NULL: the system's trust store */
} sg_ldap_query;

/* The answer (a body of the fetch helper protocol): SG_LDAP_ANSWER_MAGIC, then for each value
 * one byte with the index of its attribute, four bytes of length (big endian), the value. No
 * entry: the magic alone (never an empty body, which the helper protocol reads as a failure). */
#define SG_LDAP_ANSWER_MAGIC "SGL1"
#define SG_LDAP_ANSWER_MAGIC_LEN 4

/* Searches through the fetch helper (fails when none runs: never in this process).
 * SG_FETCH_OK (net/http_fetch.h) with *out (free()), or another status with err. */
int sg_ldap_search(const sg_ldap_query *q, uint8_t **out, size_t *outlen, char *err, size_t errlen);

/* For the helper: the request as it travels (url = uri, body = the NUL-separated fields) and
 * the search itself in this process. */
int sg_ldap_search_direct(const char *uri, const uint8_t *body, size_t blen, long timeout_ms, size_t max_size,
                          const char *ca_file, uint8_t **out, size_t *outlen, char *err, size_t errlen);

#endif
