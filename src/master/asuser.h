/* asuser.h - small actions of the master done as a role's user, in a throw-away child.
 * Owner: src/master.
 * Under its unit the master is root with CAP_SETUID and CAP_SETGID only (debian/sealgate.service):
 * it may become any role user but not override file permissions, change owners or signal
 * processes of other users. What it must still do to a role's files or process (clean the tmp
 * files of a dead role, signal a role) it does as that role's user instead, which is all the
 * right it needs. */
#ifndef SG_ASUSER_H
#define SG_ASUSER_H

#include <stdbool.h>
#include <sys/types.h>

/* Root with the capabilities to override permissions, change owners and signal anyone (a
 * plain `sudo sealgate start`): false under the unit's CapabilityBoundingSet, and as non-root. */
bool sg_master_full_root(void);
/* Sends sig to pid; when the kernel refuses (EPERM: pid runs as user) and we are root, from a
 * child that dropped to user (group: its primary group, NULL: its own). 0 or -1 with errno. */
int sg_master_kill_as(const char *user, const char *group, pid_t pid, int sig);
/* As user: removes the tmp files of pid (0: all) in spool/tmp/role/ (sg_queue_clean_role_tmp).
 * Does nothing unless root without the capability to enter that directory itself. */
void sg_master_clean_tmp_as(const char *user, const char *group, const char *spool, const char *role, long pid);

#endif
