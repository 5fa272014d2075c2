/* mail.c - the log entry of a mail processing decision (mail.h). Owner: src/audit (issue 14).
 * Field order (kind 0x02, docs/audit.md): queue, message-id-sha256, addresses, from, rcpt,
 * direction, policy-rev, decisions, outcome, reason, groups, keys, engine, node, time.
 * SECURITY: see mail.h. With the HMAC key on, every token containing "@" in free text (a
 * reason, a decision) is replaced by its HMAC too, so no address is left in the clear. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "audit/checkpoint.h"
#include "audit/log.h"
#include "audit/mail.h"
#include "lib/fsutil.h"
#include "lib/privdrop.h"

void sg_tlog_message_id_hash(const char *data, size_t len, char out[65])
{
    out[0] = '\0';
    const char *p = data, *end = data + len;
    while (p < end && *p != '\r' && *p != '\n') { /* each header line until the empty one */
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        if ((size_t)(end - p) > 11 && strncasecmp(p, "Message-ID:", 11) == 0) {
            char val[1024];
            size_t n = 0;
            const char *v = p + 11;
            for (;;) { /* the value with its folded continuation lines, whitespace dropped */
                for (; v < (eol ? eol : end); v++)
                    if (*v != ' ' && *v != '\t' && *v != '\r' && n < sizeof val)
                        val[n++] = *v;
                if (!eol || eol + 1 >= end || (eol[1] != ' ' && eol[1] != '\t'))
                    break;
                v = eol + 1;
                eol = memchr(v, '\n', (size_t)(end - v));
            }
            uint8_t d[32];
            SHA256((const uint8_t *)val, n, d);
            for (int i = 0; i < 32; i++)
                snprintf(out + 2 * i, 3, "%02x", d[i]);
            return;
        }
        p = next;
    }
}

void sg_tlog_addr(const uint8_t *key, const char *addr, char *out, size_t outlen)
{
    addr = addr ? addr : "";
    if (!key) {
        snprintf(out, outlen, "%s", addr);
        return;
    }
    char low[512];
    size_t n = 0;
    for (; addr[n] && n < sizeof low; n++)
        low[n] = (addr[n] >= 'A' && addr[n] <= 'Z') ? (char)(addr[n] + 32) : addr[n];
    uint8_t mac[32];
    unsigned maclen = 0;
    HMAC(EVP_sha256(), key, 32, (const uint8_t *)low, n, mac, &maclen);
    size_t off = (size_t)snprintf(out, outlen, "hmac:");
    for (unsigned i = 0; i < maclen && off + 2 < outlen; i++, off += 2)
        snprintf(out + off, outlen - off, "%02x", mac[i]);
}

/* Appends addr (as the entry shows it) to buf (cap) after sep when buf is not empty. */
static void join(char *buf, size_t cap, const char *sep, const char *addr)
{
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, "%s%s", n ? sep : "", addr ? addr : "");
}

static void join_addr(const uint8_t *key, char *buf, size_t cap, const char *sep, const char *addr)
{
    char a[600];
    sg_tlog_addr(key, addr, a, sizeof a);
    join(buf, cap, sep, a);
}

/* Free text with every whitespace-separated token holding "@" replaced by its HMAC. */
static void scrub(const uint8_t *key, const char *in, char *out, size_t cap)
{
    if (!key) {
        snprintf(out, cap, "%s", in ? in : "");
        return;
    }
    out[0] = '\0';
    for (const char *p = in ? in : ""; *p;) {
        size_t sp = strspn(p, " \t<>(),;:\"'"), tok;
        char t[512];
        snprintf(t, sizeof t, "%.*s", (int)sp, p);
        join(out, cap, "", t);
        p += sp;
        tok = strcspn(p, " \t<>(),;:\"'");
        if (!tok)
            continue;
        snprintf(t, sizeof t, "%.*s", (int)(tok < sizeof t - 1 ? tok : sizeof t - 1), p);
        if (memchr(p, '@', tok))
            join_addr(key, out, cap, "", t);
        else
            join(out, cap, "", t);
        p += tok;
    }
}

/* The outcome words of a decision (docs/audit.md). */
static void outcome_of(const sg_envelope *in, const sg_transform_result *res, int held, char *out, size_t cap)
{
    out[0] = '\0';
    if (held) {
        snprintf(out, cap, "held");
        return;
    }
    bool deliver = false, hold = false;
    for (size_t k = 0; res && k < res->nout; k++) {
        const sg_output *o = &res->out[k];
        /* Notices to the sender or the administrator go from <>: they are not the message. */
        bool notice = !*o->env.from && *in->from;
        hold |= o->hold != 0;
        deliver |= !o->hold && !notice;
    }
    if (deliver)
        join(out, cap, ",", "delivered");
    if (hold)
        join(out, cap, ",", "held");
    if (res && (res->fates & SG_FATE_RETURNED))
        join(out, cap, ",", "bounced");
    if (res && (res->fates & SG_FATE_DELETED))
        join(out, cap, ",", "deleted");
}

void sg_tlog_mail_entry(sg_tlog_entry *e, const char *node, const uint8_t *hmac_key, const char *qid,
                        const sg_envelope *in, const char *data, size_t len, const sg_transform_result *res, int held,
                        const char *reason)
{
    static _Thread_local char rcpts[8192], groups[8192], text[2048], why[1024], dec[2048];
    char mid[65], now[32], rev[32], from[600], outcome[64];
    sg_tlog_message_id_hash(data, len, mid);
    rcpts[0] = groups[0] = '\0';
    sg_tlog_addr(hmac_key, in->from, from, sizeof from);
    for (size_t i = 0; i < in->nrcpt; i++)
        join_addr(hmac_key, rcpts, sizeof rcpts, ",", in->rcpt[i].addr);
    for (size_t k = 0; res && k < res->nout; k++) {
        const sg_envelope *e = &res->out[k].env;
        join(groups, sizeof groups, ";", res->out[k].hold ? "hold:" : "deliver:");
        for (size_t i = 0; i < e->nrcpt; i++)
            join_addr(hmac_key, groups, sizeof groups, i ? "," : "", e->rcpt[i].addr);
        if (res->out[k].hold) {
            scrub(hmac_key, e->last_error, text, sizeof text);
            join(groups, sizeof groups, ":", text);
        }
    }
    scrub(hmac_key, reason, why, sizeof why);
    scrub(hmac_key, res ? res->decisions : "", dec, sizeof dec);
    outcome_of(in, res, held, outcome, sizeof outcome);
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    snprintf(rev, sizeof rev, "%lld", res && res->policy_rev >= 0 ? res->policy_rev : -1LL);
    sg_tlog_entry_init(e, SG_TLOG_KIND_MAIL);
    sg_tlog_entry_field(e, "queue", qid);
    sg_tlog_entry_field(e, "message-id-sha256", mid);
    sg_tlog_entry_field(e, "addresses", hmac_key ? "hmac-sha256" : "clear");
    sg_tlog_entry_field(e, "from", from);
    sg_tlog_entry_field(e, "rcpt", rcpts);
    sg_tlog_entry_field(e, "direction", res ? res->direction : "");
    sg_tlog_entry_field(e, "policy-rev", rev);
    sg_tlog_entry_field(e, "decisions", dec);
    sg_tlog_entry_field(e, "outcome", outcome);
    sg_tlog_entry_field(e, "reason", why);
    sg_tlog_entry_field(e, "groups", groups);
    sg_tlog_entry_field(e, "keys", res ? res->keys : "");
    sg_tlog_entry_field(e, "engine", res ? res->engine : "");
    sg_tlog_entry_field(e, "node", node ? node : "");
    sg_tlog_entry_field(e, "time", now);
}

int sg_tlog_mail(sg_store *s, const char *node, const uint8_t *hmac_key, const char *qid, const sg_envelope *in,
                 const char *data, size_t len, const sg_transform_result *res, int held, const char *reason)
{
    static _Thread_local sg_tlog_entry e;
    sg_tlog_mail_entry(&e, node, hmac_key, qid, in, data, len, res, held, reason);
    return sg_tlog_append(s, &e, qid, NULL);
}

static void hmac_path(const char *base_dir, char *out, size_t n)
{
    snprintf(out, n, "%s/audit/hmac.key", base_dir);
}

/* <base_dir>/audit/audit.pub: a copy of keys/audit.pub for the roles that cannot enter keys/. */
static int copy_pub(const char *base_dir, const char *owner, const char *group)
{
    char from[4096], to[4096], *data = NULL, priv[4096];
    size_t len;
    sg_audit_key_paths(base_dir, priv, sizeof priv, from, sizeof from);
    snprintf(to, sizeof to, "%s/audit/audit.pub", base_dir);
    if (sg_read_file(from, 4096, &data, &len) < 0)
        return -1;
    int rc = sg_write_file_atomic(to, data, len, 0644);
    free(data);
    if (rc == 0 && geteuid() == 0)
        rc = sg_priv_chown(to, owner, group);
    return rc;
}

int sg_tlog_hmac_ensure(const char *base_dir, const char *owner, const char *group)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/audit", base_dir);
    if ((mkdir(path, 0750) < 0 && errno != EEXIST) || chmod(path, 0750) < 0 ||
        (geteuid() == 0 && sg_priv_chown(path, owner, group) < 0) || copy_pub(base_dir, owner, group) < 0)
        return -1;
    hmac_path(base_dir, path, sizeof path);
    if (access(path, F_OK) != 0) {
        uint8_t k[32];
        char hex[66];
        if (RAND_bytes(k, sizeof k) != 1)
            return errno = EIO, -1;
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", k[i]);
        hex[64] = '\n';
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (fd < 0)
            return -1;
        int ok = write(fd, hex, 65) == 65 && fsync(fd) == 0;
        close(fd);
        if (!ok) {
            unlink(path);
            return errno = errno ? errno : EIO, -1;
        }
    }
    if (chmod(path, 0640) < 0)
        return -1;
    if (geteuid() == 0 && sg_priv_chown(path, owner, group) < 0)
        return -1;
    return 0;
}

int sg_tlog_hmac_load(const char *base_dir, uint8_t key[32])
{
    char path[4096], hex[80];
    hmac_path(base_dir, path, sizeof path);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    bool ok = fgets(hex, sizeof hex, f) && strspn(hex, "0123456789abcdef") == 64;
    fclose(f);
    for (int i = 0; ok && i < 32; i++) {
        unsigned v;
        ok = sscanf(hex + 2 * i, "%2x", &v) == 1;
        key[i] = (uint8_t)v;
    }
    return ok ? 0 : (errno = EINVAL, -1);
}
