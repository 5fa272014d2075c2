/* detect.c - recognising PGP/MIME (RFC 3156) at the top level of a message and extracting
 * its pieces. Owner: src/mime. Input is untrusted; this is the entry point of fuzz_mime_detect.
 * Only the exact structure counts: two parts, the right types in the right order, and for
 * encrypted messages the "Version: 1" control part. Anything else is SG_MIME_OTHER, which
 * callers pass on unchanged. */
#include <ctype.h>
#include <gmime/gmime.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/mime.h"
#include "mime/rawmsg.h"

void sg_mime_init(void)
{
    /* GMime keeps global state (charset tables, type registry); set it up once, whichever
     * thread asks first (the web role's threads may, for a policy explanation). */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, g_mime_init);
}

/* The Content-Type of a raw header block, parsed; NULL when absent. */
static GMimeContentType *content_type(const sg_rawmsg *m)
{
    const sg_rawhdr *h = sg_rawmsg_find(m, "Content-Type");
    if (!h)
        return NULL;
    char *v = sg_rawhdr_value(h);
    if (!v)
        return NULL;
    GMimeContentType *ct = g_mime_content_type_parse(NULL, v);
    free(v);
    return ct;
}

/* The top-level entity of a message: its raw header and body, its parsed Content-Type (NULL
 * when absent) and boundary (NULL when none). */
typedef struct top {
    sg_rawmsg m;
    GMimeContentType *ct;
    const char *boundary;
} top;

static int top_open(const char *msg, size_t len, top *t)
{
    if (sg_rawmsg_parse(msg, len, &t->m) < 0)
        return -1;
    t->ct = content_type(&t->m);
    t->boundary = t->ct ? g_mime_content_type_get_parameter(t->ct, "boundary") : NULL;
    return 0;
}

static void top_close(top *t)
{
    if (t->ct)
        g_object_unref(t->ct);
    sg_rawmsg_free(&t->m);
}

static bool is_type(GMimeContentType *ct, const char *type, const char *sub)
{
    return ct && g_mime_content_type_is_type(ct, type, sub);
}

static bool param_is(GMimeContentType *ct, const char *name, const char *want)
{
    const char *v = ct ? g_mime_content_type_get_parameter(ct, name) : NULL;
    return v && strcasecmp(v, want) == 0;
}

/* The decoded body of one raw part (its Content-Transfer-Encoding undone). 0 or -1. */
static int decoded_body(const sg_rawpart *part, char **out, size_t *outlen)
{
    GMimeStream *in = g_mime_stream_mem_new_with_buffer(part->data, part->len);
    GMimeParser *parser = g_mime_parser_new_with_stream(in);
    GMimeObject *obj = g_mime_parser_construct_part(parser, NULL);
    int rc = -1;
    if (obj && GMIME_IS_PART(obj)) {
        GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(obj));
        GMimeStream *mem = g_mime_stream_mem_new();
        if (w && g_mime_data_wrapper_write_to_stream(w, mem) >= 0) {
            GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
            if ((*out = malloc(ba->len + 1))) {
                if (ba->len) /* an empty GByteArray has no data pointer */
                    memcpy(*out, ba->data, ba->len);
                (*out)[ba->len] = '\0';
                *outlen = ba->len;
                rc = 0;
            }
        }
        g_object_unref(mem);
    }
    if (obj)
        g_object_unref(obj);
    g_object_unref(parser);
    g_object_unref(in);
    return rc;
}

/* The body of a part whose transfer encoding changes nothing (none, 7bit, 8bit, binary),
 * pointing into the part: 1 found, 0 when it must be decoded (or the part does not parse). */
static int identity_body(const sg_rawpart *part, const char **out, size_t *outlen)
{
    sg_rawmsg pm;
    if (sg_rawmsg_parse(part->data, part->len, &pm) < 0)
        return 0;
    const sg_rawhdr *h = sg_rawmsg_find(&pm, "Content-Transfer-Encoding");
    char *v = h ? sg_rawhdr_value(h) : NULL;
    int found =
        !h ||
        (v && (strcasecmp(v, "7bit") == 0 || strcasecmp(v, "8bit") == 0 || strcasecmp(v, "binary") == 0));
    if (found) {
        *out = pm.body;
        *outlen = pm.bodylen;
    }
    free(v);
    sg_rawmsg_free(&pm);
    return found;
}

/* The control part says "Version: 1" (RFC 3156 section 4), ignoring whitespace and case. */
static bool version_one(const char *s, size_t n)
{
    static const char want[] = "version:1";
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (isspace((unsigned char)s[i]))
            continue;
        if (k >= sizeof want - 1 || tolower((unsigned char)s[i]) != want[k])
            return false;
        k++;
    }
    return k == sizeof want - 1;
}

static int check_part(const sg_rawpart *part, const char *type, const char *sub)
{
    sg_rawmsg pm;
    if (sg_rawmsg_parse(part->data, part->len, &pm) < 0)
        return 0;
    GMimeContentType *ct = content_type(&pm);
    int ok = is_type(ct, type, sub);
    if (ct)
        g_object_unref(ct);
    sg_rawmsg_free(&pm);
    return ok;
}

/* The control part ("Version: 1") and the data part of RFC 3156 section 4. */
static int encrypted_pair(const sg_rawpart *ctlpart, const sg_rawpart *data, sg_mime_pgp *out)
{
    if (!check_part(ctlpart, "application", "pgp-encrypted") || !check_part(data, "application", "octet-stream"))
        return 0;
    char *ctl = NULL;
    size_t ctllen = 0;
    if (decoded_body(ctlpart, &ctl, &ctllen) < 0)
        return -1;
    bool v1 = version_one(ctl, ctllen);
    free(ctl);
    if (!v1)
        return 0;
    if (identity_body(data, &out->cipher, &out->cipherlen) == 0) {
        if (decoded_body(data, &out->cipher_own, &out->cipherlen) < 0)
            return -1;
        out->cipher = out->cipher_own;
    }
    out->kind = SG_MIME_PGP_ENCRYPTED;
    return 0;
}

static int detect_encrypted(const sg_rawmsg *m, const char *boundary, sg_mime_pgp *out)
{
    sg_rawpart parts[3];
    if (sg_rawmsg_split(m->body, m->bodylen, boundary, parts, 3) != 2)
        return 0;
    return encrypted_pair(&parts[0], &parts[1], out);
}

/* The first part of a "mixed-up" message holds no text of its own: empty, or ProtonMail's
 * fixed placeholder. Anything else could be someone's words, which the decrypted entity would
 * silently replace. */
static bool placeholder(const sg_rawpart *part)
{
    char *t = NULL;
    size_t n = 0;
    if (!check_part(part, "text", "plain") || decoded_body(part, &t, &n) < 0)
        return false;
    size_t a = 0, b = n;
    while (a < b && isspace((unsigned char)t[a]))
        a++;
    while (b > a && isspace((unsigned char)t[b - 1]))
        b--;
    bool ok = b == a || (b - a == 13 && memcmp(t + a, "Empty Message", 13) == 0);
    free(t);
    return ok;
}

int sg_mime_detect_mixed_up(const char *msg, size_t len, sg_mime_pgp *out)
{
    memset(out, 0, sizeof *out);
    top t;
    if (top_open(msg, len, &t) < 0)
        return 0;
    sg_rawpart parts[4];
    int rc = 0;
    if (t.boundary && is_type(t.ct, "multipart", "mixed") &&
        sg_rawmsg_split(t.m.body, t.m.bodylen, t.boundary, parts, 4) == 3 && placeholder(&parts[0]))
        rc = encrypted_pair(&parts[1], &parts[2], out);
    top_close(&t);
    if (rc < 0)
        sg_mime_pgp_free(out);
    return rc;
}

static int detect_signed(const sg_rawmsg *m, const char *boundary, sg_mime_pgp *out)
{
    sg_rawpart parts[3];
    if (sg_rawmsg_split(m->body, m->bodylen, boundary, parts, 3) != 2)
        return 0;
    if (!check_part(&parts[1], "application", "pgp-signature"))
        return 0;
    if (decoded_body(&parts[1], &out->sig, &out->siglen) < 0)
        return -1;
    out->signed_data = parts[0].data;
    out->signed_len = parts[0].len;
    out->kind = SG_MIME_PGP_SIGNED;
    return 0;
}

int sg_mime_detect(const char *msg, size_t len, sg_mime_pgp *out)
{
    memset(out, 0, sizeof *out);
    top t;
    if (top_open(msg, len, &t) < 0)
        return 0; /* not a usable message: OTHER */
    int rc = 0;
    if (t.boundary && is_type(t.ct, "multipart", "encrypted") &&
        param_is(t.ct, "protocol", "application/pgp-encrypted"))
        rc = detect_encrypted(&t.m, t.boundary, out);
    else if (t.boundary && is_type(t.ct, "multipart", "signed") &&
             param_is(t.ct, "protocol", "application/pgp-signature"))
        rc = detect_signed(&t.m, t.boundary, out);
    top_close(&t);
    if (rc < 0)
        sg_mime_pgp_free(out);
    return rc;
}

bool sg_mime_top_is(const char *msg, size_t len, const char *type, const char *sub)
{
    top t;
    if (top_open(msg, len, &t) < 0)
        return false;
    /* no Content-Type: text/plain (RFC 2045 section 5.2) */
    bool is = t.ct ? is_type(t.ct, type, sub) : strcmp(type, "text") == 0 && strcmp(sub, "plain") == 0;
    top_close(&t);
    return is;
}

int sg_mime_signed_content(const char *msg, size_t len, const char **part, size_t *plen)
{
    top t;
    if (top_open(msg, len, &t) < 0)
        return 0;
    sg_rawpart parts[3];
    int found = t.boundary && is_type(t.ct, "multipart", "signed") &&
                sg_rawmsg_split(t.m.body, t.m.bodylen, t.boundary, parts, 3) == 2;
    if (found) {
        *part = parts[0].data;
        *plen = parts[0].len;
    }
    top_close(&t);
    return found;
}

void sg_mime_pgp_free(sg_mime_pgp *p)
{
    free(p->cipher_own);
    free(p->sig);
    memset(p, 0, sizeof *p);
}
