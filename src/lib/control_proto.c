/* control_proto.c - encoder, decoder and frame I/O of the control socket (control_proto.h,
 * docs/control.md). Owner: src/cryptd (issue 18).
 *
 * SECURITY: parses bytes from another local process; see control_proto.h. All integers are
 * big-endian and read byte by byte (no unaligned loads, no struct overlay). */
#include "lib/control_proto.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void sg_ctl_msg_free(sg_ctl_msg *m)
{
    free(m->args);
    free(m->result);
    free(m->emsg);
    m->args = m->result = m->emsg = NULL;
}

int sg_ctl_hdr_parse(const uint8_t b[SG_CTL_HDR_LEN], sg_ctl_hdr *h, char *err, size_t errlen)
{
    if (get16(b) != SG_CTL_MAGIC)
        return fail(err, errlen, "bad magic 0x%04x", get16(b));
    if (b[2] != SG_CTL_VERSION)
        return fail(err, errlen, "unsupported version %u", b[2]);
    if (b[3] < SG_CTL_REQUEST || b[3] > SG_CTL_ERROR)
        return fail(err, errlen, "unknown message type %u", b[3]);
    /* No flag is defined yet: one set means a peer that expects something this side does not do. */
    if (get16(b + 4) != 0)
        return fail(err, errlen, "unknown flags 0x%04x", get16(b + 4));
    if (get16(b + 6) != 0)
        return fail(err, errlen, "reserved bytes not zero");
    h->type = b[3];
    h->flags = 0;
    h->id = get32(b + 8);
    h->len = get32(b + 12);
    if (h->len > SG_CTL_MAX_PAYLOAD)
        return fail(err, errlen, "payload of %u bytes over the maximum %u", h->len, SG_CTL_MAX_PAYLOAD);
    return 0;
}

/* Which fields a message type carries, and their bounds. */
typedef struct field_rule {
    uint16_t type;
    uint8_t msg;    /* the message type it belongs to */
    bool required;
    bool name;      /* printable ASCII, no space */
    size_t max;     /* bytes */
    unsigned count; /* how often it may appear */
} field_rule;

static const field_rule rules[] = {
    {SG_CTLF_OP, SG_CTL_REQUEST, true, true, SG_CTL_NAME_MAX, 1},
    {SG_CTLF_ACTOR, SG_CTL_REQUEST, true, true, SG_CTL_ACTOR_MAX, 1},
    {SG_CTLF_ROLE, SG_CTL_REQUEST, false, true, SG_CTL_NAME_MAX, SG_CTL_ROLES_MAX},
    {SG_CTLF_CLIENT, SG_CTL_REQUEST, false, true, SG_CTL_CLIENT_MAX, 1},
    {SG_CTLF_ARGS, SG_CTL_REQUEST, true, false, SG_CTL_MAX_PAYLOAD, 1},
    {SG_CTLF_RESULT, SG_CTL_RESULT, true, false, SG_CTL_MAX_PAYLOAD, 1},
    {SG_CTLF_ECODE, SG_CTL_ERROR, true, true, SG_CTL_NAME_MAX, 1},
    {SG_CTLF_EMSG, SG_CTL_ERROR, true, false, SG_CTL_ERRMSG_MAX, 1},
    {SG_CTLF_EFIELD, SG_CTL_ERROR, false, true, SG_CTL_NAME_MAX, 1},
};
#define NRULES (sizeof rules / sizeof rules[0])

static const field_rule *rule_for(uint16_t type)
{
    for (size_t i = 0; i < NRULES; i++)
        if (rules[i].type == type)
            return &rules[i];
    return NULL;
}

static bool text_ok(const uint8_t *p, size_t len, bool name)
{
    if (name && len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == 0)
            return false;
        if (name && (p[i] < 0x21 || p[i] > 0x7e))
            return false;
    }
    return true;
}

/* The inline copy a name field goes to, or NULL for an allocated text. */
static char *name_slot(sg_ctl_msg *m, uint16_t type)
{
    switch (type) {
    case SG_CTLF_OP: return m->op;
    case SG_CTLF_ACTOR: return m->actor;
    case SG_CTLF_ROLE: return m->roles[m->nroles++];
    case SG_CTLF_CLIENT: return m->client;
    case SG_CTLF_ECODE: return m->ecode;
    case SG_CTLF_EFIELD: return m->efield;
    default: return NULL;
    }
}

static char **text_slot(sg_ctl_msg *m, uint16_t type)
{
    switch (type) {
    case SG_CTLF_ARGS: return &m->args;
    case SG_CTLF_RESULT: return &m->result;
    case SG_CTLF_EMSG: return &m->emsg;
    default: return NULL;
    }
}

int sg_ctl_decode(const sg_ctl_hdr *h, const uint8_t *payload, sg_ctl_msg *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    m->type = h->type;
    m->id = h->id;
    unsigned seen[NRULES] = {0};
    size_t off = 0;
    while (off < h->len) {
        if (h->len - off < SG_CTL_FIELD_HDR) {
            sg_ctl_msg_free(m);
            return fail(err, errlen, "truncated field header at byte %zu", off);
        }
        uint16_t ft = get16(payload + off);
        uint32_t fl = get32(payload + off + 2);
        off += SG_CTL_FIELD_HDR;
        const field_rule *r = rule_for(ft);
        if (!r || r->msg != h->type) {
            sg_ctl_msg_free(m);
            return fail(err, errlen, "field type %u not allowed in message type %u", ft, h->type);
        }
        if (fl > h->len - off) {
            sg_ctl_msg_free(m);
            return fail(err, errlen, "field %u of %u bytes runs past the payload", ft, fl);
        }
        if (fl > r->max) {
            sg_ctl_msg_free(m);
            return fail(err, errlen, "field %u of %u bytes over its maximum %zu", ft, fl, r->max);
        }
        size_t ri = (size_t)(r - rules);
        if (seen[ri] >= r->count) {
            sg_ctl_msg_free(m);
            return fail(err, errlen, "field %u given more than %u times", ft, r->count);
        }
        if (!text_ok(payload + off, fl, r->name)) {
            sg_ctl_msg_free(m);
            return fail(err, errlen, "field %u has a forbidden byte", ft);
        }
        seen[ri]++;
        char *dst = r->name ? name_slot(m, ft) : NULL;
        if (!dst) {
            char **slot = text_slot(m, ft);
            if (!(*slot = malloc((size_t)fl + 1))) {
                sg_ctl_msg_free(m);
                return fail(err, errlen, "out of memory");
            }
            dst = *slot;
        }
        memcpy(dst, payload + off, fl);
        dst[fl] = '\0';
        off += fl;
    }
    for (size_t i = 0; i < NRULES; i++)
        if (rules[i].msg == h->type && rules[i].required && !seen[i]) {
            sg_ctl_msg_free(m);
            return fail(err, errlen, "required field %u missing", rules[i].type);
        }
    return 0;
}

/* Appends one field, or returns -1 when it breaks its bound (checked like the decoder does). */
static int put_field(uint8_t *buf, size_t *off, size_t cap, uint16_t type, const char *s, char *err, size_t errlen)
{
    const field_rule *r = rule_for(type);
    size_t len = strlen(s);
    if (len > r->max || !text_ok((const uint8_t *)s, len, r->name))
        return fail(err, errlen, "field %u is empty, too long or has a forbidden byte", type);
    if (cap - *off < SG_CTL_FIELD_HDR + len)
        return fail(err, errlen, "message over the maximum of %u bytes", SG_CTL_MAX_PAYLOAD);
    put16(buf + *off, type);
    put32(buf + *off + 2, (uint32_t)len);
    memcpy(buf + *off + SG_CTL_FIELD_HDR, s, len);
    *off += SG_CTL_FIELD_HDR + len;
    return 0;
}

int sg_ctl_encode(const sg_ctl_msg *m, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
    if (m->type < SG_CTL_REQUEST || m->type > SG_CTL_ERROR)
        return fail(err, errlen, "unknown message type %u", m->type);
    if (m->nroles > SG_CTL_ROLES_MAX)
        return fail(err, errlen, "more than %u roles", SG_CTL_ROLES_MAX);
    size_t need = SG_CTL_HDR_LEN;
    const char *args = m->args ? m->args : "{}", *result = m->result ? m->result : "null";
    const char *emsg = m->emsg ? m->emsg : "";
    /* An upper bound of what the fields take; each field is checked exactly as it is written. */
    size_t texts = strlen(args) + strlen(result) + strlen(emsg);
    if (texts > SG_CTL_MAX_PAYLOAD)
        return fail(err, errlen, "message over the maximum of %u bytes", SG_CTL_MAX_PAYLOAD);
    need += (SG_CTL_ROLES_MAX + 8) * (SG_CTL_FIELD_HDR + SG_CTL_ACTOR_MAX) + texts;
    size_t cap = SG_CTL_HDR_LEN + SG_CTL_MAX_PAYLOAD;
    uint8_t *buf = malloc(need < cap ? need : cap);
    if (!buf)
        return fail(err, errlen, "out of memory");
    cap = (need < cap ? need : cap);
    size_t off = SG_CTL_HDR_LEN;
    int rc = 0;
    if (m->type == SG_CTL_REQUEST) {
        rc |= put_field(buf, &off, cap, SG_CTLF_OP, m->op, err, errlen);
        rc |= rc ? 0 : put_field(buf, &off, cap, SG_CTLF_ACTOR, m->actor, err, errlen);
        for (size_t i = 0; !rc && i < m->nroles; i++)
            rc |= put_field(buf, &off, cap, SG_CTLF_ROLE, m->roles[i], err, errlen);
        if (!rc && *m->client)
            rc |= put_field(buf, &off, cap, SG_CTLF_CLIENT, m->client, err, errlen);
        rc |= rc ? 0 : put_field(buf, &off, cap, SG_CTLF_ARGS, args, err, errlen);
    } else if (m->type == SG_CTL_RESULT) {
        rc |= put_field(buf, &off, cap, SG_CTLF_RESULT, result, err, errlen);
    } else {
        rc |= put_field(buf, &off, cap, SG_CTLF_ECODE, m->ecode, err, errlen);
        rc |= rc ? 0 : put_field(buf, &off, cap, SG_CTLF_EMSG, emsg, err, errlen);
        if (!rc && *m->efield)
            rc |= put_field(buf, &off, cap, SG_CTLF_EFIELD, m->efield, err, errlen);
    }
    if (rc) {
        free(buf);
        return -1;
    }
    put16(buf, SG_CTL_MAGIC);
    buf[2] = SG_CTL_VERSION;
    buf[3] = m->type;
    put16(buf + 4, 0);
    put16(buf + 6, 0);
    put32(buf + 8, m->id);
    put32(buf + 12, (uint32_t)(off - SG_CTL_HDR_LEN));
    *out = buf;
    *outlen = off;
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for `events` before the deadline: 0, or -1 (errno ETIMEDOUT). */
static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

/* Reads exactly n bytes: n, fewer at the end of the stream, or -1. */
static ssize_t read_full(int fd, uint8_t *p, size_t n, long long deadline)
{
    size_t got = 0;
    while (got < n) {
        if (wait_fd(fd, POLLIN, deadline) < 0)
            return -1;
        ssize_t r = read(fd, p + got, n - got);
        if (r == 0)
            break;
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int sg_ctl_read(int fd, sg_ctl_msg *m, int timeout_ms, char *err, size_t errlen)
{
    long long deadline = now_ms() + timeout_ms;
    uint8_t hb[SG_CTL_HDR_LEN];
    ssize_t r = read_full(fd, hb, sizeof hb, deadline);
    if (r == 0)
        return 1;
    if (r < 0)
        return fail(err, errlen, "reading a header: %s", strerror(errno));
    if ((size_t)r < sizeof hb)
        return fail(err, errlen, "stream ended inside a header (%zd of %u bytes)", r, SG_CTL_HDR_LEN);
    sg_ctl_hdr h;
    if (sg_ctl_hdr_parse(hb, &h, err, errlen) < 0)
        return -1;
    uint8_t *payload = malloc(h.len ? h.len : 1);
    if (!payload)
        return fail(err, errlen, "out of memory");
    r = read_full(fd, payload, h.len, deadline);
    int rc;
    if (r < 0)
        rc = fail(err, errlen, "reading a payload: %s", strerror(errno));
    else if ((size_t)r < h.len)
        rc = fail(err, errlen, "stream ended inside a payload (%zd of %u bytes)", r, h.len);
    else
        rc = sg_ctl_decode(&h, payload, m, err, errlen);
    free(payload);
    return rc;
}

int sg_ctl_write(int fd, const sg_ctl_msg *m, int timeout_ms, char *err, size_t errlen)
{
    uint8_t *buf;
    size_t len;
    if (sg_ctl_encode(m, &buf, &len, err, errlen) < 0)
        return -1;
    long long deadline = now_ms() + timeout_ms;
    size_t done = 0;
    int rc = 0;
    while (done < len) {
        if (wait_fd(fd, POLLOUT, deadline) < 0) {
            rc = fail(err, errlen, "writing: %s", strerror(errno));
            break;
        }
        /* MSG_NOSIGNAL: a peer that went away is an error here, not a SIGPIPE for the process. */
        ssize_t w = send(fd, buf + done, len - done, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            rc = fail(err, errlen, "writing: %s", strerror(errno));
            break;
        }
        done += (size_t)w;
    }
    free(buf);
    return rc;
}
