/* ops.h - the one operation layer of issue 18: the table of operations and the one call every
 * front end (the CLI, the REST API and pages of `sealgate web`, the control socket) goes
 * through. Owner: src/admin.
 *
 * The table (sg_ops, in admin/ops_table.c) says for each operation: its name ("queue.list"),
 * who may call it, whether it changes anything, its REST method and path template, its CLI
 * verb words, its typed arguments, a summary for the docs, the audit event it writes, where it
 * must run, and its handler. The REST routes, the CLI verbs, the OpenAPI document and the
 * permission reference in docs/admin.md are derived from it, so they cannot drift apart.
 *
 * Arguments and results are JSON (jansson). A front end gathers the arguments into one object
 * (path parameters, query parameters and the JSON body merged; the CLI's positional words and
 * options), then calls sg_admin_call, which in this order:
 *   1. finds the operation (unknown: not_found);
 *   2. checks permission (sg_op_allowed): denied answers "forbidden" and runs nothing;
 *   3. validates the arguments against the table (invalid_argument naming the field; unknown
 *      fields are refused too);
 *   4. runs the handler here, or hands the call to ctx->forward when the operation must run in
 *      cryptd and this process is not cryptd;
 *   5. writes exactly one audit event (admin/audit.h) with the outcome, for every call:
 *      unknown, denied and invalid ones included.
 *
 * Conventions for handlers and front ends:
 *   - results are JSON objects; lists answer {"items": [...], "total": N, "limit": L,
 *     "offset": O} and take the page arguments of SG_OP_ARGS_PAGE, and a "sort" argument
 *     (field or -field, the choices in the table) where the list is not paged by the store;
 *   - int arguments are JSON integers, bool JSON true/false, bytes base64 strings (max_len
 *     counts decoded bytes); front ends that hold strings (query string, CLI) convert with
 *     sg_op_args_from_strings, which applies the table's types;
 *   - HTTP status per error code: sg_op_code_http.
 *
 * SECURITY: permission is checked here, once, for every front end; a front end authenticates
 * (session, token, Unix user) and fills ctx->actor and ctx->roles, and nothing else decides
 * who may do what. Operations that need the KEK or private keys are marked SG_RUN_CRYPTD and
 * are never run by the web role (it sets ctx->forward); SG_RUN_LOCAL ones (secret-key export)
 * run only for the CLI on the machine itself. */
#ifndef SG_ADMIN_OPS_H
#define SG_ADMIN_OPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/config.h"
#include "store/store.h"

/* Stable error codes: their names are part of the API (JSON "error" field, CLI messages). Add
 * at the end only. */
typedef enum sg_op_code {
    SG_OP_OK = 0,
    SG_OP_FORBIDDEN,        /* "forbidden": the caller's roles do not allow the operation */
    SG_OP_NOT_FOUND,        /* "not_found": no such operation or object */
    SG_OP_INVALID_ARGUMENT, /* "invalid_argument": err.field names the argument */
    SG_OP_CONFLICT,         /* "conflict": exists already, or the state does not allow it */
    SG_OP_UNAVAILABLE,      /* "unavailable": a needed process or resource is not there */
    SG_OP_INTERNAL,         /* "internal": a failure that is not the caller's (store error...) */
    SG_OP_UNAUTHENTICATED,  /* "unauthenticated": no valid session, token or password */
    SG_OP_LOCKED,           /* "locked": too many failed logins, try again later */
    SG_OP_PASSWORD_CHANGE,  /* "password_change_required": the account's password is a generated
                               or one-time one: account.password first, nothing else runs */
} sg_op_code;
#define SG_OP_CODE_COUNT 10

/* "ok", "forbidden", ... ; NULL for a value outside the enum. */
const char *sg_op_code_name(sg_op_code code);
/* The code of a name, or -1. */
int sg_op_code_parse(const char *name);
/* The HTTP status for a code: 200 400 401 403 404 409 423 500 503 (password_change_required:
 * 403). */
int sg_op_code_http(sg_op_code code);

typedef struct sg_op_error {
    sg_op_code code;
    char field[64];    /* the argument at fault (invalid_argument), else "" */
    char message[256]; /* for people: what went wrong and what to fix; no secrets */
} sg_op_error;

/* Fills err (field may be NULL) and returns -1, for `return sg_op_fail(...)` in handlers. */
int sg_op_fail(sg_op_error *err, sg_op_code code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

typedef enum { SG_ARG_STRING, SG_ARG_INT, SG_ARG_BOOL, SG_ARG_BYTES } sg_arg_type;
/* Where the REST API takes an argument from; the CLI takes path arguments as positional words
 * in their order and the others as --name VALUE options (bool: --name). */
typedef enum { SG_FROM_PATH, SG_FROM_QUERY, SG_FROM_BODY } sg_arg_from;

typedef struct sg_op_arg {
    const char *name; /* NULL ends an argument list */
    sg_arg_type type;
    bool required;
    size_t max_len;   /* string: bytes, bytes: decoded bytes; 0: SG_OP_ARG_MAX_DEFAULT */
    int64_t min, max; /* int: inclusive range (both 0: any value >= 0) */
    sg_arg_from from;
    const char *const *choices; /* string: the only values allowed (NULL-terminated), or NULL */
    const char *help;           /* one line for docs, OpenAPI and --help */
} sg_op_arg;
#define SG_OP_ARG_MAX_DEFAULT 1024

/* The page arguments every list takes (append to its argument list): limit 1..1000 (default
 * 100), offset >= 0. */
#define SG_OP_PAGE_MAX 1000
#define SG_OP_PAGE_DEFAULT 100
#define SG_OP_ARGS_PAGE                                                                                      \
    {"limit", SG_ARG_INT, false, 0, 1, SG_OP_PAGE_MAX, SG_FROM_QUERY, NULL, "items per page (default 100)"}, \
    {                                                                                                        \
        "offset", SG_ARG_INT, false, 0, 0, INT32_MAX, SG_FROM_QUERY, NULL, "items to skip"                   \
    }

/* Where an operation runs. */
typedef enum {
    SG_RUN_ANY,    /* any process holding the store (web, CLI, cryptd) */
    SG_RUN_CRYPTD, /* needs the KEK, private keys or spool states only cryptd moves: in cryptd
                      (over the control socket), or in the CLI as root when nothing runs */
    SG_RUN_LOCAL,  /* only the CLI on the machine itself (secret-key export) */
    SG_RUN_SPOOL,  /* reads the spool states: in cryptd (which may list every state but corrupt/)
                      when a front end other than the CLI calls it, and in that front end when
                      cryptd does not run; in the CLI itself (as root it reads every state) */
} sg_op_where;

/* Which front end makes a call. */
typedef enum { SG_VIA_CLI, SG_VIA_WEB, SG_VIA_API, SG_VIA_SOCKET } sg_op_via;

typedef struct sg_op_ctx sg_op_ctx;
typedef struct sg_op sg_op;

/* A handler: reads its (validated) args, does the work, answers 0 with *result a new JSON
 * object, or -1 with err filled (and *result NULL). It may set ctx->target / ctx->detail for
 * the audit event (sg_op_set_target, sg_op_set_detail). */
typedef int (*sg_op_handler)(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err);
/* Runs op elsewhere (the control socket to cryptd): same contract as a handler. */
typedef int (*sg_op_forward_fn)(sg_op_ctx *ctx, const sg_op *op, const json_t *args, json_t **result,
                                sg_op_error *err);

struct sg_op {
    const char *name;      /* "queue.release": area.verb */
    uint32_t roles;        /* SG_ROLE_* allowed besides Administrator (and Auditor if read_only) */
    bool read_only;        /* changes nothing: every Auditor may call it */
    const char *method;    /* "GET", "POST", "PUT", "DELETE" */
    const char *path;      /* "/api/v1/queue/{id}/release": {name} is a SG_FROM_PATH argument */
    const char *cli[4];    /* verb words, NULL-terminated: {"queue", "release"} */
    const sg_op_arg *args; /* ended by an entry with name NULL */
    const char *summary;   /* one line for docs and OpenAPI */
    const char *audit;     /* the audit event's operation name */
    sg_op_where where;
    const char *target; /* the argument naming the object acted on (audit target), or NULL */
    sg_op_handler handler;
};

/* The table, in documentation order, and its length. */
extern const sg_op sg_ops[];
extern const size_t sg_ops_count;

/* The context of one caller; a front end fills the first block once per request or command. */
struct sg_op_ctx {
    const sg_config *cfg;
    sg_store *store;    /* open; audit events are written to it */
    const char *actor;  /* account name, "token:ID", or the Unix user of the CLI ("root") */
    uint32_t roles;     /* SG_ROLE_* of the actor (for a token: its roles within its owner's) */
    const char *client; /* the client's address, "local" for the CLI */
    sg_op_via via;
    int64_t now;              /* Unix seconds; 0: time(NULL) at each call */
    bool in_cryptd;           /* this process is cryptd: SG_RUN_CRYPTD operations run here */
    sg_op_forward_fn forward; /* set: SG_RUN_CRYPTD operations go there unless in_cryptd.
                                 NULL: they run in this process (the CLI when nothing runs) */
    void *forward_ctx;
    /* The actor's password must be changed first (a generated or bootstrap one): every
     * operation but account.password answers password_change_required. */
    bool must_change;
    /* Set by the forward function (admin/control_forward.h) when cryptd answered: cryptd wrote
     * the call's audit event (it records every request it receives, so a front end that was
     * taken over cannot skip one), so this side does not write a second one. */
    bool audited_elsewhere;
    void *frontend; /* the front end's own data, for its forward function */
    /* Per call (reset by sg_admin_call), for the audit event. */
    char target[256];
    char detail[512];
};

/* The operation named name, or NULL. */
const sg_op *sg_op_find(const char *name);
/* The operation whose CLI words are the longest prefix of words[0..n-1]: *used words matched.
 * NULL when none. */
const sg_op *sg_op_find_cli(const char *const *words, size_t n, size_t *used);
/* The operation for an HTTP method and a path ("/api/v1/queue/Q1/release", no query string):
 * NULL when none; on a match, the path arguments are set (as strings) in path_args when it is
 * not NULL. 405 vs 404: *path_known (when not NULL) is true when another method has the path. */
const sg_op *sg_op_find_route(const char *method, const char *path, json_t *path_args, bool *path_known);
/* Whether roles may call op: Administrator always, Auditor when read_only, else op->roles. */
bool sg_op_allowed(const sg_op *op, uint32_t roles);

/* Checks args (NULL: none) against op's argument table: 0, or -1 with invalid_argument and the
 * field. Types, required, lengths, ranges, choices, base64, no unknown fields. */
int sg_op_validate(const sg_op *op, const json_t *args, sg_op_error *err);
/* Builds op's argument object from strings (query string, CLI words): each value is converted
 * by its argument's type (int: decimal; bool: true/false/1/0/yes/no/on/off; bytes: the string's
 * bytes, base64-encoded here). Names not in the table are refused. 0 with *args (new), or -1
 * with invalid_argument. The result still goes through sg_op_validate in sg_admin_call. */
int sg_op_args_from_strings(const sg_op *op, const char *const *names, const char *const *values, size_t n,
                            json_t **args, sg_op_error *err);
/* Sets bytes (e.g. an uploaded file) as argument name of args, base64-encoded. 0 or -1. */
int sg_op_args_set_bytes(json_t *args, const char *name, const uint8_t *data, size_t len);

/* Typed reads of validated arguments, for handlers. str: NULL when absent. bytes: 0 with a
 * malloc'd copy, 1 absent, -1 not valid base64 / out of memory. */
const char *sg_op_arg_str(const json_t *args, const char *name);
int64_t sg_op_arg_int(const json_t *args, const char *name, int64_t dflt);
bool sg_op_arg_bool(const json_t *args, const char *name, bool dflt);
int sg_op_arg_bytes(const json_t *args, const char *name, uint8_t **out, size_t *len);
/* The page of a list: limit (default SG_OP_PAGE_DEFAULT) and offset. */
void sg_op_page(const json_t *args, size_t *limit, size_t *offset);
/* The page args ask for of all (a JSON array of objects, stolen), sorted first by the "sort"
 * argument when given ("field" ascending, "-field" descending; integers by value, strings by
 * byte; ties keep all's order): the list answer, or NULL out of memory. */
json_t *sg_op_page_of(json_t *all, const json_t *args);
/* The list answer {"items": items (stolen), "total", "limit", "offset"}; NULL out of memory. */
json_t *sg_op_list_result(json_t *items, int64_t total, size_t limit, size_t offset);

/* For the audit event of the current call. */
void sg_op_set_target(sg_op_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sg_op_set_detail(sg_op_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The one entry point: see the header comment. 0 with *result (a new JSON object the caller
 * releases with json_decref), or -1 with err filled and *result NULL. */
int sg_admin_call(sg_op_ctx *ctx, const char *name, const json_t *args, json_t **result, sg_op_error *err);

/* Prints the permission reference (docs/admin.md's table) as Markdown. */
void sg_ops_markdown(FILE *f);

#endif
