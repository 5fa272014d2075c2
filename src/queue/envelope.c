/* envelope.c - envelope serialisation and queue-file parsing. Owner: src/queue.
 * The parser is fed files that may be torn or tampered with (the corrupt/ state exists for
 * them), so it checks every length and never trusts the header's claims. */
#include "queue/envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xtext.h"

void sg_env_init(sg_envelope *e)
{
    memset(e, 0, sizeof *e);
}

void sg_env_free(sg_envelope *e)
{
    free(e->client);
    free(e->helo);
    free(e->from);
    free(e->envid);
    free(e->ret);
    free(e->body);
    free(e->last_error);
    for (size_t i = 0; i < e->nrcpt; i++) {
        free(e->rcpt[i].addr);
        free(e->rcpt[i].notify);
        free(e->rcpt[i].orcpt);
    }
    free(e->rcpt);
    memset(e, 0, sizeof *e);
}

int sg_env_set(char **dst, const char *v)
{
    char *c = NULL;
    if (v && !(c = strdup(v)))
        return -1;
    free(*dst);
    *dst = c;
    return 0;
}

int sg_env_add_rcpt(sg_envelope *e, const char *addr, const char *notify, const char *orcpt)
{
    if (e->nrcpt == e->rcpt_cap) {
        size_t cap = e->rcpt_cap ? e->rcpt_cap * 2 : 4;
        sg_rcpt *r = realloc(e->rcpt, cap * sizeof *r);
        if (!r)
            return -1;
        e->rcpt = r;
        e->rcpt_cap = cap;
    }
    sg_rcpt *r = &e->rcpt[e->nrcpt];
    memset(r, 0, sizeof *r);
    if (sg_env_set(&r->addr, addr) < 0 || sg_env_set(&r->notify, notify) < 0 ||
        sg_env_set(&r->orcpt, orcpt) < 0) {
        free(r->addr);
        free(r->notify);
        free(r->orcpt);
        return -1;
    }
    e->nrcpt++;
    return 0;
}

int sg_env_copy_without_rcpts(sg_envelope *d, const sg_envelope *s)
{
    sg_env_init(d);
    memcpy(d->id, s->id, sizeof d->id);
    d->created = s->created;
    d->smtputf8 = s->smtputf8;
    d->decrypted = s->decrypted; /* a deferred copy of decrypted mail stays marked */
    d->pdf_reply = s->pdf_reply;
    d->attempts = s->attempts;
    d->next_attempt = s->next_attempt;
    if (sg_env_set(&d->client, s->client) < 0 || sg_env_set(&d->helo, s->helo) < 0 ||
        sg_env_set(&d->from, s->from) < 0 || sg_env_set(&d->envid, s->envid) < 0 ||
        sg_env_set(&d->ret, s->ret) < 0 || sg_env_set(&d->body, s->body) < 0 ||
        sg_env_set(&d->last_error, s->last_error) < 0) {
        sg_env_free(d);
        return -1;
    }
    return 0;
}

static int put(sg_buf *b, const char *key, const char *val)
{
    if (!val)
        return 0;
    char *x = sg_xtext_encode(val, strlen(val));
    if (!x)
        return -1;
    int rc = sg_buf_appendf(b, "%s %s\n", key, x);
    free(x);
    return rc;
}

int sg_env_serialize(const sg_envelope *e, sg_buf *b)
{
    int rc = 0;
    rc |= sg_buf_appendf(b, "%s %d\n", SG_ENV_MAGIC, SG_ENV_VERSION);
    rc |= sg_buf_appendf(b, "id %s\n", e->id);
    rc |= sg_buf_appendf(b, "created %lld\n", e->created);
    rc |= put(b, "client", e->client);
    rc |= put(b, "helo", e->helo);
    rc |= put(b, "from", e->from ? e->from : "");
    rc |= put(b, "envid", e->envid);
    rc |= put(b, "ret", e->ret);
    rc |= put(b, "body", e->body);
    if (e->smtputf8)
        rc |= sg_buf_appendf(b, "smtputf8 1\n");
    rc |= sg_buf_appendf(b, "attempts %d\n", e->attempts);
    rc |= sg_buf_appendf(b, "next-attempt %lld\n", e->next_attempt);
    rc |= put(b, "last-error", e->last_error);
    if (e->decrypted)
        rc |= sg_buf_appendf(b, "decrypted 1\n");
    if (e->pdf_reply)
        rc |= sg_buf_appendf(b, "origin pdf-reply\n");
    for (size_t i = 0; i < e->nrcpt; i++) {
        rc |= put(b, "rcpt", e->rcpt[i].addr);
        rc |= put(b, "notify", e->rcpt[i].notify);
        rc |= put(b, "orcpt", e->rcpt[i].orcpt);
    }
    rc |= sg_buf_appendf(b, "data\n");
    return rc ? -1 : 0;
}

void sg_env_trailer(size_t datalen, char out[SG_ENV_TRAILER_LEN + 1])
{
    snprintf(out, SG_ENV_TRAILER_LEN + 1, "END %016zx\n", datalen);
}

static int bad(char *err, size_t errlen, const char *why, int line)
{
    snprintf(err, errlen, "%s (header line %d)", why, line);
    return -1;
}

static int parse_ll(const char *v, long long *out)
{
    char *end;
    if (!*v)
        return -1;
    long long x = strtoll(v, &end, 10);
    if (*end)
        return -1;
    *out = x;
    return 0;
}

#define FAIL(msg)                                                                                            \
    do {                                                                                                     \
        why = (msg);                                                                                         \
        goto fail;                                                                                           \
    } while (0)

int sg_qfile_trailer(const char *tr, size_t filelen, size_t *datalen, char *err, size_t errlen)
{
    const char *why = NULL;
    int line = 0;
    if (filelen < SG_ENV_TRAILER_LEN)
        FAIL("file shorter than its trailer");
    if (memcmp(tr, "END ", 4) != 0 || tr[SG_ENV_TRAILER_LEN - 1] != '\n')
        FAIL("no end marker: torn or truncated file");
    size_t dlen = 0;
    for (int i = 4; i < 20; i++) {
        char c = tr[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            FAIL("malformed end marker");
        dlen = dlen << 4 | (size_t)v;
    }
    if (dlen > filelen - SG_ENV_TRAILER_LEN)
        FAIL("end marker length exceeds the file");
    *datalen = dlen;
    return 0;
fail:
    return bad(err, errlen, why, line);
}

int sg_qfile_parse(const char *buf, size_t len, sg_envelope *e, const char **data, size_t *datalen, char *err,
                   size_t errlen)
{
    size_t dlen;
    sg_env_init(e);
    if (sg_qfile_trailer(buf + (len < SG_ENV_TRAILER_LEN ? 0 : len - SG_ENV_TRAILER_LEN), len, &dlen, err,
                         errlen) < 0)
        return -1;
    size_t hdr_len = len - SG_ENV_TRAILER_LEN - dlen; /* header runs up to and including "data\n" */
    if (sg_qfile_header(buf, hdr_len, e, err, errlen) < 0)
        return -1;
    *data = buf + hdr_len;
    *datalen = dlen;
    return 0;
}

int sg_qfile_header(const char *buf, size_t hdr_len, sg_envelope *e, char *err, size_t errlen)
{
    sg_env_init(e);
    const char *why = NULL;
    int line = 0, version = 0;
    const char *p = buf, *hend = buf + hdr_len;
    int saw_data = 0;
    sg_rcpt *last = NULL;
    while (p < hend) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(hend - p));
        if (!nl)
            FAIL("header line without newline");
        size_t ll = (size_t)(nl - p);
        char lb[8192];
        if (ll >= sizeof lb)
            FAIL("header line too long");
        memcpy(lb, p, ll);
        lb[ll] = '\0';
        p = nl + 1;
        if (memchr(lb, '\0', ll))
            FAIL("NUL byte in header");
        if (line == 1) {
            char magic[32];
            int ver;
            if (sscanf(lb, "%31s %d", magic, &ver) != 2 || strcmp(magic, SG_ENV_MAGIC) != 0)
                FAIL("not a sealgate queue file");
            if (ver < SG_ENV_VERSION_MIN || ver > SG_ENV_VERSION)
                FAIL("unsupported queue file version");
            version = ver;
            continue;
        }
        if (strcmp(lb, "data") == 0) {
            if (p != hend)
                FAIL("data line in the wrong place");
            saw_data = 1;
            break;
        }
        char *sp = strchr(lb, ' ');
        if (!sp)
            FAIL("malformed header line");
        *sp = '\0';
        const char *key = lb, *raw = sp + 1;
        if (strcmp(key, "id") == 0) {
            if (strlen(raw) >= sizeof e->id || !*raw || strpbrk(raw, "/ "))
                FAIL("malformed header line");
            strcpy(e->id, raw);
            continue;
        }
        if (strcmp(key, "decrypted") == 0) {
            /* Version 2 on; only "1" is written, anything else is a damaged file. */
            if (version < 2 || strcmp(raw, "1") != 0)
                FAIL("malformed header line");
            e->decrypted = true;
            continue;
        }
        if (strcmp(key, "origin") == 0) {
            /* Version 2 on; the one origin there is (the pdf reply portal), else damaged. */
            if (version < 2 || strcmp(raw, "pdf-reply") != 0 || e->pdf_reply)
                FAIL("malformed header line");
            e->pdf_reply = true;
            continue;
        }
        if (strcmp(key, "created") == 0 || strcmp(key, "next-attempt") == 0 || strcmp(key, "attempts") == 0 ||
            strcmp(key, "smtputf8") == 0) {
            long long v;
            if (parse_ll(raw, &v) < 0)
                FAIL("malformed header line");
            if (key[0] == 'c')
                e->created = v;
            else if (key[0] == 'n')
                e->next_attempt = v;
            else if (key[0] == 'a')
                e->attempts = v < 0 ? 0 : v > 1000000 ? 1000000 : (int)v;
            else
                e->smtputf8 = v != 0;
            continue;
        }
        char *val = sg_xtext_decode(raw, NULL);
        if (!val)
            FAIL("malformed header line");
        char **dst = NULL;
        if (strcmp(key, "client") == 0)
            dst = &e->client;
        else if (strcmp(key, "helo") == 0)
            dst = &e->helo;
        else if (strcmp(key, "from") == 0)
            dst = &e->from;
        else if (strcmp(key, "envid") == 0)
            dst = &e->envid;
        else if (strcmp(key, "ret") == 0)
            dst = &e->ret;
        else if (strcmp(key, "body") == 0)
            dst = &e->body;
        else if (strcmp(key, "last-error") == 0)
            dst = &e->last_error;
        else if (strcmp(key, "rcpt") == 0) {
            int rc = sg_env_add_rcpt(e, val, NULL, NULL);
            free(val);
            if (rc < 0)
                FAIL("malformed header line");
            last = &e->rcpt[e->nrcpt - 1];
            continue;
        } else if (strcmp(key, "notify") == 0 && last)
            dst = &last->notify;
        else if (strcmp(key, "orcpt") == 0 && last)
            dst = &last->orcpt;
        if (!dst) {
            free(val);
            FAIL("malformed header line");
        }
        free(*dst);
        *dst = val;
    }
    if (!saw_data)
        FAIL("no data line");
    if (!e->id[0] || !e->from || e->nrcpt == 0)
        FAIL("envelope lacks id, from or recipients");
    return 0;
fail:
    /* The one exit for every error, so no path can leak what was parsed so far. */
    sg_env_free(e);
    return bad(err, errlen, why, line);
}
