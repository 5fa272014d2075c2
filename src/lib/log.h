/* log.h - one line per event: time, role[pid], level, queue id first, then key=value.
 * Owner: src/lib. Levels follow Postfix: panic = our bug, fatal = cannot continue,
 * warn = keep going. sg_fatal/sg_panic are for role mains only, never inside libraries. */
#ifndef SG_LOG_H
#define SG_LOG_H

#include <stdarg.h>

enum sg_log_level { SG_LOG_DEBUG, SG_LOG_INFO, SG_LOG_WARN, SG_LOG_ERROR, SG_LOG_FATAL, SG_LOG_PANIC };

void sg_log_init(const char *role, int min_level);
int sg_log_level_parse(const char *name); /* -1 when unknown */
void sg_log(int level, const char *qid, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sg_vlog(int level, const char *qid, const char *fmt, va_list ap);
_Noreturn void sg_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define sg_debug(qid, ...) sg_log(SG_LOG_DEBUG, qid, __VA_ARGS__)
#define sg_info(qid, ...) sg_log(SG_LOG_INFO, qid, __VA_ARGS__)
#define sg_warn(qid, ...) sg_log(SG_LOG_WARN, qid, __VA_ARGS__)
#define sg_error(qid, ...) sg_log(SG_LOG_ERROR, qid, __VA_ARGS__)

#endif
