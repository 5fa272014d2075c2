/* query.h - reading the tamper-evident log for people: an entry decoded into JSON, a search
 * over mail and admin entries, and one entry with its inclusion proof in the latest signed
 * checkpoint that covers it (`sealgate audit show|search`, the REST API and the Auditor's
 * portal page, all through the operation table: src/admin/ops_notary.c). Owner: src/audit
 * (issue 14).
 * SECURITY: entries come from the store, which an attacker may have changed: the decoder
 * checks every length against the entry (a bad entry decodes to NULL, it is never read past)
 * and is fuzzed (tests/fuzz/fuzz_tlog_entry.c). show recomputes the proof from the leaves and
 * checks it and the checkpoint's signature before it says "verified". */
#ifndef SG_AUDIT_QUERY_H
#define SG_AUDIT_QUERY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* {"kind": "admin"|"mail"|"receipt"|"N", FIELD: VALUE...} (values as strings), or NULL when
 * the bytes are not a well-formed entry. */
json_t *sg_tlog_entry_json(const uint8_t *e, size_t len);

typedef struct sg_tlog_query {
    const char *queue;    /* exact queue id, or NULL */
    const char *address;  /* an envelope address (from or a recipient), or NULL */
    const uint8_t *hmac;  /* the address key (32 bytes): entries with HMAC'd addresses are
                             matched by the query address's HMAC; NULL: those never match */
    const char *outcome;  /* one outcome word (delivered, held, bounced, deleted), or NULL */
    const char *kind;     /* "mail", "admin", "receipt", or NULL */
    int64_t since, until; /* entry time in [since, until) ; 0: unbounded */
    size_t limit, offset;
} sg_tlog_query;

/* Matching entries, newest first, appended to items (each with "index"); *total counts all
 * matches. 0, or -1 (store error). A linear scan of the log (docs/audit.md, limits). */
int sg_tlog_search(sg_store *s, const sg_tlog_query *q, json_t *items, int64_t *total);

/* Entry index with its leaf hash and, when a signed checkpoint covers it, "checkpoint"
 * {size, root, note, signature_ok} and "proof" (hex hashes) with "proof_ok". pub: the log's
 * public key (NULL: signature_ok false). 0, 1 no such entry, -1 store error or a damaged log
 * (why says which). */
int sg_tlog_show(sg_store *s, int64_t index, const uint8_t *pub, json_t **out, char *why, size_t whylen);

#endif
