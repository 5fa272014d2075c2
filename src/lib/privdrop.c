/* privdrop.c - no_new_privs, then setgroups/setgid/setuid with verification. Owner: src/lib. */
#include <stdbool.h>
#include <stddef.h>

#include "lib/privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int lookup(const char *user, const char *group, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(err, errlen, "user %s does not exist (create it, or run as non-root)", user);
        return -1;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    if (!group)
        return 0;
    struct group *gr = getgrnam(group);
    if (!gr) {
        snprintf(err, errlen, "group %s does not exist", group);
        return -1;
    }
    *gid = gr->gr_gid;
    return 0;
}

int sg_priv_drop(const char *user, const char *group, char *err, size_t errlen)
{
    /* A role never needs to gain privileges by exec (it execs nothing): rule it out for good,
     * as root or not (docs/architecture.md). */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
        return -1;
    }
    if (geteuid() != 0)
        return 0;
    uid_t uid;
    gid_t gid;
    if (lookup(user, group, &uid, &gid, err, errlen) < 0)
        return -1;
    if (uid == 0) {
        snprintf(err, errlen, "refusing to run a role as root (user %s)", user);
        return -1;
    }
    gid_t groups[32] = {gid, 0};
    int ngroups = 1;
    struct group *own = getgrnam(user); /* the role's own group, which state directories name */
    if (own && own->gr_gid != gid)
        groups[ngroups++] = own->gr_gid;
    /* And the groups that list the user as a member, as a login would have (initgroups): the
     * store's group sealgate-store has the cryptd and web users (scripts/deps.sh). */
    gid_t member[30];
    int nmember = 30;
    if (getgrouplist(user, gid, member, &nmember) < 0) {
        snprintf(err, errlen, "user %s is in more than 30 groups", user);
        return -1;
    }
    for (int i = 0; i < nmember; i++) {
        bool have = false;
        for (int k = 0; k < ngroups; k++)
            have |= groups[k] == member[i];
        if (!have)
            groups[ngroups++] = member[i];
    }
    if (setgroups((size_t)ngroups, groups) < 0 || setresgid(gid, gid, gid) < 0 ||
        setresuid(uid, uid, uid) < 0) {
        snprintf(err, errlen, "dropping privileges to %s failed: %s", user, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0 || geteuid() == 0) {
        snprintf(err, errlen, "privileges could be regained after the drop to %s", user);
        return -1;
    }
    return 0;
}

int sg_priv_chown(const char *path, const char *user, const char *group)
{
    if (geteuid() != 0)
        return 0;
    uid_t uid;
    gid_t gid;
    char err[128];
    if (lookup(user, group, &uid, &gid, err, sizeof err) < 0)
        return -1;
    return chown(path, uid, gid);
}
