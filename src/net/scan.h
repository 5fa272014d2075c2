/* scan.h - conversations with the content scanners: clamd (INSTREAM, PING), rspamd (HTTP
 * POST /checkv2, GET /ping) and spamd (SpamAssassin's SPAMC/1.5 SYMBOLS, PING), in this process or through the scan helper, and the strict
 * parsers of their answers. Owner: src/net.
 * SECURITY: cryptd opens no sockets. It starts the scan helper (scan_helper.c) before any key
 * is loaded; the helper, a fork running as the helper user with only its socketpair open, talks
 * to the scanners and hands the raw answers back. cryptd parses them itself (scan_parse.c), and
 * the parsers never turn an answer they do not fully recognise into "clean". */
#ifndef SG_NET_SCAN_H
#define SG_NET_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum sg_scan_kind {
    SG_SCAN_CLAMD = 1,   /* zINSTREAM with the data */
    SG_SCAN_RSPAMD,      /* POST /checkv2 with the data and the envelope as headers */
    SG_SCAN_CLAMD_PING,  /* zPING */
    SG_SCAN_RSPAMD_PING, /* GET /ping */
    SG_SCAN_SPAMD,       /* SYMBOLS SPAMC/1.5 with the data and the envelope as headers */
    SG_SCAN_SPAMD_PING,  /* PING SPAMC/1.5 */
};

#define SG_SCAN_MAX_ANSWER (256u * 1024)  /* a scanner's answer, at most (rspamd's JSON) */
#define SG_SCAN_MAX_DATA (256ull << 20)   /* bytes sent in one scan, at most */
#define SG_SCAN_CHUNK 65536u              /* INSTREAM chunk size */
#define SG_SCAN_MAX_RCPT 64               /* Rcpt headers passed to rspamd */

/* The envelope and client data rspamd gets as its request headers (each may be NULL). */
typedef struct sg_scan_env {
    const char *from, *ip, *helo;
    const char *const *rcpts;
    size_t nrcpt;
} sg_scan_env;

/* One conversation with a scanner. addr: clamd and spamd "unix:PATH" or "tcp:HOST:PORT";
 * rspamd "http://HOST:PORT". The scanner's raw answer in *out (malloc'd, NUL-terminated, at most
 * SG_SCAN_MAX_ANSWER bytes). 0, or -1 with err: cannot connect, I/O error, timeout (the
 * scanner is unavailable). sg_scan_call goes through the helper when one was started (and
 * fails when it died), else runs in this process (check-config, tests). */
int sg_scan_call(int kind, const char *addr, const sg_scan_env *env, const uint8_t *data, size_t len,
                 int timeout_ms, char **out, size_t *outlen, char *err, size_t errlen);
int sg_scan_direct(int kind, const char *addr, const sg_scan_env *env, const uint8_t *data, size_t len,
                   int timeout_ms, char **out, size_t *outlen, char *err, size_t errlen);

/* ---- the parsers (scan_parse.c): strict; anything not recognised is an error ---- */
enum sg_clamd_result { SG_CLAMD_ERROR = -1, SG_CLAMD_CLEAN = 0, SG_CLAMD_FOUND, SG_CLAMD_TOO_LARGE };
/* An INSTREAM answer ("stream: OK", "stream: NAME FOUND", "INSTREAM size limit exceeded.
 * ERROR", each NUL- or LF-terminated). FOUND: the signature's name in name. ERROR: err says why. */
int sg_clamd_parse(const char *ans, size_t len, char *name, size_t namelen, char *err, size_t errlen);
/* A PING answer: 0 for "PONG", -1 otherwise. */
int sg_clamd_parse_pong(const char *ans, size_t len);

typedef struct sg_rspamd_result {
    double score, required;
    char action[32];    /* "no action", "add header", "rewrite subject", "greylist", "soft reject", "reject" */
    char symbols[512];  /* the symbols' names, comma-separated (cut at the buffer's end) */
} sg_rspamd_result;
/* An HTTP answer of /checkv2: status 200, a JSON object with a number "score" and a known
 * "action". 0, or -1 with err. */
int sg_rspamd_parse(const char *ans, size_t len, sg_rspamd_result *r, char *err, size_t errlen);
/* An HTTP answer of /ping: 0 for status 200 with "pong". */
int sg_rspamd_parse_pong(const char *ans, size_t len);
/* spamd's answer to SYMBOLS ("SPAMD/1.x 0 EX_OK", a Content-length that matches the body, one
 * "Spam: True|False ; SCORE / REQUIRED" header, the symbols as the body) into the same result:
 * action "spam" when spamd judged it spam (score at or over its required score), else "no
 * action". 0, or -1 with err. */
int sg_spamd_parse(const char *ans, size_t len, sg_rspamd_result *r, char *err, size_t errlen);
/* A PING answer: 0 for "SPAMD/1.x 0 PONG". */
int sg_spamd_parse_pong(const char *ans, size_t len);

/* ---- the helper (scan_helper.c) ---- */
/* Forks the helper (user/group for the drop when root), as sg_fetch_helper_start: once, before
 * threads and secrets. 0, or -1 with err. */
int sg_scan_helper_start(const char *user, const char *group, char *err, size_t errlen);
void sg_scan_helper_stop(void);
pid_t sg_scan_helper_pid(void);
/* A helper was started and died or broke the protocol: scans fail from now on (cryptd exits
 * and the master restarts it, as for the fetch helper). */
int sg_scan_helper_lost(void);
/* For tests and the fuzz target: fd (a socketpair end) stands for the helper. 0 or -1. */
int sg_scan_helper_attach(int fd);

/* The protocol (native byte order: both ends are the same binary). One request at a time:
 * a header, the address, the envelope strings, the data; one answer: a header, the error text,
 * the scanner's answer. */
#define SG_SCAN_MAGIC 0x53475331u /* "SGS1" */
#define SG_SCAN_MAX_ADDR 512u
#define SG_SCAN_MAX_ENV 1024u /* each envelope string */
#define SG_SCAN_MAX_ERR 256u
typedef struct sg_scan_req_hdr {
    uint32_t magic, kind, timeout_ms, addr_len, from_len, ip_len, helo_len, nrcpt;
    uint32_t rcpt_len[SG_SCAN_MAX_RCPT];
    uint64_t data_len;
} sg_scan_req_hdr;
typedef struct sg_scan_resp_hdr {
    uint32_t magic;
    int32_t rc;
    uint32_t err_len, ans_len;
} sg_scan_resp_hdr;

#endif
