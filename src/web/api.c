/* api.c - the REST API, /api/v1: each request is one operation of the table (admin/ops.h),
 * found by method and path template; path, query and JSON body arguments are merged into the
 * operation's arguments, and the answer is its JSON result or {"error": {"code", "message",
 * "field"}} with the HTTP status of the code. Owner: src/web.
 * SECURITY: every call is authenticated (bearer token or session) before anything else; a
 * session must also send X-CSRF-Token on POST, PUT and DELETE (403, nothing runs); permission,
 * validation and the audit event are sg_admin_call's, as for every front end. A malformed body
 * is 400 before the operation is looked at twice. */
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "web/json_in.h"
#include "web/web_int.h"

#define SG_API_PREFIX "/api/v1"
#define QUERY_MAX 64

void sg_web_send_json(sg_http_req *req, int status, json_t *v)
{
    char *s = v ? json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(v);
    if (!s) {
        static const char oom[] = "{\"error\": {\"code\": \"internal\", \"message\": \"out of memory\"}}\n";
        sg_http_send(req, 500, "application/json", oom, sizeof oom - 1, SG_HTTP_NO_STORE, NULL);
        return;
    }
    size_t n = strlen(s);
    s[n] = '\0';
    sg_http_send(req, status, "application/json", s, n, SG_HTTP_NO_STORE, NULL);
    free(s);
}

void sg_web_send_error(sg_http_req *req, const sg_op_error *err)
{
    json_t *e = json_pack("{s:s, s:s}", "code", sg_op_code_name(err->code) ? sg_op_code_name(err->code) : "internal",
                          "message", err->message);
    if (e && err->field[0])
        json_object_set_new(e, "field", json_string(err->field));
    sg_web_send_json(req, sg_web_status(err->code), json_pack("{s:o}", "error", e));
}

static void api_fail(sg_http_req *req, sg_op_code code, const char *field, const char *msg)
{
    sg_op_error e = {0};
    sg_op_fail(&e, code, field, "%s", msg);
    sg_web_send_error(req, &e);
}

typedef struct qargs {
    const char *names[QUERY_MAX], *values[QUERY_MAX];
    size_t n;
    bool overflow;
} qargs;

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    qargs *q = cls;
    if (q->n == QUERY_MAX) {
        q->overflow = true;
        return MHD_NO;
    }
    q->names[q->n] = key;
    q->values[q->n++] = value ? value : "";
    return MHD_YES;
}

/* Merges src into dst; a name given twice (path and body, query and body) is an error. */
static int merge(json_t *dst, json_t *src, sg_op_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(src, k, v)
    {
        if (json_object_get(dst, k))
            return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, k, "%s is given twice (path, query or body)", k);
        json_object_set(dst, k, v);
    }
    return 0;
}

static bool changes_state(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

void sg_web_api(sg_web *w, sg_http_req *req)
{
    if (strcmp(req->path, SG_API_PREFIX "/openapi.json") == 0 && strcmp(req->method, "GET") == 0) {
        json_t *doc = sg_web_openapi(w->cfg);
        sg_web_send_json(req, doc ? 200 : 500, doc);
        return;
    }
    sg_web_who who;
    sg_op_error err = {0};
    if (sg_web_authenticate(w, req, &who, &err) < 0) {
        sg_web_send_error(req, &err);
        return;
    }
    json_t *args = json_object();
    bool known = false;
    const sg_op *op = sg_op_find_route(req->method, req->path, args, &known);
    if (!op) {
        json_decref(args);
        if (known) {
            static const char body[] = "{\"error\": {\"code\": \"invalid_argument\", \"message\": \"this resource "
                                       "does not take that method (see /api/v1/openapi.json)\"}}\n";
            sg_http_send(req, 405, "application/json", body, sizeof body - 1, SG_HTTP_NO_STORE, NULL);
        } else {
            api_fail(req, SG_OP_NOT_FOUND, NULL, "no such resource (see /api/v1/openapi.json)");
        }
        return;
    }
    if (changes_state(req->method) && !sg_web_csrf_ok(req, &who, NULL)) {
        json_decref(args);
        sg_web_audit(w, req, &who, op->audit ? op->audit : op->name, req->path, "forbidden");
        api_fail(req, SG_OP_FORBIDDEN, NULL, "a session must send its CSRF token in X-CSRF-Token");
        return;
    }
    qargs q = {0};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect, &q);
    json_t *from_query = NULL;
    if (q.overflow) {
        sg_op_fail(&err, SG_OP_INVALID_ARGUMENT, NULL, "too many query arguments");
        goto fail;
    }
    if (q.n && (sg_op_args_from_strings(op, q.names, q.values, q.n, &from_query, &err) < 0 ||
                merge(args, from_query, &err) < 0))
        goto fail;
    if (req->body.len) {
        const char *ct = sg_http_header_get(req, "Content-Type");
        if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
            sg_op_fail(&err, SG_OP_INVALID_ARGUMENT, NULL, "the request body must be application/json");
            goto fail;
        }
        char msg[256];
        json_t *body = sg_json_in_object(req->body.data, req->body.len, msg, sizeof msg);
        if (!body) {
            sg_op_fail(&err, SG_OP_INVALID_ARGUMENT, NULL, "%s", msg);
            goto fail;
        }
        int rc = merge(args, body, &err);
        json_decref(body);
        if (rc < 0)
            goto fail;
    }
    json_t *result = NULL;
    if (sg_web_call(w, req, &who, SG_VIA_API, op->name, args, &result, &err) < 0) {
        json_decref(args); /* sg_admin_call wrote the audit event */
        json_decref(from_query);
        sg_web_send_error(req, &err);
        return;
    }
    json_decref(args);
    json_decref(from_query);
    sg_web_send_json(req, 200, result);
    return;
fail:
    /* Refused before the operation ran (query or body malformed): still one audit event. */
    sg_web_audit(w, req, &who, op->audit ? op->audit : op->name, req->path, sg_op_code_name(err.code));
    json_decref(args);
    json_decref(from_query);
    sg_web_send_error(req, &err);
}
