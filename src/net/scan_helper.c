/* scan_helper.c - the scan helper process and cryptd's side of its protocol (scan.h).
 * Owner: src/net.
 * SECURITY: the helper is a fork taken before cryptd loads the KEK or any key (so its memory
 * holds no secret), drops to the helper user (revocation.helper_user, as the fetch helper) when
 * started as root, sets no_new_privs and keeps only its socketpair and stderr open. It sends
 * the bytes it gets to the scanner named in the request and hands back the scanner's raw
 * answer; it decides nothing. cryptd checks every length against a maximum before reading it
 * and parses the answer itself (scan_parse.c). An answer that does not fit, a short read or no
 * answer within the request's timeout make the helper lost: every scan fails from then on
 * (the scanner counts as unavailable, never as clean), and cryptd exits to be restarted.
 * One request at a time (a mutex on cryptd's side): workers that scan at once wait for each
 * other, which bounds what the helper holds to one message. */
#include "net/scan.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/netio.h"

static sg_net_helper helper = SG_NET_HELPER_INIT("scan helper");


/* ---- the helper ---- */

static char *read_str(int fd, uint32_t len, uint32_t max, bool *ok)
{
    if (!*ok || len > max) {
        *ok = false;
        return NULL;
    }
    char *s = malloc(len + 1);
    if (!s || sg_net_io_all(fd, s, len, false, -1) < 0) {
        free(s);
        *ok = false;
        return NULL;
    }
    s[len] = '\0';
    return s;
}

/* Serves requests until the parent closes its end or sends something out of limits. */
static void serve(int fd)
{
    for (;;) {
        sg_scan_req_hdr h;
        if (sg_net_io_all(fd, &h, sizeof h, false, -1) < 0 || h.magic != SG_SCAN_MAGIC || h.nrcpt > SG_SCAN_MAX_RCPT ||
            h.data_len > SG_SCAN_MAX_DATA)
            return;
        bool ok = true;
        char *addr = read_str(fd, h.addr_len, SG_SCAN_MAX_ADDR, &ok);
        char *from = read_str(fd, h.from_len, SG_SCAN_MAX_ENV, &ok);
        char *ip = read_str(fd, h.ip_len, SG_SCAN_MAX_ENV, &ok);
        char *helo = read_str(fd, h.helo_len, SG_SCAN_MAX_ENV, &ok);
        char *rcpts[SG_SCAN_MAX_RCPT] = {0};
        for (uint32_t i = 0; i < h.nrcpt; i++)
            rcpts[i] = read_str(fd, h.rcpt_len[i], SG_SCAN_MAX_ENV, &ok);
        uint8_t *data = ok ? malloc(h.data_len ? h.data_len : 1) : NULL;
        if (!data || sg_net_io_all(fd, data, h.data_len, false, -1) < 0)
            return; /* out of step or out of memory: the parent sees the helper end */
        sg_scan_env env = {.from = from, .ip = ip, .helo = helo, .rcpts = (const char *const *)rcpts, .nrcpt = h.nrcpt};
        char *ans = NULL, err[SG_SCAN_MAX_ERR] = "";
        size_t alen = 0;
        int rc = sg_scan_direct((int)h.kind, addr, &env, data, h.data_len, (int)h.timeout_ms, &ans, &alen, err,
                                sizeof err);
        sg_scan_resp_hdr r = {.magic = SG_SCAN_MAGIC, .rc = rc, .err_len = (uint32_t)strlen(err), .ans_len = (uint32_t)alen};
        int w = sg_net_io_all(fd, &r, sizeof r, true, -1) == 0 && sg_net_io_all(fd, err, r.err_len, true, -1) == 0 &&
                sg_net_io_all(fd, ans, alen, true, -1) == 0;
        free(ans);
        free(data);
        free(addr);
        free(from);
        free(ip);
        free(helo);
        for (uint32_t i = 0; i < h.nrcpt; i++)
            free(rcpts[i]);
        if (!w)
            return;
    }
}

int sg_scan_helper_start(const char *user, const char *group, char *err, size_t errlen)
{
    return sg_net_helper_start(&helper, user, group, serve, err, errlen);
}

int sg_scan_helper_attach(int fd)
{
    return sg_net_helper_attach(&helper, fd);
}

void sg_scan_helper_stop(void)
{
    pthread_mutex_lock(&helper.lock);
    sg_net_helper_close_locked(&helper);
    pthread_mutex_unlock(&helper.lock);
}

pid_t sg_scan_helper_pid(void)
{
    return sg_net_helper_pid(&helper);
}

int sg_scan_helper_lost(void)
{
    pthread_mutex_lock(&helper.lock);
    if (sg_net_helper_exited_locked(&helper))
        sg_net_helper_lose_locked(&helper);
    int lost = helper.dead;
    pthread_mutex_unlock(&helper.lock);
    return lost;
}

static size_t slen(const char *s)
{
    return s ? strlen(s) : 0;
}

/* One request through the helper; lock held. */
static int request_locked(int kind, const char *addr, const sg_scan_env *env, const uint8_t *data, size_t len,
                          int timeout_ms, char **out, size_t *outlen, char *err, size_t errlen)
{
    const char *from = env ? env->from : NULL, *ip = env ? env->ip : NULL, *helo = env ? env->helo : NULL;
    size_t nr = env ? (env->nrcpt < SG_SCAN_MAX_RCPT ? env->nrcpt : SG_SCAN_MAX_RCPT) : 0;
    sg_scan_req_hdr h = {.magic = SG_SCAN_MAGIC,
                         .kind = (uint32_t)kind,
                         .timeout_ms = (uint32_t)timeout_ms,
                         .addr_len = (uint32_t)slen(addr),
                         .from_len = (uint32_t)slen(from),
                         .ip_len = (uint32_t)slen(ip),
                         .helo_len = (uint32_t)slen(helo),
                         .nrcpt = (uint32_t)nr,
                         .data_len = len};
    bool fits = h.addr_len <= SG_SCAN_MAX_ADDR && h.from_len <= SG_SCAN_MAX_ENV && h.ip_len <= SG_SCAN_MAX_ENV &&
                h.helo_len <= SG_SCAN_MAX_ENV && len <= SG_SCAN_MAX_DATA;
    for (size_t i = 0; i < nr; i++) {
        h.rcpt_len[i] = (uint32_t)slen(env->rcpts[i]);
        fits = fits && h.rcpt_len[i] <= SG_SCAN_MAX_ENV;
    }
    if (!fits) {
        snprintf(err, errlen, "request over the scan helper's limits");
        return -1;
    }
    /* The helper's own timeout ends the conversation; this one guards against a stuck helper. */
    int guard = timeout_ms + 5000;
    int fd = helper.fd;
    bool sent = sg_net_io_all(fd, &h, sizeof h, true, guard) == 0 && sg_net_io_all(fd, (void *)addr, h.addr_len, true, guard) == 0 &&
                sg_net_io_all(fd, (void *)from, h.from_len, true, guard) == 0 &&
                sg_net_io_all(fd, (void *)ip, h.ip_len, true, guard) == 0 &&
                sg_net_io_all(fd, (void *)helo, h.helo_len, true, guard) == 0;
    for (size_t i = 0; sent && i < nr; i++)
        sent = sg_net_io_all(fd, (void *)env->rcpts[i], h.rcpt_len[i], true, guard) == 0;
    sent = sent && sg_net_io_all(fd, (void *)data, len, true, guard) == 0;
    sg_scan_resp_hdr r;
    char e[SG_SCAN_MAX_ERR];
    if (!sent || sg_net_io_all(fd, &r, sizeof r, false, guard) < 0 || r.magic != SG_SCAN_MAGIC ||
        r.err_len >= SG_SCAN_MAX_ERR || r.ans_len > SG_SCAN_MAX_ANSWER || sg_net_io_all(fd, e, r.err_len, false, guard) < 0)
        goto lost;
    e[r.err_len] = '\0';
    char *a = malloc(r.ans_len + 1);
    if (!a)
        goto lost;
    if (sg_net_io_all(fd, a, r.ans_len, false, guard) < 0) {
        free(a);
        goto lost;
    }
    a[r.ans_len] = '\0';
    if (r.rc != 0) {
        free(a);
        snprintf(err, errlen, "%s", r.err_len ? e : "scanner unavailable");
        return -1;
    }
    *out = a;
    *outlen = r.ans_len;
    return 0;
lost:
    /* Out of step, gone or stuck: never asked again (the socket is shut down, not reused). */
    sg_net_helper_lose_locked(&helper);
    snprintf(err, errlen, "scan helper failed (stopped)");
    return -1;
}

int sg_scan_call(int kind, const char *addr, const sg_scan_env *env, const uint8_t *data, size_t len,
                 int timeout_ms, char **out, size_t *outlen, char *err, size_t errlen)
{
    *out = NULL;
    *outlen = 0;
    pthread_mutex_lock(&helper.lock);
    if (helper.fd < 0 && !helper.dead) {
        pthread_mutex_unlock(&helper.lock);
        return sg_scan_direct(kind, addr, env, data, len, timeout_ms, out, outlen, err, errlen);
    }
    int rc;
    if (helper.dead) {
        snprintf(err, errlen, "scan helper not running");
        rc = -1;
    } else {
        rc = request_locked(kind, addr, env, data, len, timeout_ms, out, outlen, err, errlen);
    }
    pthread_mutex_unlock(&helper.lock);
    return rc;
}
