/* metrics.c - GET /metrics: the figures sealgate keeps (the metrics operation) and the queue
 * sizes (the status operation) in the Prometheus text exposition format, version 0.0.4.
 * Owner: src/web. Counters are the totals since the store was made (store/metrics_rows.h), so
 * they never go down when old minutes are deleted.
 * SECURITY: authenticated like /api/v1 (a bearer token, or a session), and the metrics
 * operation decides who may read (Administrator, Auditor, system-operator): no token 401, a
 * token of another role 403, each of the two operation calls audited by the operation layer.
 * The output holds counts and times only, no address, subject or key. */
#include <stdio.h>
#include <string.h>

#include "lib/buf.h"
#include "web/web_int.h"

#define METRICS_MAX (64 * 1024)

static int64_t total(const json_t *totals, const char *name)
{
    return (int64_t)json_integer_value(json_object_get(totals, name));
}

static void family(sg_buf *b, const char *name, const char *type, const char *help)
{
    sg_buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One labelled sample per (label value, metric column) pair. */
static void labelled(sg_buf *b, const json_t *totals, const char *name, const char *label,
                     const char *const pairs[][2], size_t n)
{
    for (size_t i = 0; i < n; i++)
        sg_buf_appendf(b, "%s{%s=\"%s\"} %lld\n", name, label, pairs[i][0],
                       (long long)total(totals, pairs[i][1]));
}

static void render(sg_buf *b, const json_t *m, const json_t *status)
{
    const json_t *t = json_object_get(m, "totals");
    static const char *const dir[][2] = {{"in", "msgs_in"}, {"out", "msgs_out"}};
    family(b, "sealgate_messages_total", "counter",
           "Messages cryptd took in (direction in) and outputs it handed to relay (direction out).");
    labelled(b, t, "sealgate_messages_total", "direction", dir, 2);
    static const char *const out[][2] = {{"held", "held"}, {"bounced", "bounced"}, {"deferred", "deferred"}};
    family(b, "sealgate_message_outcomes_total", "counter",
           "Messages held (whole or in part), bounced by relay, deferred for a retry.");
    labelled(b, t, "sealgate_message_outcomes_total", "outcome", out, 3);
    static const char *const ops[][2] = {
        {"encrypt", "encrypted"}, {"sign", "signed"}, {"decrypt", "decrypted"}, {"verify", "verified"}};
    family(b, "sealgate_crypto_operations_total", "counter",
           "Messages encrypted, signed, decrypted, and with a valid signature verified.");
    labelled(b, t, "sealgate_crypto_operations_total", "operation", ops, 4);
    family(b, "sealgate_processing_seconds", "summary", "Time cryptd's transform took per message.");
    sg_buf_appendf(b, "sealgate_processing_seconds_sum %.3f\nsealgate_processing_seconds_count %lld\n",
                   (double)total(t, "latency_ms_sum") / 1000.0, (long long)total(t, "latency_count"));
    /* Queue sizes per state: a state the answering process could not read is left out (no
     * number it does not know), as the dashboard says "not readable". */
    const json_t *q = json_object_get(status, "queue");
    family(b, "sealgate_queue_messages", "gauge", "Messages in each spool state.");
    const char *state;
    const json_t *v;
    json_object_foreach((json_t *)q, state, v) if (json_is_object(v))
        sg_buf_appendf(b, "sealgate_queue_messages{state=\"%s\"} %lld\n", state,
                       (long long)json_integer_value(json_object_get(v, "count")));
    family(b, "sealgate_queue_oldest_age_seconds", "gauge", "Age of the oldest message in each spool state.");
    json_object_foreach((json_t *)q, state, v) if (json_is_object(v))
        sg_buf_appendf(b, "sealgate_queue_oldest_age_seconds{state=\"%s\"} %lld\n", state,
                       (long long)json_integer_value(json_object_get(v, "oldest_age")));
    family(b, "sealgate_up", "gauge", "1 when the master process runs.");
    sg_buf_appendf(b, "sealgate_up %d\n", json_is_true(json_object_get(status, "running")) ? 1 : 0);
}

void sg_web_metrics(sg_web *w, sg_http_req *req)
{
    sg_web_who who;
    sg_op_error err = {0};
    json_t *m = NULL, *status = NULL, *args = json_object();
    if (sg_web_authenticate(w, req, &who, &err) < 0 ||
        sg_web_call(w, req, &who, SG_VIA_API, "metrics", args, &m, &err) < 0 ||
        sg_web_call(w, req, &who, SG_VIA_API, "status", args, &status, &err) < 0) {
        json_decref(args);
        json_decref(m);
        sg_web_send_error(req, &err);
        return;
    }
    json_decref(args);
    sg_buf b;
    sg_buf_init(&b, METRICS_MAX);
    render(&b, m, status);
    json_decref(m);
    json_decref(status);
    if (!b.data) {
        sg_op_fail(&err, SG_OP_INTERNAL, NULL, "out of memory");
        sg_web_send_error(req, &err);
    } else {
        sg_http_send(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len, SG_HTTP_NO_STORE,
                     NULL);
    }
    sg_buf_free(&b);
}
