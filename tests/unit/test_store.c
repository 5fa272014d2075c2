/* test_store.c - the store's schema migrations when several processes open a new store at the
 * same moment (cryptd and the admin CLI do): every opener succeeds and each migration runs
 * once. Owner: src/store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "check.h"
#include "store/store.h"

#define OPENERS 6

/* A write by another connection (as by the CLI or another process) to the tables of one kind
 * changes that kind's generation and no other's. */
static void generations(const char *dir)
{
    char path[256], err[512] = "";
    snprintf(path, sizeof path, "%s/gen/sealgate.db", dir);
    sg_store *st = sg_store_open(path, err, sizeof err);
    sqlite3 *other = NULL;
    int opened = st && sqlite3_open(path, &other) == SQLITE_OK;
    CHECK(opened, "generations: store opened (%s)", err);
    if (!opened)
        return;
    static const struct {
        const char *sql;
        int kind; /* -1: no kind changes */
    } writes[] = {
        {"INSERT INTO pgp_keys VALUES ('F','K','ed25519',255,0,0,0,0,NULL,1,1,1,1,0,0,0,x'00')", SG_GEN_PGP},
        {"INSERT INTO pgp_uids VALUES ('F','a <a@b>','a@b',1)", SG_GEN_PGP},
        {"DELETE FROM pgp_keys", SG_GEN_PGP},
        {"INSERT INTO x509_certs (fpr, der, subject, issuer, serial, not_before, not_after, key_usage,"
         " eku_email, is_ca, imported) VALUES ('C', x'00', 's', 'i', '1', 0, 0, -1, 1, 0, 0)", SG_GEN_X509},
        {"UPDATE x509_certs SET trusted = 1", SG_GEN_X509},
        {"INSERT INTO x509_ocsp VALUES ('C', 1, 0, 0, 0, 0, 'u', x'00')", SG_GEN_X509},
        {"INSERT INTO x509_learned VALUES ('a@b', 'C', NULL, 0, 1, 1)", SG_GEN_X509},
        {"UPDATE x509_learned SET last_seen = 2", -1},
        {"UPDATE x509_learned SET cap_flags = 3", SG_GEN_X509},
        {"INSERT INTO policy (text, source, loaded) VALUES ('x', 'test', 0)", SG_GEN_POLICY},
        {"INSERT INTO meta VALUES ('k', 'v')", -1},
        {"INSERT INTO admin_accounts VALUES ('a', 'h', 1, 0, 0, 0, 0)", SG_GEN_ADMIN},
        {"UPDATE admin_accounts SET failed = 1, locked_until = 9, last_login = 3", -1},
        {"UPDATE admin_accounts SET roles = 3", SG_GEN_ADMIN},
        {"UPDATE admin_accounts SET hash = 'h2'", SG_GEN_ADMIN},
        {"INSERT INTO admin_tokens VALUES ('t', 'h', 1, 'a', 'l', 0, 0)", SG_GEN_ADMIN},
        {"UPDATE admin_tokens SET revoked = 5", SG_GEN_ADMIN},
        {"INSERT INTO admin_sessions VALUES ('s', 'a', 0, 0, 'c', 'local')", -1},
        {"UPDATE admin_sessions SET last_seen = 7", -1},
        {"INSERT INTO audit_events (time, actor, roles, op, target, result, client, detail)"
         " VALUES (1, 'a', 1, 'x', '', 'ok', 'local', '')", -1},
        {"DELETE FROM admin_accounts", SG_GEN_ADMIN},
    };
    static const char *const names[] = {"pgp", "x509", "policy", "admin"};
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        int64_t before[4], after[4];
        int ok = 1;
        for (int k = 0; k < 4; k++)
            ok &= sg_store_generation(st, (sg_store_gen)k, &before[k]) == 0;
        ok &= sqlite3_exec(other, writes[i].sql, NULL, NULL, NULL) == SQLITE_OK;
        for (int k = 0; k < 4; k++)
            ok &= sg_store_generation(st, (sg_store_gen)k, &after[k]) == 0;
        char what[64] = "";
        for (int k = 0; k < 4; k++)
            if (before[k] != after[k])
                snprintf(what + strlen(what), sizeof what - strlen(what), "%s ", names[k]);
        int expect_ok = 1;
        for (int k = 0; k < 4; k++)
            expect_ok &= (before[k] != after[k]) == (k == writes[i].kind);
        CHECK(ok && expect_ok, "generations: \"%.50s\" by another connection changes %s (changed: %s)",
              writes[i].sql, writes[i].kind < 0 ? "nothing" : names[writes[i].kind], what[0] ? what : "none");
    }
    int64_t g;
    CHECK(sg_store_generation(st, (sg_store_gen)7, &g) == -1 && strstr(sg_store_error(st), "generation"),
          "generations: an unknown kind is an error, not a number (%s)", sg_store_error(st));
    sqlite3_close(other);
    sg_store_close(st);
}

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
    generations(dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return CHECK_DONE();
}
