/* ops_system.c - the gateway as a whole: status (the master and its roles as /proc shows them,
 * the store, queue sizes per state), version, check-config. Owner: src/admin.
 * Status reads only what any process holding the store and the spool can see; it starts,
 * signals and changes nothing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/ops_handlers.h"
#include "admin/ops_int.h"
#include "admin/status.h"
#include "lib/fsutil.h"
#include "net/scan.h"
#include "queue/queue.h"
#include "store/store.h"

int sg_op_version(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    (void)ctx;
    (void)args;
    return sg_op_answer(json_pack("{s:s}", "version", SG_VERSION), result, err);
}

/* The master's pid from its pid file when that process is alive, else 0. */
static long master_pid(const sg_config *cfg)
{
    char *s = NULL;
    size_t len;
    if (sg_read_file(cfg->pid_file, 64, &s, &len) < 0)
        return 0;
    long pid = strtol(s, NULL, 10);
    free(s);
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM) ? pid : 0;
}

/* The master's children by role (the last word of their command line): {"cryptd": pid, ...}. */
static json_t *roles_of(long master)
{
    json_t *roles = json_object();
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (roles && d && (de = readdir(d))) {
        char path[300], buf[4096];
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = '\0';
        char *rp = strrchr(buf, ')');
        long ppid = 0;
        if (!rp || sscanf(rp + 1, " %*c %ld", &ppid) != 1 || ppid != master)
            continue;
        snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
        f = fopen(path, "r");
        n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = '\0';
        const char *last = buf;
        for (size_t i = 0; i + 1 < n; i++)
            if (buf[i] == '\0')
                last = buf + i + 1;
        if (*last)
            json_object_set_new(roles, last, json_integer(strtol(de->d_name, NULL, 10)));
    }
    if (d)
        closedir(d);
    return roles;
}

static json_t *queue_sizes(const sg_config *cfg, int64_t now)
{
    static const int states[] = {SG_Q_INCOMING, SG_Q_ACTIVE,  SG_Q_OUTGOING, SG_Q_DEFERRED,
                                 SG_Q_HOLD,     SG_Q_CORRUPT, SG_Q_DSN};
    sg_queue q;
    if (sg_queue_open(&q, cfg->spool_dir, "cli", false) < 0)
        return json_pack("{s:s}", "error", strerror(errno));
    json_t *o = json_object();
    for (size_t i = 0; o && i < sizeof states / sizeof states[0]; i++) {
        char **names;
        size_t n;
        if (sg_queue_list(&q, states[i], &names, &n) < 0) {
            json_object_set_new(o, sg_qstate_name(states[i]), json_null()); /* not readable here */
            continue;
        }
        /* The age of the oldest file by its modification time (when it was written; a move into
         * this state keeps it). Not from the name: its 44 bits of microseconds wrap every 203
         * days and are followed by random digits, so a name is no timestamp. */
        long long oldest = 0;
        for (size_t j = 0; j < n; j++) {
            struct stat sb;
            if (fstatat(q.dirfd[states[i]], names[j], &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
                (!oldest || sb.st_mtime < oldest))
                oldest = sb.st_mtime;
        }
        json_object_set_new(o, sg_qstate_name(states[i]),
                            json_pack("{s:I, s:I}", "count", (json_int_t)n, "oldest_age",
                                      (json_int_t)(oldest && now > oldest ? now - oldest : 0)));
        sg_queue_names_free(names, n);
    }
    sg_queue_close(&q);
    return o;
}

int sg_op_status(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    (void)args;
    long master = master_pid(ctx->cfg);
    json_t *gens = json_object();
    static const char *const kinds[] = {"pgp", "x509", "policy", "admin"};
    for (int k = 0; gens && k < 4; k++) {
        int64_t g;
        if (sg_store_generation(ctx->store, (sg_store_gen)k, &g) < 0) {
            json_decref(gens);
            return sg_op_store_fail(ctx, err);
        }
        json_object_set_new(gens, kinds[k], json_integer(g));
    }
    json_t *r = json_pack("{s:s, s:b, s:o, s:o, s:{s:i, s:o}, s:o}", "version", SG_VERSION, "running",
                          master > 0, "master_pid", master > 0 ? json_integer(master) : json_null(), "roles",
                          master > 0 ? roles_of(master) : json_object(), "store", "schema_version",
                          sg_store_schema_version(ctx->store), "generations", gens, "queue",
                          queue_sizes(ctx->cfg, sg_op_now(ctx)));
    return sg_op_answer(r, result, err);
}

/* Each configured content scanner answers its ping (clamd PING, rspamd /ping, spamd PING), asked from this
 * process: check-config runs outside cryptd (docs/scanning.md). */
static int scanner_problems(const sg_config *c, json_t *problems)
{
    int n = 0;
    const char *addr[] = {c->scan.clamd, c->scan.rspamd, c->scan.spamd};
    const int kind[] = {SG_SCAN_CLAMD_PING, SG_SCAN_RSPAMD_PING, SG_SCAN_SPAMD_PING};
    const char *name[] = {"clamd", "rspamd", "spamd"};
    int (*pong[])(const char *, size_t) = {sg_clamd_parse_pong, sg_rspamd_parse_pong, sg_spamd_parse_pong};
    for (int i = 0; c->scan.enabled && i < 3; i++) {
        if (!addr[i])
            continue;
        char *ans = NULL, err[256] = "", buf[400];
        size_t len = 0;
        int rc = sg_scan_direct(kind[i], addr[i], NULL, NULL, 0, 5000, &ans, &len, err, sizeof err);
        if (rc == 0)
            rc = pong[i](ans, len);
        if (rc < 0) {
            snprintf(buf, sizeof buf, "scan.%s %s does not answer its ping%s%.200s", name[i],
                     addr[i], err[0] ? ": " : " (unexpected answer)", err);
            json_array_append_new(problems, json_string(buf));
            n++;
        }
        free(ans);
    }
    return n;
}

int sg_admin_config_problems(const sg_config *c, json_t *problems)
{
    int n = 0;
    char buf[1200];
    if (geteuid() == 0) {
        const char *users[] = {c->users.smtpd, c->users.cryptd, c->users.relay, c->users.sink};
        for (int i = 0; i < (c->sink.enabled ? 4 : 3); i++)
            if (!getpwnam(users[i])) {
                snprintf(buf, sizeof buf, "user %s does not exist (scripts/deps.sh creates it)", users[i]);
                json_array_append_new(problems, json_string(buf));
                n++;
            }
        if (!getgrnam(c->users.group)) {
            snprintf(buf, sizeof buf, "group %s does not exist", c->users.group);
            json_array_append_new(problems, json_string(buf));
            n++;
        }
        /* the web role (src/web) and the store's group it shares with cryptd */
        if (c->web.enabled && !getpwnam(c->users.web)) {
            snprintf(buf, sizeof buf, "user %s does not exist (scripts/deps.sh creates it)", c->users.web);
            json_array_append_new(problems, json_string(buf));
            n++;
        }
        if (!getgrnam(c->users.store_group)) {
            snprintf(buf, sizeof buf, "group %s does not exist (scripts/deps.sh creates it)", c->users.store_group);
            json_array_append_new(problems, json_string(buf));
            n++;
        }
    }
    if (!c->smtpd.tls_autogenerate && (access(c->smtpd.tls_cert, R_OK) || access(c->smtpd.tls_key, R_OK))) {
        snprintf(buf, sizeof buf, "TLS certificate or key not readable (%s, %s)", c->smtpd.tls_cert,
                 c->smtpd.tls_key);
        json_array_append_new(problems, json_string(buf));
        n++;
    }
    n += scanner_problems(c, problems);
    return n;
}

int sg_op_check_config(sg_op_ctx *ctx, const json_t *args, json_t **result, sg_op_error *err)
{
    (void)args;
    const sg_config *c = ctx->cfg;
    json_t *problems = json_array(), *domains = json_array();
    for (size_t i = 0; domains && i < c->internal_domains.n; i++)
        json_array_append_new(domains, json_string(c->internal_domains.v[i]));
    int n = problems ? sg_admin_config_problems(c, problems) : 0;
    char store[1024];
    sg_store_describe(c->store_path, store, sizeof store); /* a PostgreSQL URI without its password */
    return sg_op_answer(json_pack("{s:b, s:o, s:s?, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:b, s:o}", "ok", n == 0,
                                  "problems", problems, "config", c->path, "hostname", c->hostname,
                                  "base_dir", c->base_dir, "spool_dir", c->spool_dir, "store", store,
                                  "internal_domains", domains, "smtpd_listen", c->smtpd.listen,
                                  "relay_next_hop", c->relay.next_hop, "sink_enabled", c->sink.enabled,
                                  "settings", sg_op_settings_json(c)),
                        result, err);
}
