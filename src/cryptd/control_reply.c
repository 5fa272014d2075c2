/* control_reply.c - the reply portal's operations in cryptd (control_reply.h, docs/control.md
 * "The reply portal's operations", docs/pdf.md "The reply portal"). Owner: src/cryptd.
 * reply.check: the token's HMAC (keyed from the KEK) and expiry; answers who answers whom about
 * which message. reply.submit: the same check again (the web role is not trusted to have done
 * it), then the answer as a MIME message From the partner To the internal sender, written into
 * incoming/ with the envelope's origin marker, so it goes through the whole pipeline (policy,
 * scanning, stamps) like any incoming mail and is stamped X-Sealgate-Origin: pdf-reply.
 * SECURITY: the arguments come from the web role, which faces the partner: parsed with hard
 * bounds by engine/pdf/pdf_reply.h (no PDF is ever taken). A forged, altered or foreign token
 * gets one answer ("refused"); an expired one "expired". The addresses come from the signed
 * token only, never from the request; the partner's text and files go into the body, base64,
 * and the file names into RFC 2231 parameters, so nothing they send can add a header field.
 * Every request writes one audit event (actor "reply-portal", the pair as target).
 * The partner's copy: after the answer is queued, the same answer is made into a PDF under the
 * pair's password (the existing pdf engine, with the same Reply link) and queued to the partner
 * in outgoing/ (already protected: it does not pass the policy again), from the null sender so
 * that a bounce cannot loop. A pair without a password gets no copy (one is never made here:
 * nobody would be told it). */
#include "cryptd/control_reply.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "admin/audit.h"
#include "crypto/kek.h"
#include "engine/pdf/pdf.h"
#include "engine/pdf/pdf_link.h"
#include "engine/pdf/pdf_pass.h"
#include "engine/pdf/pdf_reply.h"
#include "lib/date.h"
#include "lib/log.h"
#include "mime/mime.h"
#include "queue/envelope.h"
#include "queue/queue.h"
#include "store/store.h"

#define REPLY_MSG_MAX (2u << 20) /* the text and 700 KiB of files as base64 fit well */

int sg_ctl_is_reply_op(const char *op)
{
    return op && strncmp(op, "reply.", 6) == 0;
}

/* An address from the token for a header field: as the envelope had it, refused when it holds
 * anything that could end the angle brackets or the field. */
static int addr_ok(const char *a)
{
    if (!*a || !strchr(a, '@'))
        return 0;
    for (const unsigned char *p = (const unsigned char *)a; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>' || *p == '"' || *p == '\\' || *p == ',')
            return 0;
    return 1;
}

/* filename*=utf-8''PERCENT-ENCODED (RFC 2231): any name, no quoting to get wrong. */
static int put_filename(sg_buf *out, const char *name)
{
    if (sg_buf_appendf(out, "Content-Disposition: attachment;\r\n filename*=utf-8''") < 0)
        return -1;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    strchr("-._~", *p);
        if ((plain ? sg_buf_append(out, p, 1) : sg_buf_appendf(out, "%%%02X", *p)) < 0)
            return -1;
    }
    return sg_buf_append(out, "\r\n", 2);
}

static int build(const sg_pdf_link *l, const sg_pdf_reply_req *r, const char *host, long long now, sg_buf *out)
{
    unsigned char rnd[16];
    char hex[33], date[64];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return -1;
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
    sg_rfc5322_date(now, date, sizeof date);
    int rc = sg_buf_appendf(out,
                            "From: <%s>\r\nTo: <%s>\r\nSubject: Answer from %s (secure reply page)\r\n"
                            "Date: %s\r\nMessage-ID: <%s.pdf-reply@%s>\r\n",
                            l->rcpt, l->sender, l->rcpt, date, hex, host && *host ? host : "localhost");
    if (l->msgid[0])
        rc |= sg_buf_appendf(out, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n", l->msgid, l->msgid);
    rc |= sg_buf_appendf(out,
                         "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=_sg%s\"\r\n\r\n"
                         "--=_sg%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                         "Content-Transfer-Encoding: base64\r\n\r\n",
                         hex, hex);
    rc |= rc ? 0 : sg_mime_base64_lines((const unsigned char *)r->text, strlen(r->text), out);
    for (size_t i = 0; !rc && i < r->nfiles; i++) {
        rc |= sg_buf_appendf(out, "--=_sg%s\r\nContent-Type: %s\r\n", hex, r->files[i].type);
        rc |= rc ? 0 : put_filename(out, r->files[i].name);
        rc |= rc ? 0 : sg_buf_appendf(out, "Content-Transfer-Encoding: base64\r\n\r\n");
        rc |= rc ? 0 : sg_mime_base64_lines(r->files[i].data, r->files[i].len, out);
    }
    rc |= rc ? 0 : sg_buf_appendf(out, "--=_sg%s--\r\n", hex);
    return rc ? -1 : 0;
}

/* Writes msg into state (incoming/: the answer, with the origin marker; outgoing/: the
 * partner's copy) from `from` to rcpt. 0 with the queue id, or -1. */
static int enqueue(const sg_config *cfg, int state, const char *from, const char *rcpt, const char *client,
                   const sg_buf *msg, char *qid, size_t qidlen, char *err, size_t errlen)
{
    sg_queue q;
    if (sg_queue_open(&q, cfg->spool_dir, "cryptd", false) < 0) {
        snprintf(err, errlen, "cannot open the spool");
        return -1;
    }
    sg_envelope e;
    sg_env_init(&e);
    char id[SG_QID_MAX];
    sg_queue_new_id(id);
    snprintf(e.id, sizeof e.id, "%s", id);
    e.created = (long long)time(NULL);
    e.pdf_reply = state == SG_Q_INCOMING;
    int rc = sg_env_set(&e.client, client) | sg_env_set(&e.helo, "reply-portal") | sg_env_set(&e.from, from) |
             sg_env_set(&e.body, "8BITMIME") | sg_env_add_rcpt(&e, rcpt, NULL, NULL);
    if (rc == 0 && sg_queue_write(&q, state, id, &e, msg->data, msg->len) < 0) {
        snprintf(err, errlen, "cannot write into the spool");
        rc = -1;
    }
    if (rc == 0)
        snprintf(qid, qidlen, "%s", id);
    sg_env_free(&e);
    sg_queue_close(&q);
    return rc ? -1 : 0;
}

/* The partner's copy of the answer (msg) as a PDF under the pair's password, queued to them.
 * 0 queued (qid), 1 no copy (the pair has no password), -1 with err. */
static int partner_copy(const sg_config *cfg, sg_store *st, const sg_pdf_link *l, const char *token,
                        const char *client, const sg_buf *msg, char *qid, size_t qidlen, char *err, size_t errlen)
{
    if (!st) {
        snprintf(err, errlen, "no store for the pair's password");
        return -1;
    }
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    sg_engine_env env = {.cfg = cfg, .st = st, .lock = &lock};
    char pw[SG_PDF_PASS_LEN + 1], url[SG_PDF_LINK_MAX + 400];
    bool created = false;
    if (sg_pdf_password(&env, l->sender, l->rcpt, pw, &created, err, errlen) < 0)
        return -1;
    if (created) { /* reset meanwhile: nobody was told this one, so it is forgotten again */
        OPENSSL_cleanse(pw, sizeof pw);
        sg_pdf_password_forget(&env, l->sender, l->rcpt);
        return 1;
    }
    snprintf(url, sizeof url, "%s/reply/%s", cfg->pdf.portal_url, token);
    sg_pdf_brand brand = {.cfg = &cfg->pdf, .reply_url = cfg->pdf.portal_url[0] ? url : NULL};
    sg_buf pdf, out;
    sg_buf_init(&pdf, (size_t)cfg->pdf.max_size + (4u << 20));
    sg_buf_init(&out, (size_t)cfg->pdf.max_size * 2 + (4u << 20));
    char boundary[80], date[64];
    sg_rfc5322_date((long long)time(NULL), date, sizeof date);
    int rc = sg_pdf_make(msg->data, msg->len, &brand, pw, &pdf, err, errlen);
    OPENSSL_cleanse(pw, sizeof pw);
    if (rc == 0 && (sg_mime_new_boundary(boundary, sizeof boundary) < 0 ||
                    sg_buf_appendf(&out,
                                   "From: <postmaster@%s>\r\nTo: <%s>\r\nSubject: Copy of your answer to %s\r\n"
                                   "Date: %s\r\nMIME-Version: 1.0\r\nX-Sealgate-Method: pdf\r\n"
                                   "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n--%s\r\n"
                                   "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                                   "This is a copy of the answer you sent to %s through the secure reply page.\r\n"
                                   "It is in the attached PDF document, which opens with the same password.\r\n"
                                   "\r\n--%s\r\nContent-Type: application/pdf; name=\"answer.pdf\"\r\n"
                                   "Content-Disposition: attachment; filename=\"answer.pdf\"\r\n"
                                   "Content-Transfer-Encoding: base64\r\n\r\n",
                                   cfg->hostname && *cfg->hostname ? cfg->hostname : "localhost", l->rcpt, l->sender,
                                   date, boundary, boundary, l->sender, boundary) < 0 ||
                    sg_mime_base64_lines((const unsigned char *)pdf.data, pdf.len, &out) < 0 ||
                    sg_buf_appendf(&out, "--%s--\r\n", boundary) < 0)) {
        snprintf(err, errlen, "the copy is larger than allowed");
        rc = -1;
    }
    if (rc == 0)
        rc = enqueue(cfg, SG_Q_OUTGOING, "", l->rcpt, client, &out, qid, qidlen, err, errlen);
    sg_buf_free(&pdf);
    sg_buf_free(&out);
    return rc;
}

void sg_ctl_reply_dispatch(const sg_config *cfg, const sg_ctl_peer *peer, const sg_ctl_msg *req, sg_ctl_msg *reply)
{
    (void)peer;
    const char *client = *req->client ? req->client : "web";
    char field[64] = "", err[256] = "", target[700] = "", qid[SG_QID_MAX] = "", copy_qid[SG_QID_MAX] = "";
    const char *code = NULL;
    sg_pdf_reply_req r;
    sg_pdf_link l;
    int parsed = sg_pdf_reply_parse(req->op, req->args, &r, field, sizeof field, err, sizeof err) == 0;
    if (!parsed) {
        code = strcmp(req->op, "reply.check") && strcmp(req->op, "reply.submit") ? "not_found" : "invalid_argument";
    } else {
        char kek_path[4096];
        uint8_t key[SG_PDF_LINK_KEY_LEN];
        sg_kek_path(cfg->base_dir, kek_path, sizeof kek_path);
        int v = sg_pdf_link_key(kek_path, key) < 0 ? -2 : sg_pdf_link_check(key, r.token, (int64_t)time(NULL), &l);
        OPENSSL_cleanse(key, sizeof key);
        if (v == -2) {
            code = "unavailable";
            snprintf(err, sizeof err, "cryptd cannot read the KEK");
        } else if (v < 0 || (v == 0 && (!addr_ok(l.sender) || !addr_ok(l.rcpt) || strpbrk(l.msgid, "<> \t")))) {
            code = "refused";
            snprintf(err, sizeof err, "this link is not valid");
        } else {
            snprintf(target, sizeof target, "%s -> %s", l.rcpt, l.sender);
            if (v == 1) {
                code = "expired";
                snprintf(err, sizeof err, "this link has expired");
            }
        }
    }
    if (!code && !strcmp(req->op, "reply.submit")) {
        sg_buf msg;
        sg_buf_init(&msg, REPLY_MSG_MAX);
        if (build(&l, &r, cfg->hostname, (long long)time(NULL), &msg) < 0) {
            code = "internal";
            snprintf(err, sizeof err, "cannot build the answer");
        } else if (enqueue(cfg, SG_Q_INCOMING, l.rcpt, l.sender, client, &msg, qid, sizeof qid, err, sizeof err) <
                   0) {
            code = "unavailable";
        } else {
            /* The answer is queued: a copy that cannot be made is logged, not an error to the
             * partner (who would send the answer again). */
            char cerr[256] = "";
            sg_store *cst = sg_store_open_auth(cfg->store_path, cfg->store_password_file, cerr, sizeof cerr);
            int c = partner_copy(cfg, cst, &l, r.token, client, &msg, copy_qid, sizeof copy_qid, cerr, sizeof cerr);
            if (cst)
                sg_store_close(cst);
            if (c != 0)
                sg_warn(qid, "event=reply-copy-missing reason=\"%s\"", c > 0 ? "the pair has no password" : cerr);
        }
        sg_buf_free(&msg);
    }
    if (code) {
        sg_ctl_reply_error(reply, req, code, "%s", err);
        snprintf(reply->efield, sizeof reply->efield, "%s", field);
    } else {
        json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "sender", l.sender, "rcpt", l.rcpt, "msgid", l.msgid, "expires",
                              (json_int_t)l.expires);
        if (o && *qid)
            json_object_set_new(o, "queue_id", json_string(qid));
        if (o && *copy_qid)
            json_object_set_new(o, "copy_queue_id", json_string(copy_qid));
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (text)
            *reply = (sg_ctl_msg){.type = SG_CTL_RESULT, .id = req->id, .result = text};
        else
            sg_ctl_reply_error(reply, req, "internal", "out of memory");
    }
    char detail[300];
    /* A summary for the audit event: cut when long (the error text can fill its buffer). */
    if (snprintf(detail, sizeof detail, "%s%s%s%s%s", *qid ? "queued " : "", qid, *copy_qid ? ", partner's copy " : "",
                 copy_qid, code ? err : "") < 0)
        detail[0] = '\0';
    char serr[256];
    sg_store *st = sg_store_open_auth(cfg->store_path, cfg->store_password_file, serr, sizeof serr);
    sg_audit_event(st, "reply-portal", 0, req->op, target, reply->type == SG_CTL_RESULT ? "ok" : reply->ecode, client,
                   detail);
    if (st)
        sg_store_close(st);
    sg_info(NULL, "event=reply-portal op=%s result=%s%s%s", SG_LOG_STR(req->op),
            reply->type == SG_CTL_RESULT ? "ok" : reply->ecode, *qid ? " queued=" : "", qid);
    if (parsed)
        sg_pdf_reply_free(&r);
}
