/* query.c - decoding, searching and showing log entries (query.h). Owner: src/audit (issue 14).
 * SECURITY: see query.h; every length read from an entry is checked against its end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit/checkpoint.h"
#include "audit/log.h"
#include "audit/mail.h"
#include "audit/query.h"
#include "store/notary_rows.h"

static const char *kind_name(uint8_t k, char buf[8])
{
    switch (k) {
    case SG_TLOG_KIND_ADMIN:
        return "admin";
    case SG_TLOG_KIND_MAIL:
        return "mail";
    case SG_TLOG_KIND_RECEIPT:
        return "receipt";
    default:
        snprintf(buf, 8, "%u", k);
        return buf;
    }
}

json_t *sg_tlog_entry_json(const uint8_t *e, size_t len)
{
    if (len < 2 || e[0] != 0x01)
        return NULL;
    char kb[8];
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string(kind_name(e[1], kb)));
    size_t i = 2;
    while (o && i < len) {
        size_t nl = e[i];
        if (nl == 0 || len - i - 1 < nl + 4)
            goto bad;
        char name[256];
        memcpy(name, e + i + 1, nl);
        name[nl] = '\0';
        const uint8_t *p = e + i + 1 + nl;
        size_t vl = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        if (len - i - 5 - nl < vl)
            goto bad;
        json_t *v = json_stringn((const char *)p + 4, vl); /* NULL when not UTF-8 */
        if (!v || strcmp(name, "kind") == 0 || strcmp(name, "index") == 0)
            goto bad_v;
        json_object_set_new(o, name, v);
        i += 5 + nl + vl;
        continue;
    bad_v:
        json_decref(v);
        goto bad;
    }
    return o;
bad:
    json_decref(o);
    return NULL;
}

static const char *field(const json_t *o, const char *name)
{
    const char *s = json_string_value(json_object_get(o, name));
    return s ? s : "";
}

/* Whether word is one of the items of the sep-joined list. */
static bool in_list(const char *list, char sep, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, sep);
        size_t l = end ? (size_t)(end - p) : strlen(p);
        if (l == n && strncasecmp(p, word, n) == 0)
            return true;
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}

static bool matches(const sg_tlog_query *q, const json_t *o)
{
    if (q->kind && strcmp(field(o, "kind"), q->kind) != 0)
        return false;
    if (q->queue && strcmp(field(o, "queue"), q->queue) != 0)
        return false;
    long long t = atoll(field(o, "time"));
    if ((q->since && t < q->since) || (q->until && t >= q->until))
        return false;
    if (q->outcome && !in_list(field(o, "outcome"), ',', q->outcome))
        return false;
    if (q->address) {
        char a[600];
        bool hashed = strcmp(field(o, "addresses"), "hmac-sha256") == 0;
        if (hashed && !q->hmac)
            return false;
        sg_tlog_addr(hashed ? q->hmac : NULL, q->address, a, sizeof a);
        if (strcasecmp(field(o, "from"), a) != 0 && !in_list(field(o, "rcpt"), ',', a) &&
            strcasecmp(field(o, "actor"), a) != 0)
            return false;
    }
    return true;
}

#define CHUNK 2048

int sg_tlog_search(sg_store *s, const sg_tlog_query *q, json_t *items, int64_t *total)
{
    *total = 0;
    sg_store_log_row last;
    int r = sg_store_log_last(s, &last);
    if (r < 0)
        return -1;
    if (r == 1)
        return 0;
    int64_t top = last.index + 1;
    sg_store_log_free(&last);
    /* Newest first: chunks from the end, each walked backwards. */
    for (int64_t end = top; end > 0; end -= CHUNK) {
        int64_t from = end > CHUNK ? end - CHUNK : 0;
        sg_store_log_row *rows;
        size_t n;
        if (sg_store_log_range(s, from, end - from, &rows, &n) < 0)
            return -1;
        for (size_t i = n; i-- > 0;) {
            json_t *o = sg_tlog_entry_json(rows[i].entry, rows[i].entry_len);
            if (o && matches(q, o)) {
                if ((size_t)*total >= q->offset && json_array_size(items) < q->limit) {
                    json_object_set_new(o, "index", json_integer(rows[i].index));
                    json_array_append(items, o);
                }
                (*total)++;
            }
            json_decref(o);
            sg_store_log_free(&rows[i]);
        }
        free(rows);
    }
    return 0;
}

static json_t *hexj(const sg_mhash h)
{
    char x[2 * SG_MERKLE_HASH + 1];
    for (int i = 0; i < SG_MERKLE_HASH; i++)
        snprintf(x + 2 * i, 3, "%02x", h[i]);
    return json_string(x);
}

int sg_tlog_show(sg_store *s, int64_t index, const uint8_t *pub, json_t **out, char *why, size_t whylen)
{
    *out = NULL;
    sg_store_log_row *rows;
    size_t n;
    if (index < 0 || sg_store_log_range(s, index, 1, &rows, &n) < 0) {
        snprintf(why, whylen, "%s", index < 0 ? "no such entry" : sg_store_error(s));
        return index < 0 ? 1 : -1;
    }
    if (n == 0 || rows[0].index != index) {
        for (size_t i = 0; i < n; i++)
            sg_store_log_free(&rows[i]);
        free(rows);
        snprintf(why, whylen, "no such entry");
        return 1;
    }
    json_t *o = sg_tlog_entry_json(rows[0].entry, rows[0].entry_len);
    if (!o)
        o = json_pack("{s:s}", "kind", "undecodable");
    sg_mhash leaf;
    sg_merkle_leaf(rows[0].entry, rows[0].entry_len, leaf);
    sg_store_log_free(&rows[0]);
    free(rows);
    json_object_set_new(o, "index", json_integer(index));
    json_object_set_new(o, "leaf", hexj(leaf));

    /* The latest checkpoint that covers the entry, and the proof against it. */
    sg_store_checkpoint *cps = NULL;
    size_t ncp = 0;
    if (sg_store_checkpoint_list(s, &cps, &ncp) < 0) {
        json_decref(o);
        snprintf(why, whylen, "%s", sg_store_error(s));
        return -1;
    }
    const sg_store_checkpoint *cp = ncp && cps[ncp - 1].size > index ? &cps[ncp - 1] : NULL;
    if (cp) {
        sg_mhash *leaves;
        uint64_t nl;
        int64_t bad;
        char bwhy[300];
        if (sg_tlog_leaves(s, &leaves, &nl, &bad, bwhy, sizeof bwhy) < 0) {
            free(cps);
            json_decref(o);
            snprintf(why, whylen, "%s", sg_store_error(s));
            return -1;
        }
        sg_checkpoint c;
        char cwhy[200];
        bool sig_ok = pub && sg_checkpoint_verify(cp->note, strlen(cp->note), pub, &c, cwhy, sizeof cwhy);
        if (!sig_ok && sg_checkpoint_parse(cp->note, strlen(cp->note), &c, cwhy, sizeof cwhy) < 0)
            memset(&c, 0, sizeof c);
        json_t *cj = json_pack("{s:I, s:s, s:b}", "size", (json_int_t)cp->size, "note", cp->note, "signature_ok",
                               sig_ok);
        json_object_set_new(cj, "root", hexj(c.root));
        json_object_set_new(o, "checkpoint", cj);
        bool proof_ok = false;
        json_t *pj = json_array();
        if ((uint64_t)cp->size <= nl && (bad < 0 || bad >= cp->size)) {
            sg_mhash proof[SG_MERKLE_MAX_PROOF];
            int len = sg_merkle_inclusion(leaves, (uint64_t)cp->size, (uint64_t)index, proof);
            for (int i = 0; i < len; i++)
                json_array_append_new(pj, hexj(proof[i]));
            proof_ok = len >= 0 && sg_merkle_verify_inclusion((uint64_t)index, (uint64_t)cp->size, leaf, proof,
                                                              (size_t)len, c.root);
        }
        json_object_set_new(o, "proof", pj);
        json_object_set_new(o, "proof_ok", json_boolean(proof_ok));
        free(leaves);
    }
    free(cps);
    *out = o;
    return 0;
}
