/* web_int.h - the web role's shared state and the functions its files call in each other.
 * Owner: src/web (one module: web.c, store.c, router.c, session.c, api.c, openapi.c, html.c and
 * the pages_*.c files). */
#ifndef SG_WEB_INT_H
#define SG_WEB_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admin/ops.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "store/admin_rows.h"
#include "store/store.h"
#include "web/http.h"

typedef struct sg_web {
    const sg_config *cfg;
    pthread_key_t store_key; /* each daemon thread's own store handle (store.c) */
    bool have_key;
} sg_web;

/* Who makes a request, once authenticated (session cookie or bearer token). */
typedef struct sg_web_who {
    bool bearer;       /* an API token: no cookie, so no CSRF token is asked */
    char actor[96];    /* account name, or "token:ID" */
    char account[72];  /* the account (a token's owner) */
    uint32_t roles;
    char csrf[72];     /* the session's CSRF token, "" for a bearer token */
    char session[40];  /* the session id (the cookie value), "" for a bearer token */
    bool must_change;  /* the account's password is a one-time one: only /account works */
    int totp_state;    /* the account's second factor (SG_TOTP_*) */
} sg_web_who;

#define SG_WEB_COOKIE "__Host-sealgate"         /* the session; __Host-: Secure, Path=/, no Domain */
#define SG_WEB_PRE_COOKIE "__Host-sealgate-pre" /* the sign-in form's double-submit token */

/* Checks that the store opens and prepares the per-thread handles. 0, or -1 with err. */
int sg_web_init(sg_web *w, const sg_config *cfg, char *err, size_t errlen);
/* This thread's store handle, opened on first use; NULL (logged) when it cannot be opened. */
sg_store *sg_web_store(sg_web *w);
void sg_web_free(sg_web *w);
/* The one request handler (sg_http_handler): static files, pages, /api/v1. */
void sg_web_route(void *ctx, sg_http_req *req);

/* publish.c: WKD and HKP for internal users' keys (public, web.publish). Whether the request was
 * one of them (then answered). */
bool sg_web_publish(sg_web *w, sg_http_req *req);

/* session.c: authentication of a request by bearer token or session cookie. 0 with who, or -1
 * with unauthenticated or locked in err. */
int sg_web_authenticate(sg_web *w, sg_http_req *req, sg_web_who *who, sg_op_error *err);
/* Whether a state-changing request carries the session's CSRF token (header X-CSRF-Token, or
 * the form field csrf given as form_token); always true for a bearer token. */
bool sg_web_csrf_ok(sg_http_req *req, const sg_web_who *who, const char *form_token);
/* The form of a POST from a page, its CSRF token checked: the form (free with sg_form_free), or
 * NULL when it was answered already (400 malformed, 403 no or wrong token; audited as op). */
struct sg_form;
struct sg_form *sg_web_form_post(sg_web *w, sg_http_req *req, const sg_web_who *who, const char *op,
                                 const char *target);
/* Writes the audit event of a refused request that named no operation (CSRF, sign-in). */
void sg_web_audit(sg_web *w, sg_http_req *req, const sg_web_who *who, const char *op, const char *target,
                  const char *result);
/* The sign-in form (GET) and its submission (POST), sign-out (POST). */
void sg_web_login(sg_web *w, sg_http_req *req);
void sg_web_logout(sg_web *w, sg_http_req *req);
/* session.c: the end of a successful sign-in of a (password, and code when it has a second
 * factor): a new session, its cookie, the audit event, and a redirect to the portal. */
void sg_web_login_done(sg_web *w, sg_http_req *req, const sg_store_account *a);
/* session.c: the sign-in form's double-submit token, the browser's or a new one. 0 or -1. */
int sg_web_pre_token(sg_http_req *req, char pre[33]);
/* login_code.c: the second step of a sign-in with a TOTP second factor. ask: the code form for
 * name, whose password was right (a short-lived ticket bound to the form's token pre carries
 * that over); answer: the form's submission (fields ticket and code). */
struct sg_form;
void sg_web_login_ask_code(sg_http_req *req, int status, const char *name, const char *pre, const char *message);
void sg_web_login_code(sg_web *w, sg_http_req *req, struct sg_form *f, const char *pre);
/* An operation call as who, through the web (pages) or the API. */
int sg_web_call(sg_web *w, sg_http_req *req, const sg_web_who *who, sg_op_via via, const char *op,
                const json_t *args, json_t **result, sg_op_error *err);
/* forward.c: operations that must run in cryptd go over its control socket (ctx->forward). */
int sg_web_forward(sg_op_ctx *ctx, const sg_op *op, const json_t *args, json_t **result, sg_op_error *err);
/* The HTTP status of an error code (docs/web.md: locked is 429). */
int sg_web_status(sg_op_code code);

/* api.c, openapi.c: /api/v1. */
void sg_web_api(sg_web *w, sg_http_req *req);
json_t *sg_web_openapi(const sg_config *cfg);
void sg_web_send_json(sg_http_req *req, int status, json_t *v); /* consumes v */
void sg_web_send_error(sg_http_req *req, const sg_op_error *err);
/* charts.c: the dashboard's SVG charts from the metrics operation's answer. */
void sg_web_charts(sg_buf *b, const json_t *metrics);
/* metrics.c: GET /metrics (Prometheus text format). */
void sg_web_metrics(sg_web *w, sg_http_req *req);

/* html.c: the pages' frame and escaping. A page is built in an sg_buf (SG_WEB_PAGE_MAX). */
#define SG_WEB_PAGE_MAX (8u << 20)
void sg_html_esc(sg_buf *b, const char *s);
void sg_html_begin(sg_buf *b, const char *title, const sg_web_who *who, const char *nav);
void sg_html_end(sg_buf *b);
/* The frame of the pages before a session (sign-in, its code step): head, the box, the name;
 * the caller adds the rest and "</main></body></html>". */
void sg_html_signin_begin(sg_buf *b, const char *title);
void sg_html_csrf(sg_buf *b, const sg_web_who *who);
void sg_html_notice(sg_buf *b, bool ok, const char *text);
void sg_web_send_page(sg_http_req *req, int status, sg_buf *b, const sg_http_header *extra); /* frees b */
/* The error page of a failed call or a refused request. */
void sg_web_page_error(sg_http_req *req, const sg_web_who *who, int status, const char *message);
void sg_web_redirect(sg_http_req *req, const char *location, const sg_http_header *cookie);
/* A JSON value as text for a table cell (strings as they are, numbers, true/false). */
void sg_html_value(sg_buf *b, const json_t *v);
/* A Unix time as UTC ("never" for 0), and a number of seconds as "42 s", "5 min", "3 h", "2 d". */
void sg_html_time(sg_buf *b, const json_t *v);
void sg_html_age(sg_buf *b, json_int_t seconds);
/* The values of a JSON array as text, sep between them (sep is HTML, the values are escaped). */
void sg_html_join(sg_buf *b, const json_t *array, const char *sep);
/* One <dt>name</dt><dd>value</dd> of a facts list. */
void sg_html_fact(sg_buf *b, const char *name, const json_t *v);

/* pages.c: the answer of op called with the one string argument name=value, or NULL when the
 * call failed and its error page was sent. */
json_t *sg_web_call_or_page(sg_web *w, sg_http_req *req, const sg_web_who *who, const char *op, const char *name,
                            const char *value);

/* The pages (GET renders, POST acts; every POST needs the CSRF token). */
void sg_web_page_dashboard(sg_web *w, sg_http_req *req, const sg_web_who *who);
void sg_web_page_queue(sg_web *w, sg_http_req *req, const sg_web_who *who);
void sg_web_page_keys(sg_web *w, sg_http_req *req, const sg_web_who *who);
void sg_web_page_policy(sg_web *w, sg_http_req *req, const sg_web_who *who);
void sg_web_page_users(sg_web *w, sg_http_req *req, const sg_web_who *who); /* pages_users.c */
void sg_web_page_events(sg_web *w, sg_http_req *req, const sg_web_who *who);
void sg_web_page_ca(sg_web *w, sg_http_req *req, const sg_web_who *who);
void sg_web_page_settings(sg_web *w, sg_http_req *req, const sg_web_who *who);
void sg_web_page_admins(sg_web *w, sg_http_req *req, const sg_web_who *who);
void sg_web_page_account(sg_web *w, sg_http_req *req, const sg_web_who *who);
void sg_web_page_jobs(sg_web *w, sg_http_req *req, const sg_web_who *who); /* pages_jobs.c */
/* notary.c: /.well-known/sealgate-notary/ for peers (audit.publish, docs/notary.md): true when
 * the request was one of its paths (answered). */
bool sg_web_notary(sg_web *w, sg_http_req *req);
/* pages_auditor.c: the tamper-evident log (issue 14) */
void sg_web_page_auditor(sg_web *w, sg_http_req *req, const sg_web_who *who);
/* pages_reply.c: the pdf reply portal, /reply/TOKEN, for partners without an account (issue 12). */
void sg_web_page_reply(sg_web *w, sg_http_req *req);

/* A file of src/web/static/, embedded at build time (scripts/embed-static.py). */
typedef struct sg_web_asset {
    const char *path; /* "/static/portal.css" */
    const char *type;
    const unsigned char *data;
    size_t len;
} sg_web_asset;
extern const sg_web_asset sg_web_assets[]; /* ends with a NULL path */

#endif
