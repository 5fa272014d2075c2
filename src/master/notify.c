/* notify.c - sd_notify for the master (notify.h). Owner: src/master.
 * SECURITY: only the master speaks to the service manager (NotifyAccess=main in the unit); the
 * roles lose $NOTIFY_SOCKET before they are exec'd, so a compromised role cannot claim the
 * service is ready, stop the watchdog or send a fake status. */
#include "master/notify.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "lib/log.h"

static uint64_t watchdog_usec, last_kick;

static uint64_t now_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void notify_send(const char *state)
{
    int r = sd_notify(0, state);
    if (r < 0)
        sg_warn(NULL, "event=notify-failed error=%d", -r);
}

void sg_notify_init(void)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        watchdog_usec = usec;
        sg_info(NULL, "event=watchdog interval_ms=%llu", (unsigned long long)(usec / 1000));
    }
    last_kick = now_usec();
}

void sg_notify_ready(const char *status)
{
    char msg[300];
    snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", status);
    notify_send(msg);
}

void sg_notify_reloading(void)
{
    notify_send("RELOADING=1\nSTATUS=reloading");
}

void sg_notify_stopping(void)
{
    notify_send("STOPPING=1\nSTATUS=stopping");
}

void sg_notify_watchdog(void)
{
    if (!watchdog_usec)
        return;
    uint64_t now = now_usec();
    if (now - last_kick < watchdog_usec / 2)
        return;
    last_kick = now;
    notify_send("WATCHDOG=1");
}

void sg_notify_forget(void)
{
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}
