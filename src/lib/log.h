/* log.h - one line per event: time, role[pid], level, queue id first, then key=value.
 * Owner: src/lib. Levels follow Postfix: panic = our bug, fatal = cannot continue,
 * warn = keep going. sg_fatal (log, then exit) is for role mains only, never inside libraries.
 * There is no sg_panic function: the panic level exists for the log format only. */
#ifndef SG_LOG_H
#define SG_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum sg_log_level { SG_LOG_DEBUG, SG_LOG_INFO, SG_LOG_WARN, SG_LOG_ERROR, SG_LOG_FATAL, SG_LOG_PANIC };

void sg_log_init(const char *role, int min_level);
int sg_log_level_parse(const char *name); /* -1 when unknown */
void sg_log(int level, const char *qid, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sg_vlog(int level, const char *qid, const char *fmt, va_list ap);
_Noreturn void sg_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Values that came from the network (addresses, HELO names, replies of the next hop, header
 * values) are never logged raw: sg_log_escape copies v into buf with every byte that could
 * end or forge a field (space, '=', '"', '\\', control and non-ASCII bytes) written as \xNN,
 * so "key=<%s>" or key="%s" stays one field and one event stays one line. quoted keeps spaces
 * (for use inside "..."). A value too long for buf ends in "..." (never half an escape).
 * Returns buf; NULL v gives "". */
#define SG_LOG_ESC_MAX 1040
const char *sg_log_escape(char *buf, size_t cap, const char *v, int quoted);
/* One escaped value per use (a compound literal: valid until the end of the enclosing block). */
#define SG_LOG_TOK(v) sg_log_escape((char[SG_LOG_ESC_MAX]){0}, SG_LOG_ESC_MAX, (v), 0)
#define SG_LOG_STR(v) sg_log_escape((char[SG_LOG_ESC_MAX]){0}, SG_LOG_ESC_MAX, (v), 1)

#define sg_debug(qid, ...) sg_log(SG_LOG_DEBUG, qid, __VA_ARGS__)
#define sg_info(qid, ...) sg_log(SG_LOG_INFO, qid, __VA_ARGS__)
#define sg_warn(qid, ...) sg_log(SG_LOG_WARN, qid, __VA_ARGS__)
#define sg_error(qid, ...) sg_log(SG_LOG_ERROR, qid, __VA_ARGS__)

#endif
