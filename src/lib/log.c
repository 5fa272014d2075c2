/* log.c - line-oriented logging to stderr (the master or the service manager collects it).
 * Owner: src/lib. One write(2) per line so lines from concurrent processes do not interleave.
 * SECURITY: a log line is one event a reader can parse; every value that came from the network
 * goes through sg_log_escape (log.h), so no peer can add fields, events or lines. */
#include "lib/log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_role = "sealgate";
static int log_min = SG_LOG_INFO;
static const char *level_names[] = {"debug", "info", "warn", "error", "fatal", "panic"};

void sg_log_init(const char *role, int min_level)
{
    log_role = role;
    log_min = min_level;
}

int sg_log_level_parse(const char *name)
{
    for (int i = 0; i < (int)(sizeof level_names / sizeof level_names[0]); i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

const char *sg_log_escape(char *buf, size_t cap, const char *v, int quoted)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (cap < 8) {
        if (cap)
            buf[0] = '\0';
        return buf;
    }
    for (const unsigned char *p = (const unsigned char *)(v ? v : ""); *p; p++) {
        bool esc = *p < 0x21 || *p >= 0x7f || *p == '"' || *p == '\\' || (!quoted && *p == '=');
        if (esc && quoted && *p == ' ')
            esc = false;
        size_t need = esc ? 4 : 1;
        if (o + need + 4 > cap) { /* room for "..." and the NUL */
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (esc) {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[*p >> 4];
            buf[o++] = hex[*p & 15];
        } else {
            buf[o++] = (char)*p;
        }
    }
    buf[o] = '\0';
    return buf;
}

void sg_vlog(int level, const char *qid, const char *fmt, va_list ap)
{
    if (level < log_min)
        return;
    char line[4096]; /* PIPE_BUF: still one atomic write */
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n =
        snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld] %s: ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec / 1000,
                 log_role, (long)getpid(), level_names[level]);
    if (qid && *qid && n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - n, "%s: ", qid);
    if (n < (int)sizeof line)
        n += vsnprintf(line + n, sizeof line - n, fmt, ap);
    if (n >= (int)sizeof line - 1)
        n = sizeof line - 2;
    /* Never let a peer's bytes forge extra log lines, even an unescaped value (sg_log_escape
     * is the rule; this is the backstop). */
    for (int i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            line[i] = ' ';
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}

void sg_log(int level, const char *qid, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sg_vlog(level, qid, fmt, ap);
    va_end(ap);
}

void sg_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sg_vlog(SG_LOG_FATAL, NULL, fmt, ap);
    va_end(ap);
    exit(1);
}
