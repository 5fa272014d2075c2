/* notify.h - the master's side of systemd's service protocol (sd_notify): readiness, reload,
 * stop and the watchdog. Owner: src/master. Without $NOTIFY_SOCKET (started by hand, tests)
 * every call does nothing. */
#ifndef SG_NOTIFY_H
#define SG_NOTIFY_H

/* Reads the watchdog interval systemd set (WatchdogSec=) for this process. */
void sg_notify_init(void);
/* READY=1 with a STATUS line: every role is up (after start or after a reload). */
void sg_notify_ready(const char *status);
/* RELOADING=1: a reload of a valid configuration begins; sg_notify_ready ends it. */
void sg_notify_reloading(void);
void sg_notify_stopping(void);
/* WATCHDOG=1 when half the interval has passed since the last one; the master's loop calls it. */
void sg_notify_watchdog(void);
/* In a forked child before exec: a role never talks to the service manager itself. */
void sg_notify_forget(void);

#endif
