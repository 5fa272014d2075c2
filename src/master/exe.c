/* exe.c - finding the executable of each role beside the running one. Owner: src/master. */
#include "master/exe.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const names[] = {[SG_EXE_FULL] = "sealgate", [SG_EXE_NET] = "sealgate-net"};

/* dir/name of the sibling `which`, when it exists as a regular executable file. 0 or -1. */
static int sibling(int which, char *path, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    int w = snprintf(path, len, "%s/%s", self, names[which]);
    struct stat st;
    if (w < 0 || (size_t)w >= len || stat(path, &st) < 0 || !S_ISREG(st.st_mode) || access(path, X_OK) < 0)
        return -1;
    return 0;
}

int sg_role_exe(const char *role, char *path, size_t len)
{
    /* web runs the operation layer (src/admin), whose store-only operations parse keys and
     * certificates: it needs the full binary, though it never holds the KEK. */
    int which = strcmp(role, "cryptd") == 0 || strcmp(role, "web") == 0 ? SG_EXE_FULL : SG_EXE_NET;
    if (sibling(which, path, len) == 0)
        return 0;
    int w = snprintf(path, len, "/proc/self/exe");
    return w < 0 || (size_t)w >= len ? -1 : 0;
}

void sg_exec_sibling(int which, char **argv)
{
    char path[PATH_MAX], self[PATH_MAX];
    if (sibling(which, path, sizeof path) < 0)
        return;
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        if (strcmp(self, path) == 0)
            return;
    }
    execv(path, argv);
}
