/* notary.c - the notary endpoints a peer's witness reads (issue 14, docs/notary.md):
 *   GET /.well-known/sealgate-notary/checkpoint                 the latest signed checkpoint note
 *   GET /.well-known/sealgate-notary/consistency?old=M&new=N    "proof HEX" lines, RFC 9162
 * Owner: src/web.
 * SECURITY: public (no session), only with audit.publish, GET only; answers only what any
 * holder of an export may see (signed notes and hashes), read from the store; the numbers in
 * the query are parsed strictly and bounded by the log's size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/log.h"
#include "audit/merkle.h"
#include "store/notary_rows.h"
#include "web/web_int.h"

#define NOTARY "/.well-known/sealgate-notary/"

static void text(sg_http_req *req, int status, const char *body, size_t len)
{
    sg_http_send(req, status, "text/plain; charset=utf-8", body, len, 0, NULL);
}

static int number(const char *s, uint64_t *v)
{
    if (!s || !*s || strlen(s) > 18 || strspn(s, "0123456789") != strlen(s))
        return -1;
    *v = strtoull(s, NULL, 10);
    return 0;
}

static void checkpoint(sg_store *st, sg_http_req *req)
{
    sg_store_checkpoint *c = NULL;
    size_t n = 0;
    if (sg_store_checkpoint_list(st, &c, &n) < 0)
        text(req, 503, "the store cannot be read\n", 25);
    else if (!n)
        text(req, 404, "no checkpoint yet\n", 18);
    else
        text(req, 200, c[n - 1].note, strlen(c[n - 1].note));
    free(c);
}

static void consistency(sg_store *st, sg_http_req *req)
{
    uint64_t m, size, n;
    if (number(sg_http_query(req, "old"), &m) < 0 || number(sg_http_query(req, "new"), &size) < 0 || m == 0 ||
        m > size) {
        text(req, 400, "old and new: sizes with 0 < old <= new\n", 39);
        return;
    }
    sg_mhash *leaves;
    int64_t bad;
    char why[300];
    if (sg_tlog_leaves(st, &leaves, &n, &bad, why, sizeof why) < 0 || bad >= 0) {
        text(req, 503, "the log cannot be read\n", 23);
        if (bad >= 0)
            free(leaves);
        return;
    }
    if (size > n) {
        free(leaves);
        text(req, 404, "the log is not that large\n", 26);
        return;
    }
    sg_mhash proof[SG_MERKLE_MAX_PROOF];
    int len = sg_merkle_consistency(leaves, size, m, proof);
    free(leaves);
    char out[SG_MERKLE_MAX_PROOF * 72 + 1];
    size_t o = 0;
    for (int i = 0; i < len; i++) {
        o += (size_t)snprintf(out + o, sizeof out - o, "proof ");
        for (int k = 0; k < SG_MERKLE_HASH; k++)
            o += (size_t)snprintf(out + o, sizeof out - o, "%02x", proof[i][k]);
        out[o++] = '\n';
    }
    text(req, 200, out, o);
}

bool sg_web_notary(sg_web *w, sg_http_req *req)
{
    if (strncmp(req->path, NOTARY, strlen(NOTARY)) != 0 || !w->cfg->audit.publish)
        return false;
    const char *what = req->path + strlen(NOTARY);
    if (strcmp(req->method, "GET") != 0) {
        static const sg_http_header allow[] = {{"Allow", "GET"}, {NULL, NULL}};
        sg_http_send(req, 405, "text/plain; charset=utf-8", "GET only\n", 9, 0, allow);
        return true;
    }
    sg_store *st = sg_web_store(w);
    if (!st)
        text(req, 503, "the store cannot be read\n", 25);
    else if (strcmp(what, "checkpoint") == 0)
        checkpoint(st, req);
    else if (strcmp(what, "consistency") == 0)
        consistency(st, req);
    else
        text(req, 404, "not found\n", 10);
    return true;
}
