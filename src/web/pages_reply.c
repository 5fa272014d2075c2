/* pages_reply.c - the pdf reply portal's pages, /reply/TOKEN (issue 12, docs/pdf.md "The reply
 * portal"): the partner signs in with the PDF password, writes an answer with attachments and
 * sends it. Owner: src/web.
 * The web role holds no KEK and cannot write the spool: the token is checked by cryptd
 * (reply.check) before anything is shown, and the answer goes to cryptd (reply.submit), which
 * checks the token again. The password is checked here against the pair's argon2id verifier
 * (the store's pdf_passwords row; the wrapped password is never read).
 * SECURITY: the partner is anonymous and on the network. An invalid, altered or expired token
 * gets a page that says so and nothing else. Sign-in failures (wrong password, no password for
 * the pair, locked) get one and the same answer; failures are counted per pair (locked after
 * REPLY_FREE_FAILURES) and per client address (admin/auth.h's back-off), both in this
 * process's memory. A successful sign-in makes a reply session: a 128-bit random cookie bound to
 * the token, with its own CSRF token, for REPLY_SESSION_SECONDS. Uploads: multipart/form-data
 * parsed by form.c (fuzzed); a PDF (by type or magic) is refused here and again by cryptd; the
 * attachments together at most pdf.reply_max_bytes. */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "admin/auth.h"
#include "engine/pdf/pdf_pass.h"
#include "engine/pdf/pdf_reply.h"
#include "lib/control_client.h"
#include "lib/log.h"
#include "store/pdfpass_rows.h"
#include "web/form.h"
#include "web/web_int.h"

#define REPLY_FREE_FAILURES 3
#define REPLY_SESSION_SECONDS 1800
#define REPLY_SESSIONS 256
#define REPLY_PAIRS 1024
#define REPLY_COOKIE "sg_reply"

typedef struct reply_session {
    char id[33], csrf[65];
    char token[SG_PDF_LINK_MAX + 1];
    int64_t expires;
} reply_session;

typedef struct pair_fail {
    char key[660];
    int failures;
    int64_t until, last;
} pair_fail;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static reply_session sessions[REPLY_SESSIONS];
static pair_fail pairs[REPLY_PAIRS];

/* The pair's failure slot (the oldest is reused when full). Called under mu. */
static pair_fail *pair_slot(const char *key)
{
    pair_fail *old = &pairs[0];
    for (size_t i = 0; i < REPLY_PAIRS; i++) {
        if (!strcmp(pairs[i].key, key))
            return &pairs[i];
        if (pairs[i].last < old->last)
            old = &pairs[i];
    }
    memset(old, 0, sizeof *old);
    snprintf(old->key, sizeof old->key, "%s", key);
    return old;
}

/* Asks cryptd: SG_CTL_OK with *result (JSON, free it), else the answer's code in ans. */
static int ask(sg_web *w, sg_http_req *req, const char *op, json_t *args, json_t **result, sg_ctl_answer *ans)
{
    char path[128];
    *result = NULL;
    memset(ans, 0, sizeof *ans);
    char *text = json_dumps(args, JSON_COMPACT);
    if (!text || sg_ctl_socket_path(w->cfg->base_dir, path, sizeof path) < 0) {
        free(text);
        return SG_CTL_BROKEN;
    }
    sg_ctl_request r = {.op = op, .actor = "reply-portal", .client = req->client, .args = text};
    int rc = sg_ctl_call(path, &r, ans, SG_CTL_TIMEOUT_MS);
    OPENSSL_cleanse(text, strlen(text));
    free(text);
    if (rc == SG_CTL_OK) {
        *result = json_loads(ans->result, 0, NULL);
        if (!json_is_object(*result)) {
            json_decref(*result);
            *result = NULL;
            rc = SG_CTL_BROKEN;
        }
    }
    return rc;
}

static void page(sg_http_req *req, int status, const char *title, const char *notice, bool ok, const char *body_html,
                 const sg_http_header *extra)
{
    sg_buf b;
    sg_buf_init(&b, SG_WEB_PAGE_MAX);
    sg_html_signin_begin(&b, title);
    sg_buf_appendf(&b, "<p class=\"sub\">Secure reply</p>");
    if (notice)
        sg_html_notice(&b, ok, notice);
    if (body_html)
        sg_buf_appendf(&b, "%s", body_html);
    sg_buf_appendf(&b, "</main></body></html>\n");
    sg_web_send_page(req, status, &b, extra);
}

/* The clear page for a link that is not valid: nothing else is shown. */
static void bad_link(sg_http_req *req, const char *code)
{
    bool expired = code && !strcmp(code, "expired");
    page(req, expired ? 410 : 404, "Link not valid",
         expired ? "This reply link has expired. Ask the sender for a new message to answer."
                 : "This reply link is not valid. Open the link from the PDF document exactly as it is.",
         false, NULL, NULL);
}

static void signin_page(sg_http_req *req, int status, const char *token, const json_t *who, const char *message)
{
    sg_buf f;
    sg_buf_init(&f, 1 << 16);
    sg_buf_appendf(&f, "<p>To answer <b>");
    sg_html_esc(&f, json_string_value(json_object_get(who, "sender")));
    sg_buf_appendf(&f, "</b>, sign in with the password of the PDF document you received.</p>"
                       "<form method=\"post\" action=\"/reply/%s\">"
                       "<div class=\"field\"><label for=\"password\">PDF password</label>"
                       "<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"off\" required "
                       "autofocus></div><button class=\"primary\" type=\"submit\">Sign in</button></form>",
                   token);
    page(req, status, "Secure reply", message, false, f.data, NULL);
    sg_buf_free(&f);
}

static void compose_page(sg_web *w, sg_http_req *req, int status, const reply_session *s, const json_t *who,
                         const char *message, const sg_http_header *extra)
{
    sg_buf f;
    sg_buf_init(&f, 1 << 16);
    sg_buf_appendf(&f, "<p>Your answer to <b>");
    sg_html_esc(&f, json_string_value(json_object_get(who, "sender")));
    sg_buf_appendf(&f, "</b> (as <b>");
    sg_html_esc(&f, json_string_value(json_object_get(who, "rcpt")));
    sg_buf_appendf(&f,
                   "</b>). It is sent encrypted to the sender's organisation.</p>"
                   "<form method=\"post\" action=\"/reply/%s\" enctype=\"multipart/form-data\">"
                   "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
                   "<div class=\"field\"><label for=\"text\">Message</label>"
                   "<textarea class=\"answer\" id=\"text\" name=\"text\" rows=\"10\" required></textarea></div>"
                   "<div class=\"field\"><label for=\"files\">Attachments (at most %d, %lld KB together; no PDF "
                   "files)</label><input type=\"file\" id=\"files\" name=\"file\" multiple></div>"
                   "<button class=\"primary\" type=\"submit\">Send</button></form>",
                   s->token, s->csrf, SG_PDF_REPLY_FILES_MAX, (long long)w->cfg->pdf.reply_max_bytes / 1024);
    page(req, status, "Secure reply", message, false, f.data, extra);
    sg_buf_free(&f);
}

/* The reply session of the request's cookie for token (copied into *out), or false. */
static bool session_of(sg_http_req *req, const char *token, reply_session *out)
{
    const char *c = sg_http_cookie(req, REPLY_COOKIE);
    bool found = false;
    int64_t now = time(NULL);
    if (!c || strlen(c) != 32)
        return false;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < REPLY_SESSIONS && !found; i++)
        if (sessions[i].expires > now && CRYPTO_memcmp(sessions[i].id, c, 32) == 0 &&
            !strcmp(sessions[i].token, token)) {
            *out = sessions[i];
            found = true;
        }
    pthread_mutex_unlock(&mu);
    return found;
}

static void session_end(const char *id)
{
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < REPLY_SESSIONS; i++)
        if (!strcmp(sessions[i].id, id))
            memset(&sessions[i], 0, sizeof sessions[i]);
    pthread_mutex_unlock(&mu);
}

static char dummy[256]; /* a verifier of a random password, made once (pdf_pass.h's parameters) */
static void make_dummy(void)
{
    char pw[SG_PDF_PASS_LEN + 1];
    if (sg_pdf_password_new(pw) == 0 && sg_pdf_password_verifier(pw, dummy, sizeof dummy) < 0)
        dummy[0] = '\0';
    OPENSSL_cleanse(pw, sizeof pw);
}

static void sign_in(sg_web *w, sg_http_req *req, const char *token, const json_t *who, const char *pw)
{
    static const char *const same = "The password is not right, or there were too many attempts. Try again later.";
    const char *sender = json_string_value(json_object_get(who, "sender"));
    const char *rcpt = json_string_value(json_object_get(who, "rcpt"));
    char key[660];
    snprintf(key, sizeof key, "%s\n%s", sender, rcpt);
    int64_t now = time(NULL), retry = 0;
    sg_op_error e = {0};
    bool locked = sg_auth_client_check(req->client, now, &retry, &e) < 0;
    pthread_mutex_lock(&mu);
    pair_fail *p = pair_slot(key);
    p->last = now;
    locked = locked || p->until > now;
    pthread_mutex_unlock(&mu);
    int ok = 1;
    if (!locked && pw && *pw && strlen(pw) <= SG_PASSWORD_MAX) {
        sg_pdfpass_row row = {0};
        if (sg_store_pdfpass_get(sg_web_store(w), sender, rcpt, false, &row) == 0) {
            ok = sg_auth_verify_hash(row.verifier, pw);
        } else {
            /* No password for the pair: the same argon2id work as a wrong one, so the time
             * does not tell the two apart. */
            static pthread_once_t once = PTHREAD_ONCE_INIT;
            pthread_once(&once, make_dummy);
            if (dummy[0])
                sg_auth_verify_hash(dummy, pw);
        }
        sg_pdfpass_row_free(&row);
    }
    if (ok != 0) {
        if (!locked) {
            sg_auth_client_failure(req->client, now);
            pthread_mutex_lock(&mu);
            p = pair_slot(key);
            p->failures++;
            p->until = now + sg_auth_lock_for(p->failures, REPLY_FREE_FAILURES);
            pthread_mutex_unlock(&mu);
        }
        sg_info(NULL, "event=reply-signin result=%s client=%s", locked ? "locked" : "failed", req->client);
        signin_page(req, 403, token, who, same);
        return;
    }
    sg_auth_client_success(req->client);
    pthread_mutex_lock(&mu);
    p = pair_slot(key);
    p->failures = 0;
    p->until = 0;
    reply_session s = {.expires = now + REPLY_SESSION_SECONDS};
    snprintf(s.token, sizeof s.token, "%s", token);
    int r = sg_auth_random_hex(s.id, 16) | sg_auth_random_hex(s.csrf, 32);
    size_t slot = 0;
    for (size_t i = 0; i < REPLY_SESSIONS; i++)
        if (sessions[i].expires < sessions[slot].expires)
            slot = i;
    if (r == 0)
        sessions[slot] = s;
    pthread_mutex_unlock(&mu);
    if (r != 0) {
        page(req, 500, "Secure reply", "Cannot open a session now.", false, NULL, NULL);
        return;
    }
    sg_info(NULL, "event=reply-signin result=ok client=%s", req->client);
    char c[160];
    snprintf(c, sizeof c, "%s=%s; Path=/reply/; Secure; HttpOnly; SameSite=Strict", REPLY_COOKIE, s.id);
    sg_http_header set[] = {{"Set-Cookie", c}, {NULL, NULL}};
    compose_page(w, req, 200, &s, who, NULL, set);
    OPENSSL_cleanse(&s, sizeof s);
}

static json_t *b64(const sg_form_field *f)
{
    size_t n = 4 * ((f->len + 2) / 3) + 1;
    char *out = malloc(n);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)f->value, (int)f->len);
    json_t *s = json_string(out);
    free(out);
    return s;
}

/* A browser's file name and type as cryptd takes them: the name without path separators,
 * quotes or control characters (replaced by '_'), the type without parameters. */
static void clean_upload(const sg_form_field *x, char name[SG_PDF_REPLY_NAME_MAX + 1],
                         char type[SG_PDF_REPLY_TYPE_MAX + 1])
{
    snprintf(name, SG_PDF_REPLY_NAME_MAX + 1, "%s", x->filename[0] ? x->filename : "attachment");
    for (unsigned char *p = (unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\' || *p == '"')
            *p = '_';
    snprintf(type, SG_PDF_REPLY_TYPE_MAX + 1, "%s", x->type && *x->type ? x->type : "application/octet-stream");
    type[strcspn(type, "; \t")] = '\0';
}

static void submit(sg_web *w, sg_http_req *req, const reply_session *s, const json_t *who, sg_form *f)
{
    const char *csrf = sg_form_get(f, "csrf"), *text = sg_form_get(f, "text");
    if (!csrf || strlen(csrf) != 64 || CRYPTO_memcmp(csrf, s->csrf, 64) != 0) {
        page(req, 403, "Secure reply", "The form expired: sign in again from the link.", false, NULL, NULL);
        return;
    }
    json_t *files = json_array();
    size_t total = 0, n = 0;
    const char *refuse = NULL;
    for (size_t i = 0; i < f->n && !refuse; i++) {
        const sg_form_field *x = &f->v[i];
        if (strcmp(x->name, "file") || !x->filename || (!x->filename[0] && x->len == 0))
            continue; /* an empty file input */
        char name[SG_PDF_REPLY_NAME_MAX + 1], type[SG_PDF_REPLY_TYPE_MAX + 1];
        clean_upload(x, name, type);
        if (sg_pdf_reply_is_pdf(x->type, (const unsigned char *)x->value, x->len) ||
            sg_pdf_reply_is_pdf(type, (const unsigned char *)x->value, x->len))
            refuse = "PDF files cannot be sent here. Attach the content in another format.";
        else if (++n > SG_PDF_REPLY_FILES_MAX || (total += x->len) > (size_t)w->cfg->pdf.reply_max_bytes)
            refuse = "The attachments are too many or too large.";
        else if (json_array_append_new(files, json_pack("{s:s, s:s, s:o}", "name", name, "type", type, "data",
                                                        b64(x))) < 0)
            refuse = "An attachment could not be read (its name must be UTF-8)."; /* never dropped silently */
    }
    if (refuse) {
        json_decref(files);
        compose_page(w, req, 400, s, who, refuse, NULL);
        return;
    }
    json_t *args = json_pack("{s:s, s:s, s:o}", "token", s->token, "text", text ? text : "", "attachments", files);
    if (!args) { /* jansson takes UTF-8 only: a text that is not is refused, never altered */
        compose_page(w, req, 400, s, who, "The message text could not be read (it must be UTF-8).", NULL);
        return;
    }
    json_t *res;
    sg_ctl_answer ans;
    int rc = ask(w, req, "reply.submit", args, &res, &ans);
    json_decref(args);
    if (rc != SG_CTL_OK) {
        if (!strcmp(ans.ecode, "refused") || !strcmp(ans.ecode, "expired"))
            bad_link(req, ans.ecode);
        else if (!strcmp(ans.ecode, "invalid_argument"))
            compose_page(w, req, 400, s, who, "The answer was not accepted: check the text and the attachments.",
                         NULL);
        else
            page(req, 503, "Secure reply", "The answer cannot be sent now. Please try again later.", false, NULL,
                 NULL);
        sg_ctl_answer_free(&ans);
        return;
    }
    sg_ctl_answer_free(&ans);
    json_decref(res);
    session_end(s->id);
    char done[400];
    const char *sender = json_string_value(json_object_get(who, "sender"));
    snprintf(done, sizeof done, "Your answer was sent to %s.", sender ? sender : "the sender");
    page(req, 200, "Answer sent", done, true,
         "<p>You can close this page. To answer again, open the link in the PDF document again.</p>", NULL);
}

void sg_web_page_reply(sg_web *w, sg_http_req *req)
{
    const char *token = req->path + strlen("/reply/");
    bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
    if (strlen(token) > SG_PDF_LINK_MAX || strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                         "0123456789-_.") != strlen(token) || !*token) {
        bad_link(req, NULL);
        return;
    }
    if (!get && strcmp(req->method, "POST") != 0) {
        page(req, 405, "Secure reply", "Not allowed.", false, NULL, NULL);
        return;
    }
    json_t *args = json_pack("{s:s}", "token", token), *who;
    sg_ctl_answer ans;
    int rc = ask(w, req, "reply.check", args, &who, &ans);
    json_decref(args);
    if (rc != SG_CTL_OK) {
        if (rc == SG_CTL_FAILED && (!strcmp(ans.ecode, "refused") || !strcmp(ans.ecode, "expired") ||
                                    !strcmp(ans.ecode, "invalid_argument")))
            bad_link(req, ans.ecode);
        else
            page(req, 503, "Secure reply", "The reply page is not available now. Please try again later.", false,
                 NULL, NULL);
        sg_ctl_answer_free(&ans);
        return;
    }
    sg_ctl_answer_free(&ans);
    if (get) {
        signin_page(req, 200, token, who, NULL);
        json_decref(who);
        return;
    }
    static _Thread_local sg_form f;
    char err[256];
    if (sg_form_parse(sg_http_header_get(req, "Content-Type"), req->body.data ? req->body.data : "", req->body.len, &f,
                      err, sizeof err) < 0) {
        page(req, 400, "Secure reply", "The form could not be read.", false, NULL, NULL);
        json_decref(who);
        return;
    }
    reply_session s;
    if (sg_form_get(&f, "password"))
        sign_in(w, req, token, who, sg_form_get(&f, "password"));
    else if (session_of(req, token, &s))
        submit(w, req, &s, who, &f);
    else
        signin_page(req, 403, token, who, "Please sign in again.");
    for (size_t i = 0; i < f.n; i++)
        if (f.v[i].value)
            OPENSSL_cleanse(f.v[i].value, f.v[i].len);
    sg_form_free(&f);
    json_decref(who);
}
