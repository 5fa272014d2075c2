/* peer_cli.c - `sealgate audit witness URL ORIGIN KEY [--ca FILE] [--connect-to SPEC]`: one
 * witnessing round against one peer by hand (issue 14, docs/notary.md "Witnessing"); cryptd's
 * ticker will run the same round per configured peer (the next slice). Fetches the peer's latest
 * checkpoint and, when it has one accepted already, the consistency proof between the two sizes,
 * from the peer's web role through src/net (sg_http_fetch); checks the note's signature with KEY
 * (base64 of its 32-byte Ed25519 key) and ORIGIN; judges it (witness.h). New or the same:
 * prints the verdict and our cosignature line for it, keeps it as the peer's accepted checkpoint
 * (<base_dir>/audit/peers/ORIGIN.note). A fork: keeps both notes and the proof as evidence
 * (<base_dir>/audit/evidence/ORIGIN-TIME/), appends an entry of kind 0x03 (event peer-fork) to
 * our own log, logs `event=peer-fork`, exits 3. Owner: src/audit.
 * SECURITY: everything fetched is untrusted: the note is parsed and its signature checked
 * before anything is judged, proof lines are parsed strictly, bodies are capped (64 KiB), the
 * URL's own port is the only one allowed. Signing the cosignature needs the log's key (root or
 * the cryptd user). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "audit/cli.h"
#include "audit/log.h"
#include "audit/witness.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "net/http_fetch.h"

typedef struct peer {
    const char *url, *origin, *ca, *connect_to;
    uint8_t pub[32];
    int port;
} peer;

static int get(const peer *p, const char *what, char **out, size_t *len, char *err, size_t errlen)
{
    char url[2048];
    snprintf(url, sizeof url, "%s/.well-known/sealgate-notary/%s", p->url, what);
    sg_fetch_limits lim = {.timeout_ms = 15000,
                           .max_size = 64 * 1024,
                           .ports = &p->port,
                           .nports = 1,
                           .ca_file = p->ca,
                           .connect_to = p->connect_to};
    uint8_t *body = NULL;
    int rc = sg_http_fetch(url, NULL, NULL, 0, &lim, &body, len, err, errlen);
    if (rc != SG_FETCH_OK)
        return -1;
    *out = realloc(body, *len + 1);
    if (!*out) {
        free(body);
        return -1;
    }
    (*out)[*len] = '\0';
    return 0;
}

/* "proof HEX" lines into proof: the count, or -1. */
static int parse_proof(const char *text, sg_mhash *proof)
{
    int n = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l != 6 + 64 || strncmp(p, "proof ", 6) != 0 || n == SG_MERKLE_MAX_PROOF)
            return -1;
        for (int i = 0; i < 32; i++) {
            unsigned v;
            if (sscanf(p + 6 + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdef", p[6 + 2 * i]) ||
                !strchr("0123456789abcdef", p[7 + 2 * i]))
                return -1;
            proof[n][i] = (uint8_t)v;
        }
        n++;
        p += l + (nl != NULL);
    }
    return n;
}

/* ORIGIN with every byte that is not [A-Za-z0-9.-] as '_': a file name. */
static void safe(const char *origin, char *out, size_t n)
{
    size_t i = 0;
    for (; origin[i] && i + 1 < n; i++) {
        char c = origin[i];
        out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-'
                     ? c
                     : '_';
    }
    out[i] = '\0';
}

static int write_text(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return sg_write_file_atomic(path, text, strlen(text), 0640);
}

static int fork_found(const sg_config *cfg, sg_store *st, const peer *p, const char *prev, const char *next,
                      const char *proof, const char *why)
{
    char dir[4096], name[300];
    safe(p->origin, name, sizeof name);
    snprintf(dir, sizeof dir, "%s/audit/evidence", cfg->base_dir);
    mkdir(dir, 0750);
    snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/%s-%lld", name, (long long)time(NULL));
    if ((mkdir(dir, 0750) < 0 && errno != EEXIST) || write_text(dir, "accepted.note", prev) < 0 ||
        write_text(dir, "presented.note", next) < 0 || write_text(dir, "proof", proof ? proof : "") < 0)
        fprintf(stderr, "sealgate: cannot keep the evidence in %s: %s\n", dir, strerror(errno));
    sg_tlog_entry e;
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    sg_tlog_entry_init(&e, SG_TLOG_KIND_RECEIPT);
    sg_tlog_entry_field(&e, "event", "peer-fork");
    sg_tlog_entry_field(&e, "peer", p->origin);
    sg_tlog_entry_field(&e, "note-a", prev);
    sg_tlog_entry_field(&e, "note-b", next);
    sg_tlog_entry_field(&e, "why", why);
    sg_tlog_entry_field(&e, "time", now);
    if (sg_tlog_append(st, &e, "", NULL) < 0)
        fprintf(stderr, "sealgate: the fork could not be logged: %s\n", sg_tlog_error());
    sg_error(NULL, "event=peer-fork peer=%s reason=\"%s\" evidence=%s", p->origin, why, dir);
    printf("FORK %s: %s\nevidence %s\n", p->origin, why, dir);
    return 3;
}

int sg_audit_witness_cmd(const sg_config *cfg, sg_store *st, int argc, char **argv)
{
    peer p = {0};
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc)
            p.ca = argv[++i];
        else if (strcmp(argv[i], "--connect-to") == 0 && i + 1 < argc)
            p.connect_to = argv[++i];
        else if (!p.url)
            p.url = argv[i];
        else if (!p.origin)
            p.origin = argv[i];
        else if (sg_audit_b64_decode(argv[i], strlen(argv[i]), p.pub, 32) == 0)
            p.port = -1; /* the key was given */
        else
            p.url = NULL, i = argc;
    }
    const char *colon = p.url ? strrchr(p.url, ':') : NULL;
    int port = colon && colon > strstr(p.url, "://") + 2 ? atoi(colon + 1) : 0;
    if (!p.url || !p.origin || p.port != -1 || port <= 0 || port > 65535) {
        fprintf(stderr, "usage: sealgate audit witness https://HOST:PORT ORIGIN BASE64-KEY [--ca FILE] "
                        "[--connect-to HOST:PORT:ADDR:PORT]\n");
        return 2;
    }
    p.port = port;
    char err[256], why[300], state[4096], name[300], *next = NULL, *prev = NULL, *ptext = NULL;
    size_t len;
    sg_checkpoint cn, cp;
    int rc = 1;
    if (get(&p, "checkpoint", &next, &len, err, sizeof err) < 0) {
        fprintf(stderr, "sealgate: %s: cannot fetch its checkpoint: %s\n", p.origin, err);
        return 1;
    }
    if (!sg_checkpoint_verify(next, len, p.pub, &cn, why, sizeof why) || strcmp(cn.origin, p.origin) != 0) {
        fprintf(stderr, "sealgate: %s: its checkpoint does not verify: %s\n", p.origin,
                strcmp(cn.origin, p.origin) ? "another origin" : why);
        goto out;
    }
    safe(p.origin, name, sizeof name);
    snprintf(state, sizeof state, "%s/audit/peers", cfg->base_dir);
    mkdir(state, 0750);
    snprintf(state + strlen(state), sizeof state - strlen(state), "/%s.note", name);
    size_t plen0;
    bool have = sg_read_file(state, 64 * 1024, &prev, &plen0) == 0 &&
                sg_checkpoint_verify(prev, plen0, p.pub, &cp, why, sizeof why);
    sg_mhash proof[SG_MERKLE_MAX_PROOF];
    int pl = 0;
    if (have && cp.size != cn.size) {
        char q[96];
        snprintf(q, sizeof q, "consistency?old=%llu&new=%llu",
                 (unsigned long long)(cp.size < cn.size ? cp.size : cn.size),
                 (unsigned long long)(cp.size < cn.size ? cn.size : cp.size));
        size_t l;
        if (get(&p, q, &ptext, &l, err, sizeof err) < 0 || (pl = parse_proof(ptext, proof)) < 0)
            pl = 0; /* no proof is judged as no valid proof: a peer that cannot prove is a fork */
    }
    int v = sg_witness_judge(have ? &cp : NULL, &cn, proof, (size_t)pl, why, sizeof why);
    if (v == SG_WITNESS_FORK) {
        rc = fork_found(cfg, st, &p, prev, next, ptext, why);
        goto out;
    }
    static const char *const words[] = {"new", "same", "stale"};
    printf("%s %s size %llu: %s\n", words[v], p.origin, (unsigned long long)cn.size, why);
    if (v == SG_WITNESS_STALE) {
        rc = 0;
        goto out;
    }
    if (v == SG_WITNESS_NEW && sg_write_file_atomic(state, next, len, 0640) < 0) {
        fprintf(stderr, "sealgate: cannot keep %s: %s\n", state, strerror(errno));
        goto out;
    }
    char me[SG_CKPT_ORIGIN_MAX], line[300];
    uint8_t mine[32];
    sg_tlog_origin(cfg, me, sizeof me);
    if (sg_audit_pubkey_load(cfg->base_dir, mine) < 0 ||
        sg_cosig_make(cfg->base_dir, me, mine, next, &cn, (uint64_t)time(NULL), line, sizeof line, why, sizeof why) < 0) {
        fprintf(stderr, "sealgate: cannot cosign: %s\n", why);
        goto out;
    }
    printf("%s", line);
    rc = 0;
out:
    free(next);
    free(prev);
    free(ptext);
    return rc;
}
