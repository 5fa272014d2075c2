/* ready.c - a role's readiness byte to the master (ready.h). Owner: src/lib. */
#include "lib/ready.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

void sg_ready_tell(void)
{
    const char *s = getenv(SG_READY_ENV);
    if (!s || !*s)
        return;
    char *end;
    long fd = strtol(s, &end, 10);
    unsetenv(SG_READY_ENV); /* once: a second call, or anything the role execs, finds nothing */
    if (*end || fd < 3 || fd > 1024)
        return; /* never write to stdio or a descriptor we were not given */
    ssize_t w;
    do
        w = write((int)fd, "1", 1);
    while (w < 0 && errno == EINTR);
    close((int)fd);
}
