/* pgp_tool.c - a test driver for the Python suites: runs the OpenPGP engine's protect, or the
 * decrypt/verify entry point (unwrap), on one message with a gateway's store and KEK, without
 * SMTP in between. Not installed, not a test itself (tests/run-all runs only test_*).
 * Owner: src/cryptd (OpenPGP).
 *
 *   pgp_tool CONFIG protect SENDER sender|domain|none [create] [inline] [RCPT...] <msg >out
 *   pgp_tool CONFIG unwrap RCPT... <msg >out
 * unwrap writes one summary line (key=value) to stderr and to stdout the message the first
 * recipient gets (the input itself when nothing changes, nothing when held). Exit 0, or 1. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/kek.h"
#include "engine/engine.h"
#include "engine/unwrap.h"
#include "mime/mime.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static char *read_all(FILE *f, size_t *len)
{
    sg_buf b;
    sg_buf_init(&b, SG_MIME_MAX_OUT);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (sg_buf_append(&b, chunk, n) < 0)
            return NULL;
    sg_buf_append(&b, "", 1);
    *len = b.len - 1;
    return b.data;
}

static int do_protect(const sg_engine *e, int argc, char **argv, const char *msg, size_t len, sg_config *cfg)
{
    if (argc < 2)
        return 1;
    sg_protect_req req = {.sender = argv[0], .qid = "tool"};
    req.sign = strcmp(argv[1], "sender") == 0 ? SG_SIGN_SENDER : strcmp(argv[1], "domain") == 0 ? SG_SIGN_DOMAIN : SG_SIGN_NONE;
    int i = 2;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "create") == 0)
            req.create_sender_key = true;
        else if (strcmp(argv[i], "inline") == 0)
            cfg->cryptd.pgp_inline = true;
        else
            break;
    }
    req.rcpts = (const char *const *)argv + i;
    req.nrcpt = (size_t)(argc - i);
    sg_buf out;
    sg_buf_init(&out, SG_MIME_MAX_OUT);
    char err[256] = "";
    if (e->protect(&req, msg, len, &out, err, sizeof err) < 0) {
        fprintf(stderr, "protect: %s\n", err);
        return 1;
    }
    fwrite(out.data, 1, out.len, stdout);
    sg_buf_free(&out);
    return 0;
}

static int do_unwrap(int argc, char **argv, const char *msg, size_t len, const sg_config *cfg)
{
    sg_unwrap_req req = {.rcpts = (const char *const *)argv, .nrcpt = (size_t)argc, .authserv_id = cfg->hostname,
                         .max_layers = cfg->cryptd.max_layers, .qid = "tool"};
    sg_unwrap_result u;
    if (sg_unwrap(&req, msg, len, &u) < 0) {
        fprintf(stderr, "unwrap: error\n");
        return 1;
    }
    bool reader = argc > 0 && u.readable[0];
    const sg_unwrap_summary *s = reader ? &u.reader : &u.other;
    fprintf(stderr, "hold=%d unchanged=%d readable=%d layers=%d encrypted=%d dec=%s dec_reason=%s sig=%s sig_reason=%s "
                    "signer=%s whole=%d embedded=%d unprotected=%d reason=\"%s\"\n",
            u.hold, u.unchanged, reader, u.layers, s->encrypted, sg_unwrap_dec_name(s->dec),
            s->dec_reason[0] ? s->dec_reason : "-",
            s->sig.sig == SG_SIG_VALID ? "valid" : s->sig.sig == SG_SIG_INVALID ? "invalid" : "none",
            s->sig.reason[0] ? s->sig.reason : "-", s->sig.signer[0] ? s->sig.signer : "-", s->sig_whole, s->embedded, s->unprotected,
            u.reason);
    if (u.hold)
        ;
    else if (u.unchanged)
        fwrite(msg, 1, len, stdout);
    else if (reader)
        fwrite(u.reader_msg, 1, u.reader_len, stdout);
    else
        fwrite(u.other_msg, 1, u.other_len, stdout);
    sg_unwrap_result_free(&u);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 1;
    sg_config cfg;
    char err[256], kek[4096];
    if (sg_config_load(&cfg, argv[1], err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    sg_mime_init();
    sg_store *st = sg_store_open(cfg.store_path, err, sizeof err);
    sg_kek_path(cfg.base_dir, kek, sizeof kek);
    sg_keystore *ks = st ? sg_keystore_open(st, kek, 0) : NULL;
    if (!ks) {
        fprintf(stderr, "cannot open the keystore\n");
        return 1;
    }
    sg_engine_env env = {.cfg = &cfg, .st = st, .ks = ks, .lock = &lock};
    sg_keystore_domain_address(cfg.internal_domains.n ? cfg.internal_domains.v[0] : NULL, cfg.hostname,
                               env.domain_addr, sizeof env.domain_addr);
    for (size_t i = 0; sg_engines[i]; i++) /* unwrap peels through all of them */
        if (sg_engines[i]->init(&env) < 0)
            return 1;
    const sg_engine *e = sg_engine_by_method(SG_METHOD_PGP);
    if (!e)
        return 1;
    size_t len = 0;
    char *msg = read_all(stdin, &len);
    if (!msg)
        return 1;
    int rc = 1;
    if (strcmp(argv[2], "protect") == 0)
        rc = do_protect(e, argc - 3, argv + 3, msg, len, &cfg);
    else if (strcmp(argv[2], "unwrap") == 0)
        rc = do_unwrap(argc - 3, argv + 3, msg, len, &cfg);
    free(msg);
    sg_keystore_close(ks);
    sg_store_close(st);
    sg_config_free(&cfg);
    return rc;
}
