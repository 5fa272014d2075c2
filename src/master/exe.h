/* exe.h - which executable runs which role. Owner: src/master.
 * sealgate (full: CLI, cryptd) and sealgate-net (master, smtpd, relay, sink) are installed side
 * by side; see src/main.c for why they are two. */
#ifndef SG_EXE_H
#define SG_EXE_H

#include <stddef.h>

enum sg_exe { SG_EXE_FULL, SG_EXE_NET };

/* The path of the executable for a role ("cryptd" needs the full one), found beside the
 * running executable. When the wanted sibling is missing, the running executable itself
 * (/proc/self/exe): the full binary can play every role. 0, or -1 when the path is too long. */
int sg_role_exe(const char *role, char *path, size_t len);

/* execv()s the sibling executable `which` with argv when it exists and is not the running
 * one; returns (doing nothing) otherwise. */
void sg_exec_sibling(int which, char **argv);

#endif
