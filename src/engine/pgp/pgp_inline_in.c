/* pgp_inline_in.c - incoming inline PGP for the OpenPGP engine: armored blocks inside a
 * text/plain entity. Owner: src/engine (OpenPGP).
 *
 * The shapes (docs/openpgp.md, "Inline PGP in"):
 * - The whole text (whitespace around it aside) is one block: a layer like PGP/MIME. An
 *   encrypted block's plaintext, or a signed message's text, replaces the whole entity as
 *   text/plain in the part's charset; a cleartext signature is verified and the text is
 *   delivered as it arrived.
 * - Blocks inside other text: a partial layer (sg_layer.partial), and nothing is opened: the
 *   text part is delivered exactly as it arrived. An encrypted block is not decrypted at all
 *   (the layer is encrypted, no-key for everyone, reason embedded-ciphertext): whoever wrote
 *   the text around it would get its plaintext back in the reply. Signed blocks are verified
 *   and reported, but no such signature counts for the message.
 * SECURITY: the text is untrusted; scans are bounded by its length and by MAX_BLOCKS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/pgp_packet.h"
#include "engine/pgp/engine_pgp_int.h"
#include "mime/mime.h"

#define MAX_BLOCKS 16

static const char BEGIN_MSG[] = "-----BEGIN PGP MESSAGE-----", END_MSG[] = "-----END PGP MESSAGE-----",
                  BEGIN_SIGNED[] = "-----BEGIN PGP SIGNED MESSAGE-----", END_SIG[] = "-----END PGP SIGNATURE-----";

enum { B_ENCRYPTED, B_SIGNED_MSG, B_CLEARSIGNED, B_UNKNOWN };

typedef struct block {
    size_t start, end; /* [start, end): from the BEGIN line to the end of the END line */
    int kind;
} block;

static bool ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The line at p starts with marker followed only by whitespace up to its end. */
static bool marker_line(const char *t, size_t n, size_t p, const char *marker)
{
    size_t ml = strlen(marker);
    if (n - p < ml || memcmp(t + p, marker, ml) != 0)
        return false;
    for (p += ml; p < n && t[p] != '\n'; p++)
        if (!ws(t[p]))
            return false;
    return true;
}

static size_t next_line(const char *t, size_t n, size_t p)
{
    const char *lf = memchr(t + p, '\n', n - p);
    return lf ? (size_t)(lf - t) + 1 : n;
}

/* The line at p holds only whitespace, counting a no-break space (U+00A0 in UTF-8 or Latin-1)
 * as whitespace: some clients put one on the empty line after the armor headers. */
static bool blank_at(const char *t, size_t n, size_t p)
{
    const unsigned char *u = (const unsigned char *)t;
    while (p < n && u[p] != '\n') {
        if (u[p] == 0xc2 && p + 1 < n && u[p + 1] == 0xa0)
            p += 2;
        else if (u[p] == ' ' || u[p] == '\t' || u[p] == '\r' || u[p] == 0xa0)
            p++;
        else
            return false;
    }
    return true;
}

/* An armored message (not cleartext: no signed text inside) with such blank lines made empty,
 * for librnp. malloc'd, NUL-terminated. */
static char *armor_copy(const char *t, size_t n, size_t *olen)
{
    char *o = malloc(n + 1);
    size_t k = 0;
    if (!o)
        return NULL;
    for (size_t p = 0; p < n;) {
        size_t e = next_line(t, n, p);
        if (blank_at(t, n, p)) {
            o[k++] = '\n';
        } else {
            memcpy(o + k, t + p, e - p);
            k += e - p;
        }
        p = e;
    }
    o[k] = '\0';
    *olen = k;
    return o;
}

/* The packet tag of the first packet after the armor headers, -1 when it cannot be read. */
static int first_packet_tag(const char *t, size_t n)
{
    size_t p = next_line(t, n, 0);
    while (p < n) { /* armor headers up to the first empty line */
        bool blank = blank_at(t, n, p);
        p = next_line(t, n, p);
        if (blank)
            break;
    }
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (n - p < 2 || !t[p] || !t[p + 1])
        return -1;
    const char *c0 = strchr(b64, t[p]), *c1 = strchr(b64, t[p + 1]);
    if (!c0 || !c1)
        return -1;
    unsigned char octet = (unsigned char)(((c0 - b64) << 2) | ((c1 - b64) >> 4));
    if (!(octet & 0x80))
        return -1;
    return octet & 0x40 ? (octet & 0x3f) : ((octet >> 2) & 0x0f);
}

/* The armored blocks of a text (markers at the start of a line); their number, at most max. */
static size_t find_blocks(const char *t, size_t n, block *b, size_t max)
{
    size_t nb = 0;
    for (size_t p = 0; p < n && nb < max; p = next_line(t, n, p)) {
        bool msg = marker_line(t, n, p, BEGIN_MSG), cs = !msg && marker_line(t, n, p, BEGIN_SIGNED);
        if (!msg && !cs)
            continue;
        const char *end = msg ? END_MSG : END_SIG;
        size_t q = next_line(t, n, p);
        while (q < n && !marker_line(t, n, q, end))
            q = next_line(t, n, q);
        if (q >= n)
            break; /* no end marker: not a block */
        b[nb].start = p;
        b[nb].end = next_line(t, n, q);
        if (cs) {
            b[nb].kind = B_CLEARSIGNED;
        } else {
            int tag = first_packet_tag(t + p, b[nb].end - p);
            b[nb].kind = tag == 1 || tag == 3                ? B_ENCRYPTED
                         : tag == 4 || tag == 8 || tag == 11 ? B_SIGNED_MSG
                                                             : B_UNKNOWN;
        }
        nb++;
        p = q;
    }
    return nb;
}

/* Only whitespace outside the one block. */
static bool whole(const char *t, size_t n, const block *b)
{
    for (size_t i = 0; i < b->start; i++)
        if (!ws(t[i]))
            return false;
    for (size_t i = b->end; i < n; i++)
        if (!ws(t[i]))
            return false;
    return true;
}

static int encrypted_block(const char *t, size_t n)
{
    size_t alen = 0;
    char *arm = armor_copy(t, n, &alen);
    int enc = arm && sg_pgp_text_is_encrypted(arm, alen);
    free(arm);
    return enc ? SG_LAYER_ENCRYPTED : SG_LAYER_NONE;
}

int sg_pgp_inline_detect(const char *msg, size_t len)
{
    char *text = NULL, *charset = NULL;
    size_t tlen = 0;
    int kind = SG_LAYER_NONE;
    block b[2];
    /* Only a whole-text block makes the message encrypted or signed as a whole (a pasted block
     * inside other text must not stop the gateway from protecting the message), and a block
     * is encrypted only when its packets parse as encryption, not for its first byte. */
    if (sg_pgp_plain_text(msg, len, &text, &tlen, &charset) == 1 && find_blocks(text, tlen, b, 2) == 1 &&
        whole(text, tlen, &b[0]))
        kind = b[0].kind == B_ENCRYPTED ? encrypted_block(text + b[0].start, b[0].end - b[0].start)
               : b[0].kind == B_UNKNOWN ? SG_LAYER_NONE
                                        : SG_LAYER_SIGNED;
    free(text);
    free(charset);
    return kind;
}

/* text, CRLF, as a text/plain entity. */
static int text_part(const char *text, size_t tlen, const char *charset, sg_buf *out)
{
    sg_buf crlf;
    sg_buf_init(&crlf, SG_MIME_MAX_OUT);
    int rc = sg_mime_to_crlf(text, tlen, &crlf);
    if (rc == 0)
        rc = sg_pgp_text_entity(crlf.data ? crlf.data : "", crlf.len, charset, NULL, NULL, out);
    if (crlf.data)
        memset(crlf.data, 0, crlf.len);
    sg_buf_free(&crlf);
    return rc;
}

static int set_inner(sg_layer *out, sg_buf *b)
{
    if (sg_buf_append(b, "", 1) < 0)
        return -1;
    out->inner = b->data;
    out->innerlen = b->len - 1;
    memset(b, 0, sizeof *b);
    return 0;
}

/* One whole-text block: a layer like PGP/MIME. */
static int peel_whole(const sg_peel_req *req, const char *text, size_t tlen, const char *charset, int kind,
                      sg_layer *out)
{
    sg_buf ent;
    sg_buf_init(&ent, SG_MIME_MAX_OUT);
    char *opened = NULL;
    size_t olen = 0;
    int rc = 0;
    if (kind == B_ENCRYPTED) {
        sg_pgp_decrypted d;
        size_t alen = 0;
        char *arm = armor_copy(text, tlen, &alen);
        rc = arm ? sg_engine_pgp_decrypt(req, arm, alen, out, &d) : -1;
        free(arm);
        if (rc < 0)
            memset(&d, 0, sizeof d);
        if (rc == 0 && d.status == SG_DEC_OK)
            rc = text_part(d.plain, d.plainlen, charset, &ent) < 0 || set_inner(out, &ent) < 0 ? -1 : 0;
        if (d.plain)
            memset(d.plain, 0, d.plainlen);
        sg_pgp_decrypted_free(&d);
    } else {
        out->kind = SG_LAYER_SIGNED;
        out->method = SG_METHOD_PGP;
        size_t alen = tlen;
        char *arm = kind == B_SIGNED_MSG ? armor_copy(text, tlen, &alen) : NULL; /* cleartext: as signed */
        rc = kind == B_SIGNED_MSG && !arm ? -1
                                          : sg_pgp_ops_verify_inline(sg_engine_pgp_keys(), req->from, arm ? arm : text,
                                                                     alen, sg_engine_pgp_max_plain(req, alen),
                                                                     &opened, &olen, &out->sig);
        free(arm);
        /* A signed message's text is readable only once opened; cleartext is delivered as is. */
        if (rc == 0 && kind == B_SIGNED_MSG && opened)
            rc = text_part(opened, olen, charset, &ent) < 0 || set_inner(out, &ent) < 0 ? -1 : 0;
    }
    free(opened);
    sg_buf_free(&ent);
    return rc;
}

/* Keeps the first valid verdict, else the first invalid one. */
static void keep_sig(sg_sig_verdict *keep, const sg_sig_verdict *v)
{
    if (v->sig == SG_SIG_VALID ? keep->sig != SG_SIG_VALID : (v->sig == SG_SIG_INVALID && keep->sig == SG_SIG_NONE))
        *keep = *v;
}

/* One signed block inside other text: verified, never opened. */
static int partial_signed(const sg_peel_req *req, const char *bt, size_t blen, int kind, sg_sig_verdict *v)
{
    char *opened = NULL;
    size_t olen = 0, alen = blen;
    char *arm = kind == B_SIGNED_MSG ? armor_copy(bt, blen, &alen) : NULL; /* cleartext: as signed */
    int rc = kind == B_SIGNED_MSG && !arm
                 ? -1
                 : sg_pgp_ops_verify_inline(sg_engine_pgp_keys(), req->from, arm ? arm : bt, alen,
                                            sg_engine_pgp_max_plain(req, alen), &opened, &olen, v);
    free(arm);
    free(opened);
    return rc;
}

/* Blocks inside other text: a partial layer that opens nothing (see the header comment). */
static int peel_partial(const sg_peel_req *req, const char *text, const block *bl, size_t nb, sg_layer *out)
{
    size_t nenc = 0;
    for (size_t i = 0; i < nb; i++) {
        sg_sig_verdict v = {0};
        if (bl[i].kind == B_ENCRYPTED)
            nenc++;
        else if (bl[i].kind != B_UNKNOWN &&
                 partial_signed(req, text + bl[i].start, bl[i].end - bl[i].start, bl[i].kind, &v) < 0)
            return -1;
        keep_sig(&out->sig, &v);
    }
    if (!nenc && out->sig.sig == SG_SIG_NONE)
        return 0; /* nothing OpenPGP could make sense of: no layer */
    out->kind = nenc ? SG_LAYER_ENCRYPTED : SG_LAYER_SIGNED;
    out->method = SG_METHOD_PGP;
    out->partial = true;
    if (nenc) {
        out->dec = SG_DEC_NO_KEY;
        snprintf(out->reason, sizeof out->reason, "embedded-ciphertext");
        if (!(out->readable = calloc(req->nrcpt ? req->nrcpt : 1, sizeof *out->readable)))
            return -1;
    }
    return 0;
}

int sg_pgp_inline_peel(const sg_peel_req *req, const char *msg, size_t len, sg_layer *out)
{
    char *text = NULL, *charset = NULL;
    size_t tlen = 0;
    block b[MAX_BLOCKS];
    out->kind = SG_LAYER_NONE;
    int pt = sg_pgp_plain_text(msg, len, &text, &tlen, &charset);
    if (pt < 0)
        return -1;
    size_t nb = pt == 1 ? find_blocks(text, tlen, b, MAX_BLOCKS) : 0;
    int rc = 0;
    if (nb == 1 && whole(text, tlen, &b[0]) && b[0].kind != B_UNKNOWN)
        rc = peel_whole(req, text, tlen, charset, b[0].kind, out);
    else if (nb > 0)
        rc = peel_partial(req, text, b, nb, out);
    if (text)
        memset(text, 0, tlen);
    free(text);
    free(charset);
    return rc;
}
