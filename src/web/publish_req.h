/* publish_req.h - what a request for a published key asks for (docs/publishing.md), from its
 * path, Host and HKP search alone: no store, no MHD, so that it can be fuzzed
 * (tests/fuzz/fuzz_publish_req.c). Owner: src/web.
 * SECURITY: this decides what reaches the keystore from an unauthenticated client: a WKD domain
 * is a plain host name, a hash exactly 32 z-base-32 characters, an HKP search one address or a
 * full fingerprint; everything else is SG_PUB_NONE (404). Whether the domain is internal is the
 * caller's check (publish.c). */
#ifndef SG_WEB_PUBLISH_REQ_H
#define SG_WEB_PUBLISH_REQ_H

#include "crypto/openpgp.h"

enum sg_pub_kind {
    SG_PUB_NONE,     /* nothing published here: 404 */
    SG_PUB_POLICY,   /* the WKD policy file of domain */
    SG_PUB_WKD,      /* the key of hash in domain */
    SG_PUB_HKP_ADDR, /* HKP op=get by address (in addr, its domain in domain) */
    SG_PUB_HKP_FPR,  /* HKP op=get by fingerprint (in fpr, upper-case) */
};

typedef struct sg_pub_req {
    int kind;
    char domain[256];
    char hash[33];
    char addr[520];
    char fpr[SG_PGP_FPR_LEN + 1];
} sg_pub_req;

/* rest: the path after "/.well-known/openpgpkey/"; host: the Host header (NULL when absent).
 * Advanced layout ("DOMAIN/hu/HASH", "DOMAIN/policy") needs Host openpgpkey.DOMAIN, direct
 * ("hu/HASH", "policy") takes the domain from Host. */
void sg_pub_parse_wkd(const char *rest, const char *host, sg_pub_req *r);
/* search: HKP's search argument (NULL when absent): "a@b", "<a@b>" or "0x" and 40 hex digits. */
void sg_pub_parse_hkp(const char *search, sg_pub_req *r);

#endif
