/* test_store.c - the store's schema migrations when several processes open a new store at the
 * same moment (cryptd and the admin CLI do): every opener succeeds and each migration runs
 * once. Owner: src/store. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "store/store.h"

#define OPENERS 6

int main(void)
{
    char dir[] = "/tmp/sg-test-store-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    for (int round = 0; round < 5; round++) {
        char path[256];
        snprintf(path, sizeof path, "%s/r%d/sealgate.db", dir, round);
        int pipefd[2];
        if (pipe(pipefd) < 0)
            return 1;
        pid_t kids[OPENERS];
        for (int i = 0; i < OPENERS; i++) {
            kids[i] = fork();
            if (kids[i] == 0) {
                char c;
                close(pipefd[1]);
                if (read(pipefd[0], &c, 1) < 0) /* all start together when the pipe closes */
                    _exit(3);
                char err[512] = "";
                sg_store *st = sg_store_open(path, err, sizeof err);
                if (!st) {
                    fprintf(stderr, "opener %d: %s\n", i, err);
                    _exit(1);
                }
                sg_store_close(st);
                _exit(0);
            }
        }
        close(pipefd[0]);
        close(pipefd[1]);
        int ok = 0;
        for (int i = 0; i < OPENERS; i++) {
            int status = 0;
            waitpid(kids[i], &status, 0);
            ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
        }
        char err[512] = "";
        sg_store *st = sg_store_open(path, err, sizeof err);
        int v = st ? sg_store_schema_version(st) : -1, again = -1;
        if (st)
            sg_store_close(st);
        st = sg_store_open(path, err, sizeof err);
        again = st ? sg_store_schema_version(st) : -2;
        if (st)
            sg_store_close(st);
        CHECK(ok == OPENERS && v > 0 && v == again,
              "round %d: %d processes open a new store at once, all succeed (%d did), schema version %d", round,
              OPENERS, ok, v);
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
