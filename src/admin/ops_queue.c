/* ops_queue.c - the queue operations: queue.list (filters, sort, pages), show, hold, release,
 * retry, delete. Owner: src/admin.
 * They act on the spool directly with the same rename moves the roles use (queue/queue.h), so
 * they work whether or not the gateway runs; a message a role is working on right now (in
 * active/, or renamed away mid-call) is refused ("conflict") instead of being raced. The
 * moves are marked SG_RUN_CRYPTD in the table: the web role, which may not write the states
 * cryptd and the relay own, hands them to cryptd over the control socket; the CLI as root runs
 * them here.
 * SECURITY: an id is checked to be a queue name (sg_queue_name_valid) before it touches a path;
 * show returns the envelope and the header section, never the body. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/ops_handlers.h"
#include "admin/ops_int.h"
#include "queue/queue.h"

static const int listed_states[] = {SG_Q_INCOMING, SG_Q_ACTIVE,  SG_Q_OUTGOING, SG_Q_DEFERRED,
                                    SG_Q_HOLD,     SG_Q_CORRUPT, SG_Q_DSN};
#define NLISTED (sizeof listed_states / sizeof listed_states[0])

static int open_spool(sg_op_ctx *ctx, sg_queue *q, sg_op_error *err)
{
    if (sg_queue_open(q, ctx->cfg->spool_dir, "cli", false) < 0)
        return sg_op_fail(err, SG_OP_UNAVAILABLE, NULL,
                          "cannot open the spool %s: %s (is the gateway set up?)", ctx->cfg->spool_dir,
                          strerror(errno));
    return 0;
}

/* The state of a valid id: 0, or -1 with invalid_argument / not_found. */
static int locate(sg_queue *q, const char *id, int *state, sg_op_error *err)
{
    if (!sg_queue_name_valid(id))
        return sg_op_fail(err, SG_OP_INVALID_ARGUMENT, "id", "'%.64s' is not a queue id", id);
    if ((*state = sg_queue_find(q, id)) < 0)
        return sg_op_fail(err, SG_OP_NOT_FOUND, "id", "no message %s", id);
    return 0;
}

/* Text from a message as a JSON string: bytes that are not UTF-8 (a header in some legacy
 * charset, a broken SMTPUTF8 address) become '?' rather than losing the whole answer. */
static json_t *text(const char *s, size_t n)
{
    json_t *v = json_stringn(s, n);
    if (v)
        return v;
    char *c = malloc(n + 1);
    if (!c)
        return NULL;
    for (size_t i = 0; i < n; i++)
        c[i] = (unsigned char)s[i] >= 0x80 || s[i] == '\0' ? '?' : s[i];
    v = json_stringn(c, n);
    free(c);
    return v;
}
#define TEXT(s) text((s), strlen(s))

static json_t *rcpts_json(const sg_envelope *e)
{
    json_t *a = json_array();
    for (size_t r = 0; a && r < e->nrcpt; r++)
        json_array_append_new(a, TEXT(e->rcpt[r].addr));
    return a;
}

/* One listed message, or NULL when a filter drops it. */
static json_t *list_item(const char *name, int state, const sg_envelope *e, size_t len, int64_t now,
                         const json_t *args)
{
    const char *sender = sg_op_arg_str(args, "sender"), *rcpt = sg_op_arg_str(args, "recipient"),
               *reason = sg_op_arg_str(args, "reason");
    int64_t min_age = sg_op_arg_int(args, "min_age", 0);
    if (sender && !strstr(e->from, sender))
        return NULL;
    if (reason && (!e->last_error || !strstr(e->last_error, reason)))
        return NULL;
    if (now - e->created < min_age)
        return NULL;
    if (rcpt) {
        size_t r = 0;
        while (r < e->nrcpt && !strstr(e->rcpt[r].addr, rcpt))
            r++;
        if (r == e->nrcpt)
            return NULL;
    }
    json_t *it = json_pack("{s:s, s:s, s:I, s:I, s:I, s:o, s:o, s:i}", "id", name, "state",
                           sg_qstate_name(state), "size", (json_int_t)len, "created", (json_int_t)e->created,
                           "age", (json_int_t)(now - e->created), "from", TEXT(e->from), "rcpt",
                           rcpts_json(e), "attempts", e->attempts);
    if (it && e->last_error)
        json_object_set_new(it, "last_error", TEXT(e->last_error));
    return it;
}

/* qsort_r's comparison by the sort argument (ctx): the web role sorts on several threads. */
static int cmp_items(const void *a, const void *b, void *ctx)
{
    const char *sort_key = ctx;
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    bool desc = sort_key[0] == '-';
    const char *k = desc ? sort_key + 1 : sort_key;
    int c;
    if (strcmp(k, "id") == 0) {
        c = strcmp(json_string_value(json_object_get(x, "id")), json_string_value(json_object_get(y, "id")));
    } else {
        json_int_t vx = json_integer_value(json_object_get(x, strcmp(k, "age") == 0 ? "created" : "size")),
                   vy = json_integer_value(json_object_get(y, strcmp(k, "age") == 0 ? "created" : "size"));
        c = vx < vy ? -1 : vx > vy;
        if (strcmp(k, "age") == 0)
            c = -c; /* "age": oldest (smallest created) first means largest age first */
        if (c == 0) /* stable across calls: ties by id */
            c = strcmp(json_string_value(json_object_get(x, "id")),
                       json_string_value(json_object_get(y, "id")));
    }
    return desc ? -c : c;
}

int sg_op_queue_list(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    sg_queue q;
    if (open_spool(ctx, &q, err) < 0)
        return -1;
    const char *only = sg_op_arg_str(args, "state");
    int64_t now = sg_op_now(ctx);
    json_t **all = NULL, *unreadable = json_array();
    size_t n = 0, cap = 0;
    int rc = unreadable ? 0 : sg_op_fail(err, SG_OP_INTERNAL, NULL, "out of memory");
    for (size_t s = 0; rc == 0 && s < NLISTED; s++) {
        int state = listed_states[s];
        if (only && strcmp(only, sg_qstate_name(state)) != 0)
            continue;
        char **names;
        size_t nn;
        if (sg_queue_list(&q, state, &names, &nn) < 0) {
            if (errno == EACCES || errno == EBADF) {
                /* A state this process may not read: said in the answer, never a silent gap. */
                json_array_append_new(unreadable, json_string(sg_qstate_name(state)));
                continue;
            }
            rc = sg_op_fail(err, SG_OP_INTERNAL, NULL, "cannot list %s: %s", sg_qstate_name(state),
                            strerror(errno));
            break;
        }
        for (size_t i = 0; rc == 0 && i < nn; i++) {
            sg_envelope e;
            char *file, rerr[256];
            const char *data;
            size_t len;
            int r = sg_queue_read(&q, state, names[i], &e, &file, &data, &len, rerr, sizeof rerr);
            if (r == -1 && errno == ENOENT)
                continue; /* moved on while we looked */
            json_t *it;
            if (r < 0) {
                it = json_pack("{s:s, s:s, s:s}", "id", names[i], "state", sg_qstate_name(state),
                               "unreadable", r == -2 ? rerr : strerror(errno));
            } else {
                it = list_item(names[i], state, &e, len, now, args);
                sg_env_free(&e);
                free(file);
                if (!it)
                    continue;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                json_t **nv = realloc(all, cap * sizeof *all);
                if (!nv) {
                    json_decref(it);
                    rc = sg_op_fail(err, SG_OP_INTERNAL, NULL, "out of memory");
                    break;
                }
                all = nv;
            }
            all[n++] = it;
        }
        sg_queue_names_free(names, nn);
    }
    sg_queue_close(&q);
    const char *sort = sg_op_arg_str(args, "sort");
    if (rc == 0 && sort && n > 1) {
        qsort_r(all, n, sizeof *all, cmp_items, (void *)sort);
    }
    size_t limit, offset;
    sg_op_page(args, &limit, &offset);
    json_t *items = rc == 0 ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        if (items && i >= offset && i < offset + limit)
            json_array_append(items, all[i]);
        json_decref(all[i]);
    }
    free(all);
    if (rc < 0) {
        json_decref(unreadable);
        return -1;
    }
    json_t *r = sg_op_list_result(items, (int64_t)n, limit, offset);
    if (r && json_array_size(unreadable))
        json_object_set(r, "unreadable_states", unreadable);
    json_decref(unreadable);
    return sg_op_answer(r, result, err);
}

int sg_op_queue_show(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    const char *id = sg_op_arg_str(args, "id");
    sg_queue q;
    int state;
    if (open_spool(ctx, &q, err) < 0)
        return -1;
    if (locate(&q, id, &state, err) < 0) {
        sg_queue_close(&q);
        return -1;
    }
    sg_envelope e;
    char *file, rerr[256];
    const char *data;
    size_t len;
    int rc = sg_queue_read(&q, state, id, &e, &file, &data, &len, rerr, sizeof rerr);
    sg_queue_close(&q);
    if (rc < 0)
        return errno == ENOENT && rc == -1
                   ? sg_op_fail(err, SG_OP_CONFLICT, "id", "%s moved on; try again", id)
                   : sg_op_fail(err, SG_OP_INTERNAL, "id", "%s: %s", id, rc == -2 ? rerr : strerror(errno));
    /* The header section only: the body is the sender's business, not the operator's screen. */
    size_t hlen = len;
    for (size_t i = 0; i + 3 < len; i++)
        if (memcmp(data + i, "\r\n\r\n", 4) == 0) {
            hlen = i + 2;
            break;
        }
    json_t *rc_list = json_array();
    for (size_t r = 0; rc_list && r < e.nrcpt; r++) {
        json_t *o = json_pack("{s:o}", "addr", TEXT(e.rcpt[r].addr));
        if (o && e.rcpt[r].notify)
            json_object_set_new(o, "notify", TEXT(e.rcpt[r].notify));
        if (o && e.rcpt[r].orcpt)
            json_object_set_new(o, "orcpt", TEXT(e.rcpt[r].orcpt));
        json_array_append_new(rc_list, o);
    }
    json_t *r =
        json_pack("{s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:b, s:i, s:o, s:I, s:o}", "id", id, "state",
                  sg_qstate_name(state), "created", (json_int_t)e.created, "client",
                  TEXT(e.client ? e.client : "-"), "helo", TEXT(e.helo ? e.helo : "-"), "from", TEXT(e.from),
                  "body", TEXT(e.body ? e.body : "-"), "smtputf8", e.smtputf8, "attempts", e.attempts, "rcpt",
                  rc_list, "size", (json_int_t)len, "headers", text(data, hlen));
    if (r && e.last_error)
        json_object_set_new(r, "last_error", TEXT(e.last_error));
    if (r && (e.ret || e.envid))
        json_object_set_new(r, "dsn",
                            json_pack("{s:o, s:o}", "ret", TEXT(e.ret ? e.ret : "-"), "envid",
                                      TEXT(e.envid ? e.envid : "-")));
    sg_env_free(&e);
    free(file);
    if (!r)
        return sg_op_fail(err, SG_OP_INTERNAL, "id", "out of memory");
    return sg_op_answer(r, result, err);
}

/* Moves id to `to` when it is in one of allowed (ended by -1); appends {id, from, to} to moved. */
static int move_one(sg_queue *q, const char *id, int to, const int *allowed, const char *verb, json_t *moved,
                    sg_op_error *err)
{
    int state;
    if (locate(q, id, &state, err) < 0)
        return -1;
    int ok = 0;
    for (int i = 0; allowed[i] >= 0; i++)
        ok |= allowed[i] == state;
    if (!ok)
        return sg_op_fail(err, SG_OP_CONFLICT, "id", "%s is in %s; cannot %s it from there%s", id,
                          sg_qstate_name(state), verb,
                          state == SG_Q_ACTIVE ? " (it is being processed: try again in a moment)" : "");
    if (to < 0) {
        if (sg_queue_remove(q, state, id) < 0)
            return sg_op_fail(err, SG_OP_INTERNAL, "id", "%s: %s", id, strerror(errno));
    } else if (sg_queue_move(q, id, state, to) < 0) {
        return errno == ENOENT
                   ? sg_op_fail(err, SG_OP_CONFLICT, "id", "%s moved on while this ran; try again", id)
                   : sg_op_fail(err, SG_OP_INTERNAL, "id", "%s: %s", id, strerror(errno));
    }
    json_array_append_new(moved, json_pack("{s:s, s:s, s:s}", "id", id, "from", sg_qstate_name(state), "to",
                                           to < 0 ? "deleted" : sg_qstate_name(to)));
    return 0;
}

/* Runs one move of args' id and answers {"moved": [...]}. */
static int move_op(sg_op_ctx *ctx, const json_t *args, int to, const int *allowed, const char *verb,
                   json_t **result, sg_op_error *err)
{
    sg_queue q;
    if (open_spool(ctx, &q, err) < 0)
        return -1;
    json_t *moved = json_array();
    int rc = moved ? move_one(&q, sg_op_arg_str(args, "id"), to, allowed, verb, moved, err)
                   : sg_op_fail(err, SG_OP_INTERNAL, NULL, "out of memory");
    sg_queue_close(&q);
    if (rc < 0) {
        json_decref(moved);
        return -1;
    }
    return sg_op_answer(json_pack("{s:o}", "moved", moved), result, err);
}

int sg_op_queue_hold(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    static const int holdable[] = {SG_Q_INCOMING, SG_Q_OUTGOING, SG_Q_DEFERRED, SG_Q_CORRUPT, -1};
    return move_op(ctx, args, SG_Q_HOLD, holdable, "hold", result, err);
}

int sg_op_queue_release(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    static const int releasable[] = {SG_Q_HOLD, -1};
    /* Processed output (id.N) goes back to the relay; an unprocessed input back to cryptd. */
    int to = strchr(sg_op_arg_str(args, "id"), '.') ? SG_Q_OUTGOING : SG_Q_INCOMING;
    return move_op(ctx, args, to, releasable, "release", result, err);
}

int sg_op_queue_delete(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    static const int deletable[] = {
        SG_Q_INCOMING, SG_Q_OUTGOING, SG_Q_DEFERRED, SG_Q_HOLD, SG_Q_CORRUPT, SG_Q_DSN, -1};
    return move_op(ctx, args, -1, deletable, "delete", result, err);
}

int sg_op_queue_retry(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    static const int from_deferred[] = {SG_Q_DEFERRED, -1};
    const char *id = sg_op_arg_str(args, "id");
    if (strcmp(id, "all") != 0)
        return move_op(ctx, args, SG_Q_OUTGOING, from_deferred, "retry", result, err);
    sg_queue q;
    if (open_spool(ctx, &q, err) < 0)
        return -1;
    char **names;
    size_t n;
    if (sg_queue_list(&q, SG_Q_DEFERRED, &names, &n) < 0) {
        sg_queue_close(&q);
        return sg_op_fail(err, SG_OP_INTERNAL, NULL, "cannot list deferred: %s", strerror(errno));
    }
    json_t *moved = json_array(), *failed = json_array();
    for (size_t i = 0; moved && failed && i < n; i++) {
        sg_op_error e1;
        if (sg_queue_name_valid(names[i]) &&
            move_one(&q, names[i], SG_Q_OUTGOING, from_deferred, "retry", moved, &e1) < 0)
            json_array_append_new(failed, json_pack("{s:s, s:s}", "id", names[i], "error", e1.message));
    }
    sg_queue_names_free(names, n);
    sg_queue_close(&q);
    sg_op_set_detail(ctx, "%zu moved, %zu failed", json_array_size(moved), json_array_size(failed));
    return sg_op_answer(json_pack("{s:o, s:o}", "moved", moved, "failed", failed), result, err);
}
