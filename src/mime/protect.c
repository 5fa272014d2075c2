/* protect.c - header work around the encrypted entity: protected headers inside (RFC 9788
 * style, "v1"), the outer multipart/encrypted message (RFC 3156 section 4), and the outer
 * message after decryption with sealgate's stamps. Owner: src/mime.
 * Header fields that are kept are copied raw (only bare LF becomes CRLF); nothing is re-folded
 * or re-encoded. */
#include <gmime/gmime.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/mime.h"
#include "mime/mime_stream.h"
#include "mime/mime_int.h"
#include "mime/rawmsg.h"

/* The fields copied into the encrypted entity by default (Subject always is); the outer
 * Subject becomes "..." because the outer header travels in the clear. */
static const char *const default_protected[] = {"From",       "To",       "Cc",          "Date",
                                                "Message-ID", "Reply-To", "In-Reply-To", "References"};
#define NDEFAULT_PROTECTED (sizeof default_protected / sizeof default_protected[0])

static bool is_protected_field(const sg_rawhdr *h, const char *const *names, size_t n)
{
    if (sg_rawhdr_is(h, "Subject"))
        return true;
    for (size_t i = 0; i < n; i++)
        if (sg_rawhdr_is(h, names[i]))
            return true;
    return false;
}

int sg_mime_to_crlf(const char *s, size_t n, sg_buf *out)
{
    return sg_mime_append_crlf(out, s, n);
}

bool sg_mime_is_stamp_field(const char *name, size_t namelen)
{
    return namelen >= 11 && strncasecmp(name, "X-Sealgate-", 11) == 0;
}

static bool is_stamp(const sg_rawhdr *h)
{
    return sg_mime_is_stamp_field(h->name, h->namelen);
}

static int raw(sg_buf *out, const sg_rawhdr *h)
{
    return sg_mime_append_crlf(out, h->raw, h->rawlen);
}

static bool has_8bit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return true;
    return false;
}

/* A protected copy of h. The inner entity must be 7-bit (it is signed), so a field with raw
 * UTF-8 (RFC 6532) is re-encoded with RFC 2047 encoded words; others are copied raw. */
static int protected_copy(sg_buf *out, const sg_rawhdr *h)
{
    if (!has_8bit(h->raw, h->rawlen))
        return raw(out, h);
    char *v = sg_rawhdr_value(h);
    if (!v)
        return -1;
    char *enc = NULL;
    if (sg_rawhdr_is(h, "From") || sg_rawhdr_is(h, "To") || sg_rawhdr_is(h, "Cc") ||
        sg_rawhdr_is(h, "Reply-To")) {
        InternetAddressList *l = internet_address_list_parse(NULL, v);
        if (l && internet_address_list_length(l) > 0)
            enc = internet_address_list_to_string(l, NULL, TRUE);
        if (l)
            g_object_unref(l);
    }
    if (!enc)
        enc = g_mime_utils_header_encode_text(NULL, v, "utf-8");
    free(v);
    if (!enc)
        return -1;
    char *line = g_strdup_printf("%.*s: %s", (int)h->namelen, h->name, enc);
    g_free(enc);
    char *folded = g_mime_utils_unstructured_header_fold(NULL, NULL, line);
    g_free(line);
    if (!folded)
        return -1;
    int rc = sg_mime_append_crlf(out, folded, strlen(folded));
    size_t fl = strlen(folded);
    if (rc == 0 && (fl == 0 || folded[fl - 1] != '\n'))
        rc = sg_buf_append(out, "\r\n", 2);
    g_free(folded);
    return rc;
}

int sg_mime_protected_entity(const char *msg, size_t len, sg_buf *out)
{
    return sg_mime_protected_entity_with(msg, len, default_protected, NDEFAULT_PROTECTED, out);
}

int sg_mime_protected_entity_with(const char *msg, size_t len, const char *const *names, size_t n, sg_buf *out)
{
    sg_buf canon;
    sg_buf_init(&canon, SG_MIME_MAX_OUT);
    sg_rawmsg m = {0}, e = {0};
    int rc = -1;
    if (sg_mime_canonical_entity(msg, len, &canon) < 0 || sg_rawmsg_parse(msg, len, &m) < 0 ||
        sg_rawmsg_parse(canon.data, canon.len, &e) < 0)
        goto out;
    const sg_rawhdr *ct = sg_rawmsg_find(&e, "Content-Type");
    if (ct) {
        /* The raw value, folding kept, with the parameter appended. */
        if (sg_buf_append(out, ct->raw, (size_t)(ct->value - ct->raw) + ct->valuelen) < 0 ||
            sg_buf_append(out, "; protected-headers=\"v1\"\r\n", 26) < 0)
            goto out;
    } else if (sg_buf_appendf(
                   out, "Content-Type: text/plain; charset=us-ascii; protected-headers=\"v1\"\r\n") < 0) {
        goto out;
    }
    for (size_t i = 0; i < m.nh; i++)
        if (is_protected_field(&m.h[i], names, n) && protected_copy(out, &m.h[i]) < 0)
            goto out;
    for (size_t i = 0; i < e.nh; i++)
        if (&e.h[i] != ct && raw(out, &e.h[i]) < 0)
            goto out;
    if (sg_buf_append(out, "\r\n", 2) < 0 || sg_buf_append(out, e.body, e.bodylen) < 0)
        goto out;
    rc = 0;
out:
    sg_rawmsg_free(&e);
    sg_rawmsg_free(&m);
    sg_buf_free(&canon);
    return rc;
}

int sg_mime_new_boundary(char *out, size_t n)
{
    unsigned char rnd[12];
    if (n < 2 * sizeof rnd + 10 || RAND_bytes(rnd, sizeof rnd) != 1)
        return -1;
    int k = snprintf(out, n, "sealgate-");
    for (size_t i = 0; i < sizeof rnd; i++)
        k += snprintf(out + k, n - (size_t)k, "%02x", rnd[i]);
    return 0;
}

int sg_mime_outer_fields(const char *msg, size_t len, const char *subject, sg_buf *out)
{
    sg_rawmsg m;
    if (sg_rawmsg_parse(msg, len, &m) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < m.nh && rc == 0; i++) {
        const sg_rawhdr *h = &m.h[i];
        if (sg_rawhdr_is_content(h) || sg_rawhdr_is(h, "MIME-Version"))
            continue;
        if (subject && sg_rawhdr_is(h, "Subject"))
            rc = sg_buf_appendf(out, "Subject: %s\r\n", subject);
        else
            rc = raw(out, h);
    }
    sg_rawmsg_free(&m);
    return rc;
}

int sg_mime_wrap_encrypted(const char *msg, size_t len, const char *armored, size_t alen, sg_buf *out)
{
    return sg_mime_wrap_encrypted_with(msg, len, armored, alen, "...", out);
}

int sg_mime_wrap_encrypted_with(const char *msg, size_t len, const char *armored, size_t alen, const char *subject,
                                sg_buf *out)
{
    char boundary[64];
    if (sg_mime_new_boundary(boundary, sizeof boundary) < 0 ||
        sg_mime_encrypted_head(msg, len, subject, boundary, out) < 0 || sg_mime_append_crlf(out, armored, alen) < 0)
        return -1;
    return sg_mime_encrypted_tail(alen ? armored[alen - 1] : 0, boundary, out);
}

int sg_mime_encrypted_head(const char *msg, size_t len, const char *subject, const char *boundary, sg_buf *out)
{
    if (sg_mime_outer_fields(msg, len, subject, out) < 0)
        return -1;
    return sg_buf_appendf(out,
                          "MIME-Version: 1.0\r\n"
                          "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";\r\n"
                          " boundary=\"%s\"\r\n"
                          "\r\n"
                          "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n"
                          "--%s\r\n"
                          "Content-Type: application/pgp-encrypted\r\n"
                          "Content-Description: PGP/MIME version identification\r\n"
                          "\r\n"
                          "Version: 1\r\n"
                          "\r\n"
                          "--%s\r\n"
                          "Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n"
                          "Content-Description: OpenPGP encrypted message\r\n"
                          "Content-Disposition: inline; filename=\"encrypted.asc\"\r\n"
                          "\r\n",
                          boundary, boundary, boundary) < 0
               ? -1
               : 0;
}

int sg_mime_encrypted_tail(char last, const char *boundary, sg_buf *out)
{
    if (last && last != '\n' && sg_buf_append(out, "\r\n", 2) < 0)
        return -1;
    return sg_buf_appendf(out, "--%s--\r\n", boundary) < 0 ? -1 : 0;
}

/* The entity's Content-Type has protected-headers="v1". */
static bool has_protected_headers(const sg_rawmsg *e)
{
    if (!e->nh)
        return false;
    const sg_rawhdr *h = sg_rawmsg_find(e, "Content-Type");
    char *v = h ? sg_rawhdr_value(h) : NULL;
    if (!v)
        return false;
    GMimeContentType *ct = g_mime_content_type_parse(NULL, v);
    free(v);
    const char *p = ct ? g_mime_content_type_get_parameter(ct, "protected-headers") : NULL;
    bool yes = p && strcasecmp(p, "v1") == 0;
    if (ct)
        g_object_unref(ct);
    return yes;
}

bool sg_mime_entity_protected(const sg_rawmsg *e)
{
    return has_protected_headers(e);
}

/* name appears among e's fields. */
static bool in_entity(const sg_rawmsg *e, const sg_rawhdr *h)
{
    for (size_t i = 0; i < e->nh; i++)
        if (e->h[i].namelen == h->namelen && strncasecmp(e->h[i].name, h->name, h->namelen) == 0)
            return true;
    return false;
}

bool sg_mime_has_protected_headers(const char *entity, size_t elen)
{
    sg_rawmsg e = {0};
    bool yes = entity && sg_rawmsg_parse(entity, elen, &e) == 0 && has_protected_headers(&e);
    sg_rawmsg_free(&e);
    return yes;
}

/* Fields that decide where a reply goes: with protected headers they come from the entity
 * only, so a wrapper around someone else's ciphertext cannot redirect the answer. */
static bool steers_replies(const sg_rawhdr *h)
{
    static const char *const names[] = {"Reply-To", "Mail-Followup-To", "From", "To", "Cc"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (sg_rawhdr_is(h, names[i]))
            return true;
    return false;
}

int sg_mime_unwrap(const char *msg, size_t len, const char *entity, size_t elen, const char *stamps,
                   sg_buf *out)
{
    sg_rawmsg m = {0}, e = {0};
    int rc = -1;
    if (sg_rawmsg_parse(msg, len, &m) < 0)
        goto out;
    if (sg_rawmsg_parse(entity, elen, &e) < 0) {
        /* Not a MIME entity (some clients encrypt bare text): all of it is the body, which
         * MIME's defaults make text/plain. */
        e.body = entity;
        e.bodylen = elen;
    }
    bool prot = has_protected_headers(&e);
    if (sg_buf_append(out, stamps, strlen(stamps)) < 0)
        goto out;
    for (size_t i = 0; i < m.nh; i++) {
        const sg_rawhdr *h = &m.h[i];
        if (sg_rawhdr_is_content(h) || is_stamp(h) || (prot && (in_entity(&e, h) || steers_replies(h))))
            continue;
        if (raw(out, h) < 0)
            goto out;
    }
    /* Restored protected fields (only when the sender marked them so), then the entity's own
     * Content-* fields. Stamps inside the entity are as untrusted as outer ones. */
    for (size_t i = 0; i < e.nh; i++) {
        const sg_rawhdr *h = &e.h[i];
        if (is_stamp(h) || sg_rawhdr_is(h, "MIME-Version") || (!prot && !sg_rawhdr_is_content(h)))
            continue;
        if (raw(out, h) < 0)
            goto out;
    }
    if (sg_buf_append(out, "\r\n", 2) < 0 || sg_buf_append(out, e.body, e.bodylen) < 0)
        goto out;
    rc = 0;
out:
    sg_rawmsg_free(&e);
    sg_rawmsg_free(&m);
    return rc;
}

int sg_mime_restamp(const char *msg, size_t len, const char *stamps, sg_buf *out)
{
    sg_rawmsg m;
    if (sg_rawmsg_parse(msg, len, &m) < 0)
        return -1;
    int rc = sg_buf_append(out, stamps, strlen(stamps));
    for (size_t i = 0; i < m.nh && rc == 0; i++)
        if (!is_stamp(&m.h[i]))
            rc = sg_buf_append(out, m.h[i].raw, m.h[i].rawlen);
    /* The empty line that ended the header, exactly as it was. */
    size_t hdr_end = (size_t)(m.body - msg);
    size_t last = m.nh ? (size_t)(m.h[m.nh - 1].raw + m.h[m.nh - 1].rawlen - msg) : 0;
    if (rc == 0 && hdr_end > last)
        rc = sg_buf_append(out, msg + last, hdr_end - last);
    else if (rc == 0)
        rc = sg_buf_append(out, "\r\n", 2);
    if (rc == 0)
        rc = sg_buf_append(out, m.body, m.bodylen);
    sg_rawmsg_free(&m);
    return rc;
}
