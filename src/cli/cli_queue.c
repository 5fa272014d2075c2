/* cli_queue.c - `sealgate queue list|show|retry|hold|release|delete`. Owner: src/cli.
 * The CLI acts on the spool directly with the same rename moves the roles use, so it works
 * whether or not the gateway is running; a message a role is working on right now (in active/,
 * or renamed away mid-command) is refused with a clear message instead of being raced. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "queue/queue.h"
#include "roles.h"

static const int listed_states[] = {SG_Q_INCOMING, SG_Q_ACTIVE,  SG_Q_OUTGOING, SG_Q_DEFERRED,
                                    SG_Q_HOLD,     SG_Q_CORRUPT, SG_Q_DSN};

static void print_age(long long secs)
{
    if (secs < 120)
        printf("%5llds", secs);
    else if (secs < 7200)
        printf("%5lldm", secs / 60);
    else if (secs < 2 * 86400)
        printf("%5lldh", secs / 3600);
    else
        printf("%5lldd", secs / 86400);
}

static int list_state(sg_queue *q, int state, int *total)
{
    char **names;
    size_t n;
    if (sg_queue_list(q, state, &names, &n) < 0)
        return -1;
    time_t now = time(NULL);
    for (size_t i = 0; i < n; i++) {
        sg_envelope e;
        char *file, err[256];
        const char *data;
        size_t len;
        int rc = sg_queue_read(q, state, names[i], &e, &file, &data, &len, err, sizeof err);
        if (rc == -1 && errno == ENOENT)
            continue; /* moved on while we looked */
        (*total)++;
        printf("%-22s %-9s ", names[i], sg_qstate_name(state));
        if (rc < 0) {
            printf("(unreadable: %s)\n", rc == -2 ? err : strerror(errno));
            continue;
        }
        printf("%9zu ", len);
        print_age(now - e.created);
        printf("  <%s> ->", e.from);
        for (size_t r = 0; r < e.nrcpt && r < 3; r++)
            printf(" <%s>", e.rcpt[r].addr);
        if (e.nrcpt > 3)
            printf(" (+%zu more)", e.nrcpt - 3);
        if (e.last_error)
            printf("\n%40s attempts=%d last error: %s", "", e.attempts, e.last_error);
        printf("\n");
        sg_env_free(&e);
        free(file);
    }
    sg_queue_names_free(names, n);
    return 0;
}

static int cmd_list(sg_queue *q, int argc, char **argv)
{
    int only = -1, total = 0;
    if (argc > 2) {
        only = sg_qstate_parse(argv[2]);
        if (only < 0 || only == SG_Q_TMP) {
            fprintf(stderr, "sealgate queue list: unknown state '%s'\n", argv[2]);
            return 2;
        }
    }
    printf("%-22s %-9s %9s %6s  %s\n", "ID", "STATE", "SIZE", "AGE", "ENVELOPE");
    for (size_t i = 0; i < sizeof listed_states / sizeof listed_states[0]; i++)
        if (only < 0 || only == listed_states[i])
            list_state(q, listed_states[i], &total);
    printf("%d message%s\n", total, total == 1 ? "" : "s");
    return 0;
}

static int locate(sg_queue *q, const char *id, int *state)
{
    if (!sg_queue_name_valid(id)) {
        fprintf(stderr, "sealgate queue: '%s' is not a queue id\n", id);
        return 2;
    }
    *state = sg_queue_find(q, id);
    if (*state < 0) {
        fprintf(stderr, "sealgate queue: no message %s\n", id);
        return 1;
    }
    return 0;
}

static int cmd_show(sg_queue *q, const char *id)
{
    int state, rc = locate(q, id, &state);
    if (rc)
        return rc;
    sg_envelope e;
    char *file, err[256];
    const char *data;
    size_t len;
    rc = sg_queue_read(q, state, id, &e, &file, &data, &len, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "sealgate queue show: %s: %s\n", id, rc == -2 ? err : strerror(errno));
        return 1;
    }
    char created[64];
    time_t t = (time_t)e.created;
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    printf("id:          %s\nstate:       %s\ncreated:     %s\nclient:      %s\nhelo:        %s\n", id,
           sg_qstate_name(state), created, e.client ? e.client : "-", e.helo ? e.helo : "-");
    printf("from:        <%s>\n", e.from);
    printf("body:        %s\nsmtputf8:    %s\n", e.body ? e.body : "-", e.smtputf8 ? "yes" : "no");
    if (e.ret || e.envid)
        printf("dsn:         ret=%s envid=%s\n", e.ret ? e.ret : "-", e.envid ? e.envid : "-");
    printf("attempts:    %d\n", e.attempts);
    if (e.last_error)
        printf("last error:  %s\n", e.last_error);
    for (size_t r = 0; r < e.nrcpt; r++)
        printf("rcpt:        <%s>%s%s%s%s\n", e.rcpt[r].addr, e.rcpt[r].notify ? " NOTIFY=" : "",
               e.rcpt[r].notify ? e.rcpt[r].notify : "", e.rcpt[r].orcpt ? " ORCPT=" : "",
               e.rcpt[r].orcpt ? e.rcpt[r].orcpt : "");
    printf("size:        %zu\n\n", len);
    /* The header section only: the body is the sender's business, not the operator's screen. */
    const char *end = NULL;
    for (size_t i = 0; i + 3 < len; i++)
        if (memcmp(data + i, "\r\n\r\n", 4) == 0) {
            end = data + i + 2;
            break;
        }
    fwrite(data, 1, end ? (size_t)(end - data) : len, stdout);
    sg_env_free(&e);
    free(file);
    return 0;
}

static int move_one(sg_queue *q, const char *id, int to, const int *allowed, const char *verb)
{
    int state, rc = locate(q, id, &state);
    if (rc)
        return rc;
    int ok = 0;
    for (int i = 0; allowed[i] >= 0; i++)
        ok |= allowed[i] == state;
    if (!ok) {
        fprintf(stderr, "sealgate queue %s: %s is in %s; cannot %s it from there%s\n", verb, id,
                sg_qstate_name(state), verb,
                state == SG_Q_ACTIVE ? " (it is being processed: try again in a moment)" : "");
        return 1;
    }
    if (sg_queue_move(q, id, state, to) < 0) {
        fprintf(stderr, "sealgate queue %s: %s: %s\n", verb, id,
                errno == ENOENT ? "it moved on while this command ran; try again" : strerror(errno));
        return 1;
    }
    printf("%s: %s -> %s\n", id, sg_qstate_name(state), sg_qstate_name(to));
    return 0;
}

static int cmd_retry(sg_queue *q, const char *id)
{
    static const int from_deferred[] = {SG_Q_DEFERRED, -1};
    if (strcmp(id, "all") != 0)
        return move_one(q, id, SG_Q_OUTGOING, from_deferred, "retry");
    char **names;
    size_t n;
    if (sg_queue_list(q, SG_Q_DEFERRED, &names, &n) < 0) {
        perror("sealgate queue retry");
        return 1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        if (sg_queue_name_valid(names[i]))
            rc |= move_one(q, names[i], SG_Q_OUTGOING, from_deferred, "retry");
    sg_queue_names_free(names, n);
    return rc;
}

static int cmd_delete(sg_queue *q, const char *id)
{
    int state, rc = locate(q, id, &state);
    if (rc)
        return rc;
    if (state == SG_Q_ACTIVE) {
        fprintf(stderr, "sealgate queue delete: %s is being processed; hold it first\n", id);
        return 1;
    }
    if (sg_queue_remove(q, state, id) < 0) {
        fprintf(stderr, "sealgate queue delete: %s: %s\n", id, strerror(errno));
        return 1;
    }
    printf("%s: deleted from %s\n", id, sg_qstate_name(state));
    return 0;
}

int sg_cli_queue(const sg_config *cfg, int argc, char **argv)
{
    static const char usage[] =
        "usage: sealgate queue list [STATE] | show ID | retry ID|all | hold ID | release ID | delete ID\n";
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    sg_queue q;
    if (sg_queue_open(&q, cfg->spool_dir, "cli", false) < 0) {
        fprintf(stderr,
                "sealgate queue: cannot open the spool %s: %s (is the gateway set up? try "
                "'make run')\n",
                cfg->spool_dir, strerror(errno));
        return 1;
    }
    const char *cmd = argv[1], *id = argc > 2 ? argv[2] : NULL;
    int rc;
    static const int holdable[] = {SG_Q_INCOMING, SG_Q_OUTGOING, SG_Q_DEFERRED, SG_Q_CORRUPT, -1};
    static const int releasable[] = {SG_Q_HOLD, -1};
    if (strcmp(cmd, "list") == 0) {
        rc = cmd_list(&q, argc, argv);
    } else if (!id || argc > 3) {
        fputs(usage, stderr);
        rc = 2;
    } else if (strcmp(cmd, "show") == 0) {
        rc = cmd_show(&q, id);
    } else if (strcmp(cmd, "retry") == 0) {
        rc = cmd_retry(&q, id);
    } else if (strcmp(cmd, "hold") == 0) {
        rc = move_one(&q, id, SG_Q_HOLD, holdable, "hold");
    } else if (strcmp(cmd, "release") == 0) {
        /* Processed output (id.N) goes back to the relay; an unprocessed input back to cryptd. */
        rc = move_one(&q, id, strchr(id, '.') ? SG_Q_OUTGOING : SG_Q_INCOMING, releasable, "release");
    } else if (strcmp(cmd, "delete") == 0) {
        rc = cmd_delete(&q, id);
    } else {
        fputs(usage, stderr);
        rc = 2;
    }
    sg_queue_close(&q);
    return rc;
}
