/* engine_pdf.c - the pdf method as an sg_engine (issue 12, docs/pdf.md): the whole message
 * becomes one AES-256 PDF under the (sender, recipient) pair's password, carried by a short
 * note from the pdf.carrier text. Owner: src/engine/pdf.
 * Every recipient can receive a PDF (no key needed), so can_encrypt_to answers 1; the policy
 * makes one group per recipient (one password each). The method signs nothing and peels
 * nothing (its detect and peel know no layer).
 * SECURITY: runs in cryptd, where the plaintext is. The carrier keeps the original's header
 * fields (Subject readable) and carries no byte of its body or attachments: only the note and
 * the encrypted PDF. Any failure (too large, unparsable, rendering, store, KEK) is -1, and the
 * caller holds the group: never plain delivery. The password of a new pair goes back to the
 * caller as the sender's notice text and is wiped here. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/kek.h"
#include "engine/engine.h"
#include "engine/pdf/pdf.h"
#include "engine/pdf/pdf_link.h"
#include "engine/pdf/pdf_pass.h"
#include "lib/log.h"
#include "mime/mime.h"

static const sg_engine_env *g_env;

static int pdf_init(const sg_engine_env *env)
{
    g_env = env;
    return 0;
}

static int pdf_can_encrypt_to(const char *addr)
{
    return addr && strchr(addr, '@') ? 1 : 0;
}

static int pdf_no(const char *addr)
{
    (void)addr;
    return 0;
}

static int pdf_no_signer(void)
{
    return 0;
}

static int pdf_detect(const char *msg, size_t len)
{
    (void)msg;
    (void)len;
    return SG_LAYER_NONE;
}

static int pdf_peel(const sg_peel_req *req, const char *msg, size_t len, sg_layer *out)
{
    (void)req;
    (void)msg;
    (void)len;
    memset(out, 0, sizeof *out);
    return 0;
}

/* The carrier: the original's header fields (without Content-*), a note, the PDF. */
static int carrier(const char *msg, size_t len, const sg_pdf_cfg *cfg, const sg_buf *pdf, sg_buf *out)
{
    char boundary[80];
    if (sg_mime_new_boundary(boundary, sizeof boundary) < 0 || sg_mime_outer_fields(msg, len, NULL, out) < 0)
        return -1;
    if (sg_buf_appendf(out,
                       "MIME-Version: 1.0\r\nX-Sealgate-Method: pdf\r\n"
                       "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
                       "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
                       boundary, boundary) < 0)
        return -1;
    /* The note in lines of CRLF (the configured text has its own line breaks or none). */
    for (const char *p = cfg->carrier; *p; p++)
        if ((*p == '\n' ? sg_buf_append(out, "\r\n", 2) : *p == '\r' ? 0 : sg_buf_append(out, p, 1)) < 0)
            return -1;
    if (sg_buf_appendf(out,
                       "\r\n\r\n--%s\r\nContent-Type: application/pdf; name=\"message.pdf\"\r\n"
                       "Content-Disposition: attachment; filename=\"message.pdf\"\r\n"
                       "Content-Transfer-Encoding: base64\r\n\r\n",
                       boundary) < 0 ||
        sg_mime_base64_lines((const unsigned char *)pdf->data, pdf->len, out) < 0 ||
        sg_buf_appendf(out, "\r\n--%s--\r\n", boundary) < 0)
        return -1;
    return 0;
}

/* The Reply link: the portal's address, /reply/, the signed token (pdf_link.h). */
static int reply_url(const sg_config *cfg, const sg_protect_req *req, const char *msgid, char *url, size_t n,
                     char *err, size_t errlen)
{
    char kek_path[4096], token[SG_PDF_LINK_MAX + 1];
    uint8_t key[SG_PDF_LINK_KEY_LEN];
    sg_pdf_link l = {.expires = (int64_t)time(NULL) + cfg->pdf.link_days * 86400};
    snprintf(l.sender, sizeof l.sender, "%s", req->env_from);
    snprintf(l.rcpt, sizeof l.rcpt, "%s", req->rcpts[0]);
    snprintf(l.msgid, sizeof l.msgid, "%s", msgid ? msgid : "");
    sg_kek_path(cfg->base_dir, kek_path, sizeof kek_path);
    int rc = sg_pdf_link_key(kek_path, key) == 0 && sg_pdf_link_make(key, &l, token, sizeof token) == 0 ? 0 : -1;
    OPENSSL_cleanse(key, sizeof key);
    if (rc == 0 && (size_t)snprintf(url, n, "%s/reply/%s", cfg->pdf.portal_url, token) >= n)
        rc = -1;
    if (rc < 0)
        snprintf(err, errlen, "cannot make the Reply link");
    return rc;
}

static char *password_notice(const char *rcpt, const char *pw)
{
    /* One line: notices put the rule's text on one line (policy/notice.c). */
    const char *fmt = "Your message to %s was sent as an encrypted PDF document, because no key or "
                      "certificate of this recipient is known. Give them the password by telephone, in "
                      "person or another way than e-mail; it opens this and every later PDF from you to "
                      "them, and signs them in to the secure reply page. Do not forward this notice. "
                      "The password is: %s";
    size_t n = strlen(fmt) + strlen(rcpt) + strlen(pw) + 1;
    char *t = malloc(n);
    if (t)
        snprintf(t, n, fmt, rcpt, pw);
    return t;
}

static int pdf_protect(const sg_protect_req *req, const char *msg, size_t len, sg_buf *out, char *err,
                       size_t errlen)
{
    const sg_config *cfg = g_env ? g_env->cfg : NULL;
    if (!cfg) {
        snprintf(err, errlen, "pdf engine not initialised");
        return -1;
    }
    if (req->nrcpt != 1) {
        snprintf(err, errlen, "pdf: one recipient per message (got %zu)", req->nrcpt);
        return -1;
    }
    if (len > (size_t)cfg->pdf.max_size) {
        snprintf(err, errlen, "too large for the pdf method (%zu bytes, pdf.max_size %ld)", len, cfg->pdf.max_size);
        return -1;
    }
    /* The pair is the envelope sender's: the password notice goes there, so a From written by
     * someone else cannot learn (or plant) the password another sender's mail will use. */
    const char *owner = req->env_from;
    if (!owner || !*owner || !strchr(owner, '@')) {
        snprintf(err, errlen, "pdf: no envelope sender to own the password and be told it");
        return -1;
    }
    char pw[SG_PDF_PASS_LEN + 1];
    bool created = false;
    if (sg_pdf_password(g_env, owner, req->rcpts[0], pw, &created, err, errlen) < 0)
        return -1;
    sg_buf pdf;
    sg_buf_init(&pdf, out->max);
    sg_pdf_doc doc;
    char url[SG_PDF_LINK_MAX + 400];
    sg_pdf_brand brand = {.cfg = &cfg->pdf, .reply_url = NULL};
    int rc = sg_pdf_doc_from_message(msg, len, &doc, err, errlen);
    if (rc == 0 && cfg->pdf.portal_url[0]) {
        rc = reply_url(cfg, req, doc.msgid, url, sizeof url, err, errlen);
        brand.reply_url = url;
    }
    if (rc == 0) {
        rc = sg_pdf_make_doc(&doc, &brand, pw, &pdf, err, errlen);
        sg_pdf_doc_free(&doc);
    }
    if (rc == 0 && carrier(msg, len, &cfg->pdf, &pdf, out) < 0) {
        snprintf(err, errlen, "the carrier message is larger than allowed");
        rc = -1;
    }
    if (rc == 0 && created) {
        char *t = password_notice(req->rcpts[0], pw);
        if (!t || !req->notice) {
            /* Nobody can tell the sender the password: the recipient could never open it. */
            free(t);
            snprintf(err, errlen, "the password of a new pair cannot be passed to the sender");
            rc = -1;
        } else {
            *req->notice = t;
        }
    }
    OPENSSL_cleanse(pw, sizeof pw);
    sg_buf_free(&pdf);
    if (rc < 0 && created && sg_pdf_password_forget(g_env, owner, req->rcpts[0]) < 0)
        sg_warn(req->qid, "event=pdf-password-kept rcpt=%s reason=\"store error; the sender was not told it\"",
                req->rcpts[0]);
    return rc;
}

const sg_engine sg_engine_pdf = {
    .name = "pdf",
    .method = SG_METHOD_PDF,
    .init = pdf_init,
    .can_encrypt_to = pdf_can_encrypt_to,
    .can_sign_as = pdf_no,
    .can_make_signer = pdf_no_signer,
    .protect = pdf_protect,
    .protect_to_fd = NULL,
    .detect = pdf_detect,
    .peel = pdf_peel,
    .export_public = NULL,
};
